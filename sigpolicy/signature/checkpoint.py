"""A transparency log checkpoint: a C2SP signed note committing to a tree size and root hash.

The text (``inclusionProof.checkpoint.envelope`` of a bundle) is::

    <origin>\\n<tree size>\\n<base64 root hash>\\n[<extension line>\\n ...]
    \\n
    \\u2014 <key name> <base64(4-byte key hint || signature)>\\n   (one or more)

Rules, in order; every failure is ``bad-signature`` with a message naming the check:

1. At most :data:`MAX_CHECKPOINT` bytes of UTF-8; the note and its signatures are split at
   the first blank line; the note has at least the three lines, the size is a decimal
   without leading zeros, the root hash is 32 bytes of standard base64.
2. At most :data:`MAX_SIGNATURES` signature lines, each an em dash, a space, a name
   without blanks, a space, base64 of at least 5 bytes.
3. The log's key signs the note text (everything before the blank line, with its final
   newline). The signature line used is the one whose key hint is the first four bytes of
   the log's ID: for Rekor v1 that is the SHA-256 of its SubjectPublicKeyInfo, for an
   Ed25519 log the signed-note key ID (C2SP), both what ``RekorKey.log_id`` holds. Other
   signature lines (witnesses) are ignored, as sigstore clients ignore them.
4. The signed size and root hash are those the inclusion proof leads to (the caller's
   comparison, :func:`verify_checkpoint`).
"""

from __future__ import annotations

import binascii
from typing import Final

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.log_signature import log_key_verifies
from sigpolicy.signature.sigstore_roots import RekorKey

MAX_CHECKPOINT: Final = 16 * 1024
MAX_SIGNATURES: Final = 16
_DASH: Final = "\u2014 "


class Checkpoint:
    __slots__ = ("extensions", "origin", "root_hash", "size")

    def __init__(self, origin: str, size: int, root_hash: bytes, extensions: tuple[str, ...]):
        self.origin: Final = origin
        self.size: Final = size
        self.root_hash: Final = root_hash
        self.extensions: Final = extensions


def _bad(problem: str) -> VerificationError:
    return VerificationError(Reason.BAD_SIGNATURE, f"checkpoint: {problem}")


def verify_checkpoint(text: str, key: RekorKey, *, tree_size: int, root_hash: bytes) -> Checkpoint:
    """Rules 1-4: ``text`` is signed by ``key`` and commits to ``tree_size`` and
    ``root_hash``; raise VerificationError(bad-signature)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CHECKPOINT:  # 1
        raise _bad(f"over the {MAX_CHECKPOINT}-byte limit")
    note, blank, signature_block = text.partition("\n\n")
    if not blank:
        raise _bad("no blank line between the note and its signatures")
    note_text = note + "\n"
    checkpoint = _parse_note(note_text)
    signatures = _parse_signatures(signature_block)  # 2
    hint = key.log_id[:4]
    candidates = [signature for signature_hint, signature in signatures if signature_hint == hint]
    if not candidates:  # 3
        raise _bad(f"no signature by the log key {key.log_id[:4].hex()}... ({key.origin})")
    message = note_text.encode("utf-8")
    if not any(log_key_verifies(key.public_key, sig, message) for sig in candidates):
        raise _bad(f"the signature does not verify with the log key ({key.origin})")
    if checkpoint.size != tree_size:  # 4
        raise _bad(
            f"signs a tree of {checkpoint.size} leaves, the inclusion proof is for {tree_size}"
        )
    if checkpoint.root_hash != root_hash:
        raise _bad(
            f"signs the root hash {checkpoint.root_hash.hex()[:16]}..., the inclusion proof"
            f" leads to {root_hash.hex()[:16]}..."
        )
    return checkpoint


def _parse_note(note_text: str) -> Checkpoint:
    lines = note_text.split("\n")[:-1]
    if len(lines) < 3:
        raise _bad("the note has fewer than three lines (origin, size, root hash)")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise _bad("the origin line is empty")
    if (
        not (size_text.isascii() and size_text.isdigit())
        or (size_text != "0" and size_text.startswith("0"))
        or len(size_text) > 20
    ):
        raise _bad("the tree size is not a decimal number")
    try:
        root = binascii.a2b_base64(root_text.encode("ascii"), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error):
        raise _bad("the root hash is not base64") from None
    if len(root) != 32:
        raise _bad("the root hash is not a SHA-256 hash")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def _parse_signatures(block: str) -> list[tuple[bytes, bytes]]:
    if not block.endswith("\n"):
        raise _bad("the signature lines do not end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise _bad(f"more than {MAX_SIGNATURES} signature lines")
    out: list[tuple[bytes, bytes]] = []
    for number, line in enumerate(lines, start=1):
        if not line.startswith(_DASH):
            raise _bad(f"signature line {number} does not start with an em dash")
        name, space, encoded = line[len(_DASH) :].partition(" ")
        if not name or not space or " " in encoded:
            raise _bad(f"signature line {number} is not '<name> <signature>'")
        try:
            raw = binascii.a2b_base64(encoded.encode("ascii"), strict_mode=True)
        except (UnicodeEncodeError, binascii.Error):
            raise _bad(f"signature line {number} is not base64") from None
        if len(raw) < 5:
            raise _bad(f"signature line {number} is too short")
        out.append((raw[:4], raw[4:]))
    return out
