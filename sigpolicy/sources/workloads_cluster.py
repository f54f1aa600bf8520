"""The cluster's workloads (Pods and every pod-bearing controller), listed and watched.

1. :meth:`ClusterWorkloads.list_all` lists each kind of
   :data:`~sigpolicy.sources.workload_kinds.WORKLOAD_KINDS` in pages (``limit`` and
   ``continue``, 500 objects a page: the API server never builds one huge answer), across
   every namespace or in the namespaces asked for. A kind the server does not serve (404:
   DeploymentConfigs on plain Kubernetes) is left out; any other failure raises
   :class:`~sigpolicy.errors.SourceError`: an audit of part of a cluster must not pass for
   an audit of all of it.
2. :meth:`ClusterWorkloads.follow` is the list-then-watch loop of one kind for the background
   audit's caches: every object as ADDED, then SYNCED, then changes; a broken stream is
   resumed from the last version seen, a version the server no longer keeps (410) means list
   again and report the difference. It never ends by itself.

List items come without ``kind`` and ``apiVersion`` (the API server leaves them out of a
list's items); both are filled in from the kind listed.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from sigpolicy.errors import NotFoundError, SourceError
from sigpolicy.sources._kube import (
    ALL_NAMESPACES,
    JsonObject,
    KubeApi,
    NamespacedKind,
    WatchExpiredError,
    WatchStalledError,
    namespaced_kind,
)
from sigpolicy.sources.base import EventType
from sigpolicy.sources.cluster import WatchBackoff
from sigpolicy.sources.workload_kinds import WORKLOAD_KINDS, WorkloadKind

__all__ = ["ClusterWorkloads"]

log = logging.getLogger(__name__)

WATCH_SECONDS = 300
STALL_MARGIN = 30.0


class ClusterWorkloads:
    """Workloads read through one :class:`~sigpolicy.sources._kube.KubeApi` connection."""

    def __init__(
        self,
        api: KubeApi,
        kinds: Sequence[WorkloadKind] = WORKLOAD_KINDS,
        *,
        watch_backoff: WatchBackoff | None = None,
        watch_seconds: int = WATCH_SECONDS,
    ) -> None:
        self._api = api
        self.kinds = tuple(kinds)
        self._resources = {kind: resource_of(kind) for kind in self.kinds}
        self._backoff = watch_backoff or WatchBackoff()
        self._watch_seconds = watch_seconds

    @property
    def description(self) -> str:
        return self._api.description

    async def list_kind(
        self, kind: WorkloadKind, namespace: str | None = None
    ) -> tuple[list[JsonObject], str] | None:
        """Every object of ``kind`` (paginated) and the list's version; None when the server
        does not serve the kind."""
        try:
            items, version = await self._api.list(
                self._resources[kind], namespace or ALL_NAMESPACES
            )
        except NotFoundError:
            return None
        return [_typed(kind, item) for item in items], version

    async def list_all(self, namespaces: Sequence[str] | None = None) -> list[JsonObject]:
        """Every workload of every kind (rule 1)."""
        found: list[JsonObject] = []
        for kind in self.kinds:
            for namespace in namespaces or (None,):
                listed = await self.list_kind(kind, namespace)
                if listed is None:
                    log.info("%s: %s are not served; left out", self.description, kind.plural)
                    break
                found.extend(listed[0])
        return found

    async def follow(
        self, kind: WorkloadKind
    ) -> AsyncGenerator[tuple[EventType, JsonObject | None], None]:
        """Rule 2, for one kind across every namespace."""
        backoff = WatchBackoff(self._backoff.initial, self._backoff.maximum)
        resource = self._resources[kind]
        known: dict[tuple[str, str], str] | None = None
        while True:
            try:
                listed = await self.list_kind(kind)
            except SourceError as err:
                log.warning("listing %s failed, retrying: %s", kind.plural, err.diagnostics())
                await backoff.sleep()
                continue
            if listed is None:  # not served here: report an empty, synced kind
                if known is None:
                    yield "SYNCED", None
                    known = {}
                await backoff.sleep()
                continue
            items, version = listed
            current = {_key(item): item for item in items}
            if known is None:
                for item in current.values():
                    yield "ADDED", item
                yield "SYNCED", None
            else:
                for change in _difference(kind, known, current):
                    yield change
            known = {key: _version(item) for key, item in current.items()}
            del current, items
            backoff.reset()
            while True:
                try:
                    async with contextlib.aclosing(
                        self._api.watch(
                            resource,
                            version,
                            server_timeout=self._watch_seconds,
                            stall_after=self._watch_seconds + STALL_MARGIN,
                            namespace=ALL_NAMESPACES,
                        )
                    ) as events:
                        async for event_type, raw in events:
                            version = _version(raw) or version
                            backoff.reset()
                            if event_type not in ("ADDED", "MODIFIED", "DELETED"):
                                continue  # BOOKMARK: only its version matters
                            item = _typed(kind, raw)
                            if event_type == "DELETED":
                                known.pop(_key(item), None)
                                yield "DELETED", item
                            else:
                                known[_key(item)] = _version(item)
                                yield ("ADDED" if event_type == "ADDED" else "MODIFIED"), item
                except WatchExpiredError as err:
                    log.info("%s watch expired, listing again: %s", kind.plural, err.diagnostics())
                    break
                except WatchStalledError as err:
                    log.info("%s watch went silent, resuming: %s", kind.plural, err.diagnostics())
                except SourceError as err:
                    log.warning("%s watch broke, resuming: %s", kind.plural, err.diagnostics())
                    await backoff.sleep()


@functools.cache
def resource_of(kind: WorkloadKind) -> NamespacedKind:
    """The generic resource of ``kind``, made once (the client library keeps a registry)."""
    return namespaced_kind(kind.group, kind.version, kind.kind, kind.plural)


def _typed(kind: WorkloadKind, item: JsonObject) -> JsonObject:
    if item.get("kind") and item.get("apiVersion"):
        return item
    return {**item, "kind": kind.kind, "apiVersion": kind.api_version}


def _key(item: JsonObject) -> tuple[str, str]:
    meta: Any = item.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _version(item: JsonObject) -> str:
    meta: Any = item.get("metadata") or {}
    version = meta.get("resourceVersion")
    return version if isinstance(version, str) else ""


def _difference(
    kind: WorkloadKind, before: dict[tuple[str, str], str], after: dict[tuple[str, str], JsonObject]
) -> list[tuple[EventType, JsonObject | None]]:
    """The events that turn what was reported into what a fresh list says."""
    events: list[tuple[EventType, JsonObject | None]] = [
        ("ADDED" if key not in before else "MODIFIED", item)
        for key, item in after.items()
        if key not in before or before[key] != _version(item) or not before[key]
    ]
    for namespace, name in before.keys() - after.keys():
        gone = {"metadata": {"namespace": namespace, "name": name}}
        events.append(("DELETED", _typed(kind, gone)))
    return events
