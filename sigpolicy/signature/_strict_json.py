"""Strict, bounded reading of the JSON documents Sigstore ships (trusted roots, bundles).

Both are protobuf messages in their JSON form. Go's and Python's protobuf parsers differ on
duplicate keys and on what they skip, so a document one verifier reads one way and another
reads another way is refused outright: no duplicate key, no NaN or Infinity, no lone
surrogate, one UTF-8 object with nothing after it. Every error names the JSON path of the
offending value (``$.tlogs[0].publicKey.rawBytes``), and values shown are cut short, as
they are untrusted.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping
from typing import Any, Final, NoReturn

_MAX_SHOWN: Final = 40
#: Deeper than any Sigstore message nests; a deeper document is hostile.
_MAX_DEPTH: Final = 32


class JSONShapeError(ValueError):
    """A document is not of the expected shape; ``str()`` is ``<path>: <problem>``."""


def fail(path: str, problem: str) -> NoReturn:
    raise JSONShapeError(f"{path}: {problem}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JSONShapeError(f"duplicate key {shown(key)}")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise JSONShapeError(f"{name} is not a valid JSON number")


_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_no_duplicates, parse_constant=_reject_constant
)


def load_object(data: bytes, limit: int) -> dict[str, Any]:
    """One JSON object of at most ``limit`` bytes; raise JSONShapeError."""
    if len(data) > limit:
        fail("$", f"{len(data)} bytes, over the {limit}-byte limit")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        fail("$", "not UTF-8")
    # Nesting is checked before decoding: the stdlib decoder recurses per level.
    if _nesting(text) > _MAX_DEPTH:
        fail("$", f"nested deeper than {_MAX_DEPTH} levels")
    try:
        document = _DECODER.decode(text)
    except JSONShapeError as exc:
        fail("$", str(exc))
    except (ValueError, RecursionError) as exc:
        fail("$", f"not JSON ({exc.__class__.__name__})")
    if not isinstance(document, dict):
        fail("$", "not a JSON object")
    return document


def _nesting(text: str) -> int:
    """The deepest bracket nesting, strings skipped: one linear pass."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def members(
    value: Any, path: str, *, required: frozenset[str], optional: frozenset[str] = frozenset()
) -> Mapping[str, Any]:
    """``value`` as an object with exactly the ``required`` members and some ``optional``."""
    if not isinstance(value, dict):
        fail(path, "must be an object")
    unknown = sorted(set(value) - required - optional)
    if unknown:
        fail(path, f"unknown member {shown(unknown[0])}")
    missing = sorted(required - set(value))
    if missing:
        fail(path, f"missing member {missing[0]!r}")
    return value


def string(value: Any, path: str, *, limit: int = 4096) -> str:
    if not isinstance(value, str):
        fail(path, "must be a string")
    if len(value) > limit:
        fail(path, f"longer than {limit} characters")
    try:
        # A lone surrogate is legal JSON escaping but no text (Go reads U+FFFD instead).
        value.encode("utf-8")
    except UnicodeEncodeError:
        fail(path, "holds an unpaired surrogate")
    return value


def array(value: Any, path: str, *, limit: int) -> list[Any]:
    if not isinstance(value, list):
        fail(path, "must be an array")
    if len(value) > limit:
        fail(path, f"{len(value)} items, more than the {limit} allowed")
    return value


def base64_bytes(value: Any, path: str, *, limit: int) -> bytes:
    """Protobuf ``bytes`` in JSON: standard base64 with padding, as Sigstore clients write."""
    text = string(value, path, limit=4 * (limit // 3 + 1))
    try:
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error):
        fail(path, "is not valid base64")


def int64_string(value: Any, path: str) -> int:
    """Protobuf ``int64`` in JSON: a decimal string (Go writes it so) or an integral number."""
    if isinstance(value, bool):
        fail(path, "must be an integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.lstrip("-").isdigit():
        if len(value) > 20:
            fail(path, "is out of range")
        number = int(value)
    else:
        fail(path, "must be an integer (a decimal string)")
    if not -(1 << 63) <= number < (1 << 63):
        fail(path, "is out of range")
    return number


def shown(value: str) -> str:
    """``value`` quoted and cut short: it is untrusted and may be long or hostile."""
    if len(value) > _MAX_SHOWN:
        return repr(value[:_MAX_SHOWN])[:-1] + "...'"
    return repr(value)
