"""The cluster's image API (``image.openshift.io/v1``) as an :class:`ImageSource`.

Reads parse the server's JSON into :mod:`sigpolicy.api` models, which keep unknown fields, so
an Image written back carries everything a newer OpenShift added. Failures are one-line
:class:`SourceError` messages naming the cluster and the object
(``cluster https://api.example:6443: images/sha256:…: no answer within 5 s``); a missing
object is :class:`NotFoundError`.

Writes never lose a concurrent change. :meth:`ClusterSource.update_image`:

1. GETs the Image and remembers its ``resourceVersion``;
2. applies ``change`` to that copy (``None`` or an unchanged Image: nothing to write);
3. PUTs the result with the remembered ``resourceVersion``, so the server refuses it (409)
   if anyone wrote in between;
4. on 409 starts again at 1 with the newer copy, up to ``update_attempts`` times, then
   raises :class:`ConflictError`. A failed PUT changes nothing on the server.

:meth:`ClusterSource.watch_images` is a small informer: list, then watch from the list's
``resourceVersion``; a broken stream is resumed from the last version seen (with backoff),
and a version the server no longer keeps (410) means list again and report the difference.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import os
import random
from collections.abc import AsyncGenerator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from sigpolicy.api import (
    Image,
    ImageSignature,
    ImageStream,
    ImageStreamImage,
    ImageStreamTag,
    KubeObject,
    Namespace,
    WireModel,
    parse_as,
)
from sigpolicy.errors import ConflictError, InputError, NotFoundError, SourceError
from sigpolicy.sources._kube import (
    ALL_NAMESPACES,
    IMAGE_SIGNATURES,
    IMAGE_STREAM_IMAGES,
    IMAGE_STREAM_TAGS,
    IMAGE_STREAMS,
    IMAGES,
    NAMESPACES,
    SERVICE_ACCOUNT_DIR,
    GlobalKind,
    JsonObject,
    KubeApi,
    NamespacedKind,
    WatchExpiredError,
    WatchStalledError,
)
from sigpolicy.sources.base import (
    EventType,
    ImageChange,
    ImageEvent,
    NamespaceEvent,
    StreamEvent,
)
from sigpolicy.sources.leader import LeaderElector

__all__ = ["ClusterSource", "WatchBackoff"]

log = logging.getLogger(__name__)

M = TypeVar("M", bound=WireModel)
K = TypeVar("K", Image, ImageStream, Namespace)

DEFAULT_TIMEOUT = 5.0
DEFAULT_UPDATE_ATTEMPTS = 5
# The server ends each watch after this long and the stream is resumed. A connection that
# died silently never ends, so a stream with nothing for this long plus the margin below is
# presumed dead and resumed (on a quiet cluster that costs one extra watch request).
DEFAULT_WATCH_SECONDS = 300
DEFAULT_WATCH_STALL_MARGIN = 30.0

_EVENT_TYPES: dict[str, EventType] = {
    "ADDED": "ADDED",
    "MODIFIED": "MODIFIED",
    "DELETED": "DELETED",
}


class WatchBackoff:
    """Exponential delays with jitter between failed watch or list attempts (the defaults
    suit production; tests pass short ones)."""

    def __init__(self, initial: float = 0.5, maximum: float = 30.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self._next = initial

    def reset(self) -> None:
        self._next = self.initial

    async def sleep(self) -> None:
        delay, self._next = self._next, min(self._next * 2, self.maximum)
        # Jitter spreads the reconnects of many replicas; it is not a security measure.
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311


class ClusterSource:
    """Images, streams, signatures and key material from a Kubernetes/OpenShift API server."""

    def __init__(
        self,
        api: KubeApi,
        *,
        update_attempts: int = DEFAULT_UPDATE_ATTEMPTS,
        watch_backoff: WatchBackoff | None = None,
        watch_seconds: int = DEFAULT_WATCH_SECONDS,
    ) -> None:
        if update_attempts < 1:
            raise ValueError("update_attempts must be at least 1")
        self._api = api
        self._update_attempts = update_attempts
        self._watch_backoff = watch_backoff or WatchBackoff()
        self._watch_seconds = watch_seconds
        self.watch_stall_margin = DEFAULT_WATCH_STALL_MARGIN

    @classmethod
    def from_kubeconfig(
        cls,
        path: str | os.PathLike[str],
        *,
        context: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        update_attempts: int = DEFAULT_UPDATE_ATTEMPTS,
        watch_backoff: WatchBackoff | None = None,
        watch_seconds: int = DEFAULT_WATCH_SECONDS,
    ) -> ClusterSource:
        """A source for ``context`` (default: the current one) of a kubeconfig file.

        Raises :class:`InputError` when the file or context is unusable; nothing is
        contacted until the first request.
        """
        api = KubeApi.from_kubeconfig(path, context=context, timeout=timeout)
        return cls(
            api,
            update_attempts=update_attempts,
            watch_backoff=watch_backoff,
            watch_seconds=watch_seconds,
        )

    @classmethod
    def in_cluster(
        cls,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        service_account_dir: str | os.PathLike[str] = SERVICE_ACCOUNT_DIR,
        update_attempts: int = DEFAULT_UPDATE_ATTEMPTS,
        watch_backoff: WatchBackoff | None = None,
        watch_seconds: int = DEFAULT_WATCH_SECONDS,
    ) -> ClusterSource:
        """A source that uses the pod's service account (token, CA, API address from env)."""
        api = KubeApi.in_cluster(timeout=timeout, service_account_dir=Path(service_account_dir))
        return cls(
            api,
            update_attempts=update_attempts,
            watch_backoff=watch_backoff,
            watch_seconds=watch_seconds,
        )

    @property
    def description(self) -> str:
        return self._api.description

    @property
    def api(self) -> KubeApi:
        """The connection, shared with a :class:`~sigpolicy.sources.leader.LeaderElector`."""
        return self._api

    def leader_elector(
        self,
        *,
        namespace: str,
        name: str,
        identity: str,
        lease_duration: int = 15,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
    ) -> LeaderElector:
        """A candidate for the Lease ``namespace/name`` on this source's connection.

        It shares the connection: close the source, not the elector.
        """
        return LeaderElector(
            self._api,
            namespace=namespace,
            name=name,
            identity=identity,
            lease_duration=lease_duration,
            renew_deadline=renew_deadline,
            retry_period=retry_period,
        )

    async def __aenter__(self) -> ClusterSource:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- images -------------------------------------------------------------------------------

    async def get_image(self, name: str) -> Image:
        return self._parse(Image, await self._api.get(IMAGES, name), f"images/{name}")

    async def list_images(self) -> list[Image]:
        """Every Image; one the models cannot read is skipped with a warning, not fatal."""
        items, _version = await self._api.list(IMAGES)
        return list(self._parse_items(items).values())

    async def watch_images(self) -> AsyncGenerator[ImageEvent, None]:
        """Every image as ADDED, then SYNCED, then changes as they happen; never ends by itself.

        Failures are logged and retried with backoff: a broken stream resumes from the last
        version seen; after 410 Gone the images are listed again and the difference from what
        was reported is sent as ADDED, MODIFIED and DELETED events.
        """
        async with contextlib.aclosing(self._inform(IMAGES, Image, "images")) as events:
            async for event_type, image in events:
                yield ImageEvent(event_type, image)

    async def list_image_streams(self) -> list[ImageStream]:
        """Every ImageStream of every namespace."""
        items, _version = await self._api.list(IMAGE_STREAMS, ALL_NAMESPACES)
        return list(self._parse_all(ImageStream, items, "imagestreams").values())

    async def watch_image_streams(self) -> AsyncGenerator[StreamEvent, None]:
        """The ImageStreams of every namespace, as :meth:`watch_images` reports images."""
        async with contextlib.aclosing(
            self._inform(IMAGE_STREAMS, ImageStream, "imagestreams")
        ) as events:
            async for event_type, stream in events:
                yield StreamEvent(event_type, stream)

    async def _inform(
        self, kind: GlobalKind | NamespacedKind, model: type[K], plural: str
    ) -> AsyncGenerator[tuple[EventType, K | None], None]:
        """The list-then-watch loop of the module docstring, for one kind (all namespaces)."""
        namespace = ALL_NAMESPACES if kind is IMAGE_STREAMS else None
        # Each watch has its own backoff state; the source's only sets the delays.
        backoff = WatchBackoff(self._watch_backoff.initial, self._watch_backoff.maximum)
        # What was reported, as key -> resourceVersion: enough to tell a re-list's changes,
        # without holding a second copy of every object (Images carry whole manifests).
        known: dict[str, str | None] | None = None
        while True:
            try:
                items, version = await self._api.list(kind, namespace)
            except SourceError as err:
                log.warning("listing %s failed, retrying: %s", plural, err.diagnostics())
                await backoff.sleep()
                continue
            current = self._parse_all(model, items, plural)
            if known is None:
                for obj in current.values():
                    yield "ADDED", obj
                yield "SYNCED", None
            else:
                for change in _difference(model, known, current):
                    yield change
            known = {key: _version(obj) for key, obj in current.items()}
            del current, items
            backoff.reset()
            while True:
                try:
                    async with contextlib.aclosing(
                        self._api.watch(
                            kind,
                            version,
                            server_timeout=self._watch_seconds,
                            stall_after=self._watch_seconds + self.watch_stall_margin,
                            namespace=namespace,
                        )
                    ) as events:
                        async for event_type, raw in events:
                            version = _resource_version(raw) or version
                            backoff.reset()
                            event = self._watch_event(model, plural, event_type, raw)
                            if event is None:
                                continue
                            kind_of_change, obj = event
                            if kind_of_change == "DELETED":
                                known.pop(_key(obj), None)
                            else:
                                known[_key(obj)] = _version(obj)
                            yield event
                except WatchExpiredError as err:
                    log.info("watch expired, listing %s again: %s", plural, err.diagnostics())
                    break
                except WatchStalledError as err:
                    log.info("%s watch went silent, resuming: %s", plural, err.diagnostics())
                except SourceError as err:
                    log.warning("%s watch broke, resuming: %s", plural, err.diagnostics())
                    await backoff.sleep()

    async def update_image(self, name: str, change: ImageChange) -> Image | None:
        """Apply ``change`` to the newest copy and write it; returns what was written.

        The steps are those of the module docstring.
        """
        what = f"images/{name}"
        for attempt in range(1, self._update_attempts + 1):
            # 1. the newest copy and its version
            current = self._parse(Image, await self._api.get(IMAGES, name), what)
            # 2. the change, on that copy
            updated = change(current)
            if updated is None or updated == current:
                return None
            # 3. a write that only succeeds if nobody wrote since step 1
            body = _conditional_body(updated, current, name)
            try:
                written = await self._api.replace(IMAGES, name, body)
            except ConflictError as err:
                # 4. someone else wrote: read again and re-apply
                log.debug("attempt %d to update %s lost a race: %s", attempt, what, err)
                await asyncio.sleep(0.01 * attempt * random.uniform(1.0, 2.0))  # noqa: S311
                continue
            return self._parse(Image, written, what)
        raise ConflictError(
            f"{self.description}: {what}: still conflicting after {self._update_attempts} "
            "attempts (concurrent writers keep changing it)"
        )

    # -- signatures -----------------------------------------------------------------------------

    async def create_signature(self, signature: ImageSignature) -> ImageSignature:
        """POST an ImageSignature (``<image>@<name>``); the server clears conditions and
        parsed fields, so record verification results with :meth:`update_image`."""
        created = await self._api.create(IMAGE_SIGNATURES, signature.to_json_dict())
        return self._parse(ImageSignature, created, f"imagesignatures/{signature.name}")

    async def delete_signature(self, name: str) -> None:
        await self._api.delete(IMAGE_SIGNATURES, name)

    # -- streams ------------------------------------------------------------------------------

    async def get_image_stream(self, namespace: str, name: str) -> ImageStream:
        raw = await self._api.get(IMAGE_STREAMS, name, namespace)
        return self._parse(ImageStream, raw, f"namespaces/{namespace}/imagestreams/{name}")

    async def get_image_stream_tag(self, namespace: str, name: str) -> ImageStreamTag:
        """``name`` is ``<stream>:<tag>``."""
        raw = await self._api.get(IMAGE_STREAM_TAGS, name, namespace)
        return self._parse(ImageStreamTag, raw, f"namespaces/{namespace}/imagestreamtags/{name}")

    async def namespace_labels(self, name: str) -> Mapping[str, str] | None:
        """The labels of namespace ``name``; None when it does not exist."""
        try:
            raw = await self._api.get(NAMESPACES, name)
        except NotFoundError:
            return None
        return self._parse(Namespace, raw, f"namespaces/{name}").labels

    async def watch_namespaces(self) -> AsyncGenerator[NamespaceEvent, None]:
        """Every Namespace, as :meth:`watch_images` reports images."""
        async with contextlib.aclosing(self._inform(NAMESPACES, Namespace, "namespaces")) as events:
            async for event_type, namespace in events:
                yield NamespaceEvent(event_type, namespace)

    async def get_image_stream_image(self, namespace: str, name: str) -> ImageStreamImage:
        """``name`` is ``<stream>@<digest>``: an image the stream has seen, signatures included."""
        raw = await self._api.get(IMAGE_STREAM_IMAGES, name, namespace)
        return self._parse(
            ImageStreamImage, raw, f"namespaces/{namespace}/imagestreamimages/{name}"
        )

    # -- key material -------------------------------------------------------------------------

    async def read_secret_key(self, namespace: str, name: str, key: str) -> bytes:
        """One key of a Secret's data (trust-store key material)."""
        what = f"namespaces/{namespace}/secrets/{name}"
        data = await self._api.secret_data(namespace, name)
        return self._decode(data, key, what)

    async def read_secret(self, namespace: str, name: str) -> tuple[str | None, dict[str, bytes]]:
        """A Secret's type and decoded data (registry pull secrets)."""
        what = f"namespaces/{namespace}/secrets/{name}"
        kind, data = await self._api.secret_type_and_data(namespace, name)
        return kind, {key: self._decode(data, key, what) for key in data}

    async def service_account_pull_secrets(self, namespace: str, name: str) -> tuple[str, ...]:
        return await self._api.service_account_pull_secrets(namespace, name)

    async def read_config_map_key(self, namespace: str, name: str, key: str) -> bytes:
        """``data[key]`` as UTF-8, or ``binaryData[key]`` decoded."""
        what = f"namespaces/{namespace}/configmaps/{name}"
        data, binary = await self._api.config_map_data(namespace, name)
        if key in data:
            return data[key].encode()
        return self._decode(binary, key, what)

    async def close(self) -> None:
        await self._api.close()

    # -- helpers ------------------------------------------------------------------------------

    def _parse(self, model: type[M], raw: JsonObject, what: str) -> M:
        try:
            return parse_as(model, raw)
        except InputError as err:
            raise SourceError(f"{self.description}: {what}: unreadable object: {err}") from None

    def _parse_items(self, items: list[JsonObject]) -> dict[str, Image]:
        return self._parse_all(Image, items, "images")

    def _parse_all(self, model: type[K], items: list[JsonObject], plural: str) -> dict[str, K]:
        """Objects by key; one the models cannot read is skipped with a warning, not fatal."""
        parsed: dict[str, K] = {}
        for raw in items:
            meta = raw.get("metadata") or {}
            where = f"{plural}/{meta.get('name')}"
            try:
                obj = self._parse(model, raw, where)
            except SourceError as err:
                log.warning("skipping an object: %s", err.diagnostics())
                continue
            parsed[_key(obj)] = obj
        return parsed

    def _watch_event(
        self, model: type[K], plural: str, event_type: str, raw: JsonObject
    ) -> tuple[EventType, K] | None:
        kind = _EVENT_TYPES.get(event_type)
        if kind is None:
            return None  # BOOKMARK: only its resourceVersion matters
        name = (raw.get("metadata") or {}).get("name")
        try:
            obj = self._parse(model, raw, f"{plural}/{name}")
        except SourceError as err:
            log.warning("skipping a watch event: %s", err.diagnostics())
            return None
        return kind, obj

    def _decode(self, data: Mapping[str, str], key: str, what: str) -> bytes:
        if key not in data:
            raise NotFoundError(f"{self.description}: {what}: no key {key!r}")
        try:
            return base64.b64decode(data[key], validate=True)
        except (binascii.Error, ValueError):
            raise SourceError(
                f"{self.description}: {what}: key {key!r} is not valid base64"
            ) from None


