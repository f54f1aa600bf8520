"""The signed payload of "simple signing" and its cosign variant (SEMANTICS.md §1).

Called only with bytes a backend has authenticated. The rules are containers/image's
(``ParanoidUnmarshalJSONObject``), because a payload that one implementation reads
differently from another is how signature confusion starts:

1. UTF-8 JSON, one object, nothing after it; a duplicate key anywhere is an error.
2. Top level exactly ``critical`` and ``optional``, both present (``optional`` may be
   ``null`` in the cosign variant only).
3. ``critical`` exactly ``type``, ``image`` and ``identity``; ``type`` the format's constant.
4. ``image`` exactly ``docker-manifest-digest``, a valid ``algorithm:hex`` digest.
5. ``identity`` exactly ``docker-reference``, a string (parsed later, by the identity check).
6. ``optional``: unknown members ignored; ``creator`` a string; ``timestamp`` an integral
   number (``1.0`` is accepted, as Go reads it as a float, ``0.5`` is not).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from sigpolicy.errors import InputError, VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.reference.digest import parse_digest

ATOMIC_TYPE = "atomic container signature"
COSIGN_TYPE = "cosign container image signature"
_MAX_PAYLOAD = 256 * 1024
_INT64 = 1 << 63


# Plain classes, not dataclasses or NamedTuples: generating their code at import would slow
# down the start-up of the one-shot ``sigpolicy verify``. ``Final`` keeps fields read-only.
class SignedClaims:
    """What the signer claims, valid only once the signature is authenticated."""

    __slots__ = (
        "creator",
        "docker_manifest_digest",
        "docker_reference",
        "optional",
        "timestamp",
        "type",
    )

    def __init__(
        self,
        type: str,
        docker_manifest_digest: str,
        docker_reference: str,
        creator: str | None,
        timestamp: int | None,
        optional: Mapping[str, Any] | None,
    ) -> None:
        self.type: Final = type
        self.docker_manifest_digest: Final = docker_manifest_digest
        self.docker_reference: Final = docker_reference
        self.creator: Final = creator
        self.timestamp: Final = timestamp
        self.optional: Final = optional

    def as_string_map(self) -> dict[str, str]:
        """Every signed claim as strings (an ImageSignature's ``signedClaims``)."""
        claims = {
            "type": self.type,
            "docker-manifest-digest": self.docker_manifest_digest,
            "docker-reference": self.docker_reference,
        }
        if self.creator is not None:
            claims["creator"] = self.creator
        if self.timestamp is not None:
            claims["timestamp"] = str(self.timestamp)
        return claims


def parse_payload(data: bytes, *, expected_type: str = ATOMIC_TYPE) -> SignedClaims:
    """Parse an authenticated payload strictly; raise VerificationError(invalid-payload)."""
    try:
        return _parse(data, expected_type)
    except _PayloadError as exc:
        raise VerificationError(Reason.INVALID_PAYLOAD, f"signed payload: {exc}") from None


class _PayloadError(ValueError):
    pass


class _Float(float):
    """A JSON number written with a fraction or exponent (told apart from integers)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _PayloadError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise _PayloadError(f"{name} is not a valid JSON number")


_TOP: Final = frozenset({"critical", "optional"})
_CRITICAL: Final = frozenset({"type", "image", "identity"})
_IMAGE: Final = frozenset({"docker-manifest-digest"})
_IDENTITY: Final = frozenset({"docker-reference"})

# One decoder for every payload: json.loads with options builds a new one per call, which
# costs as much as the decoding. It keeps no state between calls.
_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_no_duplicates, parse_float=_Float, parse_constant=_reject_constant
)


def _parse(data: bytes, expected_type: str) -> SignedClaims:
    if len(data) > _MAX_PAYLOAD:
        raise _PayloadError("larger than any signature payload")
    try:
        text = data.decode("utf-8")
        document = _DECODER.decode(text)
    except UnicodeDecodeError:
        raise _PayloadError("not UTF-8") from None
    except _PayloadError:
        raise
    except (ValueError, RecursionError) as exc:
        raise _PayloadError(f"not a JSON object ({exc.__class__.__name__})") from None
    top = _exact(document, "the payload", _TOP)
    critical = _exact(top["critical"], "critical", _CRITICAL)
    sig_type = critical["type"]
    if sig_type != expected_type:
        raise _PayloadError(f"critical.type is {sig_type!r}, expected {expected_type!r}")
    image = _exact(critical["image"], "critical.image", _IMAGE)
    digest = _string(image["docker-manifest-digest"], "critical.image.docker-manifest-digest")
    try:
        parse_digest(digest)
    except InputError:
        raise _PayloadError(
            f"critical.image.docker-manifest-digest {digest!r} is invalid"
        ) from None
    identity = _exact(critical["identity"], "critical.identity", _IDENTITY)
    reference = _string(identity["docker-reference"], "critical.identity.docker-reference")
    optional = top["optional"]
    if optional is None and expected_type != COSIGN_TYPE:
        raise _PayloadError("optional must be an object")
    if optional is not None and not isinstance(optional, dict):
        raise _PayloadError("optional must be an object")
    creator, timestamp = _optional_fields(optional or {})
    return SignedClaims(expected_type, digest, reference, creator, timestamp, optional)


def _exact(value: Any, where: str, fields: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _PayloadError(f"{where} must be an object")
    if value.keys() != fields:
        unknown = sorted(set(value) - set(fields))
        missing = sorted(set(fields) - set(value))
        detail = f"unknown member {unknown[0]!r}" if unknown else f"missing member {missing[0]!r}"
        raise _PayloadError(f"{where}: {detail}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _PayloadError(f"{where} must be a string")
    return value


def _optional_fields(optional: dict[str, Any]) -> tuple[str | None, int | None]:
    creator = optional.get("creator")
    if "creator" in optional and not isinstance(creator, str):
        raise _PayloadError("optional.creator must be a string")
    if "timestamp" not in optional:
        return creator, None
    raw = optional["timestamp"]
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _PayloadError("optional.timestamp must be a number")
    if raw != raw or raw in (float("inf"), float("-inf")) or int(raw) != raw:
        raise _PayloadError("optional.timestamp must be an integral number")
    timestamp = int(raw)
    if not -_INT64 <= timestamp < _INT64:
        raise _PayloadError("optional.timestamp is out of range")
    return creator, timestamp
