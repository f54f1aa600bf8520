"""Content digests (``algorithm:hex``) parsed as strictly as opencontainers/go-digest.

Rules (go-digest ``Digest.Validate``, which containers/image applies to the signed
``docker-manifest-digest`` and to the digest of a reference):

1. The value is ``algorithm:encoded`` with a non-empty algorithm and a non-empty encoded part
   (split at the first ``:``).
2. The algorithm is one we can compute: ``sha256`` (64 hex), ``sha384`` (96), ``sha512`` (128).
   Case matters: ``SHA256`` is not ``sha256``.
3. An algorithm that is well formed (``[a-z0-9]+([.+_-][a-z0-9]+)*``) but not one of those is
   refused as unsupported; anything else is refused as malformed.
4. The encoded part is lowercase hex of exactly the algorithm's length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from sigpolicy.errors import InputError
from sigpolicy.reference._text import shown

#: Hex length of each algorithm we accept, also the names :mod:`hashlib` knows them by.
SUPPORTED_ALGORITHMS: Final[dict[str, int]] = {"sha256": 64, "sha384": 96, "sha512": 128}

_HEX_RE: Final = {alg: re.compile(f"[a-f0-9]{{{n}}}") for alg, n in SUPPORTED_ALGORITHMS.items()}
# go-digest's DigestRegexp: what a digest of a not-registered algorithm would look like.
_WELL_FORMED_RE: Final = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")


class InvalidDigestError(InputError):
    """A value is not a valid ``algorithm:hex`` digest of a supported algorithm."""


@dataclass(frozen=True, slots=True)
class Digest:
    """A validated content digest; build it with :func:`parse_digest`."""

    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def parse_digest(value: str) -> Digest:
    """Parse ``algorithm:hex`` following the rules of this module.

    Raises :class:`InvalidDigestError` with a one-line message naming the value.
    """
    algorithm, sep, encoded = value.partition(":")
    if not sep or not algorithm or not encoded:
        raise InvalidDigestError(f"invalid digest {shown(value)}: expected algorithm:hex")
    hex_re = _HEX_RE.get(algorithm)
    if hex_re is None:
        if _WELL_FORMED_RE.fullmatch(value):
            raise InvalidDigestError(
                f"unsupported digest algorithm {shown(algorithm)} in {shown(value)}"
                f" (supported: {', '.join(SUPPORTED_ALGORITHMS)})"
            )
        raise InvalidDigestError(f"invalid digest {shown(value)}: malformed algorithm")
    if len(encoded) != SUPPORTED_ALGORITHMS[algorithm]:
        raise InvalidDigestError(
            f"invalid digest {shown(value)}: {algorithm} needs"
            f" {SUPPORTED_ALGORITHMS[algorithm]} hex digits, got {len(encoded)}"
        )
    if not hex_re.fullmatch(encoded):
        raise InvalidDigestError(f"invalid digest {shown(value)}: not lowercase hex")
    return Digest(algorithm, encoded)
