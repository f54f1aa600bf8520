"""Section ``images`` of the conformance corpus, cosign cases, at the signature level.

Each ``dir-img-cosign-*`` layout is read with :func:`read_dir_image`, every signature file goes
through the envelope and :func:`explain_cosign` with the case's keys, ``ManifestBytes`` and the
case's ``signedIdentity``. The image is allowed when one signature is trusted, as
containers/image's ``sigstoreSigned`` decides. Beyond the corpus's own expectation, the
reason of every signature is pinned here (``SIGNATURE_REASONS``).
"""

from __future__ import annotations

from typing import Any

import pytest

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.reference.docker import parse_reference
from sigpolicy.reference.identity import IdentityRule, MatchExact, MatchRepository
from sigpolicy.signature.cosign import CosignKeySet, authenticate_cosign, explain_cosign
from sigpolicy.signature.envelope import SigstoreSignature, parse_signature_file
from sigpolicy.sources.dirlayout import read_dir_image
from sigpolicy.verify.checks import ManifestBytes, RuleIdentity
from tests.conformance.corpus import CORPUS, case_id, expectations

CASES: list[dict[str, Any]] = [
    case for case in expectations()["images"] if case["requirement"]["type"] == "sigstoreSigned"
]
RULES: dict[str, IdentityRule] = {"matchRepository": MatchRepository(), "matchExact": MatchExact()}
SINGLE_SAMPLE = "192.168.64.2:5000/cosign-signed-single-sample"

# (dir, key files, identity rule, reference) -> the reason of each signature, None = trusted.
SIGNATURE_REASONS: dict[tuple[str, tuple[str, ...], str, str], list[Reason | None]] = {
    ("dir-img-cosign-valid", ("cosign.pub",), "matchRepository", SINGLE_SAMPLE): [None],
    ("dir-img-cosign-valid", ("cosign2.pub", "cosign.pub"), "matchRepository", SINGLE_SAMPLE): [
        None
    ],
    ("dir-img-cosign-valid", ("cosign.pub",), "matchExact", SINGLE_SAMPLE): [
        Reason.IDENTITY_MISMATCH
    ],
    ("dir-img-cosign-valid", ("cosign2.pub",), "matchRepository", SINGLE_SAMPLE): [
        Reason.BAD_SIGNATURE
    ],
    ("dir-img-cosign-valid-2", ("cosign.pub",), "matchRepository", SINGLE_SAMPLE): [None, None],
    ("dir-img-cosign-mixed", ("cosign.pub",), "matchRepository", SINGLE_SAMPLE): [
        Reason.BAD_SIGNATURE,
        None,
    ],
    (
        "dir-img-cosign-valid-with-tag",
        ("cosign.pub",),
        "matchExact",
        "192.168.64.2:5000/skopeo-signed:tag",
    ): [None],
    (
        "dir-img-cosign-valid-with-tag",
        ("cosign.pub",),
        "matchExact",
        "192.168.64.2:5000/skopeo-signed:othertag",
    ): [Reason.IDENTITY_MISMATCH],
    ("dir-img-cosign-modified-manifest", ("cosign.pub",), "matchRepository", SINGLE_SAMPLE): [
        Reason.DIGEST_MISMATCH
    ],
    (
        "dir-img-cosign-manifest-digest-error",
        ("cosign.pub",),
        "matchRepository",
        SINGLE_SAMPLE,
    ): [Reason.INVALID_MANIFEST],
    ("dir-img-cosign-other-attachment", ("cosign.pub",), "matchRepository", SINGLE_SAMPLE): [
        Reason.UNSIGNED
    ],
}


def _keys(requirement: dict[str, Any]) -> tuple[str, ...]:
    if "keyPath" in requirement:
        return (requirement["keyPath"],)
    return tuple(requirement["keyPaths"])


def _keyset(names: tuple[str, ...]) -> CosignKeySet:
    return CosignKeySet.from_files([(name, (CORPUS / name).read_bytes()) for name in names])


def _reasons(case: dict[str, Any]) -> list[Reason | None] | None:
    """Each signature's reason (None when trusted), or None when the image has no manifest."""
    requirement = case["requirement"]
    image = read_dir_image(CORPUS / case["dir"])
    if image.manifest is None:
        return None
    keys = _keyset(_keys(requirement))
    identity = RuleIdentity(
        RULES[requirement["signedIdentity"]["type"]], parse_reference(case["reference"])
    )
    reasons: list[Reason | None] = []
    for data in image.signatures:
        try:
            signature = parse_signature_file(data)
        except VerificationError as exc:
            reasons.append(exc.reason)
            continue
        assert isinstance(signature, SigstoreSignature)
        verdict = explain_cosign(
            signature, keys, digest=ManifestBytes(image.manifest), identity=identity
        )
        assert verdict.trusted == (verdict.reason is None)
        reasons.append(verdict.reason)
    return reasons


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_corpus_case(case: dict[str, Any]) -> None:
    reasons = _reasons(case)
    if reasons is None:
        # dir-img-cosign-no-manifest: no digest to check a signature against; the image is
        # rejected by its caller, as containers/image fails it.
        assert case["expect"] == "rejected"
        return
    allowed = any(reason is None for reason in reasons)
    assert allowed == (case["expect"] == "allowed"), reasons
    if "reason" in case:
        assert reasons
        assert all(reason == case["reason"] for reason in reasons), reasons
    requirement = case["requirement"]
    pinned = (
        case["dir"],
        _keys(requirement),
        requirement["signedIdentity"]["type"],
        case["reference"],
    )
    assert reasons == SIGNATURE_REASONS[pinned]


