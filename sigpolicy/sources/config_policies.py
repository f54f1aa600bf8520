"""The cluster's ClusterImagePolicy and ImagePolicy objects, watched, as the webhook's policy.

``sigpolicy serve --cluster-image-policies`` decides with what the nodes enforce: the objects
the Machine Config Operator renders into CRI-O's policy files
(:mod:`sigpolicy.policy.openshift_policy`).

1. :meth:`ClusterPolicyWatcher.open` lists both kinds (every namespace for ImagePolicy) and
   builds the policy; a failure there is the webhook's load failing (it retries).
2. :meth:`ClusterPolicyWatcher.run` watches both from the list's ``resourceVersion``; a broken
   stream resumes from the last version seen (with backoff), a version the server no longer
   keeps (410) means list again, a stream silent past the server's timeout is presumed dead.
3. Changes rebuild the policy from all objects, whole, and replace it in one reference
   assignment (a decision in flight finishes with the policy it started with). A burst of
   changes (an operator applying many objects) is one rebuild, ``settle`` seconds after the
   first, made off the event loop (a cluster's thousands of objects take a fraction of a
   second, which reviews must not wait out). A set of objects that does not build (one bad
   object) is rejected whole: the last good policy stays, the error is logged once, counted and
   kept for ``/readyz``, as :class:`PolicyWatcher` does for files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from sigpolicy.errors import SigpolicyError, SourceError
from sigpolicy.policy.engine import Policy
from sigpolicy.policy.openshift_objects import parse_policy_object
from sigpolicy.policy.openshift_policy import build_openshift_policy
from sigpolicy.policy.openshift_translate import JsonObject
from sigpolicy.policy.watch import PolicyWatcher
from sigpolicy.sources._kube import (
    ALL_NAMESPACES,
    CLUSTER_IMAGE_POLICIES,
    IMAGE_POLICIES,
    GlobalKind,
    KubeApi,
    NamespacedKind,
    WatchExpiredError,
    WatchStalledError,
)
from sigpolicy.sources.cluster import DEFAULT_WATCH_SECONDS, WatchBackoff

log = logging.getLogger(__name__)

ORIGIN = "cluster"
Kind = GlobalKind | NamespacedKind


class ClusterPolicyWatcher(PolicyWatcher):
    """A :class:`PolicyWatcher` whose file is the cluster's objects (``path`` names them)."""

    def __init__(
        self,
        api: KubeApi,
        base: tuple[str, JsonObject] | None,
        *,
        base_dir: Path,
        backoff: WatchBackoff | None = None,
        watch_seconds: int = DEFAULT_WATCH_SECONDS,
        stall_margin: float = 30.0,
        settle: float = 0.1,
    ) -> None:
        # Not the file watcher's __init__: nothing is read from disk; the fields it keeps
        # for /readyz and the metrics are the same.
        self.api = api
        self.base = base
        self.base_dir = base_dir
        self.path = Path(f"{api.description}: clusterimagepolicies, imagepolicies")
        self.trust = None
        self.min_interval = 0.0
        self.reloads = 0
        self.reload_failures = 0
        self.last_error: str | None = None
        self._backoff = backoff or WatchBackoff()
        self._watch_seconds = watch_seconds
        self._stall_margin = stall_margin
        self._settle = settle
        self._dirty = asyncio.Event()
        self._objects: dict[tuple[str, str], JsonObject] = {}
        self._versions: dict[str, str] = {}
        self._policy: Policy = self._build(self._objects)

    @classmethod
    async def open(
        cls,
        api: KubeApi,
        base: tuple[str, JsonObject] | None,
        *,
        base_dir: Path,
        backoff: WatchBackoff | None = None,
        watch_seconds: int = DEFAULT_WATCH_SECONDS,
    ) -> ClusterPolicyWatcher:
        """Step 1: list both kinds and build the first policy (errors raise)."""
        watcher = cls(api, base, base_dir=base_dir, backoff=backoff, watch_seconds=watch_seconds)
        for kind, namespace in watcher._kinds():
            await watcher._relist(kind, namespace)
        watcher._policy = watcher._build(watcher._objects)
        return watcher

    def current(self, *, now: float) -> Policy:
        return self._policy

    @property
    def object_count(self) -> int:
        return len(self._objects)

    async def run(self) -> None:
        """Steps 2 and 3, for both kinds, until cancelled (a background task)."""
        async with asyncio.TaskGroup() as group:
            for kind, namespace in self._kinds():
                group.create_task(self._follow(kind, namespace))
            group.create_task(self._rebuilder())

    def _kinds(self) -> tuple[tuple[Kind, str | None], ...]:
        return ((CLUSTER_IMAGE_POLICIES, None), (IMAGE_POLICIES, ALL_NAMESPACES))

    async def _relist(self, kind: Kind, namespace: str | None) -> None:
        plural = kind._api_info.plural
        items, version = await self.api.list(kind, namespace)
        for key in [k for k in self._objects if k[0] == plural]:
            del self._objects[key]
        for item in items:
            self._objects[(plural, _name(item))] = item
        self._versions[plural] = version

    async def _follow(self, kind: Kind, namespace: str | None) -> None:
        plural = kind._api_info.plural
        backoff = WatchBackoff(self._backoff.initial, self._backoff.maximum)
        while True:
            try:
                async with contextlib.aclosing(
                    self.api.watch(
                        kind,
                        self._versions[plural],
                        server_timeout=self._watch_seconds,
                        stall_after=self._watch_seconds + self._stall_margin,
                        namespace=namespace,
                    )
                ) as events:
                    async for event_type, raw in events:
                        backoff.reset()
                        version = (raw.get("metadata") or {}).get("resourceVersion")
                        if isinstance(version, str) and version:
                            self._versions[plural] = version
                        if event_type == "DELETED":
                            self._objects.pop((plural, _name(raw)), None)
                        elif event_type in ("ADDED", "MODIFIED"):
                            self._objects[(plural, _name(raw))] = raw
                        else:
                            continue  # BOOKMARK: only its version matters
                        self._dirty.set()
            except WatchExpiredError as err:
                log.info("watch expired, listing %s again: %s", plural, err.diagnostics())
                await self._relist_until_done(kind, namespace, backoff)
                self._dirty.set()
            except WatchStalledError as err:
                log.info("%s watch went silent, resuming: %s", plural, err.diagnostics())
            except SourceError as err:
                log.warning("%s watch broke, resuming: %s", plural, err.diagnostics())
                await backoff.sleep()

    async def _relist_until_done(
        self, kind: Kind, namespace: str | None, backoff: WatchBackoff
    ) -> None:
        while True:
            try:
                await self._relist(kind, namespace)
                return
            except SourceError as err:
                log.warning("listing failed, retrying: %s", err.diagnostics())
                await backoff.sleep()

    async def _rebuilder(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(self._settle)
            self._dirty.clear()
            await self._rebuild(dict(self._objects))

    async def _rebuild(self, objects: dict[tuple[str, str], JsonObject]) -> None:
        try:
            policy = await asyncio.to_thread(self._build, objects)
        except SigpolicyError as exc:
            message = exc.diagnostics()
            if message != self.last_error:
                self.reload_failures += 1
                log.warning("image policies rejected, keeping the last good policy: %s", message)
            self.last_error = message
            return
        self._policy = policy
        self.reloads += 1
        self.last_error = None
        log.info("image policies reloaded: %d objects", len(objects))

    def _build(self, objects: dict[tuple[str, str], JsonObject]) -> Policy:
        parsed = [
            parse_policy_object(_with_kind(raw, plural), origin=f"{ORIGIN} {plural}/{key}")
            for (plural, key), raw in sorted(objects.items())
        ]
        return build_openshift_policy(
            parsed, self.base, origin=f"{ORIGIN} image policies", base_dir=self.base_dir
        )


def _name(raw: JsonObject) -> str:
    """``name``, or ``namespace/name`` for an ImagePolicy."""
    meta = raw.get("metadata") or {}
    name = str(meta.get("name", ""))
    namespace = meta.get("namespace")
    return f"{namespace}/{name}" if namespace else name


def _with_kind(raw: JsonObject, plural: str) -> dict[str, Any]:
    """List items may come without ``apiVersion``/``kind``; the plural says which."""
    kind = "ClusterImagePolicy" if plural == "clusterimagepolicies" else "ImagePolicy"
    return {"apiVersion": "config.openshift.io/v1", "kind": kind, **raw}
