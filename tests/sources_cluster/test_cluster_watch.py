"""watch_images: list, SYNCED, then changes; resumed after cuts and outages, re-listed on 410."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from sigpolicy.sources.base import ImageEvent
from sigpolicy.sources.cluster import ClusterSource, WatchBackoff
from tests.sources_cluster import objects
from tests.support.fakeapi import FakeApiServer

LIST_PATH = "/apis/image.openshift.io/v1/images"


def fast_source(kubeconfig: Path) -> ClusterSource:
    return ClusterSource.from_kubeconfig(
        kubeconfig, timeout=1.0, watch_backoff=WatchBackoff(0.02, 0.1)
    )


class Watcher:
    """Consumes ``watch_images`` in a task of its own, as a real consumer would.

    An async generator runs only when pulled; a background consumer makes the watch request
    happen (and stay open) while the test changes the cluster.
    """

    def __init__(self, source: ClusterSource) -> None:
        self._queue: asyncio.Queue[ImageEvent] = asyncio.Queue()
        self._events = source.watch_images()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Watcher:
        self._task = asyncio.create_task(self._consume())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._events.aclose()

    async def _consume(self) -> None:
        async for event in self._events:
            await self._queue.put(event)

    async def take(self, count: int) -> list[tuple[str, str | None]]:
        """The next ``count`` events as (type, image name); fails after 5 s."""
        seen: list[tuple[str, str | None]] = []
        async with asyncio.timeout(5):
            while len(seen) < count:
                event = await self._queue.get()
                seen.append((event.type, event.image.name if event.image else None))
        return seen

    async def next(self) -> ImageEvent:
        async with asyncio.timeout(5):
            return await self._queue.get()


async def wait_for_watch(api: FakeApiServer) -> None:
    async with asyncio.timeout(5):
        while api.open_watches() == 0:
            await asyncio.sleep(0.01)


async def test_initial_list_then_synced(kubeconfig: Path, fake_api: FakeApiServer) -> None:
    fake_api.add(objects.image("a"), objects.image("b"))
    async with fast_source(kubeconfig) as source, Watcher(source) as events:
        first = await events.take(3)
    assert sorted(first[:2]) == sorted([("ADDED", objects.digest(s)) for s in "ab"])
    assert first[2] == ("SYNCED", None)


async def test_changes_after_the_watch_started_are_seen(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    fake_api.add(objects.image("a"))
    async with fast_source(kubeconfig) as source, Watcher(source) as events:
        await events.take(2)
        await wait_for_watch(fake_api)
        fake_api.add(objects.image("new"))
        fake_api.store.mutate(
            "images", objects.digest("a"), lambda obj: obj.update(dockerImageReference="x")
        )
        fake_api.store.delete("images", objects.digest("new"))
        changes = await events.take(3)
    assert changes == [
        ("ADDED", objects.digest("new")),
        ("MODIFIED", objects.digest("a")),
        ("DELETED", objects.digest("new")),
    ]
    assert fake_api.count("GET", LIST_PATH) == 1


async def test_modified_event_carries_the_new_object(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    fake_api.add(objects.image("a"))
    async with fast_source(kubeconfig) as source, Watcher(source) as events:
        await events.take(2)
        await wait_for_watch(fake_api)
        fake_api.store.mutate(
            "images", objects.digest("a"), lambda obj: obj.update(dockerImageReference="x")
        )
        event = await events.next()
    assert event.type == "MODIFIED"
    assert event.image is not None
    assert event.image.docker_image_reference == "x"


@pytest.mark.parametrize("abrupt", [True, False], ids=["connection-dropped", "stream-ended"])
async def test_stream_cut_by_the_server_is_resumed(
    kubeconfig: Path, fake_api: FakeApiServer, abrupt: bool
) -> None:
    async with fast_source(kubeconfig) as source, Watcher(source) as events:
        await events.take(1)
        await wait_for_watch(fake_api)
        fake_api.add(objects.image("before"))
        assert await events.take(1) == [("ADDED", objects.digest("before"))]
        fake_api.cut_watches(abrupt=abrupt)
        fake_api.add(objects.image("after"))
        assert await events.take(1) == [("ADDED", objects.digest("after"))]
    assert fake_api.count("GET", LIST_PATH) == 1, "resumed from the last version, not re-listed"
    assert fake_api.count("WATCH", LIST_PATH) >= 2


async def test_outage_is_bridged_without_missing_a_change(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    async with fast_source(kubeconfig) as source, Watcher(source) as events:
        await events.take(1)
        await wait_for_watch(fake_api)
        fake_api.stop()
        fake_api.add(objects.image("while-down"))
        await asyncio.sleep(0.2)  # the watch retries against a closed port meanwhile
        fake_api.start()
        assert await events.take(1) == [("ADDED", objects.digest("while-down"))]
    assert fake_api.count("GET", LIST_PATH) == 1


@pytest.mark.parametrize("as_http_error", [False, True], ids=["error-event", "http-410"])
async def test_too_old_version_relists_and_reports_the_difference(
    kubeconfig: Path, fake_api: FakeApiServer, as_http_error: bool
) -> None:
    fake_api.expired_as_http_error = as_http_error
    fake_api.add(objects.image("kept"), objects.image("changed"), objects.image("removed"))
    async with fast_source(kubeconfig) as source, Watcher(source) as events:
        await events.take(4)
        await wait_for_watch(fake_api)
        fake_api.stop()
        fake_api.add(objects.image("new"))
        fake_api.store.mutate(
            "images", objects.digest("changed"), lambda obj: obj.update(futureField=2)
        )
        fake_api.store.delete("images", objects.digest("removed"))
        fake_api.store.compact()
        fake_api.start()
        changes = await events.take(3)
    assert sorted(changes) == [
        ("ADDED", objects.digest("new")),
        ("DELETED", objects.digest("removed")),
        ("MODIFIED", objects.digest("changed")),
    ]
    assert fake_api.count("GET", LIST_PATH) == 2


async def test_initial_list_is_retried_when_the_api_fails(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    fake_api.add(objects.image("a"))
    fake_api.fail(LIST_PATH, 503, times=2, method="GET")
    async with fast_source(kubeconfig) as source, Watcher(source) as events:
        assert await events.take(2) == [("ADDED", objects.digest("a")), ("SYNCED", None)]
    assert fake_api.count("GET", LIST_PATH) == 3


async def test_closing_the_iterator_ends_the_watch(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    async with fast_source(kubeconfig) as source, Watcher(source) as events:
        await events.take(1)
        await wait_for_watch(fake_api)
    async with asyncio.timeout(5):
        while fake_api.open_watches():
            await asyncio.sleep(0.01)


async def test_a_watch_that_goes_silent_is_resumed(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    """A connection that dies without a FIN or RST never ends the stream: the source gives
    up on it after the server's own timeout plus a margin, and resumes."""
    source = ClusterSource.from_kubeconfig(
        kubeconfig, timeout=1.0, watch_backoff=WatchBackoff(0.02, 0.1), watch_seconds=1
    )
    source.watch_stall_margin = 0.5
    async with source, Watcher(source) as events:
        await events.take(1)  # SYNCED
        await wait_for_watch(fake_api)
        fake_api.hang(LIST_PATH, 30.0, method="GET")  # the next watch request answers nothing
        fake_api.cut_watches()
        await asyncio.sleep(0.2)
        fake_api.add(objects.image("after-the-silence"))
        assert await events.take(1) == [("ADDED", objects.digest("after-the-silence"))]
    assert fake_api.count("GET", LIST_PATH) == 1, "resumed from the last version, not re-listed"
