"""Privacy-preserving encodings of normalised records: keyed hashes and per-field Bloom filters.

The holdings index must not become the next leak. It stores no names, readings, dates or
numbers, only:

* HMAC-SHA256 digests (key: the workspace's ``trace`` secret) of each normalised field, used as
  blocking keys and exact-agreement levels. Without the key they cannot be tested against guesses.
* Per-field CLK Bloom filters: each padded character bigram of a field sets ``K`` bit positions
  chosen by a keyed HMAC. Similar strings share bigrams, so Dice similarity of two filters
  estimates string similarity, which lets a damaged copy (a typo, a changed address) still match.
  Filters are kept per field so that a leak missing a column is compared on the others only.
"""

from __future__ import annotations

import hashlib
import hmac

BITS = 512  # per field filter; ~20 address bigrams x K=8 fills about 27 %, names far less
K = 8

HASH_FIELDS: tuple[str, ...] = ("name", "kana", "dob", "phone", "address", "postcode", "family", "given")
"""Fields kept as one keyed hash each: exact agreement levels and blocking keys for the linkage.
Equality of a combination (name and birth date) is equality of both hashes, so no combined
digests are stored. ``family`` and ``given`` (the parts of the name, where the list says which
part is which) only refine the name comparison ("family name agrees, given name differs" and the
reverse) and ``family`` is a last-tier blocking key; neither has a Bloom filter of its own (the
whole name's filter grades a typo)."""
BLOOM_FIELDS: tuple[str, ...] = ("name", "kana", "dob", "phone", "address")
"""Fields kept as a Bloom filter each: graded (fuzzy) agreement levels."""


def keyed_hash(key: bytes, fieldname: str, value: str) -> str:
    """HMAC-SHA256 of one normalised field value, truncated to 128 bits, hex."""
    msg = (fieldname + "\x1f" + value).encode("utf-8")
    return hmac.digest(key, msg, "sha256").hex()[:32]


def field_hashes(key: bytes, rec: dict[str, str]) -> dict[str, str]:
    """Keyed hash per field present in a normalised record."""
    return {f: keyed_hash(key, f, rec[f]) for f in HASH_FIELDS if f in rec}


def _bigrams(s: str) -> list[str]:
    padded = f"^{s}$"
    return [padded[i : i + 2] for i in range(len(padded) - 1)]


def _gram_mask(key: bytes, fieldname: str, gram: str) -> int:
    digest = hmac.new(key, f"{fieldname}\x1f{gram}".encode(), hashlib.sha256).digest()
    mask = 0
    for j in range(K):
        mask |= 1 << (int.from_bytes(digest[2 * j : 2 * j + 2], "big") % BITS)
    return mask


_MASKS: dict[tuple[bytes, str], dict[str, int]] = {}
_MAX_MASKS = 1 << 20
"""Bigram masks kept per (key, field). Bigrams repeat across records (surnames, towns), so
indexing a large dataset is mostly dictionary look-ups instead of HMACs; the bound keeps a
stream of unusual text from growing the table without end."""


def bloom(key: bytes, fieldname: str, value: str) -> bytes:
    """The CLK Bloom filter of one normalised field value (BITS bits)."""
    masks = _MASKS.get((key, fieldname))
    if masks is None or len(masks) > _MAX_MASKS:
        masks = _MASKS[(key, fieldname)] = {}
    padded = f"^{value}$"
    bits = 0
    for i in range(len(padded) - 1):  # a repeated bigram sets the same bits again: no set needed
        gram = padded[i : i + 2]
        m = masks.get(gram)
        if m is None:
            m = masks[gram] = _gram_mask(key, fieldname, gram)
        bits |= m
    return bits.to_bytes(BITS // 8, "big")


def dice(a: bytes, b: bytes) -> float:
    """Dice coefficient of two Bloom filters: 2|A∩B| / (|A|+|B|)."""
    x, y = int.from_bytes(a, "big"), int.from_bytes(b, "big")
    total = x.bit_count() + y.bit_count()
    return 2 * (x & y).bit_count() / total if total else 0.0


def blooms(key: bytes, rec: dict[str, str]) -> dict[str, bytes]:
    return {f: bloom(key, f, rec[f]) for f in BLOOM_FIELDS if f in rec}


def similarity(a: dict[str, bytes], b: dict[str, bytes]) -> tuple[float, int]:
    """Mean Dice over the fields both sides have, and how many fields were compared."""
    common = [f for f in BLOOM_FIELDS if f in a and f in b]
    if not common:
        return 0.0, 0
    return sum(dice(a[f], b[f]) for f in common) / len(common), len(common)
