"""The only module that touches the Kubernetes client library, lightkube (STYLE.md 10).

Everything above it sees raw JSON objects (plain dicts, exactly as the server sent them, so
the image API models round-trip them) and sigpolicy's own errors, each one line that names
the cluster and the object:

- no answer (connection refused, reset, timeout) and 5xx: :class:`SourceError`;
- 404: :class:`NotFoundError`; 409 (stale ``resourceVersion``, or a name already taken):
  :class:`ConflictError`; 410 on a watch: :class:`WatchExpiredError`;
- any other status, and an answer that is not what the API promises: :class:`SourceError`.

The image API kinds are lightkube *generic* resources, so objects are never decoded into the
library's own models (which would drop fields this code does not know).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2
from lightkube import ApiError, AsyncClient, ConfigError, KubeConfig, SingleConfig
from lightkube.generic_resource import (
    GenericGlobalResource,
    GenericNamespacedResource,
    create_global_resource,
    create_namespaced_resource,
)
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import ConfigMap, Secret, ServiceAccount
from lightkube.types import on_error_raise

from sigpolicy.errors import ConflictError, InputError, NotFoundError, SourceError

JsonObject = dict[str, Any]
GlobalKind = type[GenericGlobalResource]
NamespacedKind = type[GenericNamespacedResource]

_IMAGE_GROUP = "image.openshift.io"
IMAGES: GlobalKind = create_global_resource(_IMAGE_GROUP, "v1", "Image", "images")
IMAGE_SIGNATURES: GlobalKind = create_global_resource(
    _IMAGE_GROUP, "v1", "ImageSignature", "imagesignatures"
)
IMAGE_STREAMS: NamespacedKind = create_namespaced_resource(
    _IMAGE_GROUP, "v1", "ImageStream", "imagestreams"
)
IMAGE_STREAM_TAGS: NamespacedKind = create_namespaced_resource(
    _IMAGE_GROUP, "v1", "ImageStreamTag", "imagestreamtags"
)
IMAGE_STREAM_IMAGES: NamespacedKind = create_namespaced_resource(
    _IMAGE_GROUP, "v1", "ImageStreamImage", "imagestreamimages"
)

# OpenShift's sigstore image policies (config.openshift.io/v1), read as plain JSON too.
_CONFIG_GROUP = "config.openshift.io"
CLUSTER_IMAGE_POLICIES: GlobalKind = create_global_resource(
    _CONFIG_GROUP, "v1", "ClusterImagePolicy", "clusterimagepolicies"
)
IMAGE_POLICIES: NamespacedKind = create_namespaced_resource(
    _CONFIG_GROUP, "v1", "ImagePolicy", "imagepolicies"
)

# lightkube's spelling of "every namespace" for a namespaced kind's list and watch.
ALL_NAMESPACES = "*"
# Generic, like the image API kinds, so the objects come as plain JSON.
NAMESPACES: GlobalKind = create_global_resource("", "v1", "Namespace", "namespaces")


def namespaced_kind(group: str, version: str, kind: str, plural: str) -> NamespacedKind:
    """A generic namespaced kind of any API (workloads, policy reports): plain JSON objects."""
    return create_namespaced_resource(group, version, kind, plural)


def global_kind(group: str, version: str, kind: str, plural: str) -> GlobalKind:
    """A generic cluster-scoped kind of any API, as :func:`namespaced_kind`."""
    return create_global_resource(group, version, kind, plural)


SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
_FIELD_MANAGER = "sigpolicy"


class WatchExpiredError(SourceError):
    """The watch's ``resourceVersion`` is older than the server keeps (410 Gone): re-list."""


class WatchStalledError(SourceError):
    """A watch stream went silent past the server's own timeout: resume it."""


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """The fields of a coordination.k8s.io/v1 Lease that leader election reads and writes."""

    holder: str
    duration_seconds: int | None
    acquire_time: datetime | None
    renew_time: datetime | None
    transitions: int
    resource_version: str | None = None


