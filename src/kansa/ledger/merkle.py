"""RFC 6962 / RFC 9162 Merkle tree hashing, inclusion and consistency proofs.

Pure functions over lists of leaf hashes, kept apart from storage so that they can be checked
against the RFC's definitions in isolation. Domain separation (0x00 for leaves, 0x01 for inner
nodes) is what stops a forged leaf from posing as an inner node.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


# Hashers primed with the domain byte: copying one skips the algorithm look-up that OpenSSL 3
# does for every new hashlib object, which costs as much as hashing a short leaf.
_LEAF = hashlib.sha256(b"\x00")
_NODE = hashlib.sha256(b"\x01")


def leaf_hashes(datas: Iterable[bytes]) -> list[bytes]:
    """leaf_hash of each item, for the many leaves of a seal or a verify."""
    out: list[bytes] = []
    add, fresh = out.append, _LEAF.copy
    for data in datas:
        h = fresh()
        h.update(data)
        add(h.digest())
    return out


def _pair_hashes(level: list[bytes]) -> list[bytes]:
    """node_hash of each pair (0, 1), (2, 3), ... of one tree level (an odd last one is left out)."""
    out: list[bytes] = []
    add, fresh = out.append, _NODE.copy
    for left, right in zip(level[0::2], level[1::2], strict=False):
        h = fresh()
        h.update(left)
        h.update(right)
        add(h.digest())
    return out


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n > 1)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over already-hashed leaves."""
    if not leaves:
        return EMPTY_ROOT
    return _fold(_frontier(leaves))


def _frontier(leaves: Iterable[bytes]) -> list[tuple[int, bytes]]:
    stack: list[tuple[int, bytes]] = []
    for h in leaves:
        _push(stack, h)
    return stack


def _push(stack: list[tuple[int, bytes]], h: bytes) -> None:
    """Add a leaf to the list of perfect subtrees (size, hash) that make up the tree so far."""
    size = 1
    while stack and stack[-1][0] == size:
        left = stack.pop()[1]
        h = node_hash(left, h)
        size <<= 1
    stack.append((size, h))


def _fold(stack: list[tuple[int, bytes]]) -> bytes:
    if not stack:
        return EMPTY_ROOT
    r = stack[-1][1]
    for _, h in reversed(stack[:-1]):
        r = node_hash(h, r)
    return r


class Frontier:
    """A growing tree kept as its perfect subtrees only: O(log n) memory, root at any size."""

    def __init__(self, stack: Sequence[tuple[int, bytes]] = ()) -> None:
        self._stack: list[tuple[int, bytes]] = list(stack)
        self.size = sum(size for size, _ in self._stack)

    @property
    def stack(self) -> list[tuple[int, bytes]]:
        return list(self._stack)

    def extend(self, leaves: Sequence[bytes]) -> None:
        self._stack = extend(self._stack, leaves)
        self.size += len(leaves)

    def push(self, h: bytes) -> None:
        _push(self._stack, h)
        self.size += 1

    def root(self) -> bytes:
        return _fold(self._stack)


def extend(stack: Sequence[tuple[int, bytes]], leaves: Sequence[bytes]) -> list[tuple[int, bytes]]:
    """The frontier (perfect subtrees, largest first) after appending ``leaves`` to the tree whose
    frontier is ``stack``: level by level over the whole batch, so each inner node costs one hash
    call and no Python bookkeeping per leaf."""
    old = sum(size for size, _ in stack)
    by_level = {size.bit_length() - 1: h for size, h in stack}
    total = old + len(leaves)
    out: list[tuple[int, bytes]] = []
    cur: list[bytes] = list(leaves)
    for level in range(total.bit_length()):
        if (old >> level) & 1:  # the old tree's partial node at this level is the left neighbour
            cur.insert(0, by_level[level])
        if (total >> level) & 1:  # an odd node out: it is part of the new frontier
            out.append((1 << level, cur[-1]))
        cur = _pair_hashes(cur)
    out.reverse()
    return out


def fold(stack: Sequence[tuple[int, bytes]]) -> bytes:
    """The root of the tree whose frontier is ``stack``."""
    return _fold(list(stack))


def prefix_roots(leaves: Iterable[bytes], sizes: Iterable[int]) -> Iterator[tuple[int, bytes]]:
    """Roots of the trees of the given sizes (ascending) over one leaf stream, in one pass."""
    wanted = sorted(set(sizes))
    tree = Frontier()
    it = iter(leaves)
    for size in wanted:
        while tree.size < size:
            try:
                tree.push(next(it))
            except StopIteration:
                return
        yield size, tree.root()


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 section 2.1.1."""
    n = len(leaves)
    if not 0 <= index < n:
        raise IndexError(f"leaf {index} is outside a tree of size {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), root(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), root(leaves[:k])]


def verify_inclusion(
    index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2: does ``proof`` put ``leaf`` at ``index`` under ``expected_root``?"""
    if not 0 <= index < tree_size:
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 section 2.1.2 (empty when m is 0 or n)."""
    n = len(leaves)
    if not 0 <= old_size <= n:
        raise IndexError(f"old size {old_size} is outside 0..{n}")
    if old_size in (0, n):
        return []
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root(leaves[:k])]


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2: is the tree of ``new_size`` an append-only extension of the old one?"""
    if old_size < 0 or new_size < old_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # exact power of two: the old root is itself a node
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
