"""Signature file envelopes (sigpolicy.signature.envelope): what each file is, or why not."""

from __future__ import annotations

import base64
import json

import pytest

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.envelope import (
    MAX_SIGNATURE_FILE,
    SIGNATURE_ANNOTATION,
    SigstoreSignature,
    SimpleSigningSignature,
    parse_signature_file,
)
from tests.conformance.corpus import CORPUS

PREFIX = b"\x00sigstore-json\n"
GOOD_B64_PAYLOAD = base64.b64encode(b'{"critical":{}}').decode()
ARMORED = b"-----BEGIN PGP MESSAGE-----\n\nowGbwMvMwMVYWLBl\n=abcd\n-----END PGP MESSAGE-----\n"


def sigstore(body: str) -> bytes:
    return PREFIX + body.encode()


def good_body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "mimeType": "application/vnd.dev.cosign.simplesigning.v1+json",
        "payload": GOOD_B64_PAYLOAD,
        "annotations": {SIGNATURE_ANNOTATION: "c2ln"},
    }
    body.update(changes)
    return body


def good(**changes: object) -> bytes:
    return sigstore(json.dumps(good_body(**changes)))


SIMPLE_SIGNING = {
    "raw-openpgp-compressed": (CORPUS / "image.signature").read_bytes(),
    "raw-openpgp-any-high-bit": b"\xc4\x0d\x03\x00\x08",
    "armored": ARMORED,
    "armored-after-blank-lines": b"\n\r\n  " + ARMORED,
}


@pytest.mark.parametrize("data", SIMPLE_SIGNING.values(), ids=SIMPLE_SIGNING.keys())
def test_openpgp_blobs_are_simple_signing_as_they_are(data: bytes) -> None:
    parsed = parse_signature_file(data)
    assert isinstance(parsed, SimpleSigningSignature)
    assert parsed.blob == data


def test_simple_signing_format_name_unwraps_the_blob() -> None:
    blob = (CORPUS / "image.signature").read_bytes()
    parsed = parse_signature_file(b"\x00simple-signing\n" + blob)
    assert isinstance(parsed, SimpleSigningSignature)
    assert parsed.blob == blob


def test_corpus_sigstore_json() -> None:
    parsed = parse_signature_file((CORPUS / "dir-img-cosign-valid" / "signature-1").read_bytes())
    assert isinstance(parsed, SigstoreSignature)
    assert parsed.mime_type == "application/vnd.dev.cosign.simplesigning.v1+json"
    assert parsed.payload.startswith(b'{"critical":{"identity":')
    assert parsed.payload.endswith(b'"optional":null}')
    assert parsed.signature is not None
    assert parsed.signature.startswith("MEYCIQDmtamq")
    assert parsed.annotations == {SIGNATURE_ANNOTATION: parsed.signature}


def test_sigstore_json_keeps_every_annotation_and_allows_none_for_the_signature() -> None:
    annotations = {"dev.sigstore.cosign/bundle": "{}", "other": ""}
    parsed = parse_signature_file(good(annotations=annotations))
    assert isinstance(parsed, SigstoreSignature)
    assert parsed.signature is None
    assert parsed.annotations == annotations


def test_sigstore_json_allows_blank_space_around_the_object() -> None:
    parsed = parse_signature_file(sigstore("\n " + json.dumps(good_body()) + "\n"))
    assert isinstance(parsed, SigstoreSignature)
    assert parsed.payload == b'{"critical":{}}'


GOOD = good()

