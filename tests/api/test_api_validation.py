"""OpenShift's ImageSignature rules (SEMANTICS.md §5): one valid and one invalid case per rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sigpolicy.api import (
    Image,
    ImageSignature,
    require_valid_image,
    require_valid_image_signature,
    validate_image,
    validate_image_signature,
)
from sigpolicy.errors import InputError

from ._edit import DELETE, edit

IMAGE = "sha256:b29814cf5792e684cd75d6a7fce7a67a11887e312f87ca2ac2496d81f365ff72"
NAME = f"{IMAGE}@97d324e84e4460779364eef99fe0bb8e"
T0 = "2024-03-02T08:00:00Z"
T1 = "2024-03-02T09:00:00Z"
ORDER = "(OpenShift's validation mishandles other orders)"


def cond(type_: str, status: str = "True", probed: str = T0) -> dict[str, Any]:
    return {"type": type_, "status": status, "lastProbeTime": probed, "lastTransitionTime": probed}


TRUSTED: dict[str, Any] = {
    "metadata": {"name": NAME},
    "type": "atomic",
    "content": "owE4RRf5",
    "conditions": [cond("Trusted"), cond("ForImage")],
    "imageIdentity": "quay.io/example/app:v1.2",
    "signedClaims": {"creator": "atomic 2.0.0"},
    "created": "2024-03-01T09:59:30Z",
    "issuedBy": {"commonName": "Example Release Key"},
    "issuedTo": {"publicKeyID": "0x685ebe62bf278440"},
}

UNVERIFIED: dict[str, Any] = {
    "metadata": {"name": NAME},
    "type": "AtomicImageV1",
    "content": "owE4RRf5",
}

# (id, base, edits as (path, value) pairs, image_name, expected problems)
Edits = list[tuple[tuple[str | int, ...], Any]]
CASES: list[tuple[str, dict[str, Any], Edits, str | None, list[str]]] = [
    # valid shapes
    ("valid-unverified", UNVERIFIED, [], None, []),
    ("valid-trusted-with-parsed-fields", TRUSTED, [], IMAGE, []),
    (
        "valid-untrusted-keeps-parsed-fields",
        TRUSTED,
        [(("conditions",), [cond("Trusted", "False"), cond("ForImage", "False")])],
        None,
        [],
    ),
    (
        "valid-extra-condition-after-pair",
        TRUSTED,
        [(("conditions",), [cond("Trusted"), cond("ForImage"), cond("Expired", "False")])],
        None,
        [],
    ),
    (
        "valid-unknown-without-parsed-fields",
        UNVERIFIED,
        [(("conditions",), [cond("Trusted", "Unknown"), cond("ForImage", "Unknown")])],
        None,
        [],
    ),
    ("valid-empty-labels-map", UNVERIFIED, [(("metadata", "labels"), {})], None, []),
    # 1. name format
    ("name-missing", UNVERIFIED, [(("metadata",), DELETE)], None, ["metadata.name: required"]),
    (
        "name-without-at",
        UNVERIFIED,
        [(("metadata", "name"), IMAGE)],
        None,
        [f"metadata.name: {IMAGE!r} must be of format <imageName>@<signatureName>"],
    ),
    (
        "name-two-ats",
        UNVERIFIED,
        [(("metadata", "name"), f"{NAME}@x")],
        None,
        [f"metadata.name: {NAME + '@x'!r} must be of format <imageName>@<signatureName>"],
    ),
    (
        "name-empty-image-part",
        UNVERIFIED,
        [(("metadata", "name"), "@abc")],
        None,
        ["metadata.name: '@abc' must be of format <imageName>@<signatureName>"],
    ),
    (
        "name-empty-signature-part",
        UNVERIFIED,
        [(("metadata", "name"), f"{IMAGE}@")],
        None,
        [f"metadata.name: {IMAGE + '@'!r} must be of format <imageName>@<signatureName>"],
    ),
    # 2. image part matches the parent
    (
        "name-other-image",
        UNVERIFIED,
        [],
        "sha256:0000",
        [f"metadata.name: image part {IMAGE!r} is not the image 'sha256:0000'"],
    ),
    # 3. path segment
    (
        "name-with-slash",
        UNVERIFIED,
        [(("metadata", "name"), f"{IMAGE}@a/b")],
        None,
        ["metadata.name: may not contain '/'"],
    ),
    (
        "name-with-percent",
        UNVERIFIED,
        [(("metadata", "name"), f"{IMAGE}@a%2F")],
        None,
        ["metadata.name: may not contain '%'"],
    ),
    (
        "name-dot-dot",
        UNVERIFIED,
        [(("metadata", "name"), "..")],
        None,
        [
            "metadata.name: '..' must be of format <imageName>@<signatureName>",
            "metadata.name: may not be '..'",
        ],
    ),
    # 4. cluster-scoped
    (
        "namespace-set",
        UNVERIFIED,
        [(("metadata", "namespace"), "shop")],
        None,
        ["metadata.namespace: not allowed, ImageSignature is cluster-scoped"],
    ),
    # 5. no labels or annotations
    (
        "labels-set",
        UNVERIFIED,
        [(("metadata", "labels"), {"a": "b"})],
        None,
        ["metadata.labels: signature labels cannot be set"],
    ),
    (
        "annotations-set",
        UNVERIFIED,
        [(("metadata", "annotations"), {"a": "b"})],
        None,
        ["metadata.annotations: signature annotations cannot be set"],
    ),
    # 6. type and content
    ("type-empty", UNVERIFIED, [(("type",), "")], None, ["type: required"]),
    ("content-empty", UNVERIFIED, [(("content",), "")], None, ["content: required"]),
    # 7. condition status
    (
        "status-not-a-condition-status",
        TRUSTED,
        [(("conditions", 1, "status"), "Yes")],
        None,
        ["conditions[1].status: 'Yes' is not True, False or Unknown"],
    ),
    # 8. the pair
    (
        "trusted-without-for-image",
        TRUSTED,
        [(("conditions",), [cond("Trusted")])],
        None,
        ['conditions: missing "ForImage" condition type'],
    ),
    (
        "for-image-without-trusted",
        UNVERIFIED,
        [(("conditions",), [cond("ForImage")])],
        None,
        [
            'conditions: missing "Trusted" condition type',
            f"conditions[0]: ForImage must be conditions[1] {ORDER}",
        ],
    ),
    # 9. order
    (
        "pair-reversed",
        TRUSTED,
        [(("conditions",), [cond("ForImage"), cond("Trusted")])],
        None,
        [
            f"conditions[0]: ForImage must be conditions[1] {ORDER}",
            f"conditions[1]: Trusted must be conditions[0] {ORDER}",
        ],
    ),
    (
        "other-condition-before-for-image",
        TRUSTED,
        [(("conditions",), [cond("Trusted"), cond("Expired"), cond("ForImage")])],
        None,
        [f"conditions[2]: ForImage must be conditions[1] {ORDER}"],
    ),
    (
        "trusted-twice",
        TRUSTED,
        [(("conditions",), [cond("Trusted"), cond("ForImage"), cond("Trusted", probed=T1)])],
        None,
        [f"conditions[2]: Trusted must be conditions[0] {ORDER}"],
    ),
    # 10. unset for unknown state
    (
        "no-trusted-with-identity",
        UNVERIFIED,
        [(("imageIdentity",), "quay.io/x:1")],
        None,
        ["imageIdentity: must be unset for unknown signature state"],
    ),
    (
        "no-trusted-with-claims",
        UNVERIFIED,
        [(("signedClaims",), {"a": "b"})],
        None,
        ["signedClaims: must be unset for unknown signature state"],
    ),
    (
        "no-trusted-with-empty-issuer",
        UNVERIFIED,
        [(("issuedBy",), {})],
        None,
        ["issuedBy: must be unset for unknown signature state"],
    ),
    (
        "no-trusted-with-subject",
        UNVERIFIED,
        [(("issuedTo",), {"publicKeyID": "0x1"})],
        None,
        ["issuedTo: must be unset for unknown signature state"],
    ),
    (
        "trusted-unknown-with-fields",
        TRUSTED,
        [(("conditions",), [cond("Trusted", "Unknown"), cond("ForImage", "Unknown")])],
        None,
        [
            f"{field}: must be unset for unknown signature state"
            for field in ("imageIdentity", "signedClaims", "issuedBy", "issuedTo")
        ],
    ),
    # 11. publicKeyID
    (
        "public-key-id-empty",
        TRUSTED,
        [(("issuedTo", "publicKeyID"), "")],
        None,
        ["issuedTo.publicKeyID: required"],
    ),
]


@pytest.mark.parametrize(
    ("base", "edits", "image_name", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_image_signature_rules(
    base: dict[str, Any], edits: Edits, image_name: str | None, expected: list[str]
) -> None:
    data = copy.deepcopy(base)
    for path, value in edits:
        edit(data, path, value)
    sig = ImageSignature.model_validate(data)
    assert validate_image_signature(sig, image_name) == expected


def test_current_trusted_is_the_latest_probed() -> None:
    # Unknown probed later wins over True: the parsed fields are then forbidden (rule 10).
    data = copy.deepcopy(TRUSTED)
    data["conditions"] = [
        cond("Trusted", "True", T0),
        cond("ForImage"),
        cond("Trusted", "Unknown", T1),
    ]
    problems = validate_image_signature(ImageSignature.model_validate(data))
    assert "imageIdentity: must be unset for unknown signature state" in problems


def test_require_valid_image_signature_raises_with_every_problem() -> None:
    data = edit(copy.deepcopy(UNVERIFIED), ("type",), "")
    edit(data, ("metadata", "labels"), {"a": "b"})
    sig = ImageSignature.model_validate(data)
    with pytest.raises(InputError) as caught:
        require_valid_image_signature(sig)
    assert str(caught.value) == (
        f'ImageSignature "{NAME}": metadata.labels: signature labels cannot be set; type: required'
    )
    require_valid_image_signature(ImageSignature.model_validate(TRUSTED), IMAGE)


def image_with(*signatures: dict[str, Any]) -> Image:
    return Image.model_validate(
        {
            "metadata": {"name": IMAGE},
            "dockerImageReference": f"quay.io/example/app@{IMAGE}",
            "signatures": list(signatures),
        }
    )


IMAGE_CASES: list[tuple[str, Image, list[str]]] = [
    (
        "valid",
        image_with(TRUSTED, edit(copy.deepcopy(UNVERIFIED), ("metadata", "name"), f"{IMAGE}@2")),
        [],
    ),
    (
        "no-reference",
        Image.model_validate({"metadata": {"name": IMAGE}}),
        ["dockerImageReference: required"],
    ),
    (
        "no-name",
        Image.model_validate({"dockerImageReference": "quay.io/a@sha256:aa"}),
        ["metadata.name: required"],
    ),
    (
        "signature-of-other-image",
        image_with(edit(copy.deepcopy(UNVERIFIED), ("metadata", "name"), "sha256:00@1")),
        [f"signatures[0].metadata.name: image part 'sha256:00' is not the image {IMAGE!r}"],
    ),
    (
        "duplicate-signature-names",
        image_with(UNVERIFIED, UNVERIFIED),
        ["signatures[1].metadata.name: duplicate of signatures[0]"],
    ),
    (
        "signature-problem-prefixed",
        image_with(edit(copy.deepcopy(UNVERIFIED), ("type",), "")),
        ["signatures[0].type: required"],
    ),
]


@pytest.mark.parametrize(
    ("image", "expected"),
    [case[1:] for case in IMAGE_CASES],
    ids=[case[0] for case in IMAGE_CASES],
)
def test_image_rules(image: Image, expected: list[str]) -> None:
    assert validate_image(image) == expected


def test_require_valid_image_raises() -> None:
    with pytest.raises(InputError, match=r'^Image "sha256:b298[0-9a-f]+": signatures\[1\]'):
        require_valid_image(image_with(UNVERIFIED, UNVERIFIED))
    require_valid_image(image_with(TRUSTED))