class KubeApi:
    """One authenticated connection pool to one API server, with a per-request timeout."""

    def __init__(self, config: SingleConfig, *, timeout: float, origin: str) -> None:
        self.timeout = timeout
        self.server = str(config.cluster.server)
        self.description = f"cluster {self.server}"
        try:
            self._client = AsyncClient(
                config, timeout=httpx2.Timeout(timeout), field_manager=_FIELD_MANAGER
            )
        except (AssertionError, ConfigError, OSError, ValueError) as err:
            # lightkube asserts that the context names a user; ssl raises for bad CA files.
            detail = _one_line(str(err)) or "the context has no user"
            raise InputError(f"{origin}: cannot configure a client: {detail}") from None

    @classmethod
    def from_kubeconfig(
        cls, path: str | os.PathLike[str], *, context: str | None, timeout: float
    ) -> KubeApi:
        origin = f"kubeconfig {os.fspath(path)}"
        try:
            config = KubeConfig.from_file(path).get(context_name=context)
        except Exception as err:  # YAML errors, missing keys, wrong shapes: all "unusable file"
            raise InputError(f"{origin}: {_one_line(str(err)) or type(err).__name__}") from None
        if config is None:  # only when a default is given; kept for the type checker
            raise InputError(f"{origin}: no context")
        return cls(config, timeout=timeout, origin=origin)

    @classmethod
    def in_cluster(cls, *, timeout: float, service_account_dir: Path) -> KubeApi:
        origin = "in-cluster config"
        try:
            config = KubeConfig.from_service_account(service_account_dir).get()
        except KeyError as err:
            raise InputError(
                f"{origin}: {err.args[0]} is not set (not running in a pod?)"
            ) from None
        except (ConfigError, OSError) as err:
            raise InputError(f"{origin}: {_one_line(str(err))}") from None
        if config is None:
            raise InputError(f"{origin}: no context")
        return cls(config, timeout=timeout, origin=origin)

    # -- generic image API objects ----------------------------------------------------------

    async def get(
        self, kind: GlobalKind | NamespacedKind, name: str, namespace: str | None = None
    ) -> JsonObject:
        what = _what(kind, name, namespace)
        try:
            obj = await self._client.get(_any(kind), self._segment(name, what), namespace=namespace)
        except Exception as err:
            raise self.error(what, err) from None
        return _plain(obj, what, self)

    async def list(
        self, kind: GlobalKind | NamespacedKind, namespace: str | None = None
    ) -> tuple[list[JsonObject], str]:
        """Every object (fetched in pages) and the list's resourceVersion."""
        what = _what(kind, None, namespace)
        try:
            listing = self._client.list(_any(kind), namespace=namespace, chunk_size=500)
            items = [_plain(obj, what, self) async for obj in listing]
            version = listing.resourceVersion
        except SourceError:
            raise
        except Exception as err:
            raise self.error(what, err) from None
        return items, version

    async def watch(
        self,
        kind: GlobalKind | NamespacedKind,
        resource_version: str,
        *,
        server_timeout: int,
        stall_after: float,
        namespace: str | None = None,
    ) -> AsyncGenerator[tuple[str, JsonObject], None]:
        """Events after ``resource_version``; lightkube resumes a stream the server ended.

        Ends only by raising: :class:`WatchExpiredError` when the version is too old,
        :class:`SourceError` when the stream broke, and :class:`WatchStalledError` when
        nothing came for ``stall_after`` seconds. A live server ends every stream after
        ``server_timeout``; a connection that died silently (no FIN, no RST) would otherwise
        be waited on forever, with the caches it feeds going stale.
        """
        what = f"watch {_what(kind, None, namespace)}"
        stream: Any = self._client.watch(
            _any(kind),
            namespace=namespace,
            resource_version=resource_version,
            server_timeout=server_timeout,
            on_error=on_error_raise,
        )
        async with contextlib.aclosing(stream) as events:
            while True:
                try:
                    async with asyncio.timeout(stall_after):
                        event_type, obj = await anext(events)
                except TimeoutError:
                    raise WatchStalledError(
                        f"{self.description}: {what}: nothing for {stall_after:g} s"
                    ) from None
                except StopAsyncIteration:
                    raise SourceError(f"{self.description}: {what}: stream ended") from None
                except Exception as err:
                    raise self.error(what, err) from None
                yield str(event_type), _plain(obj, what, self)

    async def replace(self, kind: GlobalKind, name: str, obj: JsonObject) -> JsonObject:
        """PUT ``obj``; its ``metadata.resourceVersion`` makes the write conditional."""
        what = _what(kind, name, None)
        self._segment(name, what)
        try:
            written = await self._client.replace(kind(**obj))
        except Exception as err:
            raise self.error(what, err) from None
        return _plain(written, what, self)

    async def create(self, kind: GlobalKind, obj: JsonObject) -> JsonObject:
        what = _what(kind, None, None)
        try:
            created = await self._client.create(kind(**obj))
        except Exception as err:
            raise self.error(what, err) from None
        return _plain(created, what, self)

    async def delete(self, kind: GlobalKind, name: str) -> None:
        what = _what(kind, name, None)
        try:
            await self._client.delete(kind, self._segment(name, what))
        except Exception as err:
            raise self.error(what, err) from None

    # -- core kinds -------------------------------------------------------------------------

    async def secret_data(self, namespace: str, name: str) -> dict[str, str]:
        """A Secret's ``data`` (values still base64)."""
        what = f"namespaces/{namespace}/secrets/{name}"
        try:
            secret = await self._client.get(Secret, self._segment(name, what), namespace=namespace)
        except Exception as err:
            raise self.error(what, err) from None
        return dict(secret.data or {})

    async def secret_type_and_data(
        self, namespace: str, name: str
    ) -> tuple[str | None, dict[str, str]]:
        """A Secret's ``type`` and ``data`` (values still base64)."""
        what = f"namespaces/{namespace}/secrets/{name}"
        try:
            secret = await self._client.get(Secret, self._segment(name, what), namespace=namespace)
        except Exception as err:
            raise self.error(what, err) from None
        return secret.type, dict(secret.data or {})

    async def service_account_pull_secrets(self, namespace: str, name: str) -> tuple[str, ...]:
        """The names a ServiceAccount lists in ``imagePullSecrets``."""
        what = f"namespaces/{namespace}/serviceaccounts/{name}"
        try:
            account = await self._client.get(
                ServiceAccount, self._segment(name, what), namespace=namespace
            )
        except Exception as err:
            raise self.error(what, err) from None
        return tuple(ref.name for ref in account.imagePullSecrets or () if ref.name)

    async def config_map_data(
        self, namespace: str, name: str
    ) -> tuple[dict[str, str], dict[str, str]]:
        """A ConfigMap's ``data`` and ``binaryData`` (base64)."""
        what = f"namespaces/{namespace}/configmaps/{name}"
        try:
            config_map = await self._client.get(
                ConfigMap, self._segment(name, what), namespace=namespace
            )
        except Exception as err:
            raise self.error(what, err) from None
        return dict(config_map.data or {}), dict(config_map.binaryData or {})

    # -- leases -----------------------------------------------------------------------------

    async def get_lease(self, namespace: str, name: str) -> LeaseRecord:
        what = f"namespaces/{namespace}/leases/{name}"
        try:
            lease = await self._client.get(Lease, self._segment(name, what), namespace=namespace)
        except Exception as err:
            raise self.error(what, err) from None
        return _lease_record(lease)

    async def create_lease(self, namespace: str, name: str, record: LeaseRecord) -> LeaseRecord:
        what = f"namespaces/{namespace}/leases"
        try:
            lease = await self._client.create(_lease(namespace, name, record))
        except Exception as err:
            raise self.error(what, err) from None
        return _lease_record(lease)

    async def replace_lease(self, namespace: str, name: str, record: LeaseRecord) -> LeaseRecord:
        what = f"namespaces/{namespace}/leases/{name}"
        self._segment(name, what)
        try:
            lease = await self._client.replace(_lease(namespace, name, record))
        except Exception as err:
            raise self.error(what, err) from None
        return _lease_record(lease)

    async def close(self) -> None:
        await self._client.close()

    # -- errors -----------------------------------------------------------------------------

    def _segment(self, name: str, what: str) -> str:
        """``name`` as one URL path segment; a name that cannot exist is never sent.

        Kubernetes refuses ``.``, ``..`` and names with ``/`` or ``%`` in a path segment;
        ``?`` and ``#`` would end the path of the URL that lightkube builds for a PUT.
        """
        if not name or name in (".", "..") or any(c in name for c in "/%?#"):
            raise NotFoundError(f"{self.description}: {what}: not a valid object name")
        return quote(name, safe=":@")

    def error(self, what: str, err: Exception) -> SourceError:
        """The sigpolicy error for a failed request, as one line naming cluster and object."""
        prefix = f"{self.description}: {what}"
        if isinstance(err, SourceError):
            return err
        if isinstance(err, ApiError | httpx2.HTTPStatusError):
            code, text = _status_of(err)
            if code == 404:
                return NotFoundError(f"{prefix}: not found")
            if code == 409:
                return ConflictError(f"{prefix}: {text}")
            if code == 410:
                return WatchExpiredError(f"{prefix}: {text}")
            return SourceError(f"{prefix}: {text}")
        if isinstance(err, httpx2.TimeoutException):
            return SourceError(f"{prefix}: no answer within {self.timeout:g} s")
        if isinstance(err, httpx2.ConnectError):
            return SourceError(f"{prefix}: cannot connect: {_connect_failure(err)}")
        if isinstance(err, httpx2.HTTPError):
            detail = _one_line(str(err)) or type(err).__name__
            return SourceError(f"{prefix}: request failed: {detail}")
        detail = _one_line(str(err)) or type(err).__name__
        return SourceError(f"{prefix}: unexpected answer: {detail}")


