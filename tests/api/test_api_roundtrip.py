"""Realistic objects survive parse and dump unchanged, unknown fields and nulls included."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from sigpolicy.api import (
    Image,
    ImageLayer,
    ImageList,
    ImageSignature,
    ImageStream,
    ImageStreamImage,
    ImageStreamImport,
    ImageStreamLayers,
    ImageStreamList,
    ImageStreamMapping,
    ImageStreamTag,
    ImageTag,
    ImageTagList,
    ObjectList,
    ObjectMeta,
    SecretList,
    SignatureCondition,
    parse_as,
    parse_object,
)

Load = Callable[[str], dict[str, Any]]

FIXTURES = [
    ("image-signed.yaml", Image),
    ("image-manifest-list.yaml", Image),
    ("imagesignature.yaml", ImageSignature),
    ("imagestream.yaml", ImageStream),
    ("imagestreamlist.yaml", ImageStreamList),
    ("imagestreamtag.yaml", ImageStreamTag),
    ("imagestreamtag-pushed.yaml", ImageStreamTag),
    ("imagestreamimage.yaml", ImageStreamImage),
    ("imagetag.yaml", ImageTag),
    ("imagetaglist.yaml", ImageTagList),
    ("imagestreammapping.yaml", ImageStreamMapping),
    ("imagestreamimport.yaml", ImageStreamImport),
    ("imagestreamlayers.yaml", ImageStreamLayers),
    ("secretlist.yaml", SecretList),
    ("list.yaml", ObjectList),
]


@pytest.mark.parametrize(("name", "model"), FIXTURES, ids=[name for name, _ in FIXTURES])
def test_round_trip_is_exact(load: Load, name: str, model: type[Any]) -> None:
    data = load(name)
    parsed = parse_object(data)
    assert type(parsed) is model
    assert parsed.to_json_dict() == data
    # The dump is plain JSON: bytes went back to base64 text.
    assert json.loads(json.dumps(parsed.to_json_dict())) == data


LIST_ITEMS = [(name, model) for name, model in FIXTURES if model is not ObjectList]


@pytest.mark.parametrize(("name", "model"), LIST_ITEMS, ids=[name for name, _ in LIST_ITEMS])
def test_round_trip_inside_a_list(load: Load, name: str, model: type[Any]) -> None:
    document = {"apiVersion": "v1", "kind": "List", "items": [load(name)]}
    parsed = parse_object(document)
    assert isinstance(parsed, ObjectList)
    assert type(parsed.items[0]) is model
    assert parsed.to_json_dict() == document


UNKNOWN_FIELDS = [
    ("top-level", ("xImageFuture",), True),
    ("metadata", ("metadata", "xMetaFuture"), "kept"),
    (
        "layer",
        ("dockerImageLayers", 1, "xLayerAnnotations"),
        {"org.opencontainers.image.title": "app.tar"},
    ),
    ("signature", ("signatures", 1, "xSignatureFuture"), {"nested": [1, 2, 3]}),
    ("condition", ("signatures", 0, "conditions", 0, "xConditionNote"), "kept"),
    ("subject", ("signatures", 0, "issuedTo", "xSubjectExtra"), 7),
]


@pytest.mark.parametrize(
    ("path", "expected"),
    [(path, expected) for _, path, expected in UNKNOWN_FIELDS],
    ids=[case_id for case_id, _, _ in UNKNOWN_FIELDS],
)
def test_unknown_fields_are_kept(load: Load, path: tuple[str | int, ...], expected: Any) -> None:
    node: Any = parse_object(load("image-signed.yaml")).to_json_dict()
    for part in path:
        node = node[part]
    assert node == expected


def test_unknown_fields_are_reachable_on_the_model(load: Load) -> None:
    image = parse_object(load("image-signed.yaml"))
    assert isinstance(image, Image)
    assert image.model_extra == {"xImageFuture": True}
    assert image.signatures is not None
    assert image.signatures[1].model_extra == {"xSignatureFuture": {"nested": [1, 2, 3]}}


def test_null_and_absent_stay_apart(load: Load) -> None:
    stream = parse_object(load("imagestream.yaml"))
    assert isinstance(stream, ImageStream)
    dumped = stream.to_json_dict()
    first, _ = dumped["spec"]["tags"]
    assert "annotations" in first and first["annotations"] is None
    assert "reference" not in first
    assert dumped["status"]["tags"][1]["items"] is None
    # In Python both read as None.
    assert stream.spec is not None and stream.spec.tags is not None
    assert stream.spec.tags[0].annotations is None
    assert stream.spec.tags[0].reference is None


def test_content_is_bytes_in_python_and_base64_on_the_wire(load: Load) -> None:
    data = load("imagesignature.yaml")
    sig = parse_object(data)
    assert isinstance(sig, ImageSignature)
    assert isinstance(sig.content, bytes)
    assert sig.content[:2] == b"\xa3\x01"
    assert sig.to_json_dict()["content"] == data["content"]


def test_secret_data_is_bytes(load: Load) -> None:
    secrets = parse_object(load("secretlist.yaml"))
    assert isinstance(secrets, SecretList)
    data = secrets.items[0].data
    assert data is not None
    assert json.loads(data[".dockerconfigjson"])["auths"]["quay.io"]["auth"]
    assert "<redacted>" in repr(secrets.items[0])
    assert "eyJ" not in repr(secrets.items[0])


def test_timestamps_are_kept_verbatim() -> None:
    data = {
        "type": "Trusted",
        "status": "True",
        "lastProbeTime": "2024-03-02T08:00:00.123456789+02:00",
    }
    cond = SignatureCondition.model_validate(data)
    assert cond.to_json_dict() == data
    assert cond.last_probe_at is not None
    assert cond.last_probe_at.isoformat() == "2024-03-02T08:00:00.123456+02:00"


def test_constructed_root_states_its_type_but_nested_objects_do_not() -> None:
    layer = ImageLayer(name="sha256:aa", size=1, media_type="application/octet-stream")
    image = Image(metadata=ObjectMeta(name="sha256:aa"), docker_image_layers=[layer])
    assert image.to_json_dict() == {
        "apiVersion": "image.openshift.io/v1",
        "kind": "Image",
        "metadata": {"name": "sha256:aa"},
        "dockerImageLayers": [
            {"name": "sha256:aa", "size": 1, "mediaType": "application/octet-stream"}
        ],
    }
    images = ImageList(items=[image])
    assert images.to_json_dict()["items"][0] == {
        "metadata": {"name": "sha256:aa"},
        "dockerImageLayers": [
            {"name": "sha256:aa", "size": 1, "mediaType": "application/octet-stream"}
        ],
    }


def test_model_copy_update_is_dumped(load: Load) -> None:
    image = parse_object(load("image-signed.yaml"))
    assert isinstance(image, Image)
    assert image.signatures is not None
    sig = image.signatures[1]
    trusted = SignatureCondition(type="Trusted", status="True", reason="verified")
    updated_sig = sig.model_copy(update={"conditions": [trusted], "image_identity": "quay.io/x:1"})
    updated = image.model_copy(update={"signatures": [image.signatures[0], updated_sig]})
    dumped = updated.to_json_dict()["signatures"][1]
    assert dumped["conditions"] == [{"type": "Trusted", "status": "True", "reason": "verified"}]
    assert dumped["imageIdentity"] == "quay.io/x:1"
    assert dumped["xSignatureFuture"] == {"nested": [1, 2, 3]}
    # The original is unchanged: models are frozen.
    assert image.to_json_dict() == load("image-signed.yaml")


def test_models_are_frozen(load: Load) -> None:
    image = parse_as(Image, load("image-signed.yaml"))
    with pytest.raises(ValueError, match="frozen"):
        image.docker_image_reference = "elsewhere"  # type: ignore[misc]


def test_model_validate_round_trips_without_the_loader(load: Load) -> None:
    data = load("image-signed.yaml")
    assert Image.model_validate(data).to_json_dict() == data


def test_constructed_signature_encodes_its_bytes() -> None:
    sig = ImageSignature(
        metadata=ObjectMeta(name="sha256:aa@01"), type="atomic", content=b"\x00\xff\x10"
    )
    assert sig.to_json_dict() == {
        "apiVersion": "image.openshift.io/v1",
        "kind": "ImageSignature",
        "metadata": {"name": "sha256:aa@01"},
        "type": "atomic",
        "content": "AP8Q",
    }
    assert ImageSignature.model_validate(sig.to_json_dict()) == sig
