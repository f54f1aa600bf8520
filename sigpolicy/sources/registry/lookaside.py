"""Lookaside signature stores: the ``lookaside`` URL of registries.d, read as containers/image.

The layout (``lookasideStorageURL`` and ``docs/signature-protocols.md``):

1. The signature ``N`` of the manifest ``alg:hex`` in repository ``host/path`` is at
   ``<base>/<path>@<alg>=<hex>/signature-<N>``: the repository path without its host,
   because the scope that chose ``<base>`` already says which registry it serves.
2. ``N`` counts from 1 and the list ends at the first signature that does not exist
   (``file``: no such file; ``http(s)``: status 404). Any other failure is an error of the
   source, never the end of the list: an unreadable signature must not look like "no more
   signatures".
3. At most :data:`MAX_LOOKASIDE_SIGNATURES` (upstream's ``maxLookasideSignatures``); a store
   that has more is broken or hostile, and reading it is an error, as upstream. Each file
   is at most :data:`~sigpolicy.signature.envelope.MAX_SIGNATURE_FILE` bytes.
4. ``http(s)`` stores are fetched without the registry's credentials (upstream uses a plain
   client for them), through the registry client, so its TLS settings, size caps and the
   caller's deadline apply.

Only bytes come out of here: each file's envelope is parsed, and each signature verified,
by the caller (:mod:`sigpolicy.signature.envelope`, the verifiers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit, urlunsplit

from sigpolicy.errors import SourceError
from sigpolicy.reference.digest import Digest
from sigpolicy.reference.docker import Reference
from sigpolicy.signature.envelope import MAX_SIGNATURE_FILE
from sigpolicy.sources.bounded_file import FileProblem, read_bounded
from sigpolicy.sources.registry.registries_d import LookasideURL

if TYPE_CHECKING:
    from sigpolicy.sources.registry.client import RegistryClient

__all__ = ["MAX_LOOKASIDE_SIGNATURES", "read_lookaside", "signature_location"]

#: containers/image ``maxLookasideSignatures``.
MAX_LOOKASIDE_SIGNATURES: Final = 128


def signature_location(base: LookasideURL, ref: Reference, digest: Digest, number: int) -> str:
    """Where signature ``number`` (from 1) lives (rule 1): a local path or a URL."""
    tail = f"/{ref.path}@{digest.algorithm}={digest.hex}/signature-{number}"
    if base.scheme == "file":
        return base.path + tail
    parts = urlsplit(base.url)
    return urlunsplit((parts.scheme, parts.netloc, base.path + tail, "", ""))


async def read_lookaside(
    client: RegistryClient,
    base: LookasideURL,
    ref: Reference,
    digest: Digest,
    *,
    deadline: float,
) -> list[tuple[str, bytes]]:
    """Every signature file for ``digest`` in the store, as ``(signature-N, bytes)`` (rules 2-4)."""
    found: list[tuple[str, bytes]] = []
    for number in range(1, MAX_LOOKASIDE_SIGNATURES + 2):
        location = signature_location(base, ref, digest, number)
        if base.scheme == "file":
            data = _read_file(location)
        else:
            data = await client.get_url(
                location, credentials=None, deadline=deadline, max_bytes=MAX_SIGNATURE_FILE
            )
        if data is None:
            break
        if number > MAX_LOOKASIDE_SIGNATURES:
            raise SourceError(
                f"lookaside {base}: more than {MAX_LOOKASIDE_SIGNATURES} signatures for"
                f" {ref.repository}@{digest}, assuming a broken or hostile store"
            )
        found.append((f"signature-{number}", data))
    return found


def _read_file(path: str) -> bytes | None:
    """The bytes at ``path``; None when it does not exist; SourceError otherwise (rule 2)."""
    try:
        return read_bounded(path, MAX_SIGNATURE_FILE, what="signature ")
    except FileProblem as exc:
        raise SourceError(f"lookaside {path}: {exc}") from None
