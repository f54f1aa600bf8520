"""``sigstoreSigned`` judges Sigstore bundles as it judges cosign attachments.

Each case writes a ``dir:`` layout: ``signature-1``, a cosign attachment holding only the
payload (no signature annotation: on its own it is ``unsigned``), and beside it
``signature-1.sigstore.json``, a message-signature bundle of that payload made by the bundle
kit (a test CA playing Fulcio, a test key playing Rekor, a real Merkle tree and checkpoint).
The decision comes from ``sigpolicy check-image --dir`` with the project's YAML policy
(Fulcio and Rekor through a ``trustedRoot``) or a containers-policy.json (inline CA and
Rekor key); a refusal names its reason class in the decision.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec

from sigpolicy.cli.main import main
from tests.support.sigstore_bundle_kit import (
    BUNDLE_V02,
    BUNDLE_V03,
    EMAIL,
    OIDC_ISSUER,
    TestCA,
    TestLog,
    b64,
    dumps,
    message_bundle,
    pem_of,
    trusted_root_json,
)
from tests.support.sigstore_kit import NOW, attachment, cosign_payload, key_signature, public_pem

MANIFEST = (
    b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}'
)
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
IMAGE = "quay.io/ns/app"
PAYLOAD = cosign_payload(DIGEST, IMAGE)

CA = TestCA(NOW - 86_400, NOW + 86_400)
OTHER_CA = TestCA(NOW - 86_400, NOW + 86_400, name="other fulcio")
LOG = TestLog()
SIGNER = ec.generate_private_key(ec.SECP256R1())
RELEASE_KEY = ec.generate_private_key(ec.SECP256R1())


def bundle(
    *,
    ca: TestCA = CA,
    email: str = EMAIL,
    payload: bytes = PAYLOAD,
    media_type: str = BUNDLE_V03,
) -> tuple[dict[str, Any], bytes]:
    """A bundle of ``payload`` and that payload (the attachment beside the bundle holds it)."""
    certificate = ca.issue(
        SIGNER.public_key(), not_before=NOW - 60, not_after=NOW + 540, email=email
    )
    document = message_bundle(
        payload,
        SIGNER,
        LOG,
        integrated_time=NOW,
        certificate=certificate,
        chain=ca.chain,
        media_type=media_type,
    )
    return document, payload


def tampered() -> tuple[dict[str, Any], bytes]:
    """A valid bundle whose signature is replaced by the same key's signature of another
    payload: the logged entry no longer matches it."""
    document, payload = bundle()
    document = copy.deepcopy(document)
    other, _ = bundle(payload=cosign_payload(DIGEST, "quay.io/ns/other"))
    document["messageSignature"]["signature"] = other["messageSignature"]["signature"]
    return document, payload


def payload_altered() -> tuple[dict[str, Any], bytes]:
    """A valid bundle beside an attachment whose payload was changed after signing."""
    document, payload = bundle()
    return document, payload.replace(b"quay.io/ns/app", b"quay.io/ns/evil")


def yaml_policy(tmp_path: Path, requirement: dict[str, Any]) -> Path:
    (tmp_path / "trusted_root.json").write_bytes(
        dumps(trusted_root_json(cas=[(CA, NOW - 86_400, None)], tlogs=[(LOG, NOW - 86_400, None)]))
    )
    fulcio = {
        "fulcio": {"oidcIssuer": OIDC_ISSUER, "subjectEmail": EMAIL},
        "trustedRoot": "trusted_root.json",
    }
    document = {
        "apiVersion": "sigpolicy.io/v1alpha1",
        "kind": "ImagePolicy",
        "scopes": [
            {
                "name": "app",
                "images": [IMAGE],
                "require": [
                    {
                        "sigstoreSigned": (requirement or fulcio)
                        | {"identity": {"type": "matchRepository"}}
                    }
                ],
            }
        ],
    }
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def json_policy(tmp_path: Path, requirement: dict[str, Any]) -> Path:
    def data(item: Any) -> str:
        return base64.b64encode(pem_of(item)).decode()

    fulcio = {
        "type": "sigstoreSigned",
        "fulcio": {
            "caData": base64.b64encode(b"".join(pem_of(c) for c in CA.chain)).decode(),
            "oidcIssuer": OIDC_ISSUER,
            "subjectEmail": EMAIL,
        },
        "rekorPublicKeyData": data(LOG.key.public_key()),
        "signedIdentity": {"type": "matchRepository"},
    }
    document = {
        "default": [{"type": "reject"}],
        "transports": {"docker": {IMAGE: [requirement or fulcio]}},
    }
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(document))
    return path


TWO_AUTHORITIES = {
    "threshold": 2,
    "authorities": [
        {"name": "release", "keyData": [public_pem(RELEASE_KEY.public_key())]},
        {
            "name": "ci",
            "fulcio": {"oidcIssuer": OIDC_ISSUER, "subjectEmail": EMAIL},
            "trustedRoot": "trusted_root.json",
        },
    ],
}

# (policy writer, requirement ({} = keyless Fulcio + Rekor), bundle and the payload of the
# attachment beside it, extra signature files, exit status, texts the decision must show)
Case = tuple[
    Callable[[Path, dict[str, Any]], Path],
    dict[str, Any],
    Callable[[], tuple[dict[str, Any], bytes]],
    Callable[[], list[bytes]],
    int,
    tuple[str, ...],
]

CASES: dict[str, Case] = {
    "yaml: bundle v0.3 accepted": (yaml_policy, {}, bundle, list, 0, ("ALLOWED", "signature-1.sigstore.json")),
    "yaml: bundle v0.2 with its chain accepted": (yaml_policy, {}, lambda: bundle(media_type=BUNDLE_V02), list, 0, ("ALLOWED",)),
    "policy.json: bundle v0.3 accepted": (json_policy, {}, bundle, list, 0, ("ALLOWED",)),
    "yaml: tampered bundle refused": (yaml_policy, {}, tampered, list, 1, ("DENIED", "bad-signature", "the logged signature is not this signature")),
    "policy.json: tampered bundle refused": (json_policy, {}, tampered, list, 1, ("DENIED", "bad-signature", "the logged signature is not this signature")),
    "yaml: payload changed beside the bundle": (yaml_policy, {}, payload_altered, list, 1, ("DENIED", "bad-signature", "messageDigest")),
    "yaml: signed for another repository": (
        yaml_policy, {}, lambda: bundle(payload=cosign_payload(DIGEST, "quay.io/ns/other")), list,
        1, ("DENIED", "identity-mismatch", "signed for 'quay.io/ns/other'"),
    ),
    "policy.json: signed for another repository": (
        json_policy, {}, lambda: bundle(payload=cosign_payload(DIGEST, "quay.io/ns/other")), list,
        1, ("DENIED", "identity-mismatch", "signed for 'quay.io/ns/other'"),
    ),
    "yaml: certificate for another email": (
        yaml_policy, {}, lambda: bundle(email="someone@example.test"), list, 1, ("DENIED", "unknown-key", "required email"),
    ),
    "yaml: signed for another image digest": (
        yaml_policy, {}, lambda: bundle(payload=cosign_payload("sha256:" + "ab" * 32, IMAGE)), list,
        1, ("DENIED", "digest-mismatch", "signed for manifest digest"),
    ),
    "yaml: untrusted CA refused": (yaml_policy, {}, lambda: bundle(ca=OTHER_CA), list, 1, ("DENIED", "unknown-key", "does not chain to the trusted CA")),
    "policy.json: untrusted CA refused": (json_policy, {}, lambda: bundle(ca=OTHER_CA), list, 1, ("DENIED", "unknown-key", "does not chain to the trusted CA")),
    "yaml: 2 of 2 authorities, a key attachment and a Fulcio bundle": (
        yaml_policy, TWO_AUTHORITIES, bundle,
        lambda: [key_signature(RELEASE_KEY, None, payload=PAYLOAD).file],
        0, ("ALLOWED", "2 authorities accepted (ci, release)"),
    ),
    "yaml: 2 of 2 authorities, only the bundle": (
        yaml_policy, TWO_AUTHORITIES, bundle, list,
        1, ("DENIED", "2 distinct authorities required, 1 accepted (ci)"),
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("write_policy", "requirement", "make", "others", "status", "texts"),
    CASES.values(),
    ids=CASES.keys(),
)
def test_bundle_decision(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    write_policy: Callable[[Path, dict[str, Any]], Path],
    requirement: dict[str, Any],
    make: Callable[[], tuple[dict[str, Any], bytes]],
    others: Callable[[], list[bytes]],
    status: int,
    texts: tuple[str, ...],
) -> None:
    image = tmp_path / "image"
    image.mkdir()
    (image / "manifest.json").write_bytes(MANIFEST)
    document, payload = make()
    (image / "signature-1").write_bytes(attachment(payload, {}).file)
    (image / "signature-1.sigstore.json").write_bytes(json.dumps(document).encode())
    for number, blob in enumerate(others(), 2):
        (image / f"signature-{number}").write_bytes(blob)
    policy = write_policy(tmp_path, requirement)
    code = main(["check-image", IMAGE, "--policy", str(policy), "--dir", str(image)])
    out = capsys.readouterr().out
    assert code == status, out
    for text in texts:
        assert text in out, out


def test_without_the_bundle_the_payload_alone_is_unsigned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control for every case above: the attachment they share accepts nothing."""
    image = tmp_path / "image"
    image.mkdir()
    (image / "manifest.json").write_bytes(MANIFEST)
    (image / "signature-1").write_bytes(attachment(PAYLOAD, {}).file)
    policy = yaml_policy(tmp_path, {})
    assert main(["check-image", IMAGE, "--policy", str(policy), "--dir", str(image)]) == 1
    assert "unsigned" in capsys.readouterr().out


def test_an_image_with_only_a_bundle_is_not_unsigned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bundle envelope as the only signature file: bundles count in the "has no sigstore
    signature" check, and this one (a message signature without its payload) is judged."""
    image = tmp_path / "image"
    image.mkdir()
    (image / "manifest.json").write_bytes(MANIFEST)
    envelope = {"mimeType": BUNDLE_V03, "payload": b64(json.dumps(bundle()[0]).encode())}
    (image / "signature-1").write_bytes(
        b"\x00sigstore-json\n" + json.dumps(envelope | {"annotations": {}}).encode()
    )
    policy = yaml_policy(tmp_path, {})
    assert main(["check-image", IMAGE, "--policy", str(policy), "--dir", str(image)]) == 1
    out = capsys.readouterr().out
    assert "the image has none" not in out, out
    assert "without the payload it signs" in out, out
