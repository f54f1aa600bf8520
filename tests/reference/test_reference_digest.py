"""parse_digest: go-digest's strict ``algorithm:hex`` rules."""

from __future__ import annotations

import pytest

from sigpolicy.errors import InputError
from sigpolicy.reference import Digest, InvalidDigestError, parse_digest

HEX64 = "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("value", "algorithm", "hex_"),
    [
        pytest.param(f"sha256:{HEX64}", "sha256", HEX64, id="sha256"),
        pytest.param("sha384:" + "a" * 96, "sha384", "a" * 96, id="sha384"),
        pytest.param("sha512:" + "b" * 128, "sha512", "b" * 128, id="sha512"),
    ],
)
def test_valid_digests(value: str, algorithm: str, hex_: str) -> None:
    digest = parse_digest(value)
    assert digest == Digest(algorithm, hex_)
    assert str(digest) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("", "expected algorithm:hex", id="empty"),
        pytest.param(HEX64, "expected algorithm:hex", id="no-algorithm-separator"),
        pytest.param(f":{HEX64}", "expected algorithm:hex", id="empty-algorithm"),
        pytest.param("sha256:", "expected algorithm:hex", id="empty-hex"),
        pytest.param("sha256:" + HEX64.upper(), "not lowercase hex", id="uppercase-hex"),
        pytest.param("sha256:" + HEX64[:-1], "needs 64 hex digits", id="sha256-too-short"),
        pytest.param("sha256:" + HEX64 + "0", "needs 64 hex digits", id="sha256-too-long"),
        pytest.param("sha512:" + HEX64, "needs 128 hex digits", id="sha512-with-sha256-length"),
        pytest.param("sha256:" + "g" * 64, "not lowercase hex", id="non-hex"),
        pytest.param("sha256:../.." + "0" * 59, "not lowercase hex", id="path-traversal"),
        pytest.param("SHA256:" + HEX64, "malformed algorithm", id="uppercase-algorithm"),
        pytest.param("md5:" + "0" * 32, "unsupported digest algorithm 'md5'", id="md5"),
        pytest.param("blake3:" + HEX64, "unsupported digest algorithm", id="blake3"),
        pytest.param(
            "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
            "unsupported",
            id="registered-looking-multipart",
        ),
        pytest.param("sha 256:" + HEX64, "malformed algorithm", id="space-in-algorithm"),
        pytest.param(f"sha256:{HEX64}\n", "needs 64 hex digits", id="trailing-newline"),
    ],
)
def test_invalid_digests(value: str, message: str) -> None:
    with pytest.raises(InvalidDigestError) as caught:
        parse_digest(value)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, InputError)


def test_message_names_long_values_briefly() -> None:
    with pytest.raises(InvalidDigestError) as caught:
        parse_digest("sha256:" + "z" * 10_000)
    assert len(str(caught.value)) < 300
