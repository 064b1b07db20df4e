"""Checking the ledger: verification against the rows as they are now, proofs, exported heads.

Verification trusts nothing stored beside the signatures: every leaf is recomputed from its row,
every signed head's root is recomputed from those leaves, so an admin who edits an event row,
deletes it, or rewrites the stored leaf hashes to match is caught. Heads exported earlier (kept
off the workspace) also catch an admin who rebuilds the whole ledger with the workspace key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kansa.ledger import merkle, signing, store
from kansa.ledger.explain import explain
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace


def _heads(ws: Workspace) -> list[dict[str, Any]]:
    con = store.ensure(ws)
    rows = con.execute(
        "SELECT tree_size, root, timestamp_ms, key_id, signature FROM ledger_heads ORDER BY tree_size"
    ).fetchall()
    return [
        {"tree_size": int(r[0]), "root": r[1], "timestamp_ms": int(r[2]), "key_id": r[3], "signature": r[4]}
        for r in rows
    ]


def heads(ws: Workspace) -> list[dict[str, Any]]:
    """Every signed tree head, oldest first."""
    return _heads(ws)


def head(ws: Workspace) -> dict[str, Any]:
    """The latest signed tree head (tree_size 0 and the empty root before the first seal)."""
    heads = _heads(ws)
    if not heads:
        return {
            "tree_size": 0,
            "root": merkle.EMPTY_ROOT.hex(),
            "timestamp_ms": None,
            "key_id": None,
            "signature": None,
        }
    return heads[-1]


def verify(
    ws: Workspace, *, public_key: Ed25519PublicKey | None = None, trusted_heads: Path | None = None
) -> dict[str, Any]:
    """Recompute every leaf and root; check every head's signature and consistency.

    Returns {"ok", "tree_size", "first_bad", "bad_leaves", "bad_heads", "heads_checked", "pending",
    "pending_backdated", "sealed_late", "sealed_twice", "orphan_subjects", "subjects_sealed_from"};
    ``first_bad`` is
    the lowest leaf index whose row was changed or removed (or, when the stored hashes were
    rewritten too, the first leaf after the last head that still holds).
    """
    con = store.ensure(ws)
    key = public_key if public_key is not None else signing.signing_key(ws).public_key()
    heads = _heads(ws)
    external = _load_export(trusted_heads) if trusted_heads is not None else []
    all_heads = [(h, "workspace") for h in heads] + [(h, "export") for h in external]
    wanted = sorted({h["tree_size"] for h, _ in all_heads})
    bad = store.bad_leaves(con)
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    tree = merkle.Frontier()  # the tree of the stored leaf hashes, which bad_leaves held to the rows
    targets = iter(w for w in wanted if w > 0)
    target = next(targets, None)
    for batch in store.hash_batches(con):
        pos = 0
        while pos < len(batch):
            take = len(batch) - pos if target is None else min(len(batch) - pos, target - tree.size)
            tree.extend(batch[pos:pos + take])
            pos += take
            if tree.size == target:
                roots[target] = tree.root()
                target = next(targets, None)
    size = tree.size
    bad_heads: list[dict[str, Any]] = []
    good_sizes = [0]
    for h, origin in all_heads:
        hk = h.get("_key", key)
        problem = None
        if not signing.check_head(hk, h["tree_size"], h["root"], h["timestamp_ms"], h["signature"]):
            problem = "bad signature"
        elif h["tree_size"] > size:
            problem = "ledger shorter than head"
        elif roots.get(h["tree_size"], b"").hex() != h["root"]:
            # a changed or deleted row below this size already explains the mismatch
            if any(b["leaf_index"] < h["tree_size"] for b in bad):
                continue
            problem = "root mismatch"
        if problem:
            bad_heads.append({"tree_size": h["tree_size"], "origin": origin, "problem": problem})
        else:
            good_sizes.append(h["tree_size"])
    first_bad = min((b["leaf_index"] for b in bad), default=None)
    if first_bad is None and bad_heads:
        mismatched = [b["tree_size"] for b in bad_heads if b["problem"] != "bad signature"]
        below = [g for g in good_sizes if not mismatched or g < min(mismatched)]
        first_bad = max(below) if mismatched else None
    if heads and heads[-1]["tree_size"] < size:
        bad_heads.append(
            {"tree_size": size, "origin": "workspace", "problem": "leaves beyond the last signed head"}
        )
    pending = backdated = 0
    last = store.one(con, "SELECT max(ref_id) FROM ledger_leaves WHERE kind IN ('access', 'endpoint')")
    last_sealed = int(last[0]) if last and last[0] is not None else -1
    for kind, table in store.EVENT_TABLES.items():
        row = store.one(
            con,
            f"SELECT count(*), count(*) FILTER (WHERE e.event_id < ?) FROM {table} e "
            "ANTI JOIN ledger_leaves l ON l.kind = ? AND l.ref_id = e.event_id",
            [last_sealed, kind],
        )
        if row:
            pending += int(row[0])
            backdated += int(row[1])
    # event leaves sealed after a leaf of a higher event id: an event written outside ingest with
    # an old id and sealed afterwards (the ledger records truthfully that it came later)
    late = store.one(
        con,
        "SELECT count(*) FROM (SELECT ref_id, max(ref_id) OVER (ORDER BY leaf_index ROWS BETWEEN UNBOUNDED"
        " PRECEDING AND 1 PRECEDING) AS before FROM ledger_leaves WHERE kind IN ('access', 'endpoint'))"
        " WHERE ref_id < before",
    )
    orphans = store.one(
        con, "SELECT count(*) FROM access_subjects s ANTI JOIN access_events e ON e.event_id = s.event_id"
    )
    # a second leaf for a row already sealed: each leaf is checked against the row as it is now, so
    # it hides no change, but nothing in kansa seals a row twice
    twice = store.one(
        con, "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM ledger_leaves GROUP BY kind, ref_id)"
    )
    return {
        "ok": not bad and not bad_heads,
        "tree_size": size,
        "first_bad": first_bad,
        "bad_leaves": [explain(b) for b in bad[:100]],
        "bad_leaf_count": len(bad),
        "bad_heads": [explain(h) for h in bad_heads],
        "heads_checked": len(all_heads),
        "pending": pending,
        # unsealed events numbered below the last sealed one: ingest hands out ids in order and
        # seals them as it writes them, so these were slipped in ('row inserted' in bad_leaves)
        "pending_backdated": backdated,
        "sealed_late": int(late[0]) if late else 0,
        "sealed_twice": int(twice[0]) if twice else 0,
        # subject rows of no access event: no leaf covers them and no query joins them to an
        # event, so they hide nothing, but nothing legitimate writes them either
        "orphan_subjects": int(orphans[0]) if orphans else 0,
        # from which leaf on access leaves cover their subjects (None: none does), so a reader
        # knows what a passing verify vouched for
        "subjects_sealed_from": store.encodings(con).v2s,
    }


def leaf_index_of(ws: Workspace, kind: str, ref_id: int) -> int | None:
    """The leaf that seals an event (kind access/endpoint) or journal entry; None if not sealed yet.

    Equal to the event_id while no journal entry has been sealed before the event; look it up
    rather than assume it.
    """
    con = store.ensure(ws)
    row = store.one(
        con, "SELECT min(leaf_index) FROM ledger_leaves WHERE kind = ? AND ref_id = ?", [kind, ref_id]
    )
    return int(row[0]) if row and row[0] is not None else None


def prove(ws: Workspace, leaf_index: int, tree_size: int | None = None) -> dict[str, Any]:
    """Inclusion proof of one leaf under a signed head (the latest by default), checked before return."""
    con = store.ensure(ws)
    h = _head_of_size(ws, tree_size)
    n = h["tree_size"]
    if not 0 <= leaf_index < n:
        raise KansaError(f"leaf {leaf_index} is not in the signed tree of size {n}")
    hashes = store.stored_hashes(con, n)
    path = merkle.inclusion_proof(leaf_index, hashes)
    row = store.one(con, "SELECT kind, ref_id FROM ledger_leaves WHERE leaf_index = ?", [leaf_index])
    assert row is not None
    ok = merkle.verify_inclusion(leaf_index, n, hashes[leaf_index], path, bytes.fromhex(h["root"]))
    return {
        "leaf_index": leaf_index,
        "kind": row[0],
        "ref_id": int(row[1]),
        # what the leaf's data is (docs/ledger.md), so a third party knows how to rebuild it
        "encoding": store.encodings(con).name(str(row[0]), leaf_index),
        "leaf_hash": hashes[leaf_index].hex(),
        "tree_size": n,
        "root": h["root"],
        "path": [p.hex() for p in path],
        "ok": ok,
    }


def consistency(ws: Workspace, old_size: int, new_size: int | None = None) -> dict[str, Any]:
    """Consistency proof between two signed heads (the latest by default), checked before return."""
    con = store.ensure(ws)
    old = _head_of_size(ws, old_size)
    new = _head_of_size(ws, new_size)
    if old["tree_size"] > new["tree_size"]:
        raise KansaError("the old head must not be larger than the new one")
    hashes = store.stored_hashes(con, new["tree_size"])
    proof = merkle.consistency_proof(old["tree_size"], hashes)
    ok = merkle.verify_consistency(
        old["tree_size"], new["tree_size"], bytes.fromhex(old["root"]), bytes.fromhex(new["root"]), proof
    )
    return {
        "old_size": old["tree_size"],
        "new_size": new["tree_size"],
        "old_root": old["root"],
        "new_root": new["root"],
        "proof": [p.hex() for p in proof],
        "ok": ok,
    }


def _head_of_size(ws: Workspace, size: int | None) -> dict[str, Any]:
    heads = _heads(ws)
    if size is None:
        return head(ws)
    if size == 0:
        return {"tree_size": 0, "root": merkle.EMPTY_ROOT.hex()}
    for h in heads:
        if h["tree_size"] == size:
            return h
    raise KansaError(f"no signed head of tree size {size}; see `kansa ledger head --all`")


def export_heads(ws: Workspace, path: Path) -> dict[str, Any]:
    """Write every signed head and the public key as JSON, to be kept where the admin cannot write."""
    key = signing.signing_key(ws).public_key()
    heads = _heads(ws)
    doc = {
        "format": "kansa-ledger-heads-v1",
        "public_key": signing.public_bytes(key).hex(),
        "key_id": signing.key_id(key),
        "heads": heads,
    }
    try:
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise KansaError(f"cannot write heads: {exc.strerror}", path=str(path)) from exc
    return {"path": str(path), "heads": len(heads), "tree_size": heads[-1]["tree_size"] if heads else 0}


def _load_export(path: Path) -> list[dict[str, Any]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        key = signing.load_public(doc["public_key"])
        heads = [
            {
                "tree_size": int(h["tree_size"]),
                "root": str(h["root"]),
                "timestamp_ms": int(h["timestamp_ms"]),
                "signature": str(h["signature"]),
                "_key": key,
            }
            for h in doc["heads"]
        ]
    except OSError as exc:
        raise KansaError(f"cannot read heads: {exc.strerror}", path=str(path)) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise KansaError(f"not a kansa heads export: {exc}", path=str(path)) from exc
    return heads
