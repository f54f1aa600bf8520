"""Watch-kept caches of the cluster's workloads, for the background audit.

Each kind of :data:`~sigpolicy.sources.workload_kinds.WORKLOAD_KINDS` is listed in pages and
then watched (:meth:`~sigpolicy.sources.workloads_cluster.ClusterWorkloads.follow`): after the
first list, an audit costs the API server nothing but the watch events. Objects are kept
slim: the metadata the audit reads (name, namespace, uid, labels, annotations,
ownerReferences) and the pod spec's containers' names and images, in the object's own shape
(``spec``, ``spec.template`` or ``spec.jobTemplate``) with the template's annotations, so a
cluster's Pods cost a few hundred bytes each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sigpolicy.sources._kube import JsonObject
from sigpolicy.sources.workload_kinds import WorkloadKind
from sigpolicy.sources.workloads_cluster import ClusterWorkloads

__all__ = ["WatchedWorkloads", "slim"]

log = logging.getLogger(__name__)

_META_KEYS = ("name", "namespace", "uid", "labels", "annotations", "ownerReferences")
_CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")


def _slim_pod_spec(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, Mapping):
        return {}
    out: dict[str, Any] = {}
    for field in _CONTAINER_FIELDS:
        containers = spec.get(field)
        if isinstance(containers, list):
            out[field] = [
                {"name": c.get("name"), "image": c.get("image")}
                for c in containers
                if isinstance(c, Mapping)
            ]
    return out


def _slim_template(template: Any) -> dict[str, Any] | None:
    if not isinstance(template, Mapping) or not isinstance(template.get("spec"), Mapping):
        return None
    meta = template.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, Mapping) else None
    slimmed: dict[str, Any] = {"spec": _slim_pod_spec(template["spec"])}
    if isinstance(annotations, Mapping):
        slimmed["metadata"] = {"annotations": dict(annotations)}
    return slimmed


def slim(obj: Mapping[str, Any]) -> JsonObject:
    """What the audit reads of a workload, in the workload's own shape."""
    meta = obj.get("metadata")
    metadata = {k: meta[k] for k in _META_KEYS if k in meta} if isinstance(meta, Mapping) else {}
    spec = obj.get("spec")
    slim_spec: dict[str, Any] = {}
    if obj.get("kind") == "Pod":
        slim_spec = _slim_pod_spec(spec)
    elif isinstance(spec, Mapping):
        template = _slim_template(spec.get("template"))
        job = spec.get("jobTemplate")
        inner = job.get("spec") if isinstance(job, Mapping) else None
        job_template = _slim_template(inner.get("template")) if isinstance(inner, Mapping) else None
        if template is not None:
            slim_spec = {"template": template}
        elif job_template is not None:
            slim_spec = {"jobTemplate": {"spec": {"template": job_template}}}
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": metadata,
        "spec": slim_spec,
    }


class WatchedWorkloads:
    """Every workload of the cluster, kept current by one watch per kind."""

    def __init__(self, workloads: ClusterWorkloads) -> None:
        self.workloads = workloads
        self._objects: dict[tuple[str, str, str], JsonObject] = {}
        self._synced: set[WorkloadKind] = set()

    @property
    def synced(self) -> bool:
        return len(self._synced) == len(self.workloads.kinds)

    def __len__(self) -> int:
        return len(self._objects)

    def snapshot(self, namespaces: Sequence[str] | None = None) -> list[JsonObject]:
        """The workloads now (of ``namespaces`` when given); the objects are not copied and
        never changed in place (an event replaces an object)."""
        if namespaces is None:
            return list(self._objects.values())
        wanted = set(namespaces)
        return [obj for (_, ns, _), obj in self._objects.items() if ns in wanted]

    async def run(self) -> None:
        """Follow every kind until cancelled (a background task)."""
        async with asyncio.TaskGroup() as group:
            for kind in self.workloads.kinds:
                group.create_task(self._follow(kind))

    async def _follow(self, kind: WorkloadKind) -> None:
        async for event_type, obj in self.workloads.follow(kind):
            if event_type == "SYNCED":
                self._synced.add(kind)
                log.info("%s cache synced", kind.plural)
                continue
            if obj is None:
                continue
            meta = obj.get("metadata") or {}
            key = (kind.kind, str(meta.get("namespace") or ""), str(meta.get("name") or ""))
            if event_type == "DELETED":
                self._objects.pop(key, None)
            else:
                self._objects[key] = slim(obj)
