"""containers-policy.json ``sigstoreSigned`` with ``fulcio``, ``pki`` and ``rekorPublicKey*``.

The corpus's keyless, key-with-Rekor and PKI images go through ``sigpolicy check-image
--dir`` with a policy naming the corpus's ``fulcio_v1.crt.pem``, ``rekor.pub`` and PKI roots
and the identities containers/image's ``policy_eval_sigstore_test.go`` uses. Then the
configurations that test rejects: at load (``newPRSigstoreSigned`` and friends, with
upstream's messages) or when the trust material is read (``prepareTrustRoot``).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from sigpolicy.cli.main import main
from sigpolicy.errors import PolicyError
from sigpolicy.policy.load import load_policy
from tests.conformance.corpus import CORPUS
from tests.keyless.corpus_material import FULCIO_EMAIL, GITHUB_ISSUER, PKI_EMAIL, PKI_HOST

FULCIO_IMAGE = "192.168.64.2:5000/cosign-signed/fulcio-rekor-1"
KEY_IMAGE = "192.168.64.2:5000/cosign-signed/key-1"
PKI_IMAGE = "localhost:5000/test"
REPOSITORY = {"type": "matchRepository"}


def corpus(name: str) -> str:
    return str(CORPUS / name)


def data(name: str) -> str:
    return base64.b64encode((CORPUS / name).read_bytes()).decode()


FULCIO: dict[str, Any] = {
    "type": "sigstoreSigned",
    "fulcio": {
        "caPath": corpus("fulcio_v1.crt.pem"),
        "oidcIssuer": GITHUB_ISSUER,
        "subjectEmail": FULCIO_EMAIL,
    },
    "rekorPublicKeyPath": corpus("rekor.pub"),
    "signedIdentity": REPOSITORY,
}
KEY_REKOR: dict[str, Any] = {
    "type": "sigstoreSigned",
    "keyPath": corpus("cosign2.pub"),
    "rekorPublicKeyPath": corpus("rekor.pub"),
    "signedIdentity": REPOSITORY,
}
PKI: dict[str, Any] = {
    "type": "sigstoreSigned",
    "pki": {
        "caRootsPath": corpus("pki_root_crts.pem"),
        "caIntermediatesPath": corpus("pki_intermediate_crts.pem"),
        "subjectEmail": PKI_EMAIL,
        "subjectHostname": PKI_HOST,
    },
    "signedIdentity": REPOSITORY,
}


def write_policy(tmp_path: Path, scopes: dict[str, dict[str, Any]]) -> Path:
    path = tmp_path / "policy.json"
    document = {
        "default": [{"type": "reject"}],
        "transports": {"docker": {scope: [req] for scope, req in scopes.items()}},
    }
    path.write_text(json.dumps(document))
    return path


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(base))
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


# (image dir, reference, requirement, exit status); the first three are the issue's
# "done when", the others deny for the reason in the name.
CHECK_IMAGE = {
    "fulcio+rekor image passes": ("dir-img-cosign-fulcio-rekor-valid", FULCIO_IMAGE, FULCIO, 0),
    "key+rekor image passes": ("dir-img-cosign-key-rekor-valid", KEY_IMAGE, KEY_REKOR, 0),
    "pki image passes": ("dir-img-cosign-pki-valid", PKI_IMAGE, PKI, 0),
    "fulcio+rekor with caData and rekorPublicKeyDatas": (
        "dir-img-cosign-fulcio-rekor-valid",
        FULCIO_IMAGE,
        with_(
            FULCIO,
            fulcio={
                "caData": data("fulcio_v1.crt.pem"),
                "oidcIssuer": GITHUB_ISSUER,
                "subjectEmail": FULCIO_EMAIL,
            },
            rekorPublicKeyPath=None,
            rekorPublicKeyDatas=[data("cosign.pub"), data("rekor.pub")],
        ),
        0,
    ),
    "key+rekor with keyPaths and rekorPublicKeyPaths": (
        "dir-img-cosign-key-rekor-valid",
        KEY_IMAGE,
        with_(
            KEY_REKOR,
            keyPath=None,
            keyPaths=[corpus("cosign.pub"), corpus("cosign2.pub")],
            rekorPublicKeyPath=None,
            rekorPublicKeyPaths=[corpus("cosign.pub"), corpus("rekor.pub")],
        ),
        0,
    ),
    "pki with caRootsData and no intermediates (the chain annotation has them)": (
        "dir-img-cosign-pki-valid",
        PKI_IMAGE,
        with_(
            PKI,
            pki={"caRootsData": data("pki_root_crts.pem"), "subjectEmail": PKI_EMAIL},
        ),
        0,
    ),
    "fulcio email mismatch": (
        "dir-img-cosign-fulcio-rekor-valid",
        FULCIO_IMAGE,
        with_(
            FULCIO, fulcio=FULCIO["fulcio"] | {"subjectEmail": "this-does-not-match@example.com"}
        ),
        1,
    ),
    "fulcio with a Rekor key that did not sign": (
        "dir-img-cosign-fulcio-rekor-valid",
        FULCIO_IMAGE,
        with_(FULCIO, rekorPublicKeyPath=corpus("cosign.pub")),
        1,
    ),
    "key+rekor with a Rekor key that did not sign": (
        "dir-img-cosign-key-rekor-valid",
        KEY_IMAGE,
        with_(KEY_REKOR, rekorPublicKeyPath=corpus("cosign.pub")),
        1,
    ),
    "key+rekor, the image signed by another key": (
        "dir-img-cosign-key-rekor-valid",
        KEY_IMAGE,
        with_(KEY_REKOR, keyPath=corpus("cosign.pub")),
        1,
    ),
    "a key-only image under a Rekor requirement (no SET)": (
        "dir-img-cosign-valid",
        "192.168.64.2:5000/cosign-signed-single-sample",
        with_(KEY_REKOR, keyPath=corpus("cosign.pub")),
        1,
    ),
    "pki hostname mismatch": (
        "dir-img-cosign-pki-valid",
        PKI_IMAGE,
        with_(PKI, pki=PKI["pki"] | {"subjectHostname": "other.example.com"}),
        1,
    ),
    "Rekor public key is not ECDSA": (
        "dir-img-cosign-key-rekor-valid",
        KEY_IMAGE,
        with_(KEY_REKOR, rekorPublicKeyPath=corpus("some-rsa-key.pub")),
        1,
    ),
    "Fulcio CA file is not a certificate": (
        "dir-img-cosign-fulcio-rekor-valid",
        FULCIO_IMAGE,
        with_(FULCIO, fulcio=FULCIO["fulcio"] | {"caPath": corpus("image.signature")}),
        1,
    ),
    "PKI roots file does not exist": (
        "dir-img-cosign-pki-valid",
        PKI_IMAGE,
        with_(PKI, pki=PKI["pki"] | {"caRootsPath": corpus("this/does/not/exist")}),
        1,
    ),
}


@pytest.mark.parametrize(
    ("folder", "reference", "requirement", "status"), CHECK_IMAGE.values(), ids=CHECK_IMAGE.keys()
)
def test_check_image(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    folder: str,
    reference: str,
    requirement: dict[str, Any],
    status: int,
) -> None:
    policy = write_policy(tmp_path, {reference: requirement})
    code = main(["check-image", reference, "--policy", str(policy), "--dir", str(CORPUS / folder)])
    out = capsys.readouterr().out
    assert code == status, out
    assert ("ALLOWED" if status == 0 else "DENIED") in out
    assert main(["policy", "check", str(policy)]) == 0


def test_denial_names_the_check_that_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requirement = with_(
        FULCIO, fulcio=FULCIO["fulcio"] | {"subjectEmail": "this-does-not-match@example.com"}
    )
    policy = write_policy(tmp_path, {FULCIO_IMAGE: requirement})
    folder = CORPUS / "dir-img-cosign-fulcio-rekor-valid"
    main(["check-image", FULCIO_IMAGE, "--policy", str(policy), "--dir", str(folder)])
    out = capsys.readouterr().out
    assert "unknown-key" in out
    assert "required email 'this-does-not-match@example.com' not found" in out


LOAD_ERRORS = {
    # newPRSigstoreSigned
    "no key source": ({"type": "sigstoreSigned"}, "exactly one of keyPath, keyPaths, keyData"),
    "keyPath and keyData": (
        with_(KEY_REKOR, keyData=data("cosign.pub")),
        "exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio, and pki must be specified",
    ),
    "keyPath and fulcio": (
        with_(FULCIO, keyPath=corpus("cosign.pub")),
        "exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio, and pki",
    ),
    "fulcio and pki": (with_(FULCIO, pki=PKI["pki"]), "exactly one of keyPath"),
    "empty keyPaths": (
        with_(KEY_REKOR, keyPath=None, keyPaths=[]),
        "keyPaths: expected a non-empty list of strings",
    ),
    "empty keyDatas": (
        with_(KEY_REKOR, keyPath=None, keyDatas=[]),
        "keyDatas: expected a non-empty list of strings",
    ),
    "rekorPublicKeyPath and rekorPublicKeyData": (
        with_(KEY_REKOR, rekorPublicKeyData=data("rekor.pub")),
        "at most one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and"
        " rekorPublicKeyDatas can be used simultaneously",
    ),
    "rekorPublicKeyPath and rekorPublicKeyPaths": (
        with_(KEY_REKOR, rekorPublicKeyPaths=[corpus("rekor.pub")]),
        "at most one of rekorPublicKeyPath",
    ),
    "empty rekorPublicKeyPaths": (
        with_(KEY_REKOR, rekorPublicKeyPath=None, rekorPublicKeyPaths=[]),
        "rekorPublicKeyPaths: expected a non-empty list of strings",
    ),
    "empty rekorPublicKeyDatas": (
        with_(KEY_REKOR, rekorPublicKeyPath=None, rekorPublicKeyDatas=[]),
        "rekorPublicKeyDatas: expected a non-empty list of strings",
    ),
    "rekorPublicKeyData not base64": (
        with_(KEY_REKOR, rekorPublicKeyPath=None, rekorPublicKeyData="this is invalid!"),
        "rekorPublicKeyData: not valid base64",
    ),
    "fulcio without rekor": (
        with_(FULCIO, rekorPublicKeyPath=None),
        "must be specified if fulcio is used",
    ),
    "pki with rekor": (
        with_(PKI, rekorPublicKeyPath=corpus("rekor.pub")),
        "rekorPublicKeyDatas are not supported for pki",
    ),
    # newPRSigstoreSignedFulcio
    "fulcio caPath and caData": (
        with_(FULCIO, fulcio=FULCIO["fulcio"] | {"caData": data("fulcio_v1.crt.pem")}),
        "caPath and caData cannot be used simultaneously",
    ),
    "fulcio neither caPath nor caData": (
        with_(FULCIO, fulcio={"oidcIssuer": GITHUB_ISSUER, "subjectEmail": FULCIO_EMAIL}),
        "At least one of caPath and caData must be specified",
    ),
    "fulcio missing oidcIssuer": (
        with_(FULCIO, fulcio={"caPath": corpus("fulcio_v1.crt.pem"), "subjectEmail": "a@b"}),
        "oidcIssuer not specified",
    ),
    "fulcio missing subjectEmail": (
        with_(FULCIO, fulcio={"caPath": corpus("fulcio_v1.crt.pem"), "oidcIssuer": "x"}),
        "subjectEmail not specified",
    ),
    "fulcio unknown field": (
        with_(FULCIO, fulcio=FULCIO["fulcio"] | {"subjectRegExp": ".*"}),
        "$.default[0].fulcio: unknown field 'subjectRegExp'",
    ),
    "fulcio not an object": (with_(FULCIO, fulcio="yes"), "fulcio: expected an object"),
    # newPRSigstoreSignedPKI
    "pki caRootsPath and caRootsData": (
        with_(PKI, pki=PKI["pki"] | {"caRootsData": data("pki_root_crts.pem")}),
        "caRootsPath and caRootsData cannot be used simultaneously",
    ),
    "pki neither caRootsPath nor caRootsData": (
        with_(PKI, pki={"subjectEmail": PKI_EMAIL}),
        "At least one of caRootsPath and caRootsData must be specified",
    ),
    "pki caIntermediatesPath and caIntermediatesData": (
        with_(PKI, pki=PKI["pki"] | {"caIntermediatesData": data("pki_intermediate_crts.pem")}),
        "caIntermediatesPath and caIntermediatesData cannot be used simultaneously",
    ),
    "pki neither subjectEmail nor subjectHostname": (
        with_(PKI, pki={"caRootsPath": corpus("pki_root_crts.pem")}),
        "At least one of subjectEmail, subjectHostname must be specified",
    ),
    "pki unknown field": (
        with_(PKI, pki=PKI["pki"] | {"caPath": "x"}),
        "$.default[0].pki: unknown field 'caPath'",
    ),
}


@pytest.mark.parametrize(("requirement", "message"), LOAD_ERRORS.values(), ids=LOAD_ERRORS.keys())
def test_load_errors(tmp_path: Path, requirement: dict[str, Any], message: str) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"default": [requirement]}))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
