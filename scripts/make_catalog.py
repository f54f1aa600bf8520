#!/usr/bin/env python3
"""Regenerate the bundled example catalog (sigpolicy/examples/catalog/) from the example
signatures: an Image carrying them as ImageSignatures, an ImageStream tagging it, and a trust
store naming the two example keys. Run after make_examples.py:
``python3 scripts/make_catalog.py``.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import yaml

EXAMPLES = Path(__file__).resolve().parent.parent / "sigpolicy" / "examples"
SIGS = EXAMPLES / "signatures"
OUT = EXAMPLES / "catalog"
INTEGRATED_REGISTRY = "image-registry.openshift-image-registry.svc:5000"


def main() -> None:
    manifest = (SIGS / "manifest.json").read_bytes()
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    signatures = []
    for name in ("release-key.sig", "ci-key.sig", "unknown-key.sig", "other-image.sig"):
        blob = (SIGS / name).read_bytes()
        signatures.append(
            {
                "metadata": {"name": f"{digest}@{hashlib.sha256(blob).hexdigest()[:32]}"},
                "type": "atomic",
                "content": base64.b64encode(blob).decode(),
            }
        )
    image = {
        "apiVersion": "image.openshift.io/v1",
        "kind": "Image",
        "metadata": {
            "name": digest,
            "creationTimestamp": "2026-11-02T09:15:00Z",
            "resourceVersion": "1",
        },
        "dockerImageReference": f"registry.example.com/shop/checkout@{digest}",
        "dockerImageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
        "dockerImageManifest": manifest.decode(),
        "dockerImageMetadata": {"kind": "DockerImage", "apiVersion": "image.openshift.io/1.0"},
        "dockerImageMetadataVersion": "1.0",
        "signatures": signatures,
    }
    stream = {
        "apiVersion": "image.openshift.io/v1",
        "kind": "ImageStream",
        "metadata": {"name": "checkout", "namespace": "shop", "generation": 2},
        "spec": {
            "lookupPolicy": {"local": True},
            "tags": [
                {
                    "name": "1.4.2",
                    "from": {
                        "kind": "DockerImage",
                        "name": "registry.example.com/shop/checkout:1.4.2",
                    },
                    "referencePolicy": {"type": "Source"},
                    "importPolicy": {"importMode": "Legacy"},
                    "generation": 2,
                }
            ],
        },
        "status": {
            "dockerImageRepository": f"{INTEGRATED_REGISTRY}/shop/checkout",
            "tags": [
                {
                    "tag": "1.4.2",
                    "items": [
                        {
                            "created": "2026-11-02T09:15:00Z",
                            "dockerImageReference": f"registry.example.com/shop/checkout@{digest}",
                            "image": digest,
                            "generation": 2,
                        }
                    ],
                }
            ],
        },
    }
    OUT.mkdir(parents=True, exist_ok=True)
    header = "# The example catalog: image API objects as `oc get -o yaml` prints them.\n"
    (OUT / "checkout.yaml").write_text(
        header
        + yaml.safe_dump(image, sort_keys=False)
        + "---\n"
        + yaml.safe_dump(stream, sort_keys=False)
    )


if __name__ == "__main__":
    main()
