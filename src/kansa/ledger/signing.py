"""Ed25519 signatures over tree heads.

The private key is a 32-byte seed kept in the workspace's keys folder (mode 0600, via
``ws.secret``); the public key is written next to it and into every export, so that heads kept
outside the admin's reach can be checked without the workspace.
"""

from __future__ import annotations

import hashlib
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kansa.model.workspace import Workspace

KEY_NAME = "ledger-ed25519"
CONTEXT = "kansa-ledger-tree-head-v1"


def signing_key(ws: Workspace) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.from_private_bytes(ws.secret(KEY_NAME, 32))
    pub = ws.keys_dir / f"{KEY_NAME}.pub"
    if not pub.exists():
        pub.write_text(public_bytes(key.public_key()).hex() + "\n", encoding="ascii")
    return key


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_bytes(key)).hexdigest()


def head_message(tree_size: int, root_hex: str, timestamp_ms: int) -> bytes:
    """The exact bytes a head's signature covers (a context string stops reuse elsewhere)."""
    doc = {"context": CONTEXT, "root": root_hex, "timestamp_ms": timestamp_ms, "tree_size": tree_size}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("ascii")


def sign_head(key: Ed25519PrivateKey, tree_size: int, root_hex: str, timestamp_ms: int) -> str:
    return key.sign(head_message(tree_size, root_hex, timestamp_ms)).hex()


def check_head(
    key: Ed25519PublicKey, tree_size: int, root_hex: str, timestamp_ms: int, signature_hex: str
) -> bool:
    try:
        key.verify(bytes.fromhex(signature_hex), head_message(tree_size, root_hex, timestamp_ms))
    except (InvalidSignature, ValueError):
        return False
    return True


def load_public(raw_hex: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(raw_hex.strip()))
