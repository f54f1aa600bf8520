"""Watch-based caches of the cluster's Images, ImageStreams and Namespaces, for the webhook.

A review must not wait for the API server: :class:`WatchedSource` answers the reads the
resolver makes (an Image, an ImageStream, an ImageStreamTag, a namespace's labels) from
memory, kept current by three watches (list, then watch; resumed and re-listed by
:class:`~sigpolicy.sources.cluster.ClusterSource`). An ImageStreamTag is derived from the
cached stream and Image the way the API server derives it (:mod:`sigpolicy.sources.streams`),
so a retag shows as soon as the stream's watch event arrives, with no TTL to wait out.

1. Before a watch has listed everything (``synced``), and for Images past ``max_images``, a
   read is a *cold lookup*: one GET to the server (shared by concurrent readers of the same
   object), bounded in time (``cold_timeout``) and in concurrency (``cold_concurrency``), so
   a burst of never-seen images cannot pile requests onto the API server or past the review
   deadline. A cold lookup that times out is ``source-unavailable``.
2. Once synced, a miss is an answer: the object does not exist (the watch is milliseconds
   behind the server; a GET for every image that was never imported would cost a round trip
   per review). Two misses are not: an Image a cached stream names (Image and stream come
   by separate watches) and a review's namespace (it exists); both are cold lookups.
3. When the API server goes away, the caches keep answering with what they last saw while the
   watches retry; cold lookups fail fast with ``source-unavailable``.
4. Images are kept without their manifest, config, layers and metadata: resolution needs only
   the name, the ``dockerImageReference`` and the signatures, and a cluster holds tens of
   thousands of Images.

Writes and key material go straight to the wrapped source.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Protocol, TypeVar

from sigpolicy.api import Image, ImageStream, ImageStreamTag
from sigpolicy.errors import NotFoundError, SourceError
from sigpolicy.sources.base import (
    ImageChange,
    ImageEvent,
    NamespaceEvent,
    PullSecretSource,
    StreamEvent,
)
from sigpolicy.sources.lookups import SharedLookups
from sigpolicy.sources.streams import image_stream_tag, newest_image_name, registry_hosts_of

__all__ = ["WatchableSource", "WatchedSource"]

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_COLD_TIMEOUT = 2.0
DEFAULT_COLD_CONCURRENCY = 16
DEFAULT_MAX_IMAGES = 200_000

# Fields the resolver never reads; dropping them keeps a cached Image to a few hundred bytes.
_HEAVY_FIELDS = dict.fromkeys(
    (
        "docker_image_manifest",
        "docker_image_config",
        "docker_image_layers",
        "docker_image_metadata",
        "docker_image_manifests",
    )
)


class WatchableSource(Protocol):
    """What :class:`WatchedSource` needs of the source it wraps (a ClusterSource)."""

    @property
    def description(self) -> str: ...

    async def get_image(self, name: str) -> Image: ...

    async def list_images(self) -> list[Image]: ...

    def watch_images(self) -> AsyncIterator[ImageEvent]: ...

    def watch_image_streams(self) -> AsyncIterator[StreamEvent]: ...

    def watch_namespaces(self) -> AsyncIterator[NamespaceEvent]: ...

    async def namespace_labels(self, name: str) -> Mapping[str, str] | None: ...

    async def update_image(self, name: str, change: ImageChange) -> Image | None: ...

    async def get_image_stream(self, namespace: str, name: str) -> ImageStream: ...

    async def get_image_stream_tag(self, namespace: str, name: str) -> ImageStreamTag: ...

    async def read_secret_key(self, namespace: str, name: str, key: str) -> bytes: ...

    async def read_config_map_key(self, namespace: str, name: str, key: str) -> bytes: ...

    async def close(self) -> None: ...


class WatchedSource:
    """An :class:`~sigpolicy.sources.base.ImageSource` reading through watch-kept caches."""

    def __init__(
        self,
        inner: WatchableSource,
        *,
        cold_timeout: float = DEFAULT_COLD_TIMEOUT,
        cold_concurrency: int = DEFAULT_COLD_CONCURRENCY,
        max_images: int = DEFAULT_MAX_IMAGES,
    ) -> None:
        self.inner = inner
        self.cold_timeout = cold_timeout
        self.max_images = max_images
        self._cold = asyncio.Semaphore(cold_concurrency)
        self._shared = SharedLookups(ttl=0.0, negative_ttl=0.0)
        self._images: dict[str, Image] = {}
        self._streams: dict[tuple[str, str], ImageStream] = {}
        self._hosts: Counter[str] = Counter()
        self._host_set: frozenset[str] = frozenset()
        self._namespaces: dict[str, Mapping[str, str]] = {}
        self._images_synced = False
        self._streams_synced = False
        self._namespaces_synced = False
        self._images_complete = True  # False once max_images kept an Image out
        self.cold_lookups = 0

    # -- state --------------------------------------------------------------------------------

    @property
    def description(self) -> str:
        return self.inner.description

    @property
    def synced(self) -> bool:
        """Whether every watch has listed everything once (for ``/readyz``)."""
        return self._images_synced and self._streams_synced and self._namespaces_synced

    def cache_sizes(self) -> dict[str, int]:
        return {
            "images": len(self._images),
            "imageStreams": len(self._streams),
            "namespaces": len(self._namespaces),
        }

    def registry_hosts(self) -> frozenset[str]:
        """The integrated registry's hosts, as the streams' status names them."""
        return self._host_set

    async def run(self) -> None:
        """Keep both caches current; runs until cancelled (a background task)."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._follow_images())
            group.create_task(self._follow_streams())
            group.create_task(self._follow_namespaces())

    async def _follow_images(self) -> None:
        async for event in self.inner.watch_images():
            if event.type == "SYNCED":
                self._images_synced = True
                log.info("image cache synced: %d images", len(self._images))
            elif event.image is not None and event.image.name:
                self._apply_image(event.type == "DELETED", event.image)

    async def _follow_streams(self) -> None:
        async for event in self.inner.watch_image_streams():
            if event.type == "SYNCED":
                self._streams_synced = True
                log.info("image stream cache synced: %d streams", len(self._streams))
            elif event.stream is not None:
                self._apply_stream(event.type == "DELETED", event.stream)

    async def _follow_namespaces(self) -> None:
        async for event in self.inner.watch_namespaces():
            if event.type == "SYNCED":
                self._namespaces_synced = True
                log.info("namespace cache synced: %d namespaces", len(self._namespaces))
            elif event.namespace is not None and event.namespace.name:
                if event.type == "DELETED":
                    self._namespaces.pop(event.namespace.name, None)
                else:
                    self._namespaces[event.namespace.name] = event.namespace.labels

    def _apply_image(self, deleted: bool, image: Image) -> None:
        name = str(image.name)
        if deleted:
            self._images.pop(name, None)
        elif name in self._images or len(self._images) < self.max_images:
            self._images[name] = image.model_copy(update=_HEAVY_FIELDS)
        elif self._images_complete:
            self._images_complete = False
            log.warning(
                "image cache full (%d images): images past it are looked up one by one",
                self.max_images,
            )

    def _apply_stream(self, deleted: bool, stream: ImageStream) -> None:
        meta = stream.metadata
        if meta is None or not meta.name or not meta.namespace:
            return
        key = (meta.namespace, meta.name)
        old = self._streams.pop(key, None)
        if old is not None:
            self._hosts.subtract(registry_hosts_of(old))
        if not deleted:
            self._streams[key] = stream
            self._hosts.update(registry_hosts_of(stream))
        self._hosts = +self._hosts  # drop hosts no stream names any more
        self._host_set = frozenset(self._hosts)

    # -- reads --------------------------------------------------------------------------------

    async def get_image(self, name: str) -> Image:
        image = self._images.get(name)
        if image is not None:
            return image
        if self._images_synced and self._images_complete:
            raise NotFoundError(f"{self.description}: images/{name}: not found")
        return await self._lookup(lambda: self.inner.get_image(name), f"images/{name}")

    async def list_images(self) -> list[Image]:
        return await self.inner.list_images()

    def watch_images(self) -> AsyncIterator[ImageEvent]:
        return self.inner.watch_images()

    async def get_image_stream(self, namespace: str, name: str) -> ImageStream:
        stream = self._streams.get((namespace, name))
        if stream is not None:
            return stream
        what = f"namespaces/{namespace}/imagestreams/{name}"
        if self._streams_synced:
            raise NotFoundError(f"{self.description}: {what}: not found")
        return await self._lookup(lambda: self.inner.get_image_stream(namespace, name), what)

    async def get_image_stream_tag(self, namespace: str, name: str) -> ImageStreamTag:
        """From the cached stream and Image, as the server derives it; cold before sync."""
        stream_name, _, tag = name.partition(":")
        stream = self._streams.get((namespace, stream_name))
        what = f"namespaces/{namespace}/imagestreamtags/{name}"
        if stream is None:
            if self._streams_synced:
                raise NotFoundError(f"{self.description}: {what}: not found")
            return await self._lookup(
                lambda: self.inner.get_image_stream_tag(namespace, name), what
            )
        image_name, _ = newest_image_name(stream, tag)
        image = self._images.get(image_name)
        try:
            if image is None:
                # An import writes the Image before the stream, but the two come by separate
                # watches: a stream may name an Image whose event has not arrived yet.
                image = await self._lookup(
                    lambda: self.inner.get_image(image_name), f"images/{image_name}"
                )
        except NotFoundError:
            raise NotFoundError(
                f"{self.description}: {what}: the tag names image {image_name}, "
                "which does not exist"
            ) from None
        return image_stream_tag(stream, tag, image)

    async def namespace_labels(self, name: str) -> Mapping[str, str] | None:
        labels = self._namespaces.get(name)
        if labels is not None:
            return labels
        # A review's namespace exists: a miss is a namespace created a moment ago whose watch
        # event has not arrived, and guessing "no labels" would skip its selector scopes.
        return await self._lookup(lambda: self.inner.namespace_labels(name), f"namespaces/{name}")

    async def _lookup(self, request: Callable[[], Awaitable[T]], what: str) -> T:
        """A cold lookup; concurrent ones of the same object share one request."""
        result: T = await self._shared.get((what,), lambda: self._bounded(request, what), 0.0)
        return result

    async def _bounded(self, request: Callable[[], Awaitable[T]], what: str) -> T:
        self.cold_lookups += 1
        try:
            async with asyncio.timeout(self.cold_timeout):
                async with self._cold:
                    return await request()
        except TimeoutError:
            raise SourceError(
                f"{self.description}: {what}: no answer within {self.cold_timeout:g} s "
                "(cold lookup)"
            ) from None

    # -- pass-through -------------------------------------------------------------------------

    async def update_image(self, name: str, change: ImageChange) -> Image | None:
        return await self.inner.update_image(name, change)

    async def read_secret_key(self, namespace: str, name: str, key: str) -> bytes:
        return await self.inner.read_secret_key(namespace, name, key)

    async def read_config_map_key(self, namespace: str, name: str, key: str) -> bytes:
        return await self.inner.read_config_map_key(namespace, name, key)

    async def read_secret(self, namespace: str, name: str) -> tuple[str | None, dict[str, bytes]]:
        if not isinstance(self.inner, PullSecretSource):
            raise NotFoundError(f"{self.description}: pull secrets cannot be read")
        return await self.inner.read_secret(namespace, name)

    async def service_account_pull_secrets(self, namespace: str, name: str) -> tuple[str, ...]:
        if not isinstance(self.inner, PullSecretSource):
            raise NotFoundError(f"{self.description}: service accounts cannot be read")
        return await self.inner.service_account_pull_secrets(namespace, name)

    async def close(self) -> None:
        await self.inner.close()
