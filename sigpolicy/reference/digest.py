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
from typing import Final

from sigpolicy.errors import InputError
from sigpolicy.reference._text import shown

#: Hex length of each algorithm we accept, also the names :mod:`hashlib` knows them by.
SUPPORTED_ALGORITHMS: Final[dict[str, int]] = {"sha256": 64, "sha384": 96, "sha512": 128}

_LOWER_HEX: Final = frozenset("0123456789abcdef")
# go-digest's DigestRegexp: what a digest of a not-registered algorithm would look like. Only
# error messages need it, so ``re`` compiles (and caches) it on first use.
_WELL_FORMED: Final = r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+"


class InvalidDigestError(InputError):
    """A value is not a valid ``algorithm:hex`` digest of a supported algorithm."""


# Plain classes, not dataclasses or NamedTuples: generating their code at import would slow
# down the start-up of the one-shot ``sigpolicy verify``. ``Final`` keeps fields read-only.
class Digest:
    """A validated content digest; build it with :func:`parse_digest`."""

    __slots__ = ("algorithm", "hex")

    def __init__(self, algorithm: str, hex: str) -> None:
        self.algorithm: Final = algorithm
        self.hex: Final = hex

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Digest):
            return NotImplemented
        return self.algorithm == other.algorithm and self.hex == other.hex

    def __hash__(self) -> int:
        return hash((self.algorithm, self.hex))

    def __repr__(self) -> str:
        return f"Digest(algorithm={self.algorithm!r}, hex={self.hex!r})"

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def parse_digest(value: str) -> Digest:
    """Parse ``algorithm:hex`` following the rules of this module.

    Raises :class:`InvalidDigestError` with a one-line message naming the value.
    """
    algorithm, sep, encoded = value.partition(":")
    if not sep or not algorithm or not encoded:
        raise InvalidDigestError(f"invalid digest {shown(value)}: expected algorithm:hex")
    length = SUPPORTED_ALGORITHMS.get(algorithm)
    if length is None:
        if re.fullmatch(_WELL_FORMED, value):
            raise InvalidDigestError(
                f"unsupported digest algorithm {shown(algorithm)} in {shown(value)}"
                f" (supported: {', '.join(SUPPORTED_ALGORITHMS)})"
            )
        raise InvalidDigestError(f"invalid digest {shown(value)}: malformed algorithm")
    if len(encoded) != length:
        raise InvalidDigestError(
            f"invalid digest {shown(value)}: {algorithm} needs"
            f" {length} hex digits, got {len(encoded)}"
        )
    if not _LOWER_HEX.issuperset(encoded):
        raise InvalidDigestError(f"invalid digest {shown(value)}: not lowercase hex")
    return Digest(algorithm, encoded)
