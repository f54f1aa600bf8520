"""RFC 8785 (JSON Canonicalization Scheme) of untrusted JSON, as Rekor signs its SETs.

A Rekor signed entry timestamp is an ECDSA signature over the SHA-256 of the canonical form
of ``{body, integratedTime, logIndex, logID}``. containers/image canonicalizes the payload
exactly as it arrived (``jsoncanonicalizer.Transform``) and verifies the signature over
that, then parses the *canonical* bytes; this module does the same, with the same rules:

1. The input is one UTF-8 JSON value and nothing after it; a duplicate key anywhere, NaN or
   Infinity, a lone surrogate, a number out of the range of an IEEE 754 double, or nesting
   deeper than :data:`MAX_DEPTH` is an error (:class:`CanonicalJSONError`).
2. Objects are written with their members sorted by the UTF-16 code units of their names,
   no white space anywhere.
3. Strings are written with only ``"`` ``\\`` and the control characters escaped
   (``\\b \\f \\n \\r \\t``, the others ``\\u00xx`` in lowercase hex), everything else as
   UTF-8.
4. Numbers are IEEE 754 doubles written as ECMAScript's ``Number.prototype.toString``
   does (``1e+21``, ``0.000001``, ``1e-7``; ``-0`` is ``0``): the integers Rekor writes up to
   2**53 keep their digits, bigger ones are rounded, as by every RFC 8785 implementation.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

#: Deeper than a Rekor payload (2 levels) will ever nest: a deeper document is hostile.
MAX_DEPTH: Final = 32

_ESCAPES: Final = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r"}
_ESCAPES["\t"] = "\\t"
_NEEDS_ESCAPE: Final = re.compile(r'[\x00-\x1f"\\]')


class CanonicalJSONError(ValueError):
    """The input cannot be canonicalized; ``str()`` says why."""


class _Number(float):
    """A JSON number, read as the double it denotes."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise CanonicalJSONError(f"duplicate key {key[:40]!r}")
        out[key] = value
    return out


def _number(text: str) -> _Number:
    value = float(text)
    if math.isinf(value):
        raise CanonicalJSONError(f"number {text[:40]} is out of range")
    return _Number(value)


def _reject_constant(name: str) -> Any:
    raise CanonicalJSONError(f"{name} is not JSON")


# One decoder, made once (json.loads with options builds a new one per call); stateless.
_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_no_duplicates,
    parse_float=_number,
    parse_int=_number,
    parse_constant=_reject_constant,
)


def parse(data: bytes) -> Any:
    """Rule 1: the value of ``data``, numbers as :class:`float`."""
    try:
        return _DECODER.decode(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise CanonicalJSONError("not UTF-8") from None
    except CanonicalJSONError:
        raise
    except RecursionError:
        raise CanonicalJSONError("nested too deeply") from None
    except ValueError as exc:
        raise CanonicalJSONError(f"not JSON ({exc})") from None


def canonicalize(data: bytes) -> bytes:
    """The RFC 8785 form of the JSON text ``data`` (rules 1-4)."""
    return canonical_form(parse(data))


def canonical_form(value: Any) -> bytes:
    """The RFC 8785 form of a value :func:`parse` returned (rules 2-4)."""
    out: list[str] = []
    _write(value, out, 0)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalJSONError("a string holds a lone surrogate") from None


def _write(value: Any, out: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise CanonicalJSONError(f"nested deeper than {MAX_DEPTH} levels")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, float):
        out.append(es6_number(value))
    elif isinstance(value, list):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out, depth + 1)
        out.append("]")
    else:
        out.append("{")
        # UTF-16 code unit order: big-endian UTF-16 bytes compare the same way.
        keys = sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        for index, key in enumerate(keys):
            if index:
                out.append(",")
            out.append(_string(key))
            out.append(":")
            _write(value[key], out, depth + 1)
        out.append("}")


def _string(text: str) -> str:
    # A regular expression finds the few characters to escape: a Rekor body is kilobytes of
    # base64 with none of them, and a loop over every character would dominate the check.
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def es6_number(value: float) -> str:
    """ECMAScript's shortest round-trip spelling of a finite double (rule 4)."""
    if not math.isfinite(value):
        raise CanonicalJSONError("NaN and Infinity have no JSON form")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    power = f"e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    if k == 1:
        return sign + digits + power
    return sign + digits[0] + "." + digits[1:] + power
