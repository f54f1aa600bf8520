"""A containers/image ``dir:`` image layout, read from disk (SEMANTICS.md §7).

The layout (``directory/directory_transport.go``) is a folder with ``manifest.json`` and
signature files ``signature-1``, ``signature-2``, ... This module only reads the bytes; parsing
the signature envelopes and verifying them is the caller's next step
(:mod:`sigpolicy.signature.envelope`, :mod:`sigpolicy.signature.cosign`).

Rules:

1. The folder must be a readable directory: else :class:`InputError`.
2. ``manifest.json`` absent gives ``manifest=None``: the caller decides (containers/image fails
   the image, as it cannot check any signature's digest). Present, it must be a regular file
   of at most :data:`~sigpolicy.reference.manifest.MAX_MANIFEST_SIZE` bytes.
3. Signatures are ``signature-1``, ``signature-2``, ... up to the first missing number; each a
   regular file of at most :data:`~sigpolicy.signature.envelope.MAX_SIGNATURE_FILE` bytes.
   More than :data:`MAX_SIGNATURES` is an error, as containers/image's lookaside reader
   refuses an unbounded list.
4. Anything else that cannot be read (permissions, a folder or FIFO in a file's place, a file
   over its limit) is an :class:`InputError` naming the file, not a missing file: an
   unreadable signature must not look like the end of the list.

Per-instance files of multi-image layouts (``<digest-hex>.signature-N``) and layer blobs
are not read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

from sigpolicy.errors import InputError
from sigpolicy.reference.manifest import MAX_MANIFEST_SIZE
from sigpolicy.signature.envelope import MAX_SIGNATURE_FILE
from sigpolicy.sources.bounded_file import FileProblem, read_bounded

#: The most signature files read from one layout (containers/image's lookaside bound).
MAX_SIGNATURES: Final = 128
MANIFEST_FILE: Final = "manifest.json"


# Plain classes, not dataclasses or NamedTuples: generating their code at import would slow
# down the start-up of the one-shot commands. ``Final`` keeps fields read-only.
class DirImage:
    """The bytes of one ``dir:`` layout: the manifest (None when absent) and signature files."""

    __slots__ = ("manifest", "path", "signatures")

    def __init__(self, path: Path, manifest: bytes | None, signatures: tuple[bytes, ...]) -> None:
        self.path: Final = path
        self.manifest: Final = manifest
        self.signatures: Final = signatures

    def __repr__(self) -> str:
        manifest = "no manifest" if self.manifest is None else f"{len(self.manifest)}-byte manifest"
        return f"DirImage({str(self.path)!r}, {manifest}, {len(self.signatures)} signatures)"


def read_dir_image(path: Path | str) -> DirImage:
    """Read the layout at ``path`` by the rules of this module."""
    folder = Path(path)
    try:  # 1
        if not stat.S_ISDIR(os.stat(folder).st_mode):
            raise InputError(f"dir:{folder}: not a folder")
        # Listing proves the folder is readable; opening files alone would report a
        # permission problem as a missing manifest.
        os.listdir(folder)
    except OSError as exc:
        raise InputError(f"dir:{folder}: cannot read the folder ({_why(exc)})") from None
    manifest = _read_optional(folder / MANIFEST_FILE, MAX_MANIFEST_SIZE)  # 2
    signatures: list[bytes] = []
    for number in range(1, MAX_SIGNATURES + 2):  # 3
        data = _read_optional(folder / f"signature-{number}", MAX_SIGNATURE_FILE)
        if data is None:
            break
        if number > MAX_SIGNATURES:
            raise InputError(f"dir:{folder}: more than {MAX_SIGNATURES} signature files")
        signatures.append(data)
    return DirImage(folder, manifest, tuple(signatures))


def _read_optional(path: Path, limit: int) -> bytes | None:
    """The bytes of ``path``, None when it does not exist; InputError for anything else (4)."""
    try:
        return read_bounded(path, limit)
    except FileProblem as exc:
        raise InputError(f"{path}: {exc}") from None


def _why(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__