def _conditional_body(updated: Image, current: Image, name: str) -> JsonObject:
    """``updated`` as JSON, pinned to the name and resourceVersion that were read."""
    body = updated.to_json_dict()
    metadata = dict(body.get("metadata") or {})
    metadata["name"] = name
    version = current.metadata.resource_version if current.metadata else None
    if version:
        metadata["resourceVersion"] = version
    body["metadata"] = metadata
    return body


def _difference(
    model: type[K], before: dict[str, str | None], after: dict[str, K]
) -> list[tuple[EventType, K | None]]:
    """The events that turn what was reported into what a fresh list says (a DELETED event
    carries only the object's name and namespace: that is all that is kept of it)."""
    events: list[tuple[EventType, K | None]] = [
        ("ADDED" if key not in before else "MODIFIED", obj)
        for key, obj in after.items()
        if key not in before or before[key] is None or before[key] != _version(obj)
    ]
    for key in before.keys() - after.keys():
        namespace, _, name = key.rpartition("/")
        metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
        events.append(("DELETED", model.model_validate({"metadata": metadata})))
    return events


def _version(obj: KubeObject) -> str | None:
    return obj.metadata.resource_version if obj.metadata is not None else None


def _key(obj: KubeObject) -> str:
    """``name``, or ``namespace/name`` for a namespaced object."""
    meta = obj.metadata
    if meta is None:
        return ""
    return f"{meta.namespace}/{meta.name}" if meta.namespace else str(meta.name)


def _resource_version(raw: JsonObject) -> str | None:
    version = (raw.get("metadata") or {}).get("resourceVersion")
    return version if isinstance(version, str) and version else None
