"""Writes: read-modify-write that never loses a concurrent change, and signature create/delete."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from sigpolicy.api import Image, ImageSignature, SignatureCondition, parse_as
from sigpolicy.errors import ConflictError, NotFoundError, SourceError
from sigpolicy.sources.cluster import ClusterSource
from tests.sources_cluster import objects
from tests.support.fakeapi import FakeApiServer, FakeStore

NAME = objects.digest("app")
IMAGE_PATH = f"/apis/image.openshift.io/v1/images/{NAME}"


def annotate(key: str, value: str) -> Any:
    """A change that adds one annotation, as sigpolicy code would write one."""

    def change(image: Image) -> Image:
        assert image.metadata is not None
        annotations = {**(image.metadata.annotations or {}), key: value}
        metadata = image.metadata.model_copy(update={"annotations": annotations})
        return image.model_copy(update={"metadata": metadata})

    return change


def concurrent_writer(key: str) -> Any:
    """Another client's write, landing between our GET and our PUT."""

    def write(store: FakeStore) -> None:
        def edit(obj: dict[str, Any]) -> None:
            obj["metadata"].setdefault("annotations", {})[key] = "theirs"

        store.mutate("images", NAME, edit)

    return write


async def test_update_writes_with_the_version_it_read(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    (stored,) = fake_api.add(objects.image("app"))
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        written = await source.update_image(NAME, annotate("ours", "1"))
    assert written is not None
    assert written.metadata is not None
    assert written.metadata.annotations == {"seed": "app", "ours": "1"}
    ((verb, path, body),) = fake_api.bodies
    assert (verb, path) == ("PUT", IMAGE_PATH)
    assert body["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]
    assert body["futureField"] == {"addedBy": "a newer OpenShift"}, "unknown fields survive"
    assert fake_api.store.get("images", NAME) == written.to_json_dict()


async def test_concurrent_writer_between_read_and_write_keeps_both_changes(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    fake_api.add(objects.image("app"))
    fake_api.after("GET", IMAGE_PATH, concurrent_writer("theirs"), times=1)
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        written = await source.update_image(NAME, annotate("ours", "1"))
    assert written is not None
    annotations = fake_api.store.get("images", NAME)["metadata"]["annotations"]
    assert annotations == {"seed": "app", "theirs": "theirs", "ours": "1"}
    assert fake_api.count("PUT", IMAGE_PATH) == 2, "the first PUT lost the race (409)"
    assert fake_api.count("GET", IMAGE_PATH) == 2, "and the Image was read again"


async def test_repeated_conflicts_end_in_conflict_error(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    fake_api.add(objects.image("app"))
    fake_api.after("GET", IMAGE_PATH, concurrent_writer("theirs"), times=100)
    async with ClusterSource.from_kubeconfig(kubeconfig, update_attempts=3) as source:
        with pytest.raises(ConflictError, match="still conflicting after 3 attempts") as caught:
            await source.update_image(NAME, annotate("ours", "1"))
    assert "\n" not in caught.value.diagnostics()
    assert fake_api.count("PUT", IMAGE_PATH) == 3
    annotations = fake_api.store.get("images", NAME)["metadata"]["annotations"]
    assert "ours" not in annotations


async def test_change_that_returns_none_writes_nothing(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    fake_api.add(objects.image("app"))
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        assert await source.update_image(NAME, lambda image: None) is None
        assert await source.update_image(NAME, lambda image: image) is None
    assert fake_api.count("PUT") == 0


async def test_failed_write_leaves_the_object_as_it_was(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    (stored,) = fake_api.add(objects.image("app"))
    fake_api.fail(IMAGE_PATH, 500, method="PUT")
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        with pytest.raises(SourceError, match="HTTP 500"):
            await source.update_image(NAME, annotate("ours", "1"))
    assert fake_api.store.get("images", NAME) == stored


async def test_slow_write_is_a_source_error(kubeconfig: Path, fake_api: FakeApiServer) -> None:
    fake_api.add(objects.image("app"))
    fake_api.hang(IMAGE_PATH, 3.0, method="PUT")
    async with ClusterSource.from_kubeconfig(kubeconfig, timeout=0.3) as source:
        with pytest.raises(SourceError, match=re.escape("no answer within 0.3 s")):
            await source.update_image(NAME, annotate("ours", "1"))


async def test_update_of_a_missing_image_is_not_found(kubeconfig: Path) -> None:
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        with pytest.raises(NotFoundError):
            await source.update_image(NAME, annotate("ours", "1"))


async def test_recording_verification_results_on_a_signature(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    sig = objects.signature(NAME, b"blob")
    fake_api.add(objects.image("app", signatures=[sig]))
    trusted = [
        SignatureCondition(type="Trusted", status="True", reason="verified"),
        SignatureCondition(type="ForImage", status="True"),
    ]

    def record(image: Image) -> Image:
        signatures = [
            s.model_copy(update={"conditions": trusted, "image_identity": "quay.example/app"})
            for s in image.signatures or []
        ]
        return image.model_copy(update={"signatures": signatures})

    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        await source.update_image(NAME, record)
        image = await source.get_image(NAME)
    (recorded,) = image.signatures or []
    assert [c.type for c in recorded.conditions or []] == ["Trusted", "ForImage"]
    assert recorded.content == b"blob"


async def test_create_signature_is_cleared_by_the_server_and_then_deleted(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    fake_api.add(objects.image("app"))
    claimed = objects.signature(
        NAME,
        b"blob",
        conditions=[{"type": "Trusted", "status": "True"}, {"type": "ForImage", "status": "True"}],
        imageIdentity="claimed",
    )
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        created = await source.create_signature(parse_as(ImageSignature, claimed))
        assert created.conditions is None
        assert created.image_identity is None
        assert created.metadata is not None
        assert created.metadata.uid
        image = await source.get_image(NAME)
        assert [s.name for s in image.signatures or []] == [claimed["metadata"]["name"]]
        with pytest.raises(ConflictError, match="already exists"):
            await source.create_signature(parse_as(ImageSignature, claimed))
        await source.delete_signature(claimed["metadata"]["name"])
        assert (await source.get_image(NAME)).signatures == []
        with pytest.raises(NotFoundError):
            await source.delete_signature(claimed["metadata"]["name"])


async def test_create_signature_for_a_missing_image_is_not_found(kubeconfig: Path) -> None:
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        with pytest.raises(NotFoundError):
            await source.create_signature(
                parse_as(ImageSignature, objects.signature(NAME, b"blob"))
            )
