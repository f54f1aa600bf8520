"""manifest_digest: raw sha256, except signed schema-1 manifests (containers/image rules)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.reference import (
    MAX_MANIFEST_SIZE,
    Digest,
    manifest_digest,
    manifest_matches_digest,
    parse_digest,
)
from tests.conformance.corpus import CORPUS, expectations


def _conformance_cases() -> list[Any]:
    cases: list[dict[str, str]] = expectations()["manifest_digests"]
    return [pytest.param(case["manifest"], case["digest"], id=case["manifest"]) for case in cases]


@pytest.mark.parametrize(("manifest", "expected"), _conformance_cases())
def test_conformance_manifest_digests(manifest: str, expected: str) -> None:
    data = (CORPUS / manifest).read_bytes()
    if expected == "error":
        with pytest.raises(VerificationError) as caught:
            manifest_digest(data)
        assert caught.value.reason is Reason.INVALID_MANIFEST
        return
    assert str(manifest_digest(data)) == expected
    assert manifest_matches_digest(data, parse_digest(expected))


# --- a signed schema-1 manifest built by hand, like libtrust's PrettySignature -----------

BODY = b'{\n   "schemaVersion": 1,\n   "name": "ns/app",\n   "tag": "1"'
TAIL = b"\n}"
UNSIGNED_DIGEST = "sha256:" + hashlib.sha256(BODY + TAIL).hexdigest()

# The JWK of the containers/image fixture v2s1.manifest.json, with its correct libtrust kid.
FIXTURE_JWK = {
    "crv": "P-256",
    "kid": "OZ45:U3IG:TDOI:PMBD:NGP2:LDIW:II2U:PSBI:MMCZ:YZUP:TUUO:XPZT",
    "kty": "EC",
    "x": "ReC5c0J9tgXSdUL4_xzEt5RsD8kFt2wWSgJcpAcOQx8",
    "y": "3sBGEqQ3ZMeqPKwQBAadN2toOUEASha18xa0WwsDF-M",
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


BODY_LENGTH = len(BODY)


def _protected(length: Any = BODY_LENGTH, tail: bytes = TAIL, **extra: Any) -> str:
    header = {"formatLength": length, "formatTail": _b64(tail), **extra}
    return _b64(json.dumps(header).encode())


def _block(protected: Any = None, header: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "header": {"alg": "ES256"} if header is None else header,
        "signature": "c2lnbmF0dXJl",
        "protected": _protected() if protected is None else protected,
        **extra,
    }


def _signed(*blocks: Any, key: bytes = b'"signatures"') -> bytes:
    return BODY + b",\n   " + key + b": " + json.dumps(list(blocks)).encode() + TAIL


# Go's decoder wants the padding right when it is there; this header needs one "=".
PADDED_PROTECTED = base64.urlsafe_b64encode(
    json.dumps({"formatLength": len(BODY), "formatTail": _b64(TAIL), "p": "ab"}).encode()
).decode()
assert PADDED_PROTECTED.endswith("=")


def _raw(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


SIGNED_OK = [
    pytest.param(_signed(_block()), id="one-signature"),
    pytest.param(_signed(_block(), _block()), id="two-signatures-agree"),
    pytest.param(
        _signed(_block(_protected(length=0, tail=b"")), _block()),
        id="zero-length-and-empty-tail-count-as-unset",
    ),
    pytest.param(
        _signed(_block(_protected(length=len(BODY) + 0.9))), id="fractional-length-truncated"
    ),
    pytest.param(_signed(_block(PADDED_PROTECTED)), id="padded-protected-header"),
    pytest.param(
        _signed(_block(_protected(time="2016-04-18T20:54:42Z", extra=[1, {"a": None}]))),
        id="extra-protected-members-ignored",
    ),
    pytest.param(
        _signed(_block(header={"jwk": FIXTURE_JWK, "alg": "ES256", "x5c": ["a", None]})),
        id="valid-jwk-with-kid",
    ),
    pytest.param(
        _signed(_block(header={"jwk": {k: v for k, v in FIXTURE_JWK.items() if k != "kid"}})),
        id="valid-jwk-without-kid",
    ),
    pytest.param(
        _signed({"protected": _protected(), "unknown": 1}),
        id="no-header-and-unknown-members",
    ),
    pytest.param(_signed(_block(), key=b'"sign\\u0061tures"'), id="escaped-signatures-key"),
    pytest.param(
        BODY.replace(b"schemaVersion", b"SchemaVERSION")
        + b',\n   "signatures": '
        + json.dumps([_block(_protected(length=len(BODY)))]).encode()
        + TAIL,
        id="schema-version-key-matched-case-insensitively",
    ),
]


@pytest.mark.parametrize("data", SIGNED_OK)
def test_signed_schema1_digest_covers_the_payload(data: bytes) -> None:
    body = data[: len(BODY)]
    assert str(manifest_digest(data)) == _raw(body + TAIL)


def test_signed_payload_matches_unsigned_digest() -> None:
    assert str(manifest_digest(_signed(_block()))) == UNSIGNED_DIGEST


RAW = [
    pytest.param(BODY + TAIL, id="unsigned-schema1"),
    pytest.param(BODY + b',\n   "signatures": null' + TAIL, id="null-signatures-is-unsigned"),
    pytest.param(
        _signed(_block()).replace(b'"schemaVersion": 1', b'"schemaVersion": 2'),
        id="schema-version-2",
    ),
    pytest.param(
        _signed(_block()).replace(b'"schemaVersion": 1', b'"schemaVersion": "1"'),
        id="schema-version-string-fails-go-decode",
    ),
    pytest.param(
        _signed(_block()).replace(b'"schemaVersion": 1', b'"schemaVersion": 1.0'),
        id="schema-version-float-fails-go-decode",
    ),
    pytest.param(
        _signed(_block()).replace(
            b'"schemaVersion": 1',
            b'"schemaVersion": 1, "mediaType": "application/vnd.oci.image.manifest.v1+json"',
        ),
        id="oci-media-type-wins",
    ),
    pytest.param(
        _signed(_block()).replace(b'"tag": "1"', b'"tag": 1, "mediaType": 7'),
        id="non-string-media-type-fails-go-decode",
    ),
    pytest.param(
        _signed(_block())[:-2] + b', "signatures": null' + TAIL, id="repeated-signatures-last-wins"
    ),
    pytest.param(_signed(_block()).replace(b'"tag": "1"', b'"tag": NaN'), id="nan-is-not-json"),
    pytest.param(_signed(_block())[:-1], id="truncated-json"),
    pytest.param(b"[1, 2]", id="json-array"),
    pytest.param(b"not json at all", id="not-json"),
    pytest.param(b"", id="empty"),
    pytest.param(
        BODY + b',\n   "signatures": [1e400]' + TAIL, id="signatures-number-overflows-float64"
    ),
]


@pytest.mark.parametrize("data", RAW)
def test_other_manifests_are_hashed_as_is(data: bytes) -> None:
    assert str(manifest_digest(data)) == _raw(data)


INVALID_JWS = [
    pytest.param(BODY + b',\n   "signatures": 1' + TAIL, id="signatures-not-an-array"),
    pytest.param(_signed(), id="empty-signatures-refused"),
    pytest.param(_signed(_block(), key=b'"Signatures"'), id="signatures-key-case-differs"),
    pytest.param(_signed(None), id="null-signature-block"),
    pytest.param(_signed("x"), id="signature-block-not-object"),
    pytest.param(
        _signed(_block(_protected(length=len(BODY) - 1)), _block()), id="lengths-disagree"
    ),
    pytest.param(_signed(_block(_protected(tail=b"\n }")), _block()), id="tails-disagree"),
    pytest.param(_signed(_block(_protected(length=10**6))), id="length-beyond-manifest"),
    pytest.param(_signed(_block(_protected(length=-1))), id="negative-length"),
    pytest.param(_signed(_block(_protected(length="12"))), id="length-not-a-number"),
    pytest.param(_signed(_block(_protected(length=10**400))), id="length-overflows-float64"),
    pytest.param(_signed(_block(_b64(b'{"formatLength": 5}'))), id="missing-tail"),
    pytest.param(_signed(_block(_b64(b'{"formatTail": "Cn0"}'))), id="missing-length"),
    pytest.param(
        _signed(_block(_b64(b'{"formatLength": 5, "formatTail": "Cn!"}'))), id="tail-not-base64"
    ),
    pytest.param(_signed(_block("a")), id="protected-bad-length"),
    pytest.param(_signed(_block("!!!!")), id="protected-bad-alphabet"),
    pytest.param(_signed(_block(_b64(b"not json"))), id="protected-not-json"),
    pytest.param(_signed(_block(_b64(b"[]"))), id="protected-not-object"),
    pytest.param(_signed(_block(_b64(b"null"))), id="protected-null"),
    pytest.param(_signed(_block(protected=5)), id="protected-not-string"),
    pytest.param(_signed(_block(signature=5)), id="signature-not-string"),
    pytest.param(_signed(_block(header=[])), id="header-not-object"),
    pytest.param(_signed(_block(header={"alg": 1})), id="alg-not-string"),
    pytest.param(_signed(_block(header={"x5c": "cert"})), id="x5c-not-array"),
    pytest.param(_signed(_block(header={"x5c": [1]})), id="x5c-member-not-string"),
    pytest.param(_signed(_block(header={"jwk": None})), id="jwk-null"),
    pytest.param(_signed(_block(header={"jwk": {"kty": "OKP"}})), id="jwk-unsupported-type"),
    pytest.param(
        _signed(_block(header={"jwk": {**FIXTURE_JWK, "kid": "AAAA"}})), id="jwk-kid-mismatch"
    ),
    pytest.param(_signed(_block(header={"jwk": {**FIXTURE_JWK, "kid": None}})), id="jwk-kid-null"),
    pytest.param(
        _signed(_block(header={"jwk": {**FIXTURE_JWK, "crv": "P-192"}})), id="jwk-unsupported-curve"
    ),
    pytest.param(
        _signed(_block(header={"jwk": {**FIXTURE_JWK, "x": "AAAA"}})), id="jwk-coordinate-length"
    ),
    pytest.param(
        _signed(_block(header={"jwk": {**FIXTURE_JWK, "y": _b64(b"\x01" * 32)}})),
        id="jwk-off-curve-point-with-kid",
    ),
    pytest.param(
        _signed(_block(header={"jwk": {"kty": "RSA", "n": "AQAB", "e": _b64(b"\x01" * 5)}})),
        id="jwk-rsa-exponent-too-long",
    ),
    pytest.param(
        _signed(_block(header={"JWK": {"kty": "RSA"}})), id="jwk-key-matched-case-insensitively"
    ),
    pytest.param(
        b'{"schemaVersion": 1, "signatures": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        id="nesting-too-deep-to-decide",
    ),
]


@pytest.mark.parametrize("data", INVALID_JWS)
def test_unparseable_jws_is_an_invalid_manifest(data: bytes) -> None:
    with pytest.raises(VerificationError) as caught:
        manifest_digest(data)
    assert caught.value.reason is Reason.INVALID_MANIFEST
    assert "\n" not in caught.value.message


def test_off_curve_point_without_kid_is_accepted_as_upstream() -> None:
    jwk = {k: v for k, v in FIXTURE_JWK.items() if k != "kid"} | {"y": _b64(b"\x01" * 32)}
    assert str(manifest_digest(_signed(_block(header={"jwk": jwk})))) == UNSIGNED_DIGEST


def test_size_limit() -> None:
    at_limit = b" " * MAX_MANIFEST_SIZE
    assert str(manifest_digest(at_limit)) == _raw(at_limit)
    with pytest.raises(VerificationError) as caught:
        manifest_digest(at_limit + b" ")
    assert caught.value.reason is Reason.INVALID_MANIFEST


def test_matches_digest_uses_the_digest_algorithm() -> None:
    data = b'{"schemaVersion": 2}'
    for algorithm in ("sha256", "sha384", "sha512"):
        digest = Digest(algorithm, hashlib.new(algorithm, data).hexdigest())
        assert manifest_digest(data, algorithm) == digest
        assert manifest_matches_digest(data, digest)
        assert not manifest_matches_digest(data + b" ", digest)


def test_unknown_algorithm_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="md5"):
        manifest_digest(b"{}", "md5")


# --- libtrust key IDs, checked against an independent DER encoder -------------------------


def _libtrust_kid(spki_der: bytes) -> str:
    encoded = base64.b32encode(hashlib.sha256(spki_der).digest()[:30]).decode()
    return ":".join(encoded[i : i + 4] for i in range(0, 48, 4))


@pytest.mark.parametrize(
    ("curve_name", "size"),
    [
        pytest.param("P-256", 32, id="p256"),
        pytest.param("P-384", 48, id="p384"),
        pytest.param("P-521", 66, id="p521"),
    ],
)
def test_ec_jwk_kid_is_checked(curve_name: str, size: int) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    curves: dict[str, ec.EllipticCurve] = {
        "P-256": ec.SECP256R1(),
        "P-384": ec.SECP384R1(),
        "P-521": ec.SECP521R1(),
    }
    public = ec.generate_private_key(curves[curve_name]).public_key()
    numbers = public.public_numbers()
    spki = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk = {
        "kty": "EC",
        "crv": curve_name,
        "x": _b64(numbers.x.to_bytes(size, "big")),
        "y": _b64(numbers.y.to_bytes(size, "big")),
        "kid": _libtrust_kid(spki),
    }
    assert str(manifest_digest(_signed(_block(header={"jwk": jwk})))) == UNSIGNED_DIGEST
    with pytest.raises(VerificationError):
        manifest_digest(_signed(_block(header={"jwk": {**jwk, "kid": _libtrust_kid(b"x")}})))


@pytest.mark.parametrize(
    "bits", [pytest.param(1024, id="rsa1024"), pytest.param(2048, id="rsa2048")]
)
def test_rsa_jwk_kid_is_checked(bits: int) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    public = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    numbers = public.public_numbers()
    spki = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk = {
        "kty": "RSA",
        "n": _b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": _b64(numbers.e.to_bytes(3, "big")),
        "kid": _libtrust_kid(spki),
    }
    assert str(manifest_digest(_signed(_block(header={"jwk": jwk})))) == UNSIGNED_DIGEST
    with pytest.raises(VerificationError):
        manifest_digest(_signed(_block(header={"jwk": {**jwk, "kid": "AAAA"}})))


def test_go_folds_long_s_in_field_names() -> None:
    # Go's case-insensitive field match uses simple Unicode folding: U+017F (long s) is "s".
    body = BODY.replace(b'"schemaVersion"', '"\u017fchemaVersion"'.encode())
    protected = _protected(length=len(body))
    data = body + b',\n   "signatures": ' + json.dumps([_block(protected)]).encode() + TAIL
    assert str(manifest_digest(data)) == _raw(body + TAIL)
