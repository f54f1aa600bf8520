"""Cosign key-based verification on fresh keys: every rule of sigpolicy.signature.cosign, named."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.reference.docker import parse_reference
from sigpolicy.reference.identity import MatchExact, MatchRepository
from sigpolicy.signature.cosign import (
    CosignKeySet,
    CosignVerdict,
    authenticate_cosign,
    explain_cosign,
    verify_cosign,
)
from sigpolicy.signature.envelope import SigstoreSignature, parse_signature_file
from sigpolicy.signature.payload import ATOMIC_TYPE
from sigpolicy.verify.checks import ManifestBytes, RuleIdentity
from tests.cosign.kit import (
    DIGEST,
    MANIFEST,
    REPOSITORY,
    PrivateKey,
    fingerprint,
    new_key,
    payload,
    public_pem,
    sign,
    signed_file,
    sigstore_file,
)

KINDS = ["p256", "p384", "p521", "rsa2048", "ed25519"]


@pytest.fixture(scope="module")
def keys() -> dict[str, PrivateKey]:
    """One fresh key per kind, plus a second P-256 key that is never trusted with the first."""
    made = {kind: new_key(kind) for kind in KINDS}
    made["other-p256"] = new_key("p256")
    return made


def keyset(*private: PrivateKey) -> CosignKeySet:
    return CosignKeySet.from_files([(f"k{n}.pub", public_pem(k)) for n, k in enumerate(private)])


def attachment(data: bytes) -> SigstoreSignature:
    parsed = parse_signature_file(data)
    assert isinstance(parsed, SigstoreSignature)
    return parsed


IDENTITY = RuleIdentity(MatchRepository(), parse_reference(REPOSITORY + ":1.0"))
DIGEST_CHECK = ManifestBytes(MANIFEST)


def explain(data: bytes, trusted: CosignKeySet) -> CosignVerdict:
    return explain_cosign(attachment(data), trusted, digest=DIGEST_CHECK, identity=IDENTITY)


@pytest.mark.parametrize("kind", KINDS)
def test_fresh_signature_is_trusted(keys: dict[str, PrivateKey], kind: str) -> None:
    key = keys[kind]
    verdict = explain(signed_file(key), keyset(key))
    assert verdict.trusted, verdict.message
    assert verdict.reason is None
    assert verdict.signer == fingerprint(key)
    assert verdict.key_id is None
    assert (verdict.identity, verdict.digest) == (REPOSITORY, DIGEST)
    assert verdict.created is None  # cosign's "optional": null
    assert verdict.claims is not None
    assert verdict.authenticated is not None
    assert verdict.authenticated.key.fingerprint == fingerprint(key)
    assert verdict.message == f"signed by {fingerprint(key)} for {REPOSITORY}"


@pytest.mark.parametrize("kind", KINDS)
def test_verify_cosign_returns_what_it_proves(keys: dict[str, PrivateKey], kind: str) -> None:
    key = keys[kind]
    data = payload(optional={"creator": "containers/image 5.21.2-dev", "timestamp": 1657296609})
    verified = verify_cosign(
        attachment(signed_file(key, data)), keyset(key), digest=DIGEST_CHECK, identity=IDENTITY
    )
    assert verified.signer == fingerprint(key)
    assert verified.created == 1657296609
    assert verified.claims.creator == "containers/image 5.21.2-dev"


def test_the_key_that_verifies_is_the_signer(keys: dict[str, PrivateKey]) -> None:
    trusted = keyset(keys["rsa2048"], keys["p256"], keys["ed25519"])
    verdict = explain(signed_file(keys["ed25519"]), trusted)
    assert verdict.trusted
    assert verdict.signer == fingerprint(keys["ed25519"])


def test_timestamp_is_reported_as_created(keys: dict[str, PrivateKey]) -> None:
    key = keys["p256"]
    verdict = explain(signed_file(key, payload(optional={"timestamp": 1700000000})), keyset(key))
    assert verdict.trusted
    assert verdict.created == 1700000000


def _replace_annotation(data: bytes, value: str | None) -> bytes:
    body = json.loads(data[len(b"\x00sigstore-json\n") :])
    if value is None:
        del body["annotations"]["dev.cosignproject.cosign/signature"]
    else:
        body["annotations"]["dev.cosignproject.cosign/signature"] = value
    return b"\x00sigstore-json\n" + json.dumps(body).encode()


def _tamper_payload(data: bytes) -> bytes:
    body = json.loads(data[len(b"\x00sigstore-json\n") :])
    signed = base64.b64decode(body["payload"])
    body["payload"] = base64.b64encode(signed.replace(b"quay.io", b"quay.in")).decode()
    return b"\x00sigstore-json\n" + json.dumps(body).encode()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# Each case: (signing key, file made from it, trusted key kinds) -> reason.
Case = tuple[str, Callable[[PrivateKey], bytes], tuple[str, ...], Reason]
P = payload()

REJECTED: dict[str, Case] = {
    "wrong-key": ("p256", signed_file, ("other-p256",), Reason.BAD_SIGNATURE),
    "wrong-key-type": ("p256", signed_file, ("ed25519", "rsa2048"), Reason.BAD_SIGNATURE),
    "tampered-payload": (
        "p256",
        lambda k: _tamper_payload(signed_file(k)),
        ("p256",),
        Reason.BAD_SIGNATURE,
    ),
    "invalid-signature-text": (
        "p256",
        lambda k: _replace_annotation(signed_file(k), _b64(b"invalid signature")),
        ("p256",),
        Reason.BAD_SIGNATURE,
    ),
    "empty-signature": (
        "ed25519",
        lambda k: _replace_annotation(signed_file(k), ""),
        ("ed25519",),
        Reason.BAD_SIGNATURE,
    ),
    "ecdsa-p384-over-sha384": (
        # cosign and containers/image hash with SHA-256 whatever the curve.
        "p384",
        lambda k: sigstore_file(P, _ecdsa_sha384(k)),
        ("p384",),
        Reason.BAD_SIGNATURE,
    ),
    "ecdsa-raw-r-s-not-der": (
        "p256",
        lambda k: sigstore_file(P, _raw_r_s(sign(k, P))),
        ("p256",),
        Reason.BAD_SIGNATURE,
    ),
    "rsa-pss": (
        "rsa2048",
        lambda k: sigstore_file(P, _rsa_pss(k)),
        ("rsa2048",),
        Reason.BAD_SIGNATURE,
    ),
    "ed25519-over-the-sha256": (
        "ed25519",
        lambda k: sigstore_file(P, sign(k, _sha256(P))),
        ("ed25519",),
        Reason.BAD_SIGNATURE,
    ),
    "signature-not-base64": (
        "p256",
        lambda k: _replace_annotation(signed_file(k), "not base64!"),
        ("p256",),
        Reason.MALFORMED,
    ),
    "signature-base64-with-line-break": (
        "p256",
        lambda k: _replace_annotation(signed_file(k), _b64(sign(k, P))[:10] + "\n"),
        ("p256",),
        Reason.MALFORMED,
    ),
    "no-signature-annotation": (
        "p256",
        lambda k: _replace_annotation(signed_file(k), None),
        ("p256",),
        Reason.UNSIGNED,
    ),
    "wrong-mime-type": (
        "p256",
        lambda k: sigstore_file(P, sign(k, P), mime_type="text/plain"),
        ("p256",),
        Reason.UNSIGNED,
    ),
    "mime-type-with-parameters": (
        "p256",
        lambda k: sigstore_file(
            P, sign(k, P), mime_type="application/vnd.dev.cosign.simplesigning.v1+json; x=y"
        ),
        ("p256",),
        Reason.UNSIGNED,
    ),
    "signed-payload-not-json": (
        "p256",
        lambda k: signed_file(k, b"This is not JSON\n"),
        ("p256",),
        Reason.INVALID_PAYLOAD,
    ),
    "signed-payload-atomic-type": (
        "p256",
        lambda k: signed_file(k, payload(type_=ATOMIC_TYPE)),
        ("p256",),
        Reason.INVALID_PAYLOAD,
    ),
    "signed-payload-fractional-timestamp": (
        "p256",
        lambda k: signed_file(k, payload(optional={"timestamp": 0.5})),
        ("p256",),
        Reason.INVALID_PAYLOAD,
    ),
    "signed-for-another-manifest": (
        "ed25519",
        lambda k: signed_file(k, payload(digest="sha256:" + "0" * 64)),
        ("ed25519",),
        Reason.DIGEST_MISMATCH,
    ),
    "signed-for-another-repository": (
        "rsa2048",
        lambda k: signed_file(k, payload(reference="quay.io/ns/other")),
        ("rsa2048",),
        Reason.IDENTITY_MISMATCH,
    ),
    "signed-reference-unparseable": (
        "p256",
        lambda k: signed_file(k, payload(reference="UPPERCASE/Invalid")),
        ("p256",),
        Reason.IDENTITY_MISMATCH,
    ),
}


def _ecdsa_sha384(key: PrivateKey) -> bytes:
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key.sign(P, ec.ECDSA(hashes.SHA384()))


def _rsa_pss(key: PrivateKey) -> bytes:
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.sign(
        P, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
    )


def _raw_r_s(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _sha256(data: bytes) -> bytes:
    hasher = hashes.Hash(hashes.SHA256())
    hasher.update(data)
    return hasher.finalize()


@pytest.mark.parametrize(
    ("signer", "make", "trusted", "reason"), REJECTED.values(), ids=REJECTED.keys()
)
def test_rejected(
    keys: dict[str, PrivateKey],
    signer: str,
    make: Callable[[PrivateKey], bytes],
    trusted: tuple[str, ...],
    reason: Reason,
) -> None:
    data = make(keys[signer])
    trusted_keys = keyset(*(keys[kind] for kind in trusted))
    verdict = explain(data, trusted_keys)
    assert not verdict.trusted
    assert verdict.reason == reason, verdict.message
    assert "\n" not in verdict.message
    with pytest.raises(VerificationError) as caught:
        verify_cosign(attachment(data), trusted_keys, digest=DIGEST_CHECK, identity=IDENTITY)
    assert caught.value.reason == reason
    # Nothing from an unauthenticated signature is reported; claims only once parsed.
    authenticated = reason in (
        Reason.INVALID_PAYLOAD,
        Reason.DIGEST_MISMATCH,
        Reason.IDENTITY_MISMATCH,
    )
    assert (verdict.signer is not None) == authenticated
    parsed = reason in (Reason.DIGEST_MISMATCH, Reason.IDENTITY_MISMATCH)
    assert (verdict.claims is not None) == parsed
    assert (verdict.identity is not None) == parsed


def test_wrong_mime_type_message_says_not_a_signature(keys: dict[str, PrivateKey]) -> None:
    key = keys["p256"]
    verdict = explain(sigstore_file(P, sign(key, P), mime_type="text/plain"), keyset(key))
    assert verdict.message == "a sigstore attachment of type 'text/plain': not a signature"


def test_bad_signature_message_counts_the_keys(keys: dict[str, PrivateKey]) -> None:
    verdict = explain(signed_file(keys["p256"]), keyset(keys["ed25519"], keys["rsa2048"]))
    assert verdict.message == (
        "the signature does not verify with the 2 trusted keys (made by another key, or altered)"
    )


def test_exact_rule_refuses_the_cosign_cli_identity(keys: dict[str, PrivateKey]) -> None:
    key = keys["p256"]
    verdict = explain_cosign(
        attachment(signed_file(key)),
        keyset(key),
        digest=DIGEST_CHECK,
        identity=RuleIdentity(MatchExact(), parse_reference(REPOSITORY + ":1.0")),
    )
    assert verdict.reason == Reason.IDENTITY_MISMATCH
    assert verdict.message == (
        f"signed for {REPOSITORY!r}, expected matchExact against {REPOSITORY}:1.0"
    )
    assert verdict.signer == fingerprint(key)


def test_authenticate_alone_does_not_parse_the_payload(keys: dict[str, PrivateKey]) -> None:
    key = keys["ed25519"]
    result = authenticate_cosign(attachment(signed_file(key, b"anything")), keyset(key))
    assert (result.payload, result.signer) == (b"anything", fingerprint(key))


def test_other_annotations_are_ignored_for_key_based_verification(
    keys: dict[str, PrivateKey],
) -> None:
    key = keys["p256"]
    extra = {"dev.sigstore.cosign/bundle": "garbage", "dev.sigstore.cosign/certificate": "x"}
    data = sigstore_file(P, sign(key, P), extra_annotations=extra)
    assert explain(data, keyset(key)).trusted


def test_rejected_keeps_what_was_verified(keys: dict[str, PrivateKey]) -> None:
    key = keys["p256"]
    verdict = explain(signed_file(key), keyset(key)).rejected(Reason.CLAIMS_MISMATCH, "no")
    assert (verdict.trusted, verdict.reason, verdict.message) == (
        False,
        Reason.CLAIMS_MISMATCH,
        "no",
    )
    assert verdict.signer == fingerprint(key)
    assert verdict.identity == REPOSITORY


def test_rsa_4096_as_cosign_generates() -> None:
    key = new_key("rsa4096")
    assert isinstance(key, rsa.RSAPrivateKey)
    verdict = explain(signed_file(key), keyset(key))
    assert verdict.trusted
