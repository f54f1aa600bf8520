"""Rekor SETs: the corpus's cosign-made SET, and fresh ones signed by a test log key.

Cases cite containers/image's ``signature/internal/rekor_set_test.go``:
``TestVerifyRekorSET`` (its list of hashedrekord corruptions), ``TestUntrustedRekorSETUnmarshalJSON``
and ``TestUntrustedRekorPayloadUnmarshalJSON``. Upstream only says "error"; the reason
class of each refusal is pinned here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature._gobase64 import Base64Error, go_b64decode
from sigpolicy.signature.rekor_set import verify_rekor_set
from sigpolicy.signature.sigstore_roots import RekorKey, ValidityWindow, log_id_of
from sigpolicy.signature.x509chain import parse_pem_blocks
from tests.conformance.corpus import CORPUS
from tests.keyless.corpus_material import REKOR_SET_TIME, rekor_keys
from tests.support.sigstore_kit import (
    NOW,
    FakeFulcio,
    FakeRekor,
    canonical_json,
    cosign_payload,
    sign,
)

CORPUS_SET = (CORPUS / "rekor-set").read_text()
CORPUS_CERT_DER = parse_pem_blocks((CORPUS / "rekor-cert").read_text(), "rekor-cert")[0][1]
CORPUS_SIGNATURE = go_b64decode((CORPUS / "rekor-sig").read_text())
CORPUS_PAYLOAD = (CORPUS / "rekor-payload").read_bytes()


def corpus_verify(
    annotation: str = CORPUS_SET,
    *,
    keys: tuple[RekorKey, ...] | None = None,
    payload: bytes = CORPUS_PAYLOAD,
) -> int:
    entry = verify_rekor_set(
        rekor_keys("rekor.pub") if keys is None else keys,
        annotation,
        key_or_cert_der=CORPUS_CERT_DER,
        signature=CORPUS_SIGNATURE,
        payload=payload,
    )
    return entry.integrated_time


def test_cosign_made_set_verifies() -> None:
    # TestVerifyRekorSET: "Successful verification"
    assert corpus_verify() == REKOR_SET_TIME


def _other_key() -> tuple[RekorKey, ...]:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return (RekorKey(key, log_id_of(key)),)


CORPUS_REFUSALS: dict[str, tuple[Callable[[], int], Reason]] = {
    # TestVerifyRekorSET: "A completely invalid SET"
    "empty SET": (lambda: corpus_verify(""), Reason.MALFORMED),
    "SET is text": (lambda: corpus_verify("invalid signature"), Reason.MALFORMED),
    # TestVerifyRekorSET: "Cryptographic verification fails (a mismatched public key)"
    "another log's key": (lambda: corpus_verify(keys=_other_key()), Reason.BAD_SIGNATURE),
    # TestVerifyRekorFulcio: "Rekor failure"
    "payload does not match": (
        lambda: corpus_verify(payload=b"this payload does not match"),
        Reason.BAD_SIGNATURE,
    ),
    # A trusted root's validFor: the log key is not valid at the integrated time.
    "log key outside its window": (
        lambda: corpus_verify(
            keys=tuple(
                RekorKey(k.public_key, k.log_id, ValidityWindow(REKOR_SET_TIME + 1, None))
                for k in rekor_keys("rekor.pub")
            )
        ),
        Reason.EXPIRED_KEY,
    ),
}


@pytest.mark.parametrize(("run", "reason"), CORPUS_REFUSALS.values(), ids=CORPUS_REFUSALS.keys())
def test_corpus_set_refusals(run: Callable[[], int], reason: Reason) -> None:
    with pytest.raises(VerificationError) as caught:
        run()
    assert caught.value.reason == reason


def test_truncated_signature_base64_is_refused() -> None:
    # TestVerifyRekorSET: "Invalid unverifiedBase64Signature parameter"
    with pytest.raises(Base64Error):
        go_b64decode((CORPUS / "rekor-sig").read_text().strip()[:-1])


# -- Fresh SETs ---------------------------------------------------------------------------

FULCIO = FakeFulcio()
LEAF = FULCIO.issue()
REKOR = FakeRekor()
PAYLOAD = cosign_payload("sha256:" + "a" * 64, "quay.io/ns/app")
SIGNATURE = sign(LEAF.key, PAYLOAD)
OTHER_KEY_PEM = FakeRekor().public_pem
_DER = Encoding.DER


def at(path: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The object at a dotted ``path`` of a body."""

    def walk(body: dict[str, Any]) -> dict[str, Any]:
        for part in path.split(".") if path else ():
            body = body[part]
        return body

    return walk


