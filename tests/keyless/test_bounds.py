"""Hostile annotations: the size and nesting bounds, and malformed PEM, each refused for a
named reason before anything is believed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sigpolicy.reasons import Reason
from sigpolicy.signature.keyless import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    CHAIN_ANNOTATION,
    FulcioRequirement,
    SigstoreTrust,
)
from sigpolicy.signature.sigstore_roots import FulcioAuthority, RekorKey
from tests.keyless.judge import PAYLOAD, judge
from tests.support.sigstore_kit import (
    EMAIL,
    OIDC_ISSUER,
    FakeFulcio,
    FakeRekor,
    Signed,
    keyless_signature,
)

FULCIO = FakeFulcio()
REKOR = FakeRekor()
TRUST = SigstoreTrust(
    fulcio=FulcioRequirement((FulcioAuthority((FULCIO.root.cert,)),), OIDC_ISSUER, EMAIL),
    rekor_keys=(RekorKey(REKOR.key.public_key(), b""),),
)
GOOD = keyless_signature(FULCIO.issue(), REKOR, payload=PAYLOAD)
CERT = GOOD.attachment.annotations[CERTIFICATE_ANNOTATION]
BLOCK = CERT.strip().splitlines()

CASES: dict[str, tuple[Callable[[], Signed], Reason]] = {
    "certificate annotation over 128 KiB": (
        lambda: GOOD.with_annotation(CERTIFICATE_ANNOTATION, CERT + " " * (128 * 1024)),
        Reason.MALFORMED,
    ),
    "chain of 17 certificates": (
        lambda: GOOD.with_annotation(CHAIN_ANNOTATION, FULCIO.chain_pem * 9),
        Reason.MALFORMED,
    ),
    "PEM headers in the certificate": (
        lambda: GOOD.with_annotation(
            CERTIFICATE_ANNOTATION, "\n".join([BLOCK[0], "Proc-Type: 4,ENCRYPTED", *BLOCK[1:]])
        ),
        Reason.MALFORMED,
    ),
    "a PUBLIC KEY block for a certificate": (
        lambda: GOOD.with_annotation(
            CERTIFICATE_ANNOTATION, CERT.replace("CERTIFICATE", "PUBLIC KEY")
        ),
        Reason.MALFORMED,
    ),
    "text around the certificate": (
        lambda: GOOD.with_annotation(CERTIFICATE_ANNOTATION, "hello\n" + CERT),
        Reason.MALFORMED,
    ),
    "unclosed PEM block": (
        lambda: GOOD.with_annotation(CERTIFICATE_ANNOTATION, "\n".join(BLOCK[:-1])),
        Reason.MALFORMED,
    ),
    "SET nested 100000 deep": (
        lambda: GOOD.with_annotation(BUNDLE_ANNOTATION, "[" * 100_000 + "]" * 100_000),
        Reason.MALFORMED,
    ),
    "SET over 256 KiB": (
        lambda: GOOD.with_annotation(BUNDLE_ANNOTATION, '{"a": "' + "x" * (256 * 1024) + '"}'),
        Reason.MALFORMED,
    ),
    "signature annotation not base64": (
        lambda: GOOD.with_annotation("dev.cosignproject.cosign/signature", "***"),
        Reason.MALFORMED,
    ),
}


@pytest.mark.parametrize(("make", "reason"), CASES.values(), ids=CASES.keys())
def test_refused(make: Callable[[], Signed], reason: Reason) -> None:
    verdict = judge(make(), TRUST)
    assert verdict.reason == reason, verdict.message
    assert verdict.signer is None


def test_the_unaltered_signature_passes() -> None:
    assert judge(GOOD, TRUST).trusted
