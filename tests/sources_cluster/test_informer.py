"""WatchedSource: Images and ImageStreams answered from watch-kept caches, against the fake
image API server through the real client; cold lookups bounded; retags seen without a TTL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from sigpolicy.errors import NotFoundError, SourceError
from sigpolicy.resolve.resolver import ResolutionFailedError, Resolver
from sigpolicy.sources.cluster import ClusterSource, WatchBackoff
from sigpolicy.sources.informer import WatchedSource
from tests.sources_cluster import objects
from tests.support.fakeapi import FakeApiServer

IMAGES_PATH = "/apis/image.openshift.io/v1/images*"
STREAMS_PATH = "/apis/image.openshift.io/v1/*imagestream*"


def cluster(kubeconfig: Path) -> ClusterSource:
    return ClusterSource.from_kubeconfig(
        kubeconfig, timeout=1.0, watch_backoff=WatchBackoff(0.02, 0.1)
    )


@contextlib.asynccontextmanager
async def watched(kubeconfig: Path, **options: Any) -> AsyncIterator[WatchedSource]:
    """A WatchedSource with its watches running and synced."""
    source = WatchedSource(cluster(kubeconfig), **options)
    task = asyncio.create_task(source.run())
    try:
        await until(lambda: source.synced)
        yield source
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await source.close()


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.01)


def retag(fake_api: FakeApiServer, namespace: str, stream: str, tag: str, image: str) -> None:
    """Point ``tag`` at ``image`` as an import would: a new newest event."""

    def change(obj: dict[str, Any]) -> None:
        for history in obj["status"]["tags"]:
            if history["tag"] == tag:
                newest = dict(history["items"][0], image=image)
                newest["dockerImageReference"] = f"quay.example/team/{stream}@{image}"
                history["items"].insert(0, newest)

    fake_api.store.mutate("imagestreams", stream, change, namespace)


async def test_reads_after_sync_make_no_requests(kubeconfig: Path, fake_api: FakeApiServer) -> None:
    a = objects.digest("a")
    fake_api.add(objects.image("a"), objects.stream("team", "app", {"v1": [a]}))
    async with watched(kubeconfig) as source:
        before = fake_api.count("GET")
        image = await source.get_image(a)
        stream = await source.get_image_stream("team", "app")
        tag = await source.get_image_stream_tag("team", "app:v1")
        assert fake_api.count("GET") == before
        assert source.cold_lookups == 0
    assert image.name == a
    assert stream.metadata is not None and stream.metadata.name == "app"
    assert tag.image.name == a


async def test_derived_tag_matches_what_the_server_says(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    a = objects.digest("a")
    spec = {
        "tags": [{"name": "v1", "annotations": {"team": "x"}, "referencePolicy": {"type": "Local"}}]
    }
    fake_api.add(objects.image("a"), objects.stream("team", "app", {"v1": [a]}, **spec))
    async with watched(kubeconfig) as source:
        derived = await source.get_image_stream_tag("team", "app:v1")
        served = await source.inner.get_image_stream_tag("team", "app:v1")
    assert derived.image.name == served.image.name
    assert derived.image.docker_image_reference == served.image.docker_image_reference
    assert derived.image.docker_image_reference == f"{objects.REGISTRY}/team/app@{a}"
    assert derived.tag == served.tag
    assert derived.lookup_policy == served.lookup_policy
    assert derived.image.metadata is not None and served.image.metadata is not None
    assert derived.image.metadata.annotations == served.image.metadata.annotations


async def test_watch_events_update_the_caches(kubeconfig: Path, fake_api: FakeApiServer) -> None:
    a, b = objects.digest("a"), objects.digest("b")
    fake_api.add(objects.image("a"), objects.stream("team", "app", {"v1": [a]}))
    async with watched(kubeconfig) as source:
        fake_api.add(objects.image("b"))
        await until(lambda: b in source._images)
        assert (await source.get_image(b)).name == b

        signature = objects.signature(a, b"blob")
        fake_api.store.mutate("images", a, lambda obj: obj.update(signatures=[signature]))
        await until(lambda: bool(source._images[a].signatures))
        assert [s.name for s in (await source.get_image(a)).signatures or ()] == [
            signature["metadata"]["name"]
        ]

        fake_api.store.delete("imagestreams", "app", "team")
        await until(lambda: ("team", "app") not in source._streams)
        with pytest.raises(NotFoundError):
            await source.get_image_stream_tag("team", "app:v1")
        assert source.cold_lookups == 0


async def test_a_stream_retagged_while_cached_resolves_to_the_new_image(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    a, b = objects.digest("a"), objects.digest("b")
    fake_api.add(objects.image("a"), objects.image("b"))
    fake_api.add(objects.stream("team", "app", {"v1": [a]}))
    written = f"{objects.REGISTRY}/team/app:v1"
    async with watched(kubeconfig) as source:
        resolver = Resolver(source)  # default TTL 30 s: it must not apply over watched caches
        first = await resolver.resolve(written, namespace="team", now=0)
        assert str(first.evidence.reference.digest) == a
        retag(fake_api, "team", "app", "v1", b)
        await until(lambda: source._streams["team", "app"].newest_event("v1").image == b)  # type: ignore[union-attr]
        second = await resolver.resolve(written, namespace="team", now=0)
    assert str(second.evidence.reference.digest) == b


async def test_the_caches_keep_answering_while_the_api_server_is_down(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    a = objects.digest("a")
    fake_api.add(objects.image("a"), objects.stream("team", "app", {"v1": [a]}))
    async with watched(kubeconfig) as source:
        fake_api.fail("*", 503, times=1_000_000)
        fake_api.cut_watches()
        await asyncio.sleep(0.2)  # the watches are now failing and retrying
        assert (await source.get_image_stream_tag("team", "app:v1")).image.name == a
        with pytest.raises(NotFoundError):  # synced: a miss is an answer, not a request
            await source.get_image(objects.digest("never-imported"))
        assert source.cold_lookups == 0


async def test_cold_lookups_before_sync_go_to_the_server(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    a = objects.digest("a")
    fake_api.add(objects.image("a"), objects.stream("team", "app", {"v1": [a]}))
    source = WatchedSource(cluster(kubeconfig))  # watches not started: nothing synced
    try:
        assert (await source.get_image(a)).name == a
        assert (await source.get_image_stream_tag("team", "app:v1")).image.name == a
        with pytest.raises(NotFoundError):
            await source.get_image_stream("team", "missing")
        assert source.cold_lookups == 3
        assert not source.synced
    finally:
        await source.close()


@pytest.mark.parametrize("fault", ["hang", "error"])
async def test_a_cold_lookup_is_bounded_in_time(
    kubeconfig: Path, fake_api: FakeApiServer, fault: str
) -> None:
    a = objects.digest("a")
    fake_api.add(objects.image("a"))
    if fault == "hang":
        fake_api.hang(IMAGES_PATH, 3.0)
    else:
        fake_api.fail(IMAGES_PATH, 503, times=5)
    source = WatchedSource(cluster(kubeconfig), cold_timeout=0.3)
    try:
        with pytest.raises(SourceError) as raised:
            await source.get_image(a)
    finally:
        await source.close()
    assert not isinstance(raised.value, NotFoundError)
    if fault == "hang":
        assert "no answer within 0.3 s (cold lookup)" in str(raised.value)


async def test_cold_lookups_are_limited_in_concurrency(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    names = [objects.digest(str(i)) for i in range(6)]
    fake_api.add(*(objects.image(str(i)) for i in range(6)))
    source = WatchedSource(cluster(kubeconfig), cold_concurrency=2)
    in_flight = peak = 0
    inner_get = source.inner.get_image

    async def counted(name: str) -> Any:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.05)
            return await inner_get(name)
        finally:
            in_flight -= 1

    source.inner.get_image = counted  # type: ignore[method-assign]
    try:
        found = await asyncio.gather(*(source.get_image(name) for name in names))
    finally:
        await source.close()
    assert [image.name for image in found] == names
    assert peak == 2


async def test_images_past_the_bound_are_looked_up_one_by_one(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    fake_api.add(objects.image("a"), objects.image("b"))
    async with watched(kubeconfig, max_images=1) as source:
        assert source.cache_sizes()["images"] == 1
        for seed in "ab":
            assert (await source.get_image(objects.digest(seed))).name == objects.digest(seed)
        assert source.cold_lookups == 1


async def test_cached_images_leave_out_what_resolution_never_reads(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    a = objects.digest("a")
    fake_api.add(objects.image("a"))
    async with watched(kubeconfig) as source:
        image = await source.get_image(a)
    assert image.docker_image_manifest is None and image.docker_image_config is None
    assert image.docker_image_reference == f"quay.example/team/a@{a}"


async def test_registry_hosts_are_learned_from_the_streams(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    a = objects.digest("a")
    stream = objects.stream("team", "app", {"v1": [a]})
    stream["status"]["dockerImageRepository"] = "registry.apps.example.com/team/app"
    stream["status"]["publicDockerImageRepository"] = "default-route.apps.example.com/team/app"
    fake_api.add(objects.image("a"), stream)
    async with watched(kubeconfig) as source:
        assert source.registry_hosts() == {
            "registry.apps.example.com",
            "default-route.apps.example.com",
        }
        resolver = Resolver(source, registry_hosts=())
        found = await resolver.resolve(
            "default-route.apps.example.com/team/app:v1", namespace="team", now=0
        )
        assert str(found.evidence.reference.digest) == a
        with pytest.raises(ResolutionFailedError, match="ImageStreamTag team/app:v2 not found"):
            await resolver.resolve("registry.apps.example.com/team/app:v2", namespace="team", now=0)
        fake_api.store.delete("imagestreams", "app", "team")
        await until(lambda: not source.registry_hosts())


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": name, "labels": labels}}


async def test_namespace_labels_come_from_the_watch(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    fake_api.add(namespace("shop", env="prod"))
    async with watched(kubeconfig) as source:
        assert await source.namespace_labels("shop") == {"env": "prod"}
        assert await source.namespace_labels("nowhere") is None
        fake_api.store.mutate(
            "namespaces", "shop", lambda obj: obj["metadata"].update(labels={"env": "dev"})
        )
        await until(lambda: source._namespaces.get("shop") == {"env": "dev"})
        fake_api.store.delete("namespaces", "shop")
        await until(lambda: "shop" not in source._namespaces)
        assert await source.namespace_labels("shop") is None
    # A review's namespace exists, so a miss is asked of the server, never guessed.
    assert source.cold_lookups == 2
    assert fake_api.count("GET", "/api/v1/namespaces/nowhere") == 1


async def test_namespace_labels_before_sync_are_a_cold_lookup(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    fake_api.add(namespace("shop", env="prod"))
    source = WatchedSource(cluster(kubeconfig))
    try:
        assert await source.namespace_labels("shop") == {"env": "prod"}
        assert await source.namespace_labels("nowhere") is None
    finally:
        await source.close()
    assert source.cold_lookups == 2
    assert fake_api.count("GET", "/api/v1/namespaces/shop") == 1


async def test_an_image_a_stream_names_before_its_own_event_is_looked_up(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    a, late = objects.digest("a"), objects.digest("late")
    fake_api.add(objects.image("a"), objects.stream("team", "app", {"v1": [a]}))
    async with watched(kubeconfig) as source:
        fake_api.add(objects.image("late"))
        retag(fake_api, "team", "app", "v1", late)
        await until(lambda: source._streams["team", "app"].newest_event("v1").image == late)  # type: ignore[union-attr]
        source._images.pop(late, None)  # as if the Image's event were still on its way
        tag = await source.get_image_stream_tag("team", "app:v1")
    assert tag.image.name == late
    assert source.cold_lookups == 1
