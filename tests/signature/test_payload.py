"""The strictness rules of the signed payload (SEMANTICS.md §1), one named case each."""

from __future__ import annotations

import json

import pytest

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.payload import ATOMIC_TYPE, COSIGN_TYPE, parse_payload

DIGEST = "sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55"
VALID = (
    '{"critical":{"type":"atomic container signature",'
    f'"image":{{"docker-manifest-digest":"{DIGEST}"}},'
    '"identity":{"docker-reference":"example.com/ns/app:1.0"}},'
    '"optional":{"creator":"atomic 5.23.1","timestamp":1795457428}}'
)


def mutate(old: str, new: str) -> bytes:
    assert old in VALID
    return VALID.replace(old, new, 1).encode()


REJECTED: dict[str, bytes] = {
    "not-json": b"This is not JSON\n",
    "not-utf8": b'{"critical":"\xff"}',
    "trailing-data": (VALID + " {}").encode(),
    "top-level-array": b"[]",
    "duplicate-top-level-key": mutate('"optional":{', '"optional":{},"optional":{'),
    "duplicate-key-in-optional": mutate('"timestamp":1795457428', '"timestamp":1,"timestamp":2'),
    "duplicate-key-in-critical": mutate('"type":', '"type":"x","type":'),
    "unknown-top-level-member": mutate('"optional":', '"extra":1,"optional":'),
    "missing-optional": VALID[: VALID.index(',"optional"')].encode() + b"}",
    "unknown-critical-member": mutate('"type":', '"extra":1,"type":'),
    "unknown-image-member": mutate('"docker-manifest-digest"', '"x":1,"docker-manifest-digest"'),
    "unknown-identity-member": mutate('"docker-reference"', '"x":1,"docker-reference"'),
    "missing-identity": mutate(',"identity":{"docker-reference":"example.com/ns/app:1.0"}', ""),
    "wrong-type": mutate("atomic container signature", "atomic container signature "),
    "type-null": mutate('"atomic container signature"', "null"),
    "cosign-type-for-atomic": mutate("atomic container signature", COSIGN_TYPE),
    "digest-invalid": mutate(DIGEST, "sha256:../.."),
    "digest-uppercase": mutate(DIGEST, DIGEST.upper()),
    "digest-not-string": mutate(f'"{DIGEST}"', "1"),
    "reference-not-string": mutate('"example.com/ns/app:1.0"', "1"),
    "optional-null": mutate('{"creator":"atomic 5.23.1","timestamp":1795457428}', "null"),
    "optional-not-object": mutate('{"creator":"atomic 5.23.1","timestamp":1795457428}', "[]"),
    "creator-not-string": mutate('"atomic 5.23.1"', "5"),
    "creator-null": mutate('"atomic 5.23.1"', "null"),
    "timestamp-fraction": mutate("1795457428", "0.5"),
    "timestamp-string": mutate("1795457428", '"x"'),
    "timestamp-bool": mutate("1795457428", "true"),
    "timestamp-nan": mutate("1795457428", "NaN"),
    "timestamp-out-of-int64": mutate("1795457428", "1e300"),
    "huge-integer": mutate("1795457428", "9" * 5000),
    "deep-nesting": mutate('"creator":"atomic 5.23.1"', '"x":' + "[" * 100_000 + "]" * 100_000),
}


@pytest.mark.parametrize("payload", REJECTED.values(), ids=REJECTED.keys())
def test_rejected(payload: bytes) -> None:
    with pytest.raises(VerificationError) as caught:
        parse_payload(payload)
    assert caught.value.reason is Reason.INVALID_PAYLOAD


ACCEPTED: dict[str, tuple[bytes, str | None, int | None]] = {
    "full": (VALID.encode(), "atomic 5.23.1", 1795457428),
    "empty-optional": (
        mutate('{"creator":"atomic 5.23.1","timestamp":1795457428}', "{}"),
        None,
        None,
    ),
    "unknown-optional-member-ignored": (
        mutate('"creator"', '"extra":{"a":[1,2]},"creator"'),
        "atomic 5.23.1",
        1795457428,
    ),
    "integral-float-timestamp": (mutate("1795457428", "1795457428.0"), "atomic 5.23.1", 1795457428),
    "exponent-timestamp": (mutate("1795457428", "1e3"), "atomic 5.23.1", 1000),
    "whitespace-around": ((" \n" + VALID + "\n").encode(), "atomic 5.23.1", 1795457428),
}


@pytest.mark.parametrize(
    ("payload", "creator", "timestamp"), ACCEPTED.values(), ids=ACCEPTED.keys()
)
def test_accepted(payload: bytes, creator: str | None, timestamp: int | None) -> None:
    claims = parse_payload(payload)
    assert claims.type == ATOMIC_TYPE
    assert claims.docker_manifest_digest == DIGEST
    assert claims.docker_reference == "example.com/ns/app:1.0"
    assert (claims.creator, claims.timestamp) == (creator, timestamp)


def test_cosign_variant_allows_null_optional() -> None:
    payload = json.loads(VALID)
    payload["critical"]["type"] = COSIGN_TYPE
    payload["optional"] = None
    claims = parse_payload(json.dumps(payload).encode(), expected_type=COSIGN_TYPE)
    assert claims.optional is None
    assert claims.creator is None


def test_signed_claims_as_string_map() -> None:
    claims = parse_payload(VALID.encode())
    assert claims.as_string_map() == {
        "type": ATOMIC_TYPE,
        "docker-manifest-digest": DIGEST,
        "docker-reference": "example.com/ns/app:1.0",
        "creator": "atomic 5.23.1",
        "timestamp": "1795457428",
    }