def _status_of(err: ApiError | httpx2.HTTPStatusError) -> tuple[int, str]:
    """The code and a short text of an error status, from a Status body when there is one."""
    if isinstance(err, ApiError) and err.status is not None:
        status = err.status
        # A watch's ERROR event becomes an ApiError without a response.
        response: httpx2.Response | None = getattr(err, "response", None)
        code = status.code or (response.status_code if response is not None else 0)
        head = " ".join(part for part in (f"HTTP {code}", status.reason) if part)
        message = _one_line(status.message or "")
        return code, f"{head}: {message}" if message else head
    response = err.response
    return response.status_code, f"HTTP {response.status_code} {response.reason_phrase}".rstrip()


def _connect_failure(err: BaseException) -> str:
    """The operating system's words for a failed connect ("Connection refused"), when known."""
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno is not None:
            return os.strerror(cause.errno).lower()
        cause = cause.__cause__ or cause.__context__
    return _one_line(str(err)) or type(err).__name__


def _what(kind: GlobalKind | NamespacedKind, name: str | None, namespace: str | None) -> str:
    plural = kind._api_info.plural
    path = (
        f"namespaces/{namespace}/{plural}" if namespace and namespace != ALL_NAMESPACES else plural
    )
    return f"{path}/{name}" if name is not None else path


