"""The seam between the core and where image API objects live (STYLE.md 9).

Every source (the cluster's image API, a catalog folder) implements :class:`ImageSource`.
Reads return the typed models of :mod:`sigpolicy.api`; failures raise
:class:`~sigpolicy.errors.SourceError` (``source-unavailable``) or its subclass
:class:`~sigpolicy.errors.NotFoundError` when the source answered that the object does not
exist.

Writes are read-modify-write through a function: :meth:`ImageSource.update_image` reads the
newest copy, applies ``change`` to it and writes it with the version it read; on a conflict
it reads again and re-applies ``change``, so a concurrent writer's change is never lost.
``change`` returns ``None`` when there is nothing to write.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from sigpolicy.api import Image, ImageStream, ImageStreamTag, Namespace

ImageChange = Callable[[Image], Image | None]
EventType = Literal["ADDED", "MODIFIED", "DELETED", "SYNCED"]


@dataclass(frozen=True, slots=True)
class ImageEvent:
    """One change seen by a watch; ``SYNCED`` (image None) marks the end of the initial list."""

    type: EventType
    image: Image | None


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One ImageStream change seen by a watch; ``SYNCED`` (stream None) as for images."""

    type: EventType
    stream: ImageStream | None


@dataclass(frozen=True, slots=True)
class NamespaceEvent:
    """One Namespace change seen by a watch; ``SYNCED`` (namespace None) as for images."""

    type: EventType
    namespace: Namespace | None


class ImageSource(Protocol):
    """Read and write image API objects."""

    @property
    def description(self) -> str:
        """Where the objects come from, for messages (``catalog ./examples``, ``cluster ...``)."""
        ...

    async def get_image(self, name: str) -> Image: ...

    async def list_images(self) -> list[Image]: ...

    def watch_images(self) -> AsyncIterator[ImageEvent]:
        """Every image as ADDED, then SYNCED, then changes as they happen; never ends by itself."""
        ...

    async def update_image(self, name: str, change: ImageChange) -> Image | None:
        """Apply ``change`` to the newest copy and write it; returns what was written."""
        ...

    async def get_image_stream(self, namespace: str, name: str) -> ImageStream: ...

    async def get_image_stream_tag(self, namespace: str, name: str) -> ImageStreamTag:
        """``name`` is ``<stream>:<tag>``."""
        ...

    async def read_secret_key(self, namespace: str, name: str, key: str) -> bytes:
        """One key of a Secret's data (trust-store key material)."""
        ...

    async def read_config_map_key(self, namespace: str, name: str, key: str) -> bytes: ...

    async def close(self) -> None: ...


@runtime_checkable
class BatchImageSource(Protocol):
    """A source that writes many images at once more cheaply than one by one (a catalog
    file holding thousands of images is rewritten once, not once per image)."""

    async def update_images(
        self, names: Sequence[str], change: ImageChange
    ) -> dict[str, Image | None]: ...


@runtime_checkable
class RegistryHostsSource(Protocol):
    """A source that knows the integrated registry's hosts from its ImageStreams."""

    def registry_hosts(self) -> frozenset[str]: ...


@runtime_checkable
class NamespaceLabelsSource(Protocol):
    """A source that knows namespaces' labels (for a scope's ``namespaceSelector``)."""

    async def namespace_labels(self, name: str) -> Mapping[str, str] | None:
        """The labels of namespace ``name``; ``None`` when the namespace is not known."""
        ...


@runtime_checkable
class PullSecretSource(Protocol):
    """A source that reads pull secrets: Secrets and the ServiceAccounts that name them
    (registry credentials for the pod under review; ``docs/webhook.md``)."""

    async def read_secret(self, namespace: str, name: str) -> tuple[str | None, dict[str, bytes]]:
        """The Secret's ``type`` and its ``data``, decoded; NotFoundError when missing."""
        ...

    async def service_account_pull_secrets(self, namespace: str, name: str) -> tuple[str, ...]:
        """The names in the ServiceAccount's ``imagePullSecrets``; NotFoundError when missing."""
        ...


@runtime_checkable
class WatchedImageSource(Protocol):
    """A source whose reads come from caches kept current by watches: a cache on top of it
    would only delay a retag."""

    @property
    def synced(self) -> bool:
        """Whether the caches hold everything the server had when they started."""
        ...