def test_every_pinned_case_is_in_the_corpus() -> None:
    in_corpus = {
        (
            c["dir"],
            _keys(c["requirement"]),
            c["requirement"]["signedIdentity"]["type"],
            c["reference"],
        )
        for c in CASES
    }
    assert set(SIGNATURE_REASONS) <= in_corpus
    assert len(CASES) >= 12


def test_no_manifest_signature_still_authenticates() -> None:
    image = read_dir_image(CORPUS / "dir-img-cosign-no-manifest")
    assert image.manifest is None
    (data,) = image.signatures
    signature = parse_signature_file(data)
    assert isinstance(signature, SigstoreSignature)
    assert authenticate_cosign(signature, _keyset(("cosign.pub",))).signer.startswith("SHA256:")


def _single_sample_signature() -> SigstoreSignature:
    signature = parse_signature_file((CORPUS / "dir-img-cosign-valid" / "signature-1").read_bytes())
    assert isinstance(signature, SigstoreSignature)
    return signature


def _explain_single_sample(signature: SigstoreSignature, keys: tuple[str, ...]) -> Reason | None:
    manifest = (CORPUS / "dir-img-cosign-valid" / "manifest.json").read_bytes()
    verdict = explain_cosign(
        signature,
        _keyset(keys),
        digest=ManifestBytes(manifest),
        identity=RuleIdentity(MatchRepository(), parse_reference(SINGLE_SAMPLE)),
    )
    return verdict.reason


def test_unknown_cosign_key_signature_is_rejected() -> None:
    signature = parse_signature_file((CORPUS / "unknown-cosign-key.signature").read_bytes())
    assert isinstance(signature, SigstoreSignature)
    assert signature.payload == _single_sample_signature().payload
    assert _explain_single_sample(signature, ("cosign.pub",)) == Reason.BAD_SIGNATURE
    assert _explain_single_sample(signature, ("cosign.pub", "cosign2.pub")) == Reason.BAD_SIGNATURE


def test_signature_replaced_by_invalid_signature_text() -> None:
    valid = _single_sample_signature()
    replaced = SigstoreSignature(
        valid.mime_type,
        valid.payload,
        "aW52YWxpZCBzaWduYXR1cmU=",  # base64("invalid signature")
        valid.annotations | {"dev.cosignproject.cosign/signature": "aW52YWxpZCBzaWduYXR1cmU="},
    )
    assert _explain_single_sample(replaced, ("cosign.pub",)) == Reason.BAD_SIGNATURE


def test_valid_single_sample_verdict_fields() -> None:
    manifest = (CORPUS / "dir-img-cosign-valid" / "manifest.json").read_bytes()
    verdict = explain_cosign(
        _single_sample_signature(),
        _keyset(("cosign.pub",)),
        digest=ManifestBytes(manifest),
        identity=RuleIdentity(MatchRepository(), parse_reference(SINGLE_SAMPLE)),
    )
    assert verdict.trusted
    assert (
        verdict.signer == "SHA256:c87a79018f346cc02482448b77296b0bea143ef2ccab99b04776fb0f638f301f"
    )
    assert verdict.identity == SINGLE_SAMPLE
    assert verdict.digest == (
        "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"
    )
    assert (verdict.created, verdict.key_id) == (None, None)


def test_with_tag_signature_reports_its_timestamp() -> None:
    data = (CORPUS / "dir-img-cosign-valid-with-tag" / "signature-1").read_bytes()
    signature = parse_signature_file(data)
    assert isinstance(signature, SigstoreSignature)
    manifest = (CORPUS / "dir-img-cosign-valid-with-tag" / "manifest.json").read_bytes()
    verdict = explain_cosign(
        signature,
        _keyset(("cosign.pub",)),
        digest=ManifestBytes(manifest),
        identity=RuleIdentity(MatchExact(), parse_reference("192.168.64.2:5000/skopeo-signed:tag")),
    )
    assert verdict.trusted
    assert verdict.created == 1657296609
    assert verdict.claims is not None
    assert verdict.claims.creator == "containers/image 5.21.2-dev"


def test_rekor_bundle_is_ignored_in_key_based_mode() -> None:
    # dir-img-cosign-key-rekor-valid carries a Rekor SET; with keys only (no Rekor key in the
    # policy) containers/image accepts it on the key alone, and so does this module.
    image = read_dir_image(CORPUS / "dir-img-cosign-key-rekor-valid")
    assert image.manifest is not None
    (data,) = image.signatures
    signature = parse_signature_file(data)
    assert isinstance(signature, SigstoreSignature)
    assert "dev.sigstore.cosign/bundle" in signature.annotations
    reference = parse_reference("192.168.64.2:5000/cosign-signed/key-1")
    verdicts = [
        explain_cosign(
            signature,
            _keyset(keys),
            digest=ManifestBytes(image.manifest),
            identity=RuleIdentity(MatchRepository(), reference),
        ).reason
        for keys in (("cosign2.pub",), ("cosign.pub",))
    ]
    assert verdicts == [None, Reason.BAD_SIGNATURE]
