"""The digest of an image manifest, as the signature's ``docker-manifest-digest`` binds it.

Rules (containers/image ``manifest.Digest`` / ``MatchesDigest``):

1. A manifest over 4 MiB is refused (containers/image ``iolimits.MaxManifestBodySize``; it
   never reads a bigger one, so no signature can have been checked against it).
2. A signed Docker schema-1 manifest (JSON with ``schemaVersion: 1`` and a ``signatures``
   member, see :mod:`sigpolicy.reference._schema1`) is digested over its JWS payload: the
   manifest without its signatures, ``manifest[:formatLength] + formatTail``, with the two
   values taken from the signatures' protected headers. Signatures that cannot be parsed make
   the digest an error, never a fallback to the raw bytes.
3. Every other manifest is digested over its exact bytes.

:func:`manifest_matches_digest` computes with the digest's own algorithm (sha256, sha384 or
sha512), where containers/image only ever computes sha256; a sha512 signature therefore
verifies here and is refused there. Failures raise
:class:`~sigpolicy.errors.VerificationError` with :attr:`Reason.INVALID_MANIFEST`.
"""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives import hashes

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.reference._schema1 import JWSError, is_signed_schema1, signed_payload
from sigpolicy.reference.digest import SUPPORTED_ALGORITHMS, Digest

#: containers/image ``iolimits.MaxManifestBodySize``.
MAX_MANIFEST_SIZE: Final = 4 * 1024 * 1024

# `cryptography`'s hashes, not hashlib: the one-shot ``sigpolicy verify`` has loaded them for
# the signature already, and hashlib would load a second OpenSSL (milliseconds of start-up).
_HASHES: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def manifest_digest(data: bytes, algorithm: str = "sha256") -> Digest:
    """The digest of manifest ``data`` by the rules of this module.

    Raises :class:`VerificationError` (``INVALID_MANIFEST``) for a manifest over the size
    limit or a signed schema-1 manifest whose signatures cannot be parsed; raises
    :class:`ValueError` for an algorithm outside
    :data:`~sigpolicy.reference.digest.SUPPORTED_ALGORITHMS` (a programming error).
    """
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}")
    # 1.
    if len(data) > MAX_MANIFEST_SIZE:
        raise VerificationError(
            Reason.INVALID_MANIFEST,
            f"the manifest is {len(data)} bytes, over the {MAX_MANIFEST_SIZE}-byte limit",
        )
    # 2.
    try:
        if is_signed_schema1(data):
            data = signed_payload(data)
    except JWSError as exc:
        raise VerificationError(
            Reason.INVALID_MANIFEST, f"the schema-1 manifest's JWS signatures are invalid: {exc}"
        ) from None
    # 3.
    hasher = hashes.Hash(_HASHES[algorithm]())
    hasher.update(data)
    return Digest(algorithm, hasher.finalize().hex())


def manifest_matches_digest(data: bytes, digest: Digest) -> bool:
    """True when ``data`` digests to ``digest`` with the digest's algorithm.

    Raises like :func:`manifest_digest` when the manifest cannot be digested at all.
    """
    # Both digests are public, so a plain comparison gives nothing away.
    return manifest_digest(data, digest.algorithm) == digest
