"""Key ID rules shared by trust store pins and declared publicKeyIDs."""

from __future__ import annotations

import pytest

from sigpolicy.trust.pin import PinError, key_id_matches, parse_key_id
from tests.trust.helpers import SKOPEO_FPR

PARSED = [
    ("16-digits-with-0x", "0xE932F44B23E8DD43", "E932F44B23E8DD43"),
    ("16-digits-uppercase-0X", "0XE932F44B23E8DD43", "E932F44B23E8DD43"),
    ("16-digits-lowercase", "e932f44b23e8dd43", "E932F44B23E8DD43"),
    ("40-digits", SKOPEO_FPR, SKOPEO_FPR),
    ("all-decimal-digits", "0123456789012345", "0123456789012345"),
]


@pytest.mark.parametrize(("text", "digits"), [c[1:] for c in PARSED], ids=[c[0] for c in PARSED])
def test_parse_key_id(text: str, digits: str) -> None:
    assert parse_key_id(text) == digits


REFUSED = [
    ("empty", "", "0 hex digits is too weak (16 to 40 required)"),
    ("only-prefix", "0x", "0 hex digits is too weak (16 to 40 required)"),
    ("8-digit-short-key-id", "23E8DD43", "8 hex digits is too weak (16 to 40 required)"),
    ("15-digits", "932F44B23E8DD43", "15 hex digits is too weak (16 to 40 required)"),
    ("41-digits", "0" + SKOPEO_FPR, "41 hex digits is too long (16 to 40 required)"),
    ("spaces-as-gpg-prints", "E932 F44B 23E8 DD43", "'E932 F44B 23E8 DD43' is not hexadecimal"),
    ("double-prefix", "0x0xE932F44B23E8DD43", "'0x0xE932F44B23E8DD43' is not hexadecimal"),
]


@pytest.mark.parametrize(("text", "error"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_refused_key_id(text: str, error: str) -> None:
    with pytest.raises(PinError) as raised:
        parse_key_id(text)
    assert str(raised.value) == error


MATCHES = [
    ("low-64-bits", "E932F44B23E8DD43", True),
    ("whole-fingerprint", SKOPEO_FPR, True),
    ("20-digits", "A405E932F44B23E8DD43", True),
    ("high-bits-are-not-a-key-id", SKOPEO_FPR[:16], False),
    ("off-by-one-digit", "E932F44B23E8DD44", False),
]


@pytest.mark.parametrize(
    ("key_id", "expected"), [c[1:] for c in MATCHES], ids=[c[0] for c in MATCHES]
)
def test_key_id_matches_the_low_bits(key_id: str, expected: bool) -> None:
    assert key_id_matches(key_id, SKOPEO_FPR.lower()) is expected