def delete(path: str, member: str) -> Callable[[dict[str, Any]], None]:
    return lambda body: at(path)(body).pop(member)


def put(path: str, member: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda body: at(path)(body).__setitem__(member, value)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# TestVerifyRekorSET, "A correctly signed UntrustedRekorPayload is invalid": each corruption
# of the hashedrekord body, signed by the (trusted) log.
BODY_CASES: dict[str, tuple[Callable[[dict[str, Any]], None], Reason]] = {
    "apiVersion missing": (delete("", "apiVersion"), Reason.MALFORMED),
    "kind missing": (delete("", "kind"), Reason.MALFORMED),
    "spec missing": (delete("", "spec"), Reason.MALFORMED),
    "apiVersion null": (put("", "apiVersion", None), Reason.MALFORMED),
    "apiVersion a number": (put("", "apiVersion", 1), Reason.MALFORMED),
    "apiVersion an object": (put("", "apiVersion", {}), Reason.MALFORMED),
    "apiVersion 99.0.99": (put("", "apiVersion", "99.0.99"), Reason.UNSUPPORTED),
    "kind null": (put("", "kind", None), Reason.MALFORMED),
    "kind a number": (put("", "kind", 1), Reason.MALFORMED),
    "kind notHashedRekord": (put("", "kind", "notHashedRekord"), Reason.UNSUPPORTED),
    "spec null": (put("", "spec", None), Reason.MALFORMED),
    "spec a number": (put("", "spec", 1), Reason.MALFORMED),
    "spec.data missing": (delete("spec", "data"), Reason.MALFORMED),
    "spec.signature missing": (delete("spec", "signature"), Reason.MALFORMED),
    "spec.data null": (put("spec", "data", None), Reason.MALFORMED),
    "spec.data a number": (put("spec", "data", 1), Reason.MALFORMED),
    "data.hash missing": (delete("spec.data", "hash"), Reason.MALFORMED),
    "data.hash null": (put("spec.data", "hash", None), Reason.MALFORMED),
    "data.hash a number": (put("spec.data", "hash", 1), Reason.MALFORMED),
    "hash.algorithm missing": (delete("spec.data.hash", "algorithm"), Reason.MALFORMED),
    "hash.value missing": (delete("spec.data.hash", "value"), Reason.MALFORMED),
    "hash.algorithm null": (put("spec.data.hash", "algorithm", None), Reason.MALFORMED),
    "hash.algorithm a number": (put("spec.data.hash", "algorithm", 1), Reason.MALFORMED),
    "hash.value null": (put("spec.data.hash", "value", None), Reason.MALFORMED),
    "hash.value a number": (put("spec.data.hash", "value", 1), Reason.MALFORMED),
    "hash.value odd hex digits": (put("spec.data.hash", "value", "a" * 63), Reason.MALFORMED),
    "hash.value another payload's": (
        put("spec.data.hash", "value", "a" * 64),
        Reason.BAD_SIGNATURE,
    ),
    "hash sha512": (put("spec.data.hash", "algorithm", "sha512"), Reason.UNSUPPORTED),
    "spec.signature null": (put("spec", "signature", None), Reason.MALFORMED),
    "spec.signature a number": (put("spec", "signature", 1), Reason.MALFORMED),
    "signature.content missing": (delete("spec.signature", "content"), Reason.MALFORMED),
    "signature.publicKey missing": (delete("spec.signature", "publicKey"), Reason.MALFORMED),
    "signature.content null": (put("spec.signature", "content", None), Reason.MALFORMED),
    "signature.content a number": (put("spec.signature", "content", 1), Reason.MALFORMED),
    "signature.content empty": (put("spec.signature", "content", ""), Reason.BAD_SIGNATURE),
    "signature.content not base64": (put("spec.signature", "content", "+"), Reason.MALFORMED),
    "signature.content another signature": (
        put("spec.signature", "content", b64(b"does not match")),
        Reason.BAD_SIGNATURE,
    ),
    "publicKey null": (put("spec.signature", "publicKey", None), Reason.MALFORMED),
    "publicKey a number": (put("spec.signature", "publicKey", 1), Reason.MALFORMED),
    "publicKey.content missing": (delete("spec.signature.publicKey", "content"), Reason.MALFORMED),
    "publicKey.content null": (put("spec.signature.publicKey", "content", None), Reason.MALFORMED),
    "publicKey.content a number": (put("spec.signature.publicKey", "content", 1), Reason.MALFORMED),
    "publicKey.content empty": (put("spec.signature.publicKey", "content", ""), Reason.MALFORMED),
    "publicKey.content not base64": (
        put("spec.signature.publicKey", "content", "+"),
        Reason.MALFORMED,
    ),
    "publicKey.content not PEM": (
        put("spec.signature.publicKey", "content", b64(b"not PEM")),
        Reason.MALFORMED,
    ),
    "publicKey.content two PEM blocks": (
        put("spec.signature.publicKey", "content", b64(2 * LEAF.cert_pem.encode())),
        Reason.MALFORMED,
    ),
    "publicKey.content another key": (
        put("spec.signature.publicKey", "content", b64(OTHER_KEY_PEM.encode())),
        Reason.BAD_SIGNATURE,
    ),
    # Beyond upstream's list: Go would read "APIVERSION" as apiVersion (and take the last).
    "apiVersion case variant": (put("", "APIVersion", "9.9.9"), Reason.MALFORMED),
}


def fresh_verify(annotation: str, keys: tuple[RekorKey, ...] | None = None) -> int:
    log = keys if keys is not None else (RekorKey(REKOR.key.public_key(), b""),)
    return verify_rekor_set(
        log,
        annotation,
        key_or_cert_der=LEAF.cert.public_bytes(_DER),
        signature=SIGNATURE,
        payload=PAYLOAD,
    ).integrated_time


def test_fresh_set_verifies() -> None:
    assert fresh_verify(REKOR.bundle(PAYLOAD, SIGNATURE, LEAF.cert_pem, integrated_time=NOW)) == NOW


@pytest.mark.parametrize(("edit", "reason"), BODY_CASES.values(), ids=BODY_CASES.keys())
def test_hashedrekord_body_refusals(edit: Callable[[dict[str, Any]], None], reason: Reason) -> None:
    annotation = REKOR.bundle(PAYLOAD, SIGNATURE, LEAF.cert_pem, body_edit=edit)
    with pytest.raises(VerificationError) as caught:
        fresh_verify(annotation)
    assert caught.value.reason == reason, caught.value.message


# TestUntrustedRekorPayloadUnmarshalJSON: the signed payload itself is not of the right shape.
PAYLOAD_CASES: dict[str, Callable[[dict[str, Any]], None]] = {
    "body missing": lambda p: p.pop("body"),
    "integratedTime missing": lambda p: p.pop("integratedTime"),
    "logIndex missing": lambda p: p.pop("logIndex"),
    "logID missing": lambda p: p.pop("logID"),
    "extra member": lambda p: p.__setitem__("unexpected", 1),
    "body a number": lambda p: p.__setitem__("body", 1),
    "integratedTime a string": lambda p: p.__setitem__("integratedTime", "hello"),
    "logIndex a string": lambda p: p.__setitem__("logIndex", "hello"),
    "logID a number": lambda p: p.__setitem__("logID", 1),
    # Go reads the canonical "1.5" into an int64: an error.
    "integratedTime a fraction": lambda p: p.__setitem__("integratedTime", 1.5),
    "body not base64": lambda p: p.__setitem__("body", "+"),
}


@pytest.mark.parametrize("edit", PAYLOAD_CASES.values(), ids=PAYLOAD_CASES.keys())
def test_signed_payload_refusals(edit: Callable[[dict[str, Any]], None]) -> None:
    annotation = REKOR.bundle(PAYLOAD, SIGNATURE, LEAF.cert_pem, payload_edit=edit)
    with pytest.raises(VerificationError) as caught:
        fresh_verify(annotation)
    assert caught.value.reason == Reason.MALFORMED, caught.value.message


def _annotation_with(change: Callable[[dict[str, Any]], None]) -> str:
    document = json.loads(REKOR.bundle(PAYLOAD, SIGNATURE, LEAF.cert_pem))
    change(document)
    return json.dumps(document)


def _signed_raw_payload(raw: bytes) -> str:
    signature = sign(REKOR.key, raw)
    return '{"SignedEntryTimestamp":"' + b64(signature) + '","Payload":' + raw.decode() + "}"


# TestUntrustedRekorSETUnmarshalJSON, and the other ways the SET itself fails.
ANNOTATION_CASES: dict[str, tuple[Callable[[], str], Reason]] = {
    "SignedEntryTimestamp missing": (
        lambda: _annotation_with(lambda d: d.pop("SignedEntryTimestamp")),
        Reason.MALFORMED,
    ),
    "Payload missing": (lambda: _annotation_with(lambda d: d.pop("Payload")), Reason.MALFORMED),
    "extra top-level member": (
        lambda: _annotation_with(lambda d: d.__setitem__("unexpected", 1)),
        Reason.MALFORMED,
    ),
    "SignedEntryTimestamp not a string": (
        lambda: _annotation_with(lambda d: d.__setitem__("SignedEntryTimestamp", 1)),
        Reason.MALFORMED,
    ),
    "not an object": (lambda: "1", Reason.MALFORMED),
    "not JSON": (lambda: "&", Reason.MALFORMED),
    # TestVerifyRekorSET: "JSON canonicalization fails" (a duplicate member, signed as is).
    "duplicate payload member": (
        lambda: _signed_raw_payload(
            b'{"logIndex":1, "integratedTime":2,"body":"abc","logID":"def","body":"ABC"}'
        ),
        Reason.MALFORMED,
    ),
    # TestVerifyRekorSET: "Parsing UntrustedRekorPayload fails" ({} is signed correctly).
    "empty signed payload": (lambda: _signed_raw_payload(b"{}"), Reason.MALFORMED),
    "signed payload a list": (lambda: _signed_raw_payload(b'["payload#@!"]'), Reason.MALFORMED),
    "body altered after signing": (
        lambda: _annotation_with(
            lambda d: d["Payload"].__setitem__("body", b64(b'{"kind":"hashedrekord"}'))
        ),
        Reason.BAD_SIGNATURE,
    ),
    "integratedTime altered after signing": (
        lambda: _annotation_with(lambda d: d["Payload"].__setitem__("integratedTime", NOW + 1)),
        Reason.BAD_SIGNATURE,
    ),
    "signed by another log key": (
        lambda: REKOR.bundle(
            PAYLOAD, SIGNATURE, LEAF.cert_pem, signer=ec.generate_private_key(ec.SECP256R1())
        ),
        Reason.BAD_SIGNATURE,
    ),
    "body not JSON": (
        lambda: REKOR.bundle(PAYLOAD, SIGNATURE, LEAF.cert_pem, body_bytes=b"not json"),
        Reason.MALFORMED,
    ),
    "body with a duplicate member": (
        lambda: REKOR.bundle(
            PAYLOAD, SIGNATURE, LEAF.cert_pem, body_bytes=b'{"kind":"hashedrekord","kind":"x"}'
        ),
        Reason.MALFORMED,
    ),
    "oversized annotation": (lambda: " " * (256 * 1024 + 1), Reason.MALFORMED),
}


@pytest.mark.parametrize(("make", "reason"), ANNOTATION_CASES.values(), ids=ANNOTATION_CASES.keys())
def test_annotation_refusals(make: Callable[[], str], reason: Reason) -> None:
    with pytest.raises(VerificationError) as caught:
        fresh_verify(make())
    assert caught.value.reason == reason, caught.value.message


def test_any_of_several_log_keys_may_sign() -> None:
    other = FakeRekor()
    keys = (
        RekorKey(other.key.public_key(), b"", origin="other"),
        RekorKey(REKOR.key.public_key(), b"", origin="ours"),
    )
    entry = verify_rekor_set(
        keys,
        REKOR.bundle(PAYLOAD, SIGNATURE, LEAF.cert_pem, log_index=77),
        key_or_cert_der=LEAF.cert.public_bytes(_DER),
        signature=SIGNATURE,
        payload=PAYLOAD,
    )
    assert (entry.log_index, entry.key.origin, entry.log_id) == (77, "ours", REKOR.log_id)


@pytest.mark.parametrize("digest", [hashes.SHA256(), hashes.SHA384()], ids=["sha256", "sha384"])
def test_p384_log_key(digest: hashes.HashAlgorithm) -> None:
    """Upstream hashes with SHA-256 whatever the curve; a trusted root's P-384 log
    (PKIX_ECDSA_P384_SHA_384) signs with SHA-384: both verify, with that log's key only."""
    log = FakeRekor(ec.generate_private_key(ec.SECP384R1()))
    document = json.loads(log.bundle(PAYLOAD, SIGNATURE, LEAF.cert_pem))
    signed = log.key.sign(canonical_json(document["Payload"]), ec.ECDSA(digest))
    document["SignedEntryTimestamp"] = b64(signed)
    annotation = json.dumps(document)
    key = (RekorKey(log.key.public_key(), bytes.fromhex(log.log_id)),)
    assert fresh_verify(annotation, key) == NOW
    with pytest.raises(VerificationError) as caught:
        fresh_verify(annotation, _other_key())
    assert caught.value.reason == Reason.BAD_SIGNATURE
