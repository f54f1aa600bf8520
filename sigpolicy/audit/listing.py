"""Where an audit's workloads come from: the catalog folder's objects, or the cluster's.

A catalog folder holds workloads as ``oc get -o yaml`` prints them (one object per document,
or ``kind: List``) beside its image API objects; the cluster's are listed in pages
(:mod:`sigpolicy.sources.workloads_cluster`). Any other source has no workloads to audit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sigpolicy.errors import InputError
from sigpolicy.sources.base import ImageSource
from sigpolicy.sources.catalog import CatalogSource
from sigpolicy.sources.cluster import ClusterSource
from sigpolicy.sources.workload_kinds import WORKLOAD_KINDS
from sigpolicy.sources.workloads_cluster import ClusterWorkloads

__all__ = ["list_workloads"]

_KINDS = {kind.kind for kind in WORKLOAD_KINDS}
STEP = 1000


async def list_workloads(
    source: ImageSource, namespaces: Sequence[str] | None = None, *, pause: float | None = None
) -> list[dict[str, Any]]:
    """Every workload object of ``source`` (of ``namespaces`` when given); objects of other
    kinds are left out here, pod-bearing or not is decided by the inventory. With ``pause``,
    a catalog's objects are gone through sleeping that long every thousand (the background
    audit shares the event loop with reviews)."""
    if isinstance(source, CatalogSource):
        wanted = set(namespaces) if namespaces else None
        found = []
        for index, (path, obj) in enumerate(source.objects()):
            if pause is not None and index % STEP == STEP - 1:
                await asyncio.sleep(pause)
            kind = obj.get("kind")
            if kind in ("Image", "ImageStream", "ImageStreamTag", "Namespace"):
                continue
            meta = obj.get("metadata")
            if not isinstance(meta, dict):
                if kind in _KINDS:
                    raise InputError(f"{path}: a {kind} without metadata")
                continue
            if wanted is not None and str(meta.get("namespace") or "default") not in wanted:
                continue
            found.append(obj)
        return found
    if isinstance(source, ClusterSource):
        return await ClusterWorkloads(source.api).list_all(namespaces)
    raise InputError(f"{source.description}: no workloads to audit (give a catalog or a cluster)")
