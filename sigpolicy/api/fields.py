"""Field types whose wire form differs from their Python form: base64 bytes and timestamps.

Both keep the round trip exact. Base64 is decoded strictly and only canonical text is
accepted, so re-encoding gives back the same string. Timestamps stay the RFC 3339 strings
the server wrote (re-formatting a parsed time could change precision or offset); callers that
need a ``datetime`` use :func:`parse_timestamp`.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer, PlainValidator
from pydantic_core import PydanticCustomError

_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt](?P<time>\d{2}:\d{2}:\d{2})"
    r"(?:\.(?P<fraction>\d+))?(?P<offset>[Zz]|[+-]\d{2}:\d{2})"
)


def parse_timestamp(value: str) -> datetime:
    """Parse an RFC 3339 timestamp (what ``metav1.Time`` writes) into an aware ``datetime``.

    Raises ``ValueError`` for anything else: ``datetime.fromisoformat`` alone would also take
    dates without a time, a space separator and naive times, none of which the API emits.
    """
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    # datetime keeps microseconds; RFC 3339 allows any precision (Kubernetes MicroTime has 6).
    fraction = f".{match['fraction'][:6]}" if match["fraction"] else ""
    offset = "+00:00" if match["offset"] in ("Z", "z") else match["offset"]
    try:
        return datetime.fromisoformat(f"{match['date']}T{match['time']}{fraction}{offset}")
    except ValueError:  # well-formed but impossible, such as February 30
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}") from None


def format_timestamp(moment: datetime) -> str:
    """Format a time as ``metav1.Time`` does: UTC, whole seconds, ``Z`` suffix.

    Raises ``ValueError`` for a naive ``datetime``: guessing its zone would record a wrong time.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a timestamp needs a timezone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_timestamp(value: str) -> str:
    try:
        parse_timestamp(value)
    except ValueError:
        raise PydanticCustomError("timestamp", "not an RFC 3339 timestamp") from None
    return value


def _decode_base64(value: object) -> bytes:
    # bytes come from Python callers and are the payload itself; strings come from the wire.
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("base64_type", "expected a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise PydanticCustomError("base64", "not valid base64") from None
    # Non-zero padding bits decode fine but would re-encode differently; the server never
    # writes them, so such text is not what it stored.
    if base64.b64encode(raw).decode("ascii") != value:
        raise PydanticCustomError("base64", "not canonical base64")
    return raw


def _encode_base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


Base64Bytes = Annotated[
    bytes,
    PlainValidator(_decode_base64),
    PlainSerializer(_encode_base64, return_type=str, when_used="json"),
]
"""``[]byte`` of the Go types: base64 text on the wire, ``bytes`` in Python."""

Timestamp = Annotated[str, AfterValidator(_check_timestamp)]
"""``metav1.Time`` on the wire: an RFC 3339 string, kept verbatim."""
