"""The project's YAML ``sigstoreSigned``: keys, Fulcio, PKI, Rekor keys, ``issuerRegExp`` /
``subjectRegExp`` (RE2, anchored), a Sigstore ``trustedRoot`` with validity windows, and
several authorities with k-of-n. Each decision goes through ``sigpolicy check-image --dir``
on a ``dir:`` layout made by the test.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec

from sigpolicy.cli.main import main
from sigpolicy.policy.safe_regexp import compile_anchored
from sigpolicy.signature.keyless import FulcioRequirement
from sigpolicy.signature.sigstore_roots import FulcioAuthority
from tests.support.sigstore_bundle_kit import TestCA, TestLog, dumps, trusted_root_json
from tests.support.sigstore_kit import (
    EMAIL,
    NOW,
    OIDC_ISSUER,
    FakeFulcio,
    FakePKI,
    FakeRekor,
    Leaf,
    Signed,
    cosign_payload,
    key_signature,
    keyless_signature,
    public_pem,
)

MANIFEST = (
    b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}'
)
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
IMAGE = "quay.io/ns/app"
PAYLOAD = cosign_payload(DIGEST, IMAGE)
WORKFLOW = "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1"

FULCIO = FakeFulcio()
REKOR = FakeRekor()
PKI = FakePKI()
RELEASE_KEY = ec.generate_private_key(ec.SECP256R1())

# A trusted_root.json (K3's kit) whose CA and log sign these signatures too.
ROOT_CA = TestCA(NOW - 86400, NOW + 86400)
ROOT_LOG = TestLog()


def root_leaf() -> Leaf:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = ROOT_CA.issue(key.public_key(), not_before=NOW - 60, not_after=NOW + 540, email=EMAIL)
    chain = tuple(ROOT_CA.chain)
    return Leaf(key, cert, chain)


def root_log() -> FakeRekor:
    assert isinstance(ROOT_LOG.key, ec.EllipticCurvePrivateKey)
    return FakeRekor(ROOT_LOG.key)


def write_image(folder: Path, signatures: list[Signed]) -> Path:
    folder.mkdir()
    (folder / "manifest.json").write_bytes(MANIFEST)
    for index, signed in enumerate(signatures, 1):
        (folder / f"signature-{index}").write_bytes(signed.file)
    return folder


def policy(requirement: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "sigpolicy.io/v1alpha1",
        "kind": "ImagePolicy",
        "scopes": [
            {
                "name": "app",
                "images": [IMAGE],
                "require": [
                    {"sigstoreSigned": requirement | {"identity": {"type": "matchRepository"}}}
                ],
            }
        ],
    }


def fulcio_authority(**identity: str) -> dict[str, Any]:
    chosen = identity or {"oidcIssuer": OIDC_ISSUER, "subjectEmail": EMAIL}
    return {
        "fulcio": {"caData": FULCIO.roots_pem, **chosen},
        "rekorPublicKeyData": [REKOR.public_pem],
    }


def trusted_root_file(
    tmp_path: Path, *, log_end: int | None = None, ca_end: int | None = None
) -> str:
    document = trusted_root_json(
        cas=[(ROOT_CA, NOW - 86400, ca_end)], tlogs=[(ROOT_LOG, NOW - 86400, log_end)]
    )
    (tmp_path / "trusted_root.json").write_bytes(dumps(document))
    return "trusted_root.json"


def run(tmp_path: Path, requirement: dict[str, Any], signatures: list[Signed]) -> int:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy(requirement)))
    image = write_image(tmp_path / "image", signatures)
    return main(["check-image", IMAGE, "--policy", str(path), "--dir", str(image)])


def fulcio_signed(**options: Any) -> Signed:
    return keyless_signature(FULCIO.issue(**options), REKOR, payload=PAYLOAD)


Case = tuple[Callable[[Path], dict[str, Any]], Callable[[], list[Signed]], int, str]

CASES: dict[str, Case] = {
    "fulcio+rekor inline": (lambda _: fulcio_authority(), lambda: [fulcio_signed()], 0, "signed by"),
    "subjectRegExp on a URI SAN": (
        lambda _: fulcio_authority(
            oidcIssuer=OIDC_ISSUER, subjectRegExp=r"https://github\.com/org/repo/.+"
        ),
        lambda: [fulcio_signed(email=None, uris=(WORKFLOW,))],
        0,
        "ALLOWED",
    ),
    "subjectRegExp is anchored": (
        lambda _: fulcio_authority(oidcIssuer=OIDC_ISSUER, subjectRegExp=r"github\.com/org/.+"),
        lambda: [fulcio_signed(email=None, uris=(WORKFLOW,))],
        1,
        "no email or URI of the certificate matches",
    ),
    "issuerRegExp": (
        lambda _: fulcio_authority(issuerRegExp=r"https://oidc\.example\.(test|com)", subjectEmail=EMAIL),
        lambda: [fulcio_signed()],
        0,
        "ALLOWED",
    ),
    "issuerRegExp mismatch": (
        lambda _: fulcio_authority(issuerRegExp=r"https://accounts\..*", subjectEmail=EMAIL),
        lambda: [fulcio_signed()],
        1,
        "does not match",
    ),
    "keys with Rekor": (
        lambda _: {"keyData": [public_pem(RELEASE_KEY.public_key())], "rekorPublicKeyData": [REKOR.public_pem]},
        lambda: [key_signature(RELEASE_KEY, REKOR, payload=PAYLOAD)],
        0,
        "logged at Rekor index",
    ),
    "keys with Rekor, no SET": (
        lambda _: {"keyData": [public_pem(RELEASE_KEY.public_key())], "rekorPublicKeyData": [REKOR.public_pem]},
        lambda: [key_signature(RELEASE_KEY, None, payload=PAYLOAD)],
        1,
        "dev.sigstore.cosign/bundle",
    ),
    "pki": (
        lambda _: {"pki": {"caRootsData": PKI.roots_pem, "subjectEmail": EMAIL}},
        lambda: [keyless_signature(PKI.issue(), None, payload=PAYLOAD)],
        0,
        "PKI certificate",
    ),
    "trustedRoot: Fulcio CA and Rekor log": (
        lambda p: {"fulcio": {"oidcIssuer": "https://issuer.example.test", "subjectEmail": EMAIL}, "trustedRoot": trusted_root_file(p)},
        lambda: [keyless_signature(root_leaf(), root_log(), payload=PAYLOAD)],
        0,
        "ALLOWED",
    ),
    "trustedRoot: the log's window ended before the entry": (
        lambda p: {"fulcio": {"oidcIssuer": "https://issuer.example.test", "subjectEmail": EMAIL}, "trustedRoot": trusted_root_file(p, log_end=NOW - 10)},
        lambda: [keyless_signature(root_leaf(), root_log(), payload=PAYLOAD)],
        1,
        "expired-key",
    ),
    "trustedRoot: the CA's window ended before the entry": (
        lambda p: {"fulcio": {"oidcIssuer": "https://issuer.example.test", "subjectEmail": EMAIL}, "trustedRoot": trusted_root_file(p, ca_end=NOW - 10)},
        lambda: [keyless_signature(root_leaf(), root_log(), payload=PAYLOAD)],
        1,
        "expired-key",
    ),
    "trustedRoot: keys with the root's log": (
        lambda p: {"keyData": [public_pem(RELEASE_KEY.public_key())], "trustedRoot": trusted_root_file(p)},
        lambda: [key_signature(RELEASE_KEY, root_log(), payload=PAYLOAD)],
        0,
        "ALLOWED",
    ),
    "2 of 2 authorities, both signed": (
        lambda _: {
            "threshold": 2,
            "authorities": [
                {"name": "release", "keyData": [public_pem(RELEASE_KEY.public_key())]},
                {"name": "ci", **fulcio_authority()},
            ],
        },
        lambda: [key_signature(RELEASE_KEY, None, payload=PAYLOAD), fulcio_signed()],
        0,
        "2 authorities accepted (ci, release)",
    ),
    "2 of 2 authorities, one signed": (
        lambda _: {
            "threshold": 2,
            "authorities": [
                {"name": "release", "keyData": [public_pem(RELEASE_KEY.public_key())]},
                {"name": "ci", **fulcio_authority()},
            ],
        },
        lambda: [fulcio_signed()],
        1,
        "2 distinct authorities required, 1 accepted (ci)",
    ),
    "1 of 2 with release required, only ci signed": (
        lambda _: {
            "required": ["release"],
            "authorities": [
                {"name": "release", "keyData": [public_pem(RELEASE_KEY.public_key())]},
                {"name": "ci", **fulcio_authority()},
            ],
        },
        lambda: [fulcio_signed()],
        1,
        "authority release must accept a signature too",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("make", "sign", "status", "text"), CASES.values(), ids=CASES.keys())
def test_yaml_decision(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], dict[str, Any]],
    sign: Callable[[], list[Signed]],
    status: int,
    text: str,
) -> None:
    code = run(tmp_path, make(tmp_path), sign())
    out = capsys.readouterr().out
    assert code == status, out
    assert text in out, out


LOAD_ERRORS: dict[str, tuple[dict[str, Any], str]] = {
    "backreference refused by RE2": (
        fulcio_authority(oidcIssuer=OIDC_ISSUER, subjectRegExp=r"(a+)\1"),
        "subjectRegExp: not an RE2 pattern: invalid escape sequence",
    ),
    "lookahead refused by RE2": (
        fulcio_authority(issuerRegExp=r"(?=https).*", subjectEmail=EMAIL),
        "issuerRegExp: not an RE2 pattern",
    ),
    "fulcio without Rekor": (
        {"fulcio": {"caData": FULCIO.roots_pem, "oidcIssuer": OIDC_ISSUER, "subjectEmail": EMAIL}},
        "fulcio needs rekorPublicKeyPaths, rekorPublicKeyData or a trustedRoot",
    ),
    "fulcio without an issuer": (
        {"fulcio": {"caData": FULCIO.roots_pem, "subjectEmail": EMAIL}, "rekorPublicKeyData": [REKOR.public_pem]},
        "oidcIssuer or issuerRegExp is required",
    ),
    "fulcio CA not PEM": (
        {"fulcio": {"caData": "nope", "oidcIssuer": "x", "subjectEmail": EMAIL}, "rekorPublicKeyData": [REKOR.public_pem]},
        "error loading Fulcio CA certificates",
    ),
    "pki with Rekor": (
        {"pki": {"caRootsData": PKI.roots_pem, "subjectEmail": EMAIL}, "rekorPublicKeyData": [REKOR.public_pem]},
        "pki takes no Rekor keys",
    ),
    "keys and fulcio": (
        {"keyData": [REKOR.public_pem], **fulcio_authority()},
        "exactly one of keyPaths/keyData, fulcio and pki is required",
    ),
    "authorities and inline fields": (
        {"keyData": [REKOR.public_pem], "authorities": [{"name": "a", "keyData": [REKOR.public_pem]}]},
        "either authorities or one authority's fields",
    ),
    "unreachable threshold": (
        {"threshold": 3, "authorities": [{"name": "a", "keyData": [REKOR.public_pem]}]},
        "threshold 3 can never be met by 1 authorities",
    ),
    "unnamed authority": (
        {"authorities": [{"keyData": [REKOR.public_pem]}]},
        "every authority needs a name",
    ),
    "missing trustedRoot file": (
        {"keyData": [REKOR.public_pem], "trustedRoot": "absent.json"},
        "trustedRoot: ",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("requirement", "message"), LOAD_ERRORS.values(), ids=LOAD_ERRORS.keys())
def test_yaml_load_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], requirement: dict[str, Any], message: str
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy(requirement)))
    assert main(["policy", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert err.count("\n") == 1  # one line, no traceback, nothing from RE2 on stderr


def test_patterns_are_re2() -> None:
    """What the YAML gives the verifier: RE2 patterns, matched in full, in linear time."""
    pattern = compile_anchored(r"(a+)+$")
    assert pattern.fullmatch("a" * 50_000 + "b") is None  # catastrophic for backtracking
    requirement = FulcioRequirement(
        (FulcioAuthority((FULCIO.root.cert,)),), None, EMAIL, compile_anchored(r"https://.*")
    )
    assert requirement.issuer_pattern is not None
    assert requirement.issuer_pattern.fullmatch(OIDC_ISSUER) is not None
    assert requirement.issuer_pattern.fullmatch("x" + OIDC_ISSUER) is None