REJECTED: dict[str, tuple[bytes, Reason]] = {
    "empty": (b"", Reason.MALFORMED),
    "over-the-size-limit": (PREFIX + b" " * MAX_SIGNATURE_FILE, Reason.MALFORMED),
    "bare-json": (json.dumps(good_body()).encode(), Reason.MALFORMED),
    "text": (b"This is not a signature\n", Reason.MALFORMED),
    "armored-in-the-middle": (b"x" + ARMORED, Reason.MALFORMED),
    "zero-byte-only": (b"\x00", Reason.MALFORMED),
    "truncated-in-the-format-name": (b"\x00sigstore-js", Reason.MALFORMED),
    "truncated-json": (GOOD[: len(GOOD) // 2], Reason.MALFORMED),
    "format-name-not-printable": (b"\x00sigstore\x01json\n{}", Reason.MALFORMED),
    "format-name-not-ascii": (b"\x00sigstore-j\xc3\xa9son\n{}", Reason.MALFORMED),
    "unknown-format": (b"\x00sigstore-bundle\n{}", Reason.UNSUPPORTED),
    "empty-format-name": (b"\x00\n{}", Reason.UNSUPPORTED),
    "format-name-case": (b"\x00Sigstore-JSON\n" + GOOD[len(PREFIX) :], Reason.UNSUPPORTED),
    "json-not-an-object": (sigstore("[]"), Reason.MALFORMED),
    "json-empty": (PREFIX, Reason.MALFORMED),
    "json-trailing-data": (GOOD + b"{}", Reason.MALFORMED),
    "json-two-objects": (GOOD + GOOD[len(PREFIX) :], Reason.MALFORMED),
    "json-not-utf8": (sigstore('{"mimeType":"') + b"\xff" + b'"}', Reason.MALFORMED),
    "json-utf8-bom": (PREFIX + b"\xef\xbb\xbf" + GOOD[len(PREFIX) :], Reason.MALFORMED),
    "json-nan": (sigstore('{"mimeType":NaN}'), Reason.MALFORMED),
    "json-deep-nesting": (
        sigstore('{"x":' + "[" * 100_000 + "]" * 100_000 + "}"),
        Reason.MALFORMED,
    ),
    "duplicate-key-top-level": (
        sigstore(json.dumps(good_body())[:-1] + ', "mimeType": "text/plain"}'),
        Reason.MALFORMED,
    ),
    "duplicate-key-in-annotations": (
        sigstore(
            '{"mimeType":"m","payload":"","annotations":'
            f'{{"{SIGNATURE_ANNOTATION}":"YQ==","{SIGNATURE_ANNOTATION}":"Yg=="}}}}'
        ),
        Reason.MALFORMED,
    ),
    "unknown-member": (good(extra="x"), Reason.MALFORMED),
    "member-name-case": (
        sigstore(json.dumps(good_body()).replace('"mimeType"', '"MimeType"')),
        Reason.MALFORMED,
    ),
    "missing-mime-type": (sigstore('{"payload":"","annotations":{}}'), Reason.MALFORMED),
    "missing-payload": (sigstore('{"mimeType":"m","annotations":{}}'), Reason.MALFORMED),
    "missing-annotations": (sigstore('{"mimeType":"m","payload":""}'), Reason.MALFORMED),
    "mime-type-not-a-string": (good(mimeType=1), Reason.MALFORMED),
    "mime-type-null": (good(mimeType=None), Reason.MALFORMED),
    "payload-null": (good(payload=None), Reason.MALFORMED),
    "payload-not-base64": (good(payload="not base64!"), Reason.MALFORMED),
    "payload-without-padding": (good(payload="YQ"), Reason.MALFORMED),
    "payload-with-line-breaks": (
        good(payload=GOOD_B64_PAYLOAD[:8] + "\n" + GOOD_B64_PAYLOAD[8:]),
        Reason.MALFORMED,
    ),
    "payload-urlsafe-base64": (good(payload="-_-_"), Reason.MALFORMED),
    "payload-after-padding": (good(payload="YQ==YQ=="), Reason.MALFORMED),
    "annotations-null": (good(annotations=None), Reason.MALFORMED),
    "annotations-a-list": (good(annotations=[]), Reason.MALFORMED),
    "annotation-not-a-string": (good(annotations={SIGNATURE_ANNOTATION: 1}), Reason.MALFORMED),
    "annotation-lone-surrogate": (
        sigstore('{"mimeType":"m","payload":"","annotations":{"a":"\\ud800"}}'),
        Reason.MALFORMED,
    ),
    "mime-type-lone-surrogate": (
        sigstore('{"mimeType":"\\udfff","payload":"","annotations":{}}'),
        Reason.MALFORMED,
    ),
}


@pytest.mark.parametrize(("data", "reason"), REJECTED.values(), ids=REJECTED.keys())
def test_rejected_files(data: bytes, reason: Reason) -> None:
    with pytest.raises(VerificationError) as caught:
        parse_signature_file(data)
    assert caught.value.reason == reason
    assert "\n" not in caught.value.message


def test_hostile_format_names_are_cut_short_in_messages() -> None:
    with pytest.raises(VerificationError) as caught:
        parse_signature_file(b"\x00" + b"x" * 10_000 + b"\n{}")
    assert caught.value.reason == Reason.UNSUPPORTED
    assert len(caught.value.message) < 120
