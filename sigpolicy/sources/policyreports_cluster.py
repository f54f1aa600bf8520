"""Writing the audit's PolicyReports and ClusterPolicyReport to the cluster.

For each report:

1. GET it; absent: POST it.
2. Present: PUT it with the ``resourceVersion`` just read (a concurrent writer's change makes
   the server refuse it with 409: read again and retry, a few times), keeping its other
   labels and annotations.
3. A report of ours (the ``app.kubernetes.io/managed-by: sigpolicy`` label, our name) in a
   namespace that has no workloads any more is emptied (no results, zero counts) rather than
   left saying what it said.

Only one replica writes: the caller holds the leader Lease.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sigpolicy.errors import ConflictError, NotFoundError, SourceError
from sigpolicy.sources._kube import (
    ALL_NAMESPACES,
    JsonObject,
    KubeApi,
    global_kind,
    namespaced_kind,
)

__all__ = ["PolicyReportWriter"]

log = logging.getLogger(__name__)

GROUP, VERSION = "wgpolicyk8s.io", "v1alpha2"
ATTEMPTS = 4
_KINDS: dict[str, Any] = {}


def _resource(kind: str) -> Any:
    """The generic resource, made once (the client library keeps a registry)."""
    if kind not in _KINDS:
        if kind == "PolicyReport":
            _KINDS[kind] = namespaced_kind(GROUP, VERSION, kind, "policyreports")
        else:
            _KINDS[kind] = global_kind(GROUP, VERSION, kind, "clusterpolicyreports")
    return _KINDS[kind]


class PolicyReportWriter:
    def __init__(self, api: KubeApi) -> None:
        self._api = api
        self.writes = 0

    async def write_all(
        self, reports: Sequence[JsonObject], *, name: str, managed: Mapping[str, str]
    ) -> None:
        """Steps 1-3 for ``reports`` (all named ``name``)."""
        written = {
            str(r["metadata"].get("namespace") or "")
            for r in reports
            if r["kind"] == "PolicyReport"
        }
        for report in reports:
            await self.write(report)
        existing, _ = await self._api.list(_resource("PolicyReport"), ALL_NAMESPACES)
        for old in existing:  # 3
            meta = old.get("metadata") or {}
            labels = meta.get("labels") or {}
            ours = meta.get("name") == name and all(labels.get(k) == v for k, v in managed.items())
            if ours and str(meta.get("namespace")) not in written and old.get("results"):
                emptied = {
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "kind": "PolicyReport",
                    "metadata": {
                        "name": name,
                        "namespace": meta.get("namespace"),
                        "labels": dict(managed),
                    },
                    "results": [],
                    "summary": dict.fromkeys(("pass", "fail", "warn", "error", "skip"), 0),
                }
                await self.write(emptied)

    async def write(self, report: JsonObject) -> None:
        kind = _resource(str(report["kind"]))
        meta = report["metadata"]
        name, namespace = str(meta["name"]), meta.get("namespace")
        for _ in range(ATTEMPTS):
            try:
                current = await self._api.get(kind, name, namespace)
            except NotFoundError:
                try:
                    await self._api.create(cast(Any, kind), report)  # 1
                except ConflictError:
                    continue  # created meanwhile: read it and replace it
                self.writes += 1
                return
            body = _over(report, current)
            try:
                await self._api.replace(cast(Any, kind), name, body)  # 2
            except ConflictError:
                continue
            self.writes += 1
            return
        where = f"{namespace}/{name}" if namespace else name
        raise SourceError(f"{self._api.description}: {report['kind']} {where}: still conflicting")


def _over(report: JsonObject, current: JsonObject) -> JsonObject:
    """``report`` written over ``current``: its version, and the labels and annotations
    others put there."""
    old = current.get("metadata") or {}
    metadata = dict(report["metadata"])
    metadata["resourceVersion"] = old.get("resourceVersion")
    metadata["labels"] = {**(old.get("labels") or {}), **(metadata.get("labels") or {})}
    if old.get("annotations"):
        metadata["annotations"] = old["annotations"]
    return {**report, "metadata": metadata}
