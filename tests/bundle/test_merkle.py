"""RFC 9162 inclusion proofs, checked against trees the kit builds by RFC 6962's recursive
definitions (MTH, PATH): every leaf of every tree of 1 to 17 leaves, then broken proofs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.merkle import leaf_hash, root_from_inclusion_proof
from tests.support.sigstore_bundle_kit import merkle_path, merkle_root


def _entries(n: int) -> list[bytes]:
    return [f"entry {i}".encode() for i in range(n)]


@pytest.mark.parametrize("size", range(1, 18))
def test_every_leaf_of_every_small_tree(size: int) -> None:
    entries = _entries(size)
    root = merkle_root(entries)
    for index in range(size):
        path = merkle_path(index, entries)
        assert root_from_inclusion_proof(index, size, leaf_hash(entries[index]), path) == root


Proof = tuple[int, int, bytes, list[bytes]]
SIZE = 11
INDEX = 6


def _proof() -> Proof:
    entries = _entries(SIZE)
    return INDEX, SIZE, leaf_hash(entries[INDEX]), merkle_path(INDEX, entries)


# Each case changes the proof; either the verifier refuses it or it leads to another root.
BROKEN: list[tuple[str, Callable[[Proof], Proof], str | None]] = [
    ("other-leaf", lambda p: (p[0], p[1], leaf_hash(b"entry 5"), p[3]), None),
    ("other-index", lambda p: (p[0] - 1, p[1], p[2], p[3]), None),
    # A proof for one size is a proof for any size of the same shape (12 here); the signed
    # checkpoint binds the size. A size of another shape needs another path.
    ("smaller-size", lambda p: (p[0], 7, p[2], p[3]), "more than a tree of 7 leaves needs"),
    ("sibling-altered", lambda p: (p[0], p[1], p[2], [bytes(32), *p[3][1:]]), None),
    ("path-reversed", lambda p: (p[0], p[1], p[2], p[3][::-1]), None),
    ("index-at-size", lambda p: (p[1], p[1], p[2], p[3]), "outside a tree of 11 leaves"),
    ("negative-index", lambda p: (-1, p[1], p[2], p[3]), "outside a tree"),
    (
        "path-too-long",
        lambda p: (p[0], p[1], p[2], [*p[3], bytes(32)]),
        "more than a tree of 11 leaves needs",
    ),
    (
        "path-too-short",
        lambda p: (p[0], p[1], p[2], p[3][:-1]),
        "fewer than a tree of 11 leaves needs",
    ),
    (
        "hash-not-32-bytes",
        lambda p: (p[0], p[1], p[2], [b"\x00" * 31, *p[3][1:]]),
        "not a list of SHA-256",
    ),
    ("path-of-65", lambda p: (p[0], p[1], p[2], [bytes(32)] * 65), "not a list of SHA-256"),
]


@pytest.mark.parametrize(("change", "problem"), [pytest.param(c, m, id=n) for n, c, m in BROKEN])
def test_broken_proofs(change: Callable[[Proof], Proof], problem: str | None) -> None:
    root = merkle_root(_entries(SIZE))
    index, size, leaf, path = change(_proof())
    if problem is None:
        assert root_from_inclusion_proof(index, size, leaf, path) != root
        return
    with pytest.raises(VerificationError) as caught:
        root_from_inclusion_proof(index, size, leaf, path)
    assert caught.value.reason is Reason.BAD_SIGNATURE
    assert problem in caught.value.message and caught.value.message.startswith("inclusion proof:")
