"""RFC 8785 canonical JSON, which Rekor signs: the RFC's own examples and the refusals."""

from __future__ import annotations

import pytest

from sigpolicy.signature.canonical_json import CanonicalJSONError, canonicalize, es6_number

# RFC 8785 appendix B (IEEE 754 value -> ECMAScript spelling), and the integers Rekor writes.
NUMBERS = {
    "zero": (0.0, "0"),
    "minus zero": (-0.0, "0"),
    "integer": (1670870899.0, "1670870899"),
    "largest exact integer": (9007199254740991.0, "9007199254740991"),
    "1e21": (1e21, "1e+21"),
    "below 1e21": (999999999999999900000.0, "999999999999999900000"),
    "1e-7": (1e-7, "1e-7"),
    "0.000001": (0.000001, "0.000001"),
    "fraction": (4.5, "4.5"),
    "0.002": (0.002, "0.002"),
    "shortest round trip": (333333333.3333333, "333333333.3333333"),
    "negative": (-1.5e-30, "-1.5e-30"),
    "max double": (1.7976931348623157e308, "1.7976931348623157e+308"),
    "min denormal": (5e-324, "5e-324"),
    "big integer rounds": (295147905179352830000.0, "295147905179352830000"),
}


@pytest.mark.parametrize(("value", "text"), NUMBERS.values(), ids=NUMBERS.keys())
def test_number_spelling(value: float, text: str) -> None:
    assert es6_number(value) == text


DOCUMENTS = {
    "members sorted, white space dropped": (
        b'{ "logIndex": 2, "body": "x",\n "integratedTime": 1, "logID": "y" }',
        b'{"body":"x","integratedTime":1,"logID":"y","logIndex":2}',
    ),
    "numbers normalised": (b"[1.0, 1e3, -0, 0.1e1]", b"[1,1000,0,1]"),
    # RFC 8785 section 3.2.3: U+1F600 (surrogates D83D DE00) sorts before U+FB33.
    "sorted by UTF-16 code units": (
        '{"\ufb33": 1, "\U0001f600": 2, "\u20ac": 3, "a": 4}'.encode(),
        '{"a":4,"\u20ac":3,"\U0001f600":2,"\ufb33":1}'.encode(),
    ),
    "escapes": (b'"\\u0041\\n\\u001f\\/\\u00e9"', '"A\\n\\u001f/\u00e9"'.encode()),
    "literals": (b"[true, false, null]", b"[true,false,null]"),
    "nested": (b'{"b": {"d": [], "c": {}}, "a": 1}', b'{"a":1,"b":{"c":{},"d":[]}}'),
}


@pytest.mark.parametrize(("data", "canonical"), DOCUMENTS.values(), ids=DOCUMENTS.keys())
def test_canonical_form(data: bytes, canonical: bytes) -> None:
    assert canonicalize(data) == canonical


REFUSED = {
    "duplicate member": b'{"a": 1, "a": 2}',
    "NaN": b"[NaN]",
    "Infinity": b"[Infinity]",
    "out of range": b"[1e400]",
    "lone surrogate": b'["\\ud800"]',
    "trailing data": b"{} {}",
    "not UTF-8": b'["\xff"]',
    "too deep": b"[" * 40 + b"]" * 40,
    "very deep": b"[" * 100_000 + b"]" * 100_000,
    "not JSON": b"&",
}


@pytest.mark.parametrize("data", REFUSED.values(), ids=REFUSED.keys())
def test_refused(data: bytes) -> None:
    with pytest.raises(CanonicalJSONError):
        canonicalize(data)
