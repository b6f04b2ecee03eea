"""The archive's Merkle tree against RFC 9162: roots as the definition computes them, and proofs that
verify for every leaf and size, and fail for anything altered."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from archive.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    inclusion_proofs,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from archive.records import leaf_hash


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(f'{{"n":{i}}}'.encode()) for i in range(n)]


def mth(d: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.1, word for word (recursive), to check the one-pass root against."""
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = 1
    while k * 2 < len(d):
        k *= 2
    return node_hash(mth(d[:k]), mth(d[k:]))


def test_known_roots() -> None:
    assert root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    one = leaves(1)
    assert root(one) == one[0]
    a, b, c = leaves(3)
    assert root([a, b, c]) == node_hash(node_hash(a, b), c)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=70))
def test_the_one_pass_root_is_the_rfcs(n: int) -> None:
    assert root(leaves(n)) == mth(leaves(n))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_every_leaf_has_an_inclusion_proof_that_verifies_and_nothing_else_does(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=1, max_value=70))
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    tree = leaves(n)
    head = root(tree)
    proof = inclusion_proof(index, tree)
    assert verify_inclusion(index, n, tree[index], proof, head)
    assert not verify_inclusion(index, n, leaf_hash(b"forged"), proof, head)
    if n > 1:
        other = (index + 1) % n
        assert not verify_inclusion(other, n, tree[index], proof, head)
    if proof:
        bent = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
        assert not verify_inclusion(index, n, tree[index], bent, head)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_later_tree_proves_it_extends_an_earlier_one_and_a_rewritten_one_cannot(
    data: st.DataObject,
) -> None:
    n = data.draw(st.integers(min_value=1, max_value=70))
    m = data.draw(st.integers(min_value=1, max_value=n))
    tree = leaves(n)
    proof = consistency_proof(m, tree)
    assert verify_consistency(m, n, root(tree[:m]), root(tree), proof)
    if m < n:
        rewritten = list(tree)
        rewritten[data.draw(st.integers(min_value=0, max_value=m - 1))] = leaf_hash(b"rewritten")
        assert not verify_consistency(m, n, root(tree[:m]), root(rewritten), consistency_proof(m, rewritten))
        assert not verify_consistency(m, n, root(rewritten[:m]), root(tree), proof)


# The reference tree of RFC 6962's and RFC 9162's implementations (certificate-transparency's test data):
# eight leaves and the root after each.
_DATA = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_the_reference_roots() -> None:
    tree = [leaf_hash(bytes.fromhex(d)) for d in _DATA]
    assert [root(tree[: n + 1]).hex() for n in range(8)] == _ROOTS


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=140))
def test_many_proofs_at_once_are_each_the_rfcs_path(n: int) -> None:
    tree = leaves(n)
    assert inclusion_proofs(range(n), tree) == {i: inclusion_proof(i, tree) for i in range(n)}
