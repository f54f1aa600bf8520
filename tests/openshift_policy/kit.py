"""ClusterImagePolicy/ImagePolicy objects and signed ``dir:`` images for these tests.

The objects follow the shapes of OpenShift's documentation and openshift/api's test data
(``config/v1/tests/clusterimagepolicies.config.openshift.io``), with this project's own names,
scopes and freshly made keys.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import yaml

from tests.cosign import kit

JsonObject = dict[str, Any]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def public_key(key_pem: bytes, rekor_pem: bytes | None = None) -> JsonObject:
    body = {"keyData": b64(key_pem)}
    if rekor_pem is not None:
        body["rekorKeyData"] = b64(rekor_pem)
    return {"policyType": "PublicKey", "publicKey": body}


def fulcio(ca_pem: bytes, rekor_pem: bytes, issuer: str, email: str) -> JsonObject:
    return {
        "policyType": "FulcioCAWithRekor",
        "fulcioCAWithRekor": {
            "fulcioCAData": b64(ca_pem),
            "rekorKeyData": b64(rekor_pem),
            "fulcioSubject": {"oidcIssuer": issuer, "signedEmail": email},
        },
    }


def pki(
    roots: bytes, intermediates: bytes | None, email: str | None, hostname: str | None
) -> JsonObject:
    subject = {k: v for k, v in (("email", email), ("hostname", hostname)) if v is not None}
    body: JsonObject = {"caRootsData": b64(roots), "pkiCertificateSubject": subject}
    if intermediates is not None:
        body["caIntermediatesData"] = b64(intermediates)
    return {"policyType": "PKI", "pki": body}


def identity(match: str | None = None, **argument: str) -> JsonObject | None:
    """``identity("ExactRepository", repository=...)``, ``identity("RemapIdentity",
    prefix=..., signedPrefix=...)``; None leaves ``signedIdentity`` out."""
    if match is None:
        return None
    out: JsonObject = {"matchPolicy": match}
    if match == "ExactRepository":
        out["exactRepository"] = dict(argument)
    if match == "RemapIdentity":
        out["remapIdentity"] = dict(argument)
    return out


def cluster_policy(
    name: str, scopes: list[str], trust: JsonObject, signed: JsonObject | None = None
) -> JsonObject:
    policy: JsonObject = {"rootOfTrust": trust}
    if signed is not None:
        policy["signedIdentity"] = signed
    return {
        "apiVersion": "config.openshift.io/v1",
        "kind": "ClusterImagePolicy",
        "metadata": {"name": name, "resourceVersion": "1", "generation": 1},
        "spec": {"scopes": scopes, "policy": policy},
        # what the cluster adds; ignored
        "status": {"conditions": [{"type": "Pending", "status": "False", "reason": "x"}]},
    }


def image_policy(
    namespace: str,
    name: str,
    scopes: list[str],
    trust: JsonObject,
    signed: JsonObject | None = None,
) -> JsonObject:
    obj = cluster_policy(name, scopes, trust, signed)
    obj["kind"] = "ImagePolicy"
    obj["metadata"]["namespace"] = namespace
    return obj


def write_objects(path: Path, objects: list[JsonObject]) -> Path:
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False), encoding="utf-8")
    return path


def write_json(path: Path, document: JsonObject) -> Path:
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def signed_layout(
    folder: Path, signers: list[tuple[kit.PrivateKey, str]], manifest: bytes = kit.MANIFEST
) -> Path:
    """A ``dir:`` image: the manifest and one cosign signature per (key, signed identity)."""
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_bytes(manifest)
    for number, (key, reference) in enumerate(signers, start=1):
        data = kit.payload(reference=reference)
        (folder / f"signature-{number}").write_bytes(kit.sigstore_file(data, kit.sign(key, data)))
    return folder
