"""RFC 6962 Merkle tree hashes and the inclusion proof check of RFC 9162 §2.1.3.2.

A transparency log (Rekor, a CT log) is a Merkle tree: a leaf's hash is
``SHA-256(0x00 || entry)``, an inner node's ``SHA-256(0x01 || left || right)``. An inclusion
proof is the list of sibling hashes from the leaf at ``index`` up to the root of a tree of
``size`` leaves; it proves the entry is in the tree whose root hash a signed checkpoint
commits to. Pure and bounded: a path longer than the tree can be deep is refused before
any hashing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason

#: A tree of at most 2**63 leaves (Rekor's int64 indices) is at most 63 levels deep.
MAX_PATH: Final = 64
HASH_SIZE: Final = 32


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root hash ``path`` leads to from ``leaf`` (a leaf hash) at ``index`` in a tree of
    ``size`` leaves (RFC 9162 §2.1.3.2, steps 1-5); raise VerificationError(bad-signature)
    when the path cannot be a proof for that position."""
    if not 0 <= index < size:  # 1
        raise VerificationError(
            Reason.BAD_SIGNATURE,
            f"inclusion proof: leaf index {index} is outside a tree of {size} leaves",
        )
    if len(path) > MAX_PATH or any(len(p) != HASH_SIZE for p in path):
        raise VerificationError(
            Reason.BAD_SIGNATURE, "inclusion proof: the path is not a list of SHA-256 hashes"
        )
    fn, sn, r = index, size - 1, leaf  # 2, 3
    for p in path:  # 4
        if sn == 0:  # 4a
            raise VerificationError(
                Reason.BAD_SIGNATURE,
                f"inclusion proof: {len(path)} hashes, more than a tree of {size} leaves needs",
            )
        if fn & 1 or fn == sn:  # 4b
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1  # 4c
        sn >>= 1
    if sn != 0:  # 5
        raise VerificationError(
            Reason.BAD_SIGNATURE,
            f"inclusion proof: {len(path)} hashes, fewer than a tree of {size} leaves needs",
        )
    return r
