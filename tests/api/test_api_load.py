"""The loader rejects invalid objects with one line naming the object and the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sigpolicy.api import (
    KINDS,
    Image,
    ImageLayer,
    ImageStream,
    ObjectList,
    SignatureCondition,
    TagReference,
    parse_as,
    parse_object,
)
from sigpolicy.errors import InputError

from ._edit import DELETE, edit

Load = Callable[[str], dict[str, Any]]

D1 = "sha256:b29814cf5792e684cd75d6a7fce7a67a11887e312f87ca2ac2496d81f365ff72"
D2 = "sha256:26f32bfa7b67d4361aba741a37aefbb8baaa89d993e373bb296ec259904e570c"
LAYER = "sha256:77ea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2"
IMAGE = f'Image "{D1}"'
LIST_IMAGE = 'Image "sha256:027f12c9fb2e9376cad691992c261b99fabb2046aafb76fe71c232d7038bb09d"'
ISIMAGE = f'ImageStreamImage "shop/app@{D2}"'
STREAM = 'ImageStream "shop/app"'
MISSING = "required field is missing"

# (id, fixture, path of the removed field, expected message without the "(and N more)" tail)
REQUIRED_FIELDS = [
    (
        "layer-name",
        "image-signed.yaml",
        ("dockerImageLayers", 0, "name"),
        f"{IMAGE}: dockerImageLayers[0].name: {MISSING}",
    ),
    (
        "layer-size",
        "image-signed.yaml",
        ("dockerImageLayers", 1, "size"),
        f"{IMAGE}: dockerImageLayers[1].size: {MISSING}",
    ),
    (
        "layer-media-type",
        "image-signed.yaml",
        ("dockerImageLayers", 0, "mediaType"),
        f"{IMAGE}: dockerImageLayers[0].mediaType: {MISSING}",
    ),
    (
        "manifest-digest",
        "image-manifest-list.yaml",
        ("dockerImageManifests", 0, "digest"),
        f"{LIST_IMAGE}: dockerImageManifests[0].digest: {MISSING}",
    ),
    (
        "manifest-media-type",
        "image-manifest-list.yaml",
        ("dockerImageManifests", 0, "mediaType"),
        f"{LIST_IMAGE}: dockerImageManifests[0].mediaType: {MISSING}",
    ),
    (
        "manifest-size",
        "image-manifest-list.yaml",
        ("dockerImageManifests", 1, "manifestSize"),
        f"{LIST_IMAGE}: dockerImageManifests[1].manifestSize: {MISSING}",
    ),
    (
        "manifest-architecture",
        "image-manifest-list.yaml",
        ("dockerImageManifests", 1, "architecture"),
        f"{LIST_IMAGE}: dockerImageManifests[1].architecture: {MISSING}",
    ),
    (
        "manifest-os",
        "image-manifest-list.yaml",
        ("dockerImageManifests", 0, "os"),
        f"{LIST_IMAGE}: dockerImageManifests[0].os: {MISSING}",
    ),
    (
        "signature-type",
        "image-signed.yaml",
        ("signatures", 1, "type"),
        f"{IMAGE}: signatures[1].type: {MISSING}",
    ),
    (
        "signature-content",
        "image-signed.yaml",
        ("signatures", 0, "content"),
        f"{IMAGE}: signatures[0].content: {MISSING}",
    ),
    (
        "condition-type",
        "image-signed.yaml",
        ("signatures", 0, "conditions", 1, "type"),
        f"{IMAGE}: signatures[0].conditions[1].type: {MISSING}",
    ),
    (
        "condition-status",
        "image-signed.yaml",
        ("signatures", 0, "conditions", 0, "status"),
        f"{IMAGE}: signatures[0].conditions[0].status: {MISSING}",
    ),
    (
        "subject-public-key-id",
        "image-signed.yaml",
        ("signatures", 0, "issuedTo", "publicKeyID"),
        f"{IMAGE}: signatures[0].issuedTo.publicKeyID: {MISSING}",
    ),
    (
        "lookup-policy-local",
        "imagestream.yaml",
        ("spec", "lookupPolicy", "local"),
        f"{STREAM}: spec.lookupPolicy.local: {MISSING}",
    ),
    (
        "tag-reference-name",
        "imagestream.yaml",
        ("spec", "tags", 1, "name"),
        f"{STREAM}: spec.tags[1].name: {MISSING}",
    ),
    (
        "reference-policy-type",
        "imagestream.yaml",
        ("spec", "tags", 0, "referencePolicy", "type"),
        f"{STREAM}: spec.tags[0].referencePolicy.type: {MISSING}",
    ),
    (
        "status-repository",
        "imagestream.yaml",
        ("status", "dockerImageRepository"),
        f"{STREAM}: status.dockerImageRepository: {MISSING}",
    ),
    (
        "status-tag-tag",
        "imagestream.yaml",
        ("status", "tags", 0, "tag"),
        f"{STREAM}: status.tags[0].tag: {MISSING}",
    ),
    (
        "status-tag-items",
        "imagestream.yaml",
        ("status", "tags", 1, "items"),
        f"{STREAM}: status.tags[1].items: {MISSING}",
    ),
    (
        "tag-event-created",
        "imagestream.yaml",
        ("status", "tags", 0, "items", 1, "created"),
        f"{STREAM}: status.tags[0].items[1].created: {MISSING}",
    ),
    (
        "tag-event-reference",
        "imagestream.yaml",
        ("status", "tags", 0, "items", 0, "dockerImageReference"),
        f"{STREAM}: status.tags[0].items[0].dockerImageReference: {MISSING}",
    ),
    (
        "tag-event-image",
        "imagestream.yaml",
        ("status", "tags", 2, "items", 0, "image"),
        f"{STREAM}: status.tags[2].items[0].image: {MISSING}",
    ),
    (
        "tag-event-generation",
        "imagestream.yaml",
        ("status", "tags", 0, "items", 0, "generation"),
        f"{STREAM}: status.tags[0].items[0].generation: {MISSING}",
    ),
    (
        "tag-condition-type",
        "imagestream.yaml",
        ("status", "tags", 1, "conditions", 0, "type"),
        f"{STREAM}: status.tags[1].conditions[0].type: {MISSING}",
    ),
    (
        "tag-condition-status",
        "imagestream.yaml",
        ("status", "tags", 1, "conditions", 0, "status"),
        f"{STREAM}: status.tags[1].conditions[0].status: {MISSING}",
    ),
    (
        "tag-condition-generation",
        "imagestream.yaml",
        ("status", "tags", 1, "conditions", 0, "generation"),
        f"{STREAM}: status.tags[1].conditions[0].generation: {MISSING}",
    ),
    (
        "istag-image",
        "imagestreamtag.yaml",
        ("image",),
        f'ImageStreamTag "shop/app:v1.2": image: {MISSING}',
    ),
    (
        "istag-tag",
        "imagestreamtag.yaml",
        ("tag",),
        f'ImageStreamTag "shop/app:v1.2": tag: {MISSING}',
    ),
    (
        "istag-generation",
        "imagestreamtag.yaml",
        ("generation",),
        f'ImageStreamTag "shop/app:v1.2": generation: {MISSING}',
    ),
    (
        "istag-lookup-policy",
        "imagestreamtag.yaml",
        ("lookupPolicy",),
        f'ImageStreamTag "shop/app:v1.2": lookupPolicy: {MISSING}',
    ),
    (
        "istag-image-layer",
        "imagestreamtag.yaml",
        ("image", "dockerImageLayers", 0, "size"),
        f'ImageStreamTag "shop/app:v1.2": image.dockerImageLayers[0].size: {MISSING}',
    ),
    (
        "isimage-image",
        "imagestreamimage.yaml",
        ("image",),
        f"{ISIMAGE}: image: {MISSING}",
    ),
    ("imagetag-spec", "imagetag.yaml", ("spec",), f'ImageTag "shop/app:v1.2": spec: {MISSING}'),
    (
        "imagetag-status",
        "imagetag.yaml",
        ("status",),
        f'ImageTag "shop/app:v1.2": status: {MISSING}',
    ),
    ("imagetag-image", "imagetag.yaml", ("image",), f'ImageTag "shop/app:v1.2": image: {MISSING}'),
    (
        "mapping-image",
        "imagestreammapping.yaml",
        ("image",),
        f'ImageStreamMapping "shop/app": image: {MISSING}',
    ),
    (
        "mapping-tag",
        "imagestreammapping.yaml",
        ("tag",),
        f'ImageStreamMapping "shop/app": tag: {MISSING}',
    ),
    (
        "import-spec",
        "imagestreamimport.yaml",
        ("spec",),
        f'ImageStreamImport "shop/app": spec: {MISSING}',
    ),
    (
        "import-status",
        "imagestreamimport.yaml",
        ("status",),
        f'ImageStreamImport "shop/app": status: {MISSING}',
    ),
    (
        "import-spec-import",
        "imagestreamimport.yaml",
        ("spec", "import"),
        f'ImageStreamImport "shop/app": spec.import: {MISSING}',
    ),
    (
        "import-image-from",
        "imagestreamimport.yaml",
        ("spec", "images", 0, "from"),
        f'ImageStreamImport "shop/app": spec.images[0].from: {MISSING}',
    ),
    (
        "import-repository-from",
        "imagestreamimport.yaml",
        ("spec", "repository", "from"),
        f'ImageStreamImport "shop/app": spec.repository.from: {MISSING}',
    ),
    (
        "import-result-status",
        "imagestreamimport.yaml",
        ("status", "images", 0, "status"),
        f'ImageStreamImport "shop/app": status.images[0].status: {MISSING}',
    ),
    (
        "import-stream-repository",
        "imagestreamimport.yaml",
        ("status", "import", "status", "dockerImageRepository"),
        f'ImageStreamImport "shop/app": status.import.status.dockerImageRepository: {MISSING}',
    ),
    (
        "layers-blobs",
        "imagestreamlayers.yaml",
        ("blobs",),
        f'ImageStreamLayers "shop/app": blobs: {MISSING}',
    ),
    (
        "layers-images",
        "imagestreamlayers.yaml",
        ("images",),
        f'ImageStreamLayers "shop/app": images: {MISSING}',
    ),
    (
        "layers-blob-size",
        "imagestreamlayers.yaml",
        ("blobs", D1, "size"),
        f'ImageStreamLayers "shop/app": blobs["{D1}"].size: {MISSING}',
    ),
    (
        "layers-blob-media-type",
        "imagestreamlayers.yaml",
        ("blobs", LAYER, "mediaType"),
        f'ImageStreamLayers "shop/app": blobs["{LAYER}"].mediaType: {MISSING}',
    ),
    ("secretlist-items", "secretlist.yaml", ("items",), f"SecretList: items: {MISSING}"),
    (
        "owner-reference-uid",
        "secretlist.yaml",
        ("items", 0, "metadata", "ownerReferences", 0, "uid"),
        f"SecretList: items[0].metadata.ownerReferences[0].uid: {MISSING}",
    ),
    (
        "list-item-field",
        "list.yaml",
        ("items", 0, "status", "dockerImageRepository"),
        f'ImageStream "shop/tools" (items[0] of List): status.dockerImageRepository: {MISSING}',
    ),
]


@pytest.mark.parametrize(
    ("fixture", "path", "message"),
    [case[1:] for case in REQUIRED_FIELDS],
    ids=[case[0] for case in REQUIRED_FIELDS],
)
def test_missing_required_field_is_rejected(
    load: Load, fixture: str, path: tuple[str | int, ...], message: str
) -> None:
    data = edit(load(fixture), path)
    with pytest.raises(InputError) as caught:
        parse_object(data)
    assert str(caught.value) == message


# Required keys whose value may be null: Go writes them without omitempty.
NULLABLE_REQUIRED = [
    ("istag-tag", "imagestreamtag.yaml", ("tag",)),
    ("imagetag-spec", "imagetag.yaml", ("spec",)),
    ("imagetag-status", "imagetag.yaml", ("status",)),
    ("imagetag-image", "imagetag.yaml", ("image",)),
    ("status-tag-items", "imagestream.yaml", ("status", "tags", 0, "items")),
]


@pytest.mark.parametrize(
    ("fixture", "path"),
    [case[1:] for case in NULLABLE_REQUIRED],
    ids=[case[0] for case in NULLABLE_REQUIRED],
)
def test_required_key_may_be_null(load: Load, fixture: str, path: tuple[str | int, ...]) -> None:
    data = edit(load(fixture), path, None)
    assert parse_object(data).to_json_dict() == data


BAD_VALUES = [
    (
        "content-not-base64",
        "image-signed.yaml",
        ("signatures", 0, "content"),
        "owE4@@==",
        f"{IMAGE}: signatures[0].content: not valid base64",
    ),
    (
        "content-missing-padding",
        "image-signed.yaml",
        ("signatures", 0, "content"),
        "owE",
        f"{IMAGE}: signatures[0].content: not valid base64",
    ),
    (
        "content-non-canonical",
        "image-signed.yaml",
        ("signatures", 0, "content"),
        "QR==",
        f"{IMAGE}: signatures[0].content: not canonical base64",
    ),
    (
        "content-with-newline",
        "image-signed.yaml",
        ("signatures", 0, "content"),
        "owE4\nRRf5",
        f"{IMAGE}: signatures[0].content: not valid base64",
    ),
    (
        "content-not-string",
        "image-signed.yaml",
        ("signatures", 0, "content"),
        12,
        f"{IMAGE}: signatures[0].content: expected a base64 string",
    ),
    (
        "schema1-signature",
        "image-signed.yaml",
        ("dockerImageSignatures",),
        ["e30=", "x"],
        f"{IMAGE}: dockerImageSignatures[1]: not valid base64",
    ),
    (
        "secret-data",
        "secretlist.yaml",
        ("items", 0, "data", ".dockerconfigjson"),
        "c2VjcmV0*",
        'SecretList: items[0].data[".dockerconfigjson"]: not valid base64',
    ),
    (
        "timestamp-date-only",
        "image-signed.yaml",
        ("signatures", 0, "created"),
        "2024-03-01",
        f"{IMAGE}: signatures[0].created: not an RFC 3339 timestamp",
    ),
    (
        "timestamp-naive",
        "imagestream.yaml",
        ("status", "tags", 0, "items", 0, "created"),
        "2024-03-01T10:05:12",
        f"{STREAM}: status.tags[0].items[0].created: not an RFC 3339 timestamp",
    ),
    (
        "timestamp-bad-month",
        "imagestream.yaml",
        ("metadata", "creationTimestamp"),
        "2024-13-01T10:05:12Z",
        f"{STREAM}: metadata.creationTimestamp: not an RFC 3339 timestamp",
    ),
    (
        "size-as-string",
        "image-signed.yaml",
        ("dockerImageLayers", 0, "size"),
        "39424108",
        f"{IMAGE}: dockerImageLayers[0].size: input should be a valid integer",
    ),
    (
        "size-as-float",
        "image-signed.yaml",
        ("dockerImageLayers", 0, "size"),
        1.5,
        f"{IMAGE}: dockerImageLayers[0].size: input should be a valid integer",
    ),
    (
        "local-as-string",
        "imagestream.yaml",
        ("spec", "lookupPolicy", "local"),
        "true",
        f"{STREAM}: spec.lookupPolicy.local: input should be a valid boolean",
    ),
    (
        "labels-not-strings",
        "imagestream.yaml",
        ("metadata", "labels"),
        {"a": 1},
        f"{STREAM}: metadata.labels.a: input should be a valid string",
    ),
    (
        "wrong-api-version",
        "image-signed.yaml",
        ("apiVersion",),
        "v1",
        f"{IMAGE}: apiVersion: expected 'image.openshift.io/v1', got 'v1'",
    ),
    (
        "nested-wrong-kind",
        "imagestreamimage.yaml",
        ("image", "kind"),
        "ImageStream",
        f"{ISIMAGE}: image.kind: expected 'Image', got 'ImageStream'",
    ),
    (
        "secret-api-version",
        "secretlist.yaml",
        ("items", 0, "apiVersion"),
        "image.openshift.io/v1",
        "SecretList: items[0].apiVersion: expected 'v1', got 'image.openshift.io/v1'",
    ),
    (
        "list-unknown-item-kind",
        "list.yaml",
        ("items", 1, "kind"),
        "Pod",
        "List: items[1]: kind missing or not an image API kind",
    ),
    (
        "list-item-without-kind",
        "list.yaml",
        ("items", 1, "kind"),
        DELETE,
        "List: items[1]: kind missing or not an image API kind",
    ),
    (
        "list-item-bad-content",
        "list.yaml",
        ("items", 1, "signatures"),
        [{"type": "atomic", "content": "%"}],
        f'Image "{D2}" (items[1] of List): signatures[0].content: not valid base64',
    ),
]


@pytest.mark.parametrize(
    ("fixture", "path", "value", "message"),
    [case[1:] for case in BAD_VALUES],
    ids=[case[0] for case in BAD_VALUES],
)
def test_bad_value_is_rejected(
    load: Load, fixture: str, path: tuple[str | int, ...], value: Any, message: str
) -> None:
    data = edit(load(fixture), path, value)
    with pytest.raises(InputError) as caught:
        parse_object(data)
    assert str(caught.value) == message


def test_bad_secret_is_not_echoed(load: Load) -> None:
    data = edit(load("secretlist.yaml"), ("items", 0, "data", ".dockerconfigjson"), "c2VjcmV0*")
    with pytest.raises(InputError) as caught:
        parse_object(data)
    assert "c2VjcmV0" not in str(caught.value)


def test_further_errors_are_counted(load: Load) -> None:
    data = load("image-signed.yaml")
    edit(data, ("signatures", 0, "content"), "%")
    edit(data, ("signatures", 1, "type"))
    edit(data, ("dockerImageLayers", 0, "size"), "1")
    with pytest.raises(InputError) as caught:
        parse_object(data)
    assert str(caught.value).endswith(" (and 2 more)")
    assert "\n" not in str(caught.value)


DOCUMENT_ERRORS: list[tuple[str, Any, str]] = [
    ("not-a-mapping", ["kind", "Image"], "expected a JSON object, got list"),
    ("no-kind", {"apiVersion": "image.openshift.io/v1"}, "object has no kind"),
    ("empty-kind", {"kind": ""}, "object has no kind"),
    (
        "unknown-kind",
        {"apiVersion": "v1", "kind": "Pod"},
        "unsupported kind 'Pod' (apiVersion 'v1')",
    ),
    (
        "no-api-version",
        {"kind": "Image", "metadata": {"name": "sha256:aa"}},
        'Image "sha256:aa": apiVersion: required field is missing',
    ),
    (
        "metadata-not-object",
        {"apiVersion": "image.openshift.io/v1", "kind": "Image", "metadata": "x"},
        "Image: metadata: input should be a valid dictionary or instance of ObjectMeta",
    ),
]


@pytest.mark.parametrize(
    ("data", "message"),
    [case[1:] for case in DOCUMENT_ERRORS],
    ids=[case[0] for case in DOCUMENT_ERRORS],
)
def test_unusable_document_is_rejected(data: Any, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_object(data)
    assert str(caught.value) == message


def test_every_kind_is_dispatched() -> None:
    assert sorted(KINDS) == sorted(
        [
            "Image",
            "ImageList",
            "ImageSignature",
            "ImageStream",
            "ImageStreamImage",
            "ImageStreamImport",
            "ImageStreamLayers",
            "ImageStreamList",
            "ImageStreamMapping",
            "ImageStreamTag",
            "ImageStreamTagList",
            "ImageTag",
            "ImageTagList",
            "List",
            "Secret",
            "SecretList",
        ]
    )
    for kind, model in KINDS.items():
        assert model.model_fields["kind"].default == kind


def test_every_list_item_kind_is_accepted_in_a_list() -> None:
    # A wrong apiVersion fails inside the item's own model, which proves the kind was recognised.
    for kind in (kind for kind in KINDS if kind != "List"):
        item = {"apiVersion": "example/v9", "kind": kind}
        with pytest.raises(InputError) as caught:
            parse_object({"apiVersion": "v1", "kind": "List", "items": [item]})
        assert str(caught.value).startswith(f"{kind} (items[0] of List): apiVersion: expected")
    empty = parse_object({"apiVersion": "v1", "kind": "List", "items": []})
    assert isinstance(empty, ObjectList)


PARSE_AS = [
    (
        "layer",
        ImageLayer,
        {"name": "sha256:aa", "size": 3},
        "ImageLayer: mediaType: required field is missing",
    ),
    (
        "condition",
        SignatureCondition,
        {"type": "Trusted"},
        "SignatureCondition: status: required field is missing",
    ),
    (
        "tag-reference",
        TagReference,
        {"name": 1},
        "TagReference: name: input should be a valid string",
    ),
    (
        "stream",
        ImageStream,
        {"metadata": {"name": "a", "namespace": "b"}, "status": {}},
        'ImageStream "b/a": status.dockerImageRepository: required field is missing',
    ),
]


@pytest.mark.parametrize(
    ("model", "data", "message"),
    [case[1:] for case in PARSE_AS],
    ids=[case[0] for case in PARSE_AS],
)
def test_parse_as_names_the_model(model: type[Any], data: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_as(model, data)
    assert str(caught.value) == message


def test_parse_as_returns_the_model(load: Load) -> None:
    image = parse_as(Image, load("image-signed.yaml"))
    assert image.name == D1
