"""Verifying an Image's ImageSignatures and what gets recorded on them (issue: trust store,
ImageSignature verification with recorded SignatureConditions)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest

from sigpolicy.api import Image, ImageSignature, parse_as, validate_image_signature
from sigpolicy.reasons import Reason
from sigpolicy.reference.docker import parse_reference
from sigpolicy.reference.identity import MatchRepoDigestOrExact, MatchRepository
from sigpolicy.trust.store import TrustStore
from sigpolicy.verify.checks import RuleIdentity
from sigpolicy.verify.image import ImageVerification, verify_image
from sigpolicy.verify.record import record_image
from tests.conformance.corpus import CORPUS
from tests.support import gpgkit
from tests.support.gpgkit import GeneratedKey

MANIFEST = (
    b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}'
)
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
REFERENCE = "registry.example.com/team/app:1.0"
NOW = 1_900_000_000
LATER = NOW + 3600


def signature(blob: bytes, **extra: Any) -> dict[str, Any]:
    suffix = hashlib.sha256(blob).hexdigest()[:32]
    return {
        "metadata": {"name": f"{DIGEST}@{suffix}"},
        "type": "atomic",
        "content": base64.b64encode(blob).decode(),
        **extra,
    }


def image(*signatures: dict[str, Any], name: str = DIGEST, **extra: Any) -> Image:
    return parse_as(
        Image,
        {
            "apiVersion": "image.openshift.io/v1",
            "kind": "Image",
            "metadata": {"name": name},
            "dockerImageReference": f"registry.example.com/team/app@{name}",
            "signatures": list(signatures),
            **extra,
        },
    )


def store(*keys: GeneratedKey) -> TrustStore:
    return TrustStore.from_keyrings([(f"{k.name}.gpg", k.public_key) for k in keys])


def expect(reference: str = REFERENCE) -> RuleIdentity:
    return RuleIdentity(MatchRepoDigestOrExact(), parse_reference(reference))


@pytest.fixture(scope="module")
def signed(rsa4096_key: GeneratedKey, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return gpgkit.skopeo_standalone_sign(
        MANIFEST, REFERENCE, rsa4096_key, tmp_path_factory.mktemp("s")
    )


def run(
    img: Image, trust: TrustStore, identity: RuleIdentity | None = None, now: int = NOW, **kw: Any
) -> tuple[ImageVerification, Image]:
    verification = verify_image(img, trust, identity or expect(), now=now, **kw)
    return verification, record_image(img, verification, now)


def only(img: Image) -> ImageSignature:
    assert img.signatures is not None and len(img.signatures) == 1
    sig = img.signatures[0]
    assert validate_image_signature(sig, img.metadata.name if img.metadata else None) == []
    return sig


def test_trusted_signature_records_every_verified_field(
    signed: bytes, rsa4096_key: GeneratedKey
) -> None:
    verification, recorded = run(image(signature(signed)), store(rsa4096_key))
    assert len(verification.trusted) == 1
    sig = only(recorded)
    assert sig.image_identity == REFERENCE
    assert sig.signed_claims is not None
    assert sig.signed_claims["docker-manifest-digest"] == DIGEST
    assert sig.signed_claims["docker-reference"] == REFERENCE
    assert sig.signed_claims["type"] == "atomic container signature"
    assert sig.created is not None and sig.created.endswith("Z")
    assert sig.issued_to is not None
    assert sig.issued_to.public_key_id == "0x" + rsa4096_key.signing_fingerprint[-16:].lower()
    assert sig.issued_to.common_name == rsa4096_key.user_id  # no subject in a --keyring store
    assert sig.issued_by is None  # nothing to say without a named issuer
    conditions = sig.conditions or []
    assert [(c.type, c.status, c.reason) for c in conditions] == [
        ("Trusted", "True", "Verified"),
        ("ForImage", "True", "Verified"),
    ]
    assert rsa4096_key.fingerprint in (conditions[0].message or "")
    assert conditions[0].last_probe_time == "2030-03-17T17:46:40Z"
    dumped = recorded.to_json_dict()["signatures"][0]
    assert "issuedBy" not in dumped  # absent, not null


def test_unknown_key_clears_every_parsed_field(signed: bytes, ed25519_key: GeneratedKey) -> None:
    stale = signature(
        signed,
        imageIdentity="registry.example.com/team/app:1.0",
        signedClaims={"docker-reference": "x"},
        created="2020-01-01T00:00:00Z",
        issuedBy={"commonName": "somebody"},
        issuedTo={"publicKeyID": "0x0011223344556677"},
        conditions=[
            {
                "type": "Trusted",
                "status": "True",
                "reason": "manually verified",
                "lastTransitionTime": "2020-01-01T00:00:00Z",
            },
            {"type": "ForImage", "status": "True"},
        ],
    )
    _, recorded = run(image(stale), store(ed25519_key))
    sig = only(recorded)
    conditions = sig.conditions or []
    assert [(c.type, c.status, c.reason) for c in conditions] == [
        ("Trusted", "False", "unknown-key"),
        ("ForImage", "Unknown", "NotVerified"),
    ]
    assert conditions[0].last_transition_time == "2030-03-17T17:46:40Z"  # status changed
    dumped = recorded.to_json_dict()["signatures"][0]
    for field in ("imageIdentity", "signedClaims", "created", "issuedBy", "issuedTo"):
        assert field not in dumped


def test_identity_mismatch_still_says_the_digest_is_this_images(
    signed: bytes, rsa4096_key: GeneratedKey
) -> None:
    verification, recorded = run(
        image(signature(signed)), store(rsa4096_key), expect("registry.example.com/team/app:2.0")
    )
    assert verification.outcomes[0].verdict.reason is Reason.IDENTITY_MISMATCH
    conditions = only(recorded).conditions or []
    assert [(c.type, c.status) for c in conditions] == [("Trusted", "False"), ("ForImage", "True")]


def test_signature_for_another_image(signed: bytes, rsa4096_key: GeneratedKey) -> None:
    other = "sha256:" + "1" * 64
    sig = signature(signed)
    sig["metadata"]["name"] = f"{other}@{'a' * 32}"
    _, recorded = run(image(sig, name=other), store(rsa4096_key))
    conditions = only(recorded).conditions or []
    assert [(c.type, c.status, c.reason) for c in conditions] == [
        ("Trusted", "False", "digest-mismatch"),
        ("ForImage", "False", "digest-mismatch"),
    ]


def test_unsupported_type_is_never_trusted(signed: bytes, rsa4096_key: GeneratedKey) -> None:
    verification, _ = run(image(signature(signed) | {"type": "cosign"}), store(rsa4096_key))
    assert verification.outcomes[0].verdict.reason is Reason.UNSUPPORTED
    assert not verification.trusted


def test_atomic_image_v1_type_is_accepted(signed: bytes, rsa4096_key: GeneratedKey) -> None:
    verification, _ = run(image(signature(signed) | {"type": "AtomicImageV1"}), store(rsa4096_key))
    assert len(verification.trusted) == 1


def test_transition_time_moves_only_when_status_changes(
    signed: bytes, rsa4096_key: GeneratedKey, ed25519_key: GeneratedKey
) -> None:
    _, first = run(image(signature(signed)), store(rsa4096_key), now=NOW)
    _, second = run(first, store(rsa4096_key), now=LATER)
    before, after = only(first).conditions or [], only(second).conditions or []
    assert after[0].last_transition_time == before[0].last_transition_time
    assert after[0].last_probe_time != before[0].last_probe_time
    # The key is rotated out of the trust store: the status changes, and so does the time.
    _, third = run(second, store(ed25519_key), now=LATER + 60)
    rotated = only(third).conditions or []
    assert rotated[0].status == "False"
    assert rotated[0].last_transition_time == rotated[0].last_probe_time


def test_other_writers_conditions_are_kept_after_ours(
    signed: bytes, rsa4096_key: GeneratedKey
) -> None:
    theirs = {"type": "ScannedBy", "status": "True", "reason": "Scanner"}
    _, recorded = run(image(signature(signed, conditions=[theirs])), store(rsa4096_key))
    types = [c.type for c in only(recorded).conditions or []]
    assert types == ["Trusted", "ForImage", "ScannedBy"]


CORPUS_CASES = {
    "expired-signature": (
        "expired.signature",
        "public-key.gpg",
        "Expired",
        Reason.EXPIRED_SIGNATURE,
    ),
    "revoked-subkey": (
        "subkey-revoked.signature",
        "public-key-with-revoked-subkey.gpg",
        "Revoked",
        Reason.REVOKED_KEY,
    ),
}


@pytest.mark.parametrize(
    ("blob", "keyring", "condition", "reason"), CORPUS_CASES.values(), ids=CORPUS_CASES.keys()
)
def test_expired_and_revoked_conditions(
    blob: str, keyring: str, condition: str, reason: Reason
) -> None:
    trust = TrustStore.from_keyrings([(keyring, (CORPUS / keyring).read_bytes())])
    _, recorded = run(image(signature((CORPUS / blob).read_bytes())), trust)
    conditions = {c.type: c for c in only(recorded).conditions or []}
    assert conditions["Trusted"].reason == str(reason)
    assert conditions[condition].status == "True"


DECLARED = {
    "lying-public-key-id": (
        {"issuedTo": {"publicKeyID": "0x0011223344556677"}},
        Reason.CLAIMS_MISMATCH,
    ),
    "lying-issuer": ({"issuedBy": {"organization": "Red Hat"}}, Reason.CLAIMS_MISMATCH),
    "lying-subject": (
        {"issuedTo": {"commonName": "Somebody Else", "publicKeyID": "KEYID"}},
        Reason.CLAIMS_MISMATCH,
    ),
    "oc-records-key-id-as-issuer": ({"issuedBy": {"commonName": "KEYID"}}, None),
    "true-public-key-id": ({"issuedTo": {"publicKeyID": "KEYID"}}, None),
}


@pytest.mark.parametrize(("declared", "reason"), DECLARED.values(), ids=DECLARED.keys())
def test_declared_claims_must_agree(
    declared: dict[str, Any], reason: Reason | None, signed: bytes, rsa4096_key: GeneratedKey
) -> None:
    key_id = rsa4096_key.signing_fingerprint[-16:]
    filled = {
        k: {f: (key_id if v == "KEYID" else v) for f, v in d.items()} for k, d in declared.items()
    }
    verification, _ = run(image(signature(signed, **filled)), store(rsa4096_key))
    assert verification.outcomes[0].verdict.reason is reason


def test_manifest_list_signature_vouches_for_its_child(
    rsa4096_key: GeneratedKey, tmp_path: Path
) -> None:
    list_manifest = (
        b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'
    )
    list_digest = "sha256:" + hashlib.sha256(list_manifest).hexdigest()
    blob = gpgkit.skopeo_standalone_sign(list_manifest, REFERENCE, rsa4096_key, tmp_path)
    parent_sig = signature(blob)
    parent_sig["metadata"]["name"] = f"{list_digest}@{'b' * 32}"
    parent = image(
        parent_sig,
        name=list_digest,
        dockerImageManifests=[
            {
                "digest": DIGEST,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "manifestSize": 100,
                "architecture": "amd64",
                "os": "linux",
            }
        ],
    )
    child = image(signature(blob))  # the list's signature, also stored on the child
    verification, recorded = run(child, store(rsa4096_key), lists=[parent])
    assert [o.holder for o in verification.trusted] == [DIGEST, list_digest]
    assert all(o.via_list == list_digest for o in verification.trusted)
    for_image = (only(recorded).conditions or [])[1]
    assert (for_image.status, "manifest list" in (for_image.message or "")) == ("True", True)


def test_repository_rule_for_name_only_signed_identity() -> None:
    trust = TrustStore.from_keyrings([("public-key.gpg", (CORPUS / "public-key.gpg").read_bytes())])
    corpus_digest = "sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55"
    sig = signature((CORPUS / "image.signature").read_bytes())
    sig["metadata"]["name"] = f"{corpus_digest}@{'c' * 32}"
    img = image(sig, name=corpus_digest)
    by_default, _ = run(
        img,
        trust,
        RuleIdentity(
            MatchRepoDigestOrExact(), parse_reference(f"testing/manifest@{corpus_digest}")
        ),
    )
    assert by_default.outcomes[0].verdict.reason is Reason.IDENTITY_MISMATCH  # signed name-only
    by_repository, _ = run(
        img, trust, RuleIdentity(MatchRepository(), parse_reference("testing/manifest:latest"))
    )
    assert len(by_repository.trusted) == 1
