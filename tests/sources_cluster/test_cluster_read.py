"""Reads through the real client over HTTP: images, streams and their views, key material."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sigpolicy.api import Image
from sigpolicy.errors import NotFoundError, SourceError
from sigpolicy.sources.base import ImageSource
from sigpolicy.sources.cluster import ClusterSource
from tests.sources_cluster import objects
from tests.support.fakeapi import FakeApiServer

NS = "team"


async def test_is_an_image_source(kubeconfig: Path, fake_api: FakeApiServer) -> None:
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        typed: ImageSource = source
        assert typed.description == f"cluster {fake_api.url}"


async def test_get_image_keeps_every_field_for_a_round_trip(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    (stored,) = fake_api.add(objects.image("app"))
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        image = await source.get_image(objects.digest("app"))
    assert image.to_json_dict() == stored
    assert image.model_extra == {"futureField": {"addedBy": "a newer OpenShift"}}


async def test_list_images_follows_pages(kubeconfig: Path, fake_api: FakeApiServer) -> None:
    fake_api.add(*(objects.image(f"img-{n}") for n in range(501)))
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        images = await source.list_images()
    assert len({image.name for image in images}) == 501
    assert fake_api.count("GET", "/apis/image.openshift.io/v1/images") == 2


async def test_list_images_skips_an_unreadable_image(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    fake_api.add(objects.image("good"), objects.image("bad", dockerImageLayers=[{"name": 1}]))
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        images = await source.list_images()
    assert [image.name for image in images] == [objects.digest("good")]


async def test_get_unreadable_image_is_a_source_error(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    fake_api.add(objects.image("bad", dockerImageLayers=[{"name": 1}]))
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        with pytest.raises(SourceError, match="unreadable object") as caught:
            await source.get_image(objects.digest("bad"))
    assert not isinstance(caught.value, NotFoundError)


async def test_missing_image_is_not_found(kubeconfig: Path, fake_api: FakeApiServer) -> None:
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        with pytest.raises(NotFoundError) as caught:
            await source.get_image(objects.digest("absent"))
    assert str(caught.value) == (
        f"cluster {fake_api.url}: images/{objects.digest('absent')}: not found"
    )


@pytest.mark.parametrize(
    "name", ["", ".", "..", "team/../secret", "a%2Fb", "a?watch=true"], ids=repr
)
async def test_impossible_name_is_never_sent(
    kubeconfig: Path, fake_api: FakeApiServer, name: str
) -> None:
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        with pytest.raises(NotFoundError, match="not a valid object name"):
            await source.get_image(name)
    assert sum(fake_api.requests.values()) == 0


async def test_get_image_stream(kubeconfig: Path, fake_api: FakeApiServer) -> None:
    fake_api.add(objects.stream(NS, "app", {"latest": [objects.digest("v2")]}))
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        stream = await source.get_image_stream(NS, "app")
    assert stream.namespace == NS
    assert stream.status is not None
    assert stream.status.docker_image_repository == f"{objects.REGISTRY}/{NS}/app"


async def test_image_stream_tag_is_built_like_the_server_builds_it(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    spec_tag = {
        "name": "prod",
        "annotations": {"team.example/owner": "alice"},
        "from": {"kind": "DockerImage", "name": "quay.example/team/app:v2"},
        "referencePolicy": {"type": "Local"},
        "generation": 2,
    }
    fake_api.add(
        objects.image("v1"),
        objects.image("v2"),
        objects.stream(
            NS,
            "app",
            {"prod": [objects.digest("v2"), objects.digest("v1")]},
            lookupPolicy={"local": True},
            tags=[spec_tag],
        ),
    )
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        tag = await source.get_image_stream_tag(NS, "app:prod")
    image = tag.image
    assert image.name == objects.digest("v2"), "the newest tag event wins"
    assert image.docker_image_reference == (
        f"{objects.REGISTRY}/{NS}/app@{objects.digest('v2')}"
    ), "Local reference policy points at the stream's repository"
    assert image.metadata is not None
    assert image.metadata.annotations == {"seed": "v2", "team.example/owner": "alice"}
    assert image.docker_image_manifest is None
    assert image.docker_image_config is None
    assert tag.tag is not None
    assert tag.tag.name == "prod"
    assert tag.lookup_policy.local is True
    assert tag.generation == 2


async def test_image_stream_tag_of_a_pushed_tag_has_null_spec_tag(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    fake_api.add(objects.image("v1"), objects.stream(NS, "app", {"latest": [objects.digest("v1")]}))
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        tag = await source.get_image_stream_tag(NS, "app:latest")
    assert tag.tag is None
    assert tag.image.docker_image_reference == f"quay.example/team/app@{objects.digest('v1')}"


@pytest.mark.parametrize(
    "name", ["app:missing", "nostream:latest"], ids=["missing-tag", "missing-stream"]
)
async def test_image_stream_tag_not_found(
    kubeconfig: Path, fake_api: FakeApiServer, name: str
) -> None:
    fake_api.add(objects.image("v1"), objects.stream(NS, "app", {"latest": [objects.digest("v1")]}))
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        with pytest.raises(NotFoundError, match=f"imagestreamtags/{name}: not found"):
            await source.get_image_stream_tag(NS, name)


async def test_image_stream_image_carries_the_signatures(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    name = objects.digest("v1")
    signed = objects.image("v1", signatures=[objects.signature(name, b"blob")])
    fake_api.add(signed, objects.stream(NS, "app", {"latest": [name]}))
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        found = await source.get_image_stream_image(NS, f"app@{name}")
    assert found.name == f"app@{name}"
    assert [sig.content for sig in found.image.signatures or []] == [b"blob"]


async def test_image_stream_image_of_an_image_the_stream_never_had(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    fake_api.add(objects.image("v1"), objects.image("other"), objects.stream(NS, "app", {}))
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        with pytest.raises(NotFoundError):
            await source.get_image_stream_image(NS, f"app@{objects.digest('other')}")


async def test_read_secret_key_decodes_base64(kubeconfig: Path, fake_api: FakeApiServer) -> None:
    key = b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\x00binary\n"
    fake_api.add(objects.secret("trust", "keys", {"release.asc": key}))
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        assert await source.read_secret_key("trust", "keys", "release.asc") == key
        with pytest.raises(NotFoundError, match=re.escape("secrets/keys: no key 'other.asc'")):
            await source.read_secret_key("trust", "keys", "other.asc")
        with pytest.raises(NotFoundError, match="secrets/absent: not found"):
            await source.read_secret_key("trust", "absent", "release.asc")


async def test_read_config_map_key_from_data_or_binary_data(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    fake_api.add(
        objects.config_map(
            "trust", "policy", {"policy.yaml": "mode: enforce\n"}, {"key.gpg": b"\x99\x01"}
        )
    )
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        assert await source.read_config_map_key("trust", "policy", "policy.yaml") == (
            b"mode: enforce\n"
        )
        assert await source.read_config_map_key("trust", "policy", "key.gpg") == b"\x99\x01"
        with pytest.raises(NotFoundError, match="configmaps/policy: no key 'x'"):
            await source.read_config_map_key("trust", "policy", "x")


async def test_a_context_of_the_kubeconfig_is_chosen_by_name(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    fake_api.add(objects.image("app"))
    async with ClusterSource.from_kubeconfig(kubeconfig, context="fake") as source:
        image: Image = await source.get_image(objects.digest("app"))
    assert image.name == objects.digest("app")