def _plain(obj: Any, what: str, api: KubeApi) -> JsonObject:
    if not isinstance(obj, dict):
        raise SourceError(f"{api.description}: {what}: the answer is not a JSON object")
    to_dict = getattr(obj, "to_dict", None)
    data: JsonObject = to_dict() if callable(to_dict) else dict(obj)
    return data


def _any(kind: GlobalKind | NamespacedKind) -> Any:
    """lightkube types ``get`` and ``list`` per scope; one code path serves both scopes here."""
    return kind


def _lease(namespace: str, name: str, record: LeaseRecord) -> Lease:
    return Lease(
        metadata=ObjectMeta(
            name=name, namespace=namespace, resourceVersion=record.resource_version
        ),
        spec=LeaseSpec(
            holderIdentity=record.holder,
            leaseDurationSeconds=record.duration_seconds,
            acquireTime=_micro_time(record.acquire_time),
            renewTime=_micro_time(record.renew_time),
            leaseTransitions=record.transitions,
        ),
    )


def _micro_time(moment: datetime | None) -> datetime | None:
    """A time that serializes with the six fraction digits metav1.MicroTime requires.

    The apiserver parses MicroTime with the layout ``2006-01-02T15:04:05.000000Z07:00``, which
    rejects a time without a fraction; msgspec omits the fraction when it is zero.
    """
    if moment is None or moment.microsecond:
        return moment
    return moment.replace(microsecond=1)


def _lease_record(lease: Lease) -> LeaseRecord:
    spec = lease.spec or LeaseSpec()
    return LeaseRecord(
        holder=spec.holderIdentity or "",
        duration_seconds=spec.leaseDurationSeconds,
        acquire_time=spec.acquireTime,
        renew_time=spec.renewTime,
        transitions=spec.leaseTransitions or 0,
        resource_version=lease.metadata.resourceVersion if lease.metadata else None,
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())
