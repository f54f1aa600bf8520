"""The corpus's Rekor, Fulcio and PKI images, judged as containers/image's own tests judge them.

Each case names the Go test of ``signature/policy_eval_sigstore_test.go`` it comes from
(``TestPRrSigstoreSignedIsSignatureAccepted`` unless said otherwise), with the policy it
uses (keys, Rekor keys, Fulcio CA and identity, PKI roots and identity) and the signature as
found or altered the way that test alters it. Upstream only says accepted or rejected; the
reason class of each rejection is pinned here too.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from cryptography import x509

from sigpolicy.reasons import Reason
from sigpolicy.reference.docker import parse_reference
from sigpolicy.reference.identity import ExactReference, IdentityRule, MatchExact, MatchRepository
from sigpolicy.signature.cosign import CosignKeySet
from sigpolicy.signature.envelope import SigstoreSignature, parse_signature_file
from sigpolicy.signature.keyless import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    CHAIN_ANNOTATION,
    FulcioRequirement,
    PKIRequirement,
    SigstoreTrust,
    explain_sigstore,
)
from sigpolicy.signature.sigstore_roots import FulcioAuthority, PKIAuthority
from sigpolicy.sources.dirlayout import read_dir_image
from sigpolicy.verify.checks import ManifestBytes, RuleIdentity
from tests.conformance.corpus import CORPUS
from tests.keyless.corpus_material import (
    FULCIO_EMAIL,
    GITHUB_ISSUER,
    PKI_EMAIL,
    PKI_HOST,
    rekor_keys,
)

KEY_REKOR = ("dir-img-cosign-key-rekor-valid", "192.168.64.2:5000/cosign-signed/key-1")
FULCIO = ("dir-img-cosign-fulcio-rekor-valid", "192.168.64.2:5000/cosign-signed/fulcio-rekor-1")
PKI = ("dir-img-cosign-pki-valid", "localhost:5000/test")
KEY = ("dir-img-cosign-valid", "192.168.64.2:5000/cosign-signed-single-sample")
NOW = int(time.time())


def keys(*names: str) -> CosignKeySet:
    return CosignKeySet.from_files([(n, (CORPUS / n).read_bytes()) for n in names])


def certificates(name: str) -> tuple[x509.Certificate, ...]:
    return tuple(x509.load_pem_x509_certificates((CORPUS / name).read_bytes()))


def fulcio(
    email: str = FULCIO_EMAIL, cas: tuple[x509.Certificate, ...] | None = None
) -> FulcioRequirement:
    roots = cas if cas is not None else certificates("fulcio_v1.crt.pem")
    return FulcioRequirement((FulcioAuthority(roots),), GITHUB_ISSUER, email)


def pki(*, intermediates: bool = True) -> PKIRequirement:
    inter = certificates("pki_intermediate_crts.pem") if intermediates else ()
    authority = PKIAuthority(certificates("pki_root_crts.pem"), inter)
    return PKIRequirement(authority, PKI_EMAIL, PKI_HOST)


def signature_of(folder: str) -> SigstoreSignature:
    sig = parse_signature_file((CORPUS / folder / "signature-1").read_bytes())
    assert isinstance(sig, SigstoreSignature)
    return sig


ANNOTATIONS = {
    "bundle": BUNDLE_ANNOTATION,
    "cert": CERTIFICATE_ANNOTATION,
    "chain": CHAIN_ANNOTATION,
    "signature": "dev.cosignproject.cosign/signature",
}


def edited(original: SigstoreSignature, **changes: str | None) -> SigstoreSignature:
    """``original`` with annotations replaced (None: removed), as the Go test's
    ``sigstoreSignatureWithModifiedAnnotation`` / ``...WithoutAnnotation``."""
    annotations = dict(original.annotations)
    for short, value in changes.items():
        if value is None:
            annotations.pop(ANNOTATIONS[short], None)
        else:
            annotations[ANNOTATIONS[short]] = value
    return SigstoreSignature(
        original.mime_type,
        original.payload,
        annotations.get(ANNOTATIONS["signature"]),
        annotations,
    )


@dataclass(frozen=True)
class Case:
    upstream: str
    image: tuple[str, str]
    trust: Callable[[], SigstoreTrust]
    expect: Reason | None
    signature: Callable[[], SigstoreSignature] | None = None
    rule: IdentityRule = field(default_factory=MatchRepository)


def _key_rekor(
    key_files: tuple[str, ...], rekor_files: tuple[str, ...]
) -> Callable[[], SigstoreTrust]:
    return lambda: SigstoreTrust(keys=keys(*key_files), rekor_keys=rekor_keys(*rekor_files))


CASES: dict[str, Case] = {}
for key_files in (("cosign2.pub",), ("cosign2.pub", "cosign.pub"), ("cosign.pub", "cosign2.pub")):
    for rekor_files in (("rekor.pub",), ("rekor.pub", "cosign.pub"), ("cosign.pub", "rekor.pub")):
        CASES[f"key+rekor ok keys={','.join(key_files)} rekor={','.join(rekor_files)}"] = Case(
            "Successful key+Rekor use", KEY_REKOR, _key_rekor(key_files, rekor_files), None
        )
    CASES[f"key+rekor SET by another log key={','.join(key_files)}"] = Case(
        "key+Rekor: A Rekor SET which we don't accept (rekorPublicKeyPath cosign.pub)",
        KEY_REKOR, _key_rekor(key_files, ("cosign.pub",)), Reason.BAD_SIGNATURE,
    )  # fmt: skip
CASES.update(
    {
        "key+rekor missing SET annotation": Case(
            "key+Rekor, missing Rekor SET annotation", KEY_REKOR,
            _key_rekor(("cosign2.pub",), ("rekor.pub",)), Reason.UNKNOWN_KEY,
            lambda: edited(signature_of(KEY_REKOR[0]), bundle=None),
        ),
        "key+rekor invalid SET": Case(
            "key+Rekor: Invalid Rekor SET", KEY_REKOR,
            _key_rekor(("cosign2.pub",), ("rekor.pub",)), Reason.MALFORMED,
            lambda: edited(signature_of(KEY_REKOR[0]), bundle="this is not a valid SET"),
        ),
        "key+rekor SET of another key's signature": Case(
            "key+Rekor: A valid Rekor SET for one accepted key, but a signature with a"
            " _different_ accepted key", KEY,
            _key_rekor(("cosign.pub", "cosign2.pub"), ("rekor.pub",)), Reason.BAD_SIGNATURE,
            lambda: edited(
                signature_of(KEY[0]), bundle=signature_of(KEY_REKOR[0]).annotations[BUNDLE_ANNOTATION]
            ),
        ),
        "key only ignores the SET": Case(
            "Successful validation, with KeyPath (TestPRSigstoreSignedIsRunningImageAllowed)",
            KEY_REKOR, lambda: SigstoreTrust(keys=keys("cosign2.pub")), None,
        ),
        "fulcio ok": Case(
            "Successful Fulcio certificate use (rekor.pub)", FULCIO,
            lambda: SigstoreTrust(fulcio=fulcio(), rekor_keys=rekor_keys("rekor.pub")), None,
        ),
        "fulcio ok, rekor keys rekor,cosign": Case(
            "Successful Fulcio certificate use (rekor.pub, cosign.pub)", FULCIO,
            lambda: SigstoreTrust(fulcio=fulcio(), rekor_keys=rekor_keys("rekor.pub", "cosign.pub")),
            None,
        ),
        "fulcio ok, rekor keys cosign,rekor": Case(
            "Successful Fulcio certificate use (cosign.pub, rekor.pub)", FULCIO,
            lambda: SigstoreTrust(fulcio=fulcio(), rekor_keys=rekor_keys("cosign.pub", "rekor.pub")),
            None,
        ),
        "fulcio missing SET": Case(
            "Fulcio, missing Rekor SET annotation", FULCIO,
            lambda: SigstoreTrust(fulcio=fulcio(), rekor_keys=rekor_keys("rekor.pub")),
            Reason.UNKNOWN_KEY, lambda: edited(signature_of(FULCIO[0]), bundle=None),
        ),
        "fulcio missing certificate": Case(
            "Fulcio, missing certificate annotation", FULCIO,
            lambda: SigstoreTrust(fulcio=fulcio(), rekor_keys=rekor_keys("rekor.pub")),
            Reason.UNKNOWN_KEY, lambda: edited(signature_of(FULCIO[0]), cert=None),
        ),
        "fulcio missing chain, no path to the root": Case(
            "Fulcio: missing certificate chain annotation causes the Cosign-issued signature"
            " to be rejected", FULCIO,
            lambda: SigstoreTrust(fulcio=fulcio(), rekor_keys=rekor_keys("rekor.pub")),
            Reason.UNKNOWN_KEY, lambda: edited(signature_of(FULCIO[0]), chain=None),
        ),
        "fulcio missing chain, chain trusted as CA": Case(
            "... but a signature without the intermediate annotation is fine if the issuer is"
            " directly trusted", FULCIO,
            lambda: SigstoreTrust(
                fulcio=fulcio(
                    cas=tuple(
                        x509.load_pem_x509_certificates(
                            signature_of(FULCIO[0]).annotations[CHAIN_ANNOTATION].encode()
                        )
                    )
                ),
                rekor_keys=rekor_keys("rekor.pub"),
            ),
            None, lambda: edited(signature_of(FULCIO[0]), chain=None),
        ),
        "fulcio invalid certificate": Case(
            "Fulcio: Invalid Fulcio certificate", FULCIO,
            lambda: SigstoreTrust(fulcio=fulcio(), rekor_keys=rekor_keys("rekor.pub")),
            Reason.MALFORMED,
            lambda: edited(signature_of(FULCIO[0]), cert="this is not a valid certificate"),
        ),
        "fulcio email mismatch": Case(
            "Fulcio: A Fulcio certificate which we don't accept", FULCIO,
            lambda: SigstoreTrust(
                fulcio=fulcio("this-does-not-match@example.com"), rekor_keys=rekor_keys("rekor.pub")
            ),
            Reason.UNKNOWN_KEY,
        ),
        "fulcio invalid SET": Case(
            "Fulcio: Invalid Rekor SET", FULCIO,
            lambda: SigstoreTrust(fulcio=fulcio(), rekor_keys=rekor_keys("rekor.pub")),
            Reason.MALFORMED, lambda: edited(signature_of(FULCIO[0]), bundle="this is not a valid SET"),
        ),
        "fulcio SET by another log": Case(
            "Fulcio: A Rekor SET which we don't accept (rekorPublicKeyPath cosign.pub)", FULCIO,
            lambda: SigstoreTrust(fulcio=fulcio(), rekor_keys=rekor_keys("cosign.pub")),
            Reason.BAD_SIGNATURE,
        ),
        "pki ok": Case(
            "Successful PKI certificate use", PKI, lambda: SigstoreTrust(pki=pki()), None
        ),
        "pki missing certificate": Case(
            "PKI, missing certificate annotation", PKI, lambda: SigstoreTrust(pki=pki()),
            Reason.UNKNOWN_KEY, lambda: edited(signature_of(PKI[0]), cert=None),
        ),
        "pki missing chain, intermediates configured": Case(
            "PKI, missing certificate chain annotation is fine if the issuer is directly trusted",
            PKI, lambda: SigstoreTrust(pki=pki()), None,
            lambda: edited(signature_of(PKI[0]), chain=None),
        ),
        "pki missing chain, no intermediates": Case(
            "PKI, missing certificate chain annotation causes the Cosign-issued signature to be"
            " rejected", PKI, lambda: SigstoreTrust(pki=pki(intermediates=False)),
            Reason.UNKNOWN_KEY, lambda: edited(signature_of(PKI[0]), chain=None),
        ),
        "pki chain only": Case(
            "TestPKIVerify: Success intermediate certificate with signature only", PKI,
            lambda: SigstoreTrust(pki=pki(intermediates=False)), None,
        ),
        "key not a signature": Case(
            "A signature which does not verify", KEY,
            lambda: SigstoreTrust(keys=keys("cosign.pub")), Reason.BAD_SIGNATURE,
            lambda: edited(
                signature_of(KEY[0]), signature=base64.b64encode(b"invalid signature").decode()
            ),
        ),
        "key no signature annotation": Case(
            "Signature has no cryptographic signature", KEY,
            lambda: SigstoreTrust(keys=keys("cosign.pub")), Reason.UNSIGNED,
            lambda: edited(signature_of(KEY[0]), signature=None),
        ),
        "key rejected identity": Case(
            "A valid signature with a rejected identity", KEY,
            lambda: SigstoreTrust(keys=keys("cosign.pub")), Reason.IDENTITY_MISMATCH,
            rule=ExactReference("this/does-not:match"),
        ),
        "key cosign signature and matchExact": Case(
            "Cosign-created signatures are rejected (matchExact)", KEY,
            lambda: SigstoreTrust(keys=keys("cosign.pub")), Reason.IDENTITY_MISMATCH,
            rule=MatchExact(),
        ),
    }
)  # fmt: skip


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_corpus_signature(case: Case) -> None:
    folder, reference = case.image
    image = read_dir_image(CORPUS / folder)
    assert image.manifest is not None
    sig = case.signature() if case.signature else signature_of(folder)
    verdict = explain_sigstore(
        sig,
        case.trust(),
        digest=ManifestBytes(image.manifest),
        identity=RuleIdentity(case.rule, parse_reference(reference)),
        now=NOW,
    )
    assert verdict.reason == case.expect, (case.upstream, verdict.message)
    assert verdict.trusted == (case.expect is None)
    if case.expect is None:
        assert verdict.identity == reference
    elif case.expect not in (Reason.IDENTITY_MISMATCH, Reason.DIGEST_MISMATCH):
        # Nothing of a signature that did not authenticate is reported as if it meant something.
        assert (verdict.signer, verdict.identity, verdict.claims) == (None, None, None)


def test_verified_fields_of_the_corpus_images() -> None:
    """What each valid corpus image proves, read from its own signature."""
    image = read_dir_image(CORPUS / FULCIO[0])
    assert image.manifest is not None
    verdict = explain_sigstore(
        signature_of(FULCIO[0]),
        SigstoreTrust(fulcio=fulcio(), rekor_keys=rekor_keys("rekor.pub")),
        digest=ManifestBytes(image.manifest),
        identity=RuleIdentity(MatchRepository(), parse_reference(FULCIO[1])),
        now=NOW,
    )
    assert verdict.trusted
    authenticated = verdict.authenticated
    assert authenticated is not None and authenticated.entry is not None
    bundle = json.loads(signature_of(FULCIO[0]).annotations[BUNDLE_ANNOTATION])
    assert authenticated.entry.integrated_time == bundle["Payload"]["integratedTime"] == 1674247893
    assert authenticated.entry.log_index == 11605770
    assert (authenticated.signer, authenticated.issuer) == (FULCIO_EMAIL, GITHUB_ISSUER)
    assert verdict.created == 1674247893
