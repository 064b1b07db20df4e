"""RFC 6962 properties of the pure Merkle functions, against a literal reading of the RFC."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kansa.ledger import merkle


def _rfc_mth(data: list[bytes]) -> bytes:
    """MTH straight from RFC 6962 section 2.1, recursion on raw entries (independent of merkle.root)."""
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + _rfc_mth(data[:k]) + _rfc_mth(data[k:])).digest()


def _entries(n: int) -> list[bytes]:
    return [f"entry-{i}".encode() for i in range(n)]


def test_empty_tree_hash_is_sha256_of_nothing() -> None:
    assert merkle.root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    a, b = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.node_hash(a, b) != merkle.leaf_hash(a + b)


@pytest.mark.parametrize("n", range(0, 33))
def test_root_matches_rfc_definition(n: int) -> None:
    data = _entries(n)
    assert merkle.root([merkle.leaf_hash(d) for d in data]) == _rfc_mth(data)


def test_prefix_roots_match_roots_of_prefixes() -> None:
    leaves = [merkle.leaf_hash(d) for d in _entries(40)]
    got = dict(merkle.prefix_roots(leaves, [1, 2, 3, 7, 8, 9, 31, 40, 41]))
    assert 41 not in got  # beyond the stream
    for size, r in got.items():
        assert r == merkle.root(leaves[:size])


@pytest.mark.parametrize("n", range(1, 21))
def test_every_inclusion_proof_verifies_and_wrong_ones_do_not(n: int) -> None:
    leaves = [merkle.leaf_hash(d) for d in _entries(n)]
    r = merkle.root(leaves)
    for i in range(n):
        proof = merkle.inclusion_proof(i, leaves)
        assert merkle.verify_inclusion(i, n, leaves[i], proof, r)
        other = merkle.leaf_hash(b"forged")
        assert not merkle.verify_inclusion(i, n, other, proof, r)
        if n > 1:
            assert not merkle.verify_inclusion((i + 1) % n, n, leaves[i], proof, r)
        if proof:
            assert not merkle.verify_inclusion(i, n, leaves[i], proof[:-1], r)


@pytest.mark.parametrize("n", range(1, 21))
def test_every_consistency_proof_verifies(n: int) -> None:
    leaves = [merkle.leaf_hash(d) for d in _entries(n)]
    new_root = merkle.root(leaves)
    for m in range(0, n + 1):
        old_root = merkle.root(leaves[:m])
        proof = merkle.consistency_proof(m, leaves)
        assert merkle.verify_consistency(m, n, old_root, new_root, proof), (m, n)
        if 0 < m < n:
            assert not merkle.verify_consistency(m, n, merkle.leaf_hash(b"x"), new_root, proof)
            assert not merkle.verify_consistency(m, n, old_root, merkle.leaf_hash(b"x"), proof)


@given(st.integers(1, 64), st.data())
def test_rewritten_history_breaks_consistency(n: int, data: st.DataObject) -> None:
    m = data.draw(st.integers(1, n))
    i = data.draw(st.integers(0, m - 1))
    leaves = [merkle.leaf_hash(d) for d in _entries(n)]
    old_root = merkle.root(leaves[:m])
    forged = list(leaves)
    forged[i] = merkle.leaf_hash(b"rewritten")
    proof = merkle.consistency_proof(m, forged)
    assert not merkle.verify_consistency(m, n, old_root, merkle.root(forged), proof)


# The Certificate Transparency project's Merkle tree test vectors (merkle_tree_test.cc): the eight
# inputs of the RFC 6962 example tree and the roots of its prefixes of size 1..8.
CT_INPUTS = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("n", range(1, 9))
def test_published_ct_roots(n: int) -> None:
    leaves = [merkle.leaf_hash(bytes.fromhex(x)) for x in CT_INPUTS[:n]]
    assert merkle.root(leaves).hex() == CT_ROOTS[n - 1]
    for cut in range(n + 1):  # grown in two batches from a kept frontier: the same tree
        tree = merkle.Frontier()
        tree.extend(leaves[:cut])
        tree = merkle.Frontier(tree.stack)
        tree.extend(leaves[cut:])
        assert tree.root().hex() == CT_ROOTS[n - 1] and tree.size == n


@given(st.lists(st.integers(0, 40), max_size=6))
def test_bulk_extend_matches_root_whatever_the_batches(batches: list[int]) -> None:
    entries = _entries(sum(batches))
    hashes = [merkle.leaf_hash(e) for e in entries]
    tree = merkle.Frontier()
    pos = 0
    for b in batches:
        tree.extend(hashes[pos:pos + b])
        pos += b
        assert tree.root() == _rfc_mth(entries[:pos])


# The same project's published consistency proofs between prefixes of that tree:
# (old size, new size, proof); the roots are CT_ROOTS above.
CT_CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]


def _flip(h: bytes) -> bytes:
    return h[:-1] + bytes([h[-1] ^ 1])


@pytest.mark.parametrize(("m", "n", "proof_hex"), CT_CONSISTENCY)
def test_published_ct_consistency_proofs(m: int, n: int, proof_hex: list[str]) -> None:
    leaves = [merkle.leaf_hash(bytes.fromhex(x)) for x in CT_INPUTS[:n]]
    published = [bytes.fromhex(p) for p in proof_hex]
    assert merkle.consistency_proof(m, leaves) == published  # we produce the published proof
    old, new = bytes.fromhex(CT_ROOTS[m - 1]), bytes.fromhex(CT_ROOTS[n - 1])
    assert merkle.verify_consistency(m, n, old, new, published)  # and accept it
    if published:  # a flipped bit anywhere, or a proof cut short, is refused
        assert not merkle.verify_consistency(m, n, old, _flip(new), published)
        assert not merkle.verify_consistency(m, n, _flip(old), new, published)
        assert not merkle.verify_consistency(m, n, old, new, published[:-1])
        assert not merkle.verify_consistency(m, n, old, new, [_flip(published[0]), *published[1:]])


def test_published_ct_leaf_and_node_hashes() -> None:
    assert merkle.leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert merkle.leaf_hash(bytes.fromhex("101112131415161718191a1b1c1d1e1f")).hex() == (
        "3bfb960453ebaebf33727da7a1f4db38acc051d381b6da20d6d4e88f0eabfd7a")
    left = bytes.fromhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
    right = bytes.fromhex("202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f")
    assert merkle.node_hash(left, right).hex() == "1a378704c17da31e2d05b6d121c2bb2c7d76f6ee6fa8f983e596c2d034963c57"


def test_equal_sizes_with_different_roots_are_not_consistent() -> None:
    r = bytes.fromhex(CT_ROOTS[2])
    assert merkle.verify_consistency(3, 3, r, r, [])
    assert not merkle.verify_consistency(3, 3, _flip(r), r, [])
