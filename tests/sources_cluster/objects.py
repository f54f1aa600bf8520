"""Small image API objects for the cluster tests, as ``oc get -o json`` prints them."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

JsonObject = dict[str, Any]

REGISTRY = "image-registry.openshift-image-registry.svc:5000"


def digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def image(seed: str, **fields: Any) -> JsonObject:
    """An Image named by the digest of ``seed``, with a field this code does not model."""
    name = digest(seed)
    return {
        "kind": "Image",
        "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": name, "annotations": {"seed": seed}},
        "dockerImageReference": f"quay.example/team/{seed}@{name}",
        "dockerImageManifest": '{"schemaVersion": 2}',
        "dockerImageConfig": '{"architecture": "amd64"}',
        "dockerImageMetadataVersion": "1.0",
        "futureField": {"addedBy": "a newer OpenShift"},
        **fields,
    }


def signature(image_name: str, blob: bytes, **fields: Any) -> JsonObject:
    return {
        "kind": "ImageSignature",
        "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": f"{image_name}@{hashlib.md5(blob).hexdigest()}"},
        "type": "atomic",
        "content": base64.b64encode(blob).decode(),
        **fields,
    }


def stream(namespace: str, name: str, history: dict[str, list[str]], **spec: Any) -> JsonObject:
    """An ImageStream whose status tags point at the given image names (newest first)."""
    return {
        "kind": "ImageStream",
        "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"lookupPolicy": {"local": False}, **spec},
        "status": {
            "dockerImageRepository": f"{REGISTRY}/{namespace}/{name}",
            "tags": [
                {
                    "tag": tag,
                    "items": [
                        {
                            "created": "2024-05-01T10:00:00Z",
                            "dockerImageReference": f"quay.example/team/{name}@{image_name}",
                            "image": image_name,
                            "generation": 2,
                        }
                        for image_name in image_names
                    ],
                }
                for tag, image_names in history.items()
            ],
        },
    }


def secret(namespace: str, name: str, data: dict[str, bytes]) -> JsonObject:
    return {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque",
        "data": {key: base64.b64encode(value).decode() for key, value in data.items()},
    }


def config_map(
    namespace: str, name: str, data: dict[str, str], binary: dict[str, bytes] | None = None
) -> JsonObject:
    obj: JsonObject = {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }
    if binary:
        obj["binaryData"] = {key: base64.b64encode(v).decode() for key, v in binary.items()}
    return obj
