"""The background audit of ``sigpolicy serve --audit-interval`` (sigpolicy.audit.background),
wired to the webhook's runtime.

1. Workloads: with a cluster source, caches of every workload kind, listed in pages and then
   kept by watches (:class:`~sigpolicy.sources.workloads_watch.WatchedWorkloads`, a background
   task of their own); with a catalog, its workload documents, as re-read by the catalog's
   refresh.
2. Decisions: the webhook's own Admission, so the audit sees the policy in force and shares
   the image caches and the verification cache with live reviews.
3. Reports: with ``--audit-lease NAMESPACE/NAME`` (cluster only) the audit runs in the replica
   that holds the Lease and writes PolicyReports; the others wait to lead. Without a lease
   the audit runs in every replica and only the metrics show it.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sigpolicy.admission.engine import Admission
from sigpolicy.audit.background import PAUSE, AuditStatus, BackgroundAudit
from sigpolicy.audit.listing import list_workloads
from sigpolicy.cli.serve_cmd import ServeOptions
from sigpolicy.sources.base import ImageSource
from sigpolicy.sources.catalog import CatalogSource
from sigpolicy.sources.cluster import ClusterSource
from sigpolicy.sources.informer import WatchedSource
from sigpolicy.sources.policyreports_cluster import PolicyReportWriter
from sigpolicy.sources.workloads_cluster import ClusterWorkloads
from sigpolicy.sources.workloads_watch import WatchedWorkloads
from webhook.state import BackgroundTask

__all__ = ["start_background_audit"]

log = logging.getLogger("sigpolicy.webhook")


class QuietCollector:
    """What each background audit runs inside: no cyclic garbage collection meanwhile.

    The catalog or the watch-kept caches hold hundreds of thousands of long-lived objects,
    and the audit allocates as many again: full collections triggered while it ran paused
    the event loop for 75-245 ms with 30,000 workloads (and 20-50 ms with the long-lived
    objects frozen), far above a review's few milliseconds. So the objects there at the
    first audit are frozen (never rescanned), collection is off while an audit runs (a few
    seconds; the audit's own objects are freed by reference counting, and cyclic garbage of
    reviews waits until it ends), and what is alive when it ends is frozen too. Frozen
    objects are still freed when their last reference goes; only a reference cycle among
    them would never be collected. Measured with benchmarks/bench_webhook.py
    --audit-workloads.
    """

    def __init__(self) -> None:
        self.frozen = False

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        if not self.frozen:
            gc.freeze()
            self.frozen = True
        enabled = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            # What the audit left alive (verdicts and lookups kept in caches) is long-lived
            # too: a first young collection over all of it paused the loop 35 ms.
            gc.freeze()
            if enabled:
                gc.enable()


def start_background_audit(
    options: ServeOptions,
    admission: Admission,
    source: ImageSource | None,
    clock: Callable[[], float],
    background: list[BackgroundTask],
    *,
    identity: str | None = None,
) -> AuditStatus:
    """Add the audit's background tasks to ``background``; returns its status (for metrics)."""
    interval = float(options.audit_interval or 0)
    cluster = source.inner if isinstance(source, WatchedSource) else source
    writer: PolicyReportWriter | None = None
    if isinstance(cluster, ClusterSource):  # 1
        watched = WatchedWorkloads(ClusterWorkloads(cluster.api))
        background.append(watched.run)

        async def workloads() -> Sequence[Mapping[str, Any]] | None:
            return watched.snapshot() if watched.synced else None

        if options.audit_lease:
            writer = PolicyReportWriter(cluster.api)
    elif isinstance(cluster, CatalogSource):
        catalog = cluster

        async def workloads() -> Sequence[Mapping[str, Any]] | None:
            return await list_workloads(catalog, pause=PAUSE)

    else:
        raise ValueError("the background audit needs a catalog or a cluster source")
    audit = BackgroundAudit(
        admission,
        admission.policy,  # 2
        workloads,
        interval=interval,
        writer=writer,
        policy_name=options.policy.stem,
        clock=clock,
        around=QuietCollector(),
    )
    if writer is None or not isinstance(cluster, ClusterSource) or not options.audit_lease:
        background.append(audit.run)
        return audit.status
    namespace, _, name = options.audit_lease.partition("/")  # 3
    elector = cluster.leader_elector(
        namespace=namespace,
        name=name,
        identity=identity or f"{socket.gethostname()}-{os.getpid()}",
    )

    async def lead() -> None:
        while True:
            await elector.run(audit.run)
            log.warning("background audit: not leading %s; waiting to lead again", name)

    background.append(lead)
    return audit.status
