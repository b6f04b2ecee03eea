"""The archive's Merkle tree, as RFC 9162 (Certificate Transparency 2.0) section 2.1 defines it.

Every archived record is a leaf: leaf hash = SHA-256(0x00 || canonical bytes) (``archive.records``), node =
SHA-256(0x01 || left || right), and the tree over n leaves splits at the largest power of two below n. A
tree head (size, root) then commits to every record before it: an inclusion proof shows that one record is
in it, a consistency proof that a later tree extends an earlier one without changing a record. Anyone can
check both with these functions and SHA-256, without the archive.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof asked for what the tree cannot show (an index outside it, an older size larger)."""


_sha256 = hashlib.sha256


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class Frontier:
    """The right edge of a growing tree: the roots of its complete subtrees, largest first. Enough to add
    a leaf and to compute the root at any size it passes through, without keeping the leaves: a relay
    signing a checkpoint every few seconds, or a verifier reading a million records, holds log2(n) hashes."""

    def __init__(self) -> None:
        self.size = 0
        # One hash per set bit of size, largest subtree first: appending merges one per trailing 1 bit.
        self._stack: list[bytes] = []

    def append(self, leaf: bytes) -> None:
        value, below = leaf, self.size
        while below & 1:
            value = _sha256(b"\x01" + self._stack.pop() + value).digest()
            below >>= 1
        self._stack.append(value)
        self.size += 1

    def append_subtree(self, root: bytes, height: int) -> None:
        """Add a complete subtree of 2**height leaves, when this tree's size is a multiple of that (a
        verifier that had ranges of the log hashed apart puts their roots together)."""
        if self.size % (1 << height):
            raise ProofError(f"a subtree of {1 << height} leaves cannot follow {self.size}")
        value, below = root, self.size >> height
        while below & 1:
            value = _sha256(b"\x01" + self._stack.pop() + value).digest()
            below >>= 1
        self._stack.append(value)
        self.size += 1 << height

    def stack(self) -> list[bytes]:
        """The complete subtrees' roots, largest first: one per set bit of the size."""
        return list(self._stack)

    def root(self) -> bytes:
        """MTH(D[size]): the complete subtrees folded from the right, the tree RFC 9162 describes."""
        return fold(self._stack)


def fold(stack: Sequence[bytes]) -> bytes:
    """The root of a tree given its complete subtrees' roots, largest first."""
    if not stack:
        return EMPTY_ROOT
    value = stack[-1]
    for left in reversed(stack[:-1]):
        value = node_hash(left, value)
    return value


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes, in one pass."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the hashes that, with leaf ``index``, rebuild the root of ``leaves``."""
    if not 0 <= index < len(leaves):
        raise ProofError(f"leaf {index} is not in a tree of {len(leaves)}")
    path: list[bytes] = []
    low, high, m = 0, len(leaves), index
    while high - low > 1:
        k = _split(high - low)
        if m < k:
            path.append(root(leaves[low + k : high]))
            high = low + k
        else:
            path.append(root(leaves[low : low + k]))
            low, m = low + k, m - k
    return list(reversed(path))


def inclusion_proofs(indices: Collection[int], leaves: Sequence[bytes]) -> dict[int, list[bytes]]:
    """Many PATHs at once, each in log time once the tree is built: an RFC 9162 tree is the one got by
    hashing adjacent pairs level by level, a level's last odd node carried up as it is."""
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        pairs = [node_hash(below[k], below[k + 1]) for k in range(0, len(below) - 1, 2)]
        levels.append(pairs + ([below[-1]] if len(below) % 2 else []))
    proofs: dict[int, list[bytes]] = {}
    for index in indices:
        if not 0 <= index < len(leaves):
            raise ProofError(f"leaf {index} is not in a tree of {len(leaves)}")
        path, at = [], index
        for level in levels[:-1]:
            if at ^ 1 < len(level):
                path.append(level[at ^ 1])
            at //= 2
        proofs[index] = path
    return proofs


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): the hashes that show the tree of ``old_size`` leaves is the start of this one."""
    n = len(leaves)
    if not 0 < old_size <= n:
        raise ProofError(f"no consistency proof from {old_size} to {n} leaves")
    proof: list[bytes] = []
    low, high, m, whole = 0, n, old_size, True
    while m != high - low:
        k = _split(high - low)
        if m <= k:
            proof.append(root(leaves[low + k : high]))
            high = low + k
        else:
            proof.append(root(leaves[low : low + k]))
            low, m, whole = low + k, m - k, False
    if not whole:
        proof.append(root(leaves[low:high]))
    return list(reversed(proof))


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, value = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            value = node_hash(sibling, value)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            value = node_hash(value, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and value == expected_root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2."""
    if old_size == new_size:
        return not proof and old_root == new_root
    if not 0 < old_size < new_size or not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # an exact power of two: the old root is a node of the new tree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first = second = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            first, second = node_hash(node, first), node_hash(node, second)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            second = node_hash(second, node)
        fn, sn = fn >> 1, sn >> 1
    return first == old_root and second == new_root and sn == 0
