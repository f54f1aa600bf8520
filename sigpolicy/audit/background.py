"""The audit, run again and again inside ``sigpolicy serve`` (``--audit-interval``).

Every ``interval`` seconds:

1. Wait until the workload caches have synced (a first list of every kind); then take
   their snapshot (no request to the API server: the caches are kept by watches).
2. Group by owner and decide, with the webhook's own :class:`Admission` (its policy in
   force, its watch-kept image caches and verification cache), in small batches with a
   yield to the event loop after each: live reviews are answered between batches.
3. Keep the result for the metrics: would-deny workloads by namespace, scope, reason and
   result; when the last audit completed; how long it took.
4. When a report writer is given, write the PolicyReports and the ClusterPolicyReport. The
   caller runs this loop only in the replica that holds the leader Lease, so one replica
   writes.

An audit that fails (the source went away) is logged and counted; the last complete one
stays in the metrics, and the next is tried at the next interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sigpolicy.admission.engine import Admission
from sigpolicy.audit.engine import Finding, decide_uses, release
from sigpolicy.audit.inventory import group_by_owner_async
from sigpolicy.audit.policyreport import MANAGED_BY, REPORT_NAME, policy_reports
from sigpolicy.audit.summary import scope_of
from sigpolicy.errors import SigpolicyError
from sigpolicy.policy.engine import Policy

__all__ = ["AuditStatus", "BackgroundAudit", "ReportWriter"]

log = logging.getLogger("sigpolicy.audit")

# Pacing: a few decisions (or a hundred objects grouped) at a time, then a pause, so a
# review that arrives waits for at most one small slice and the audit takes a bounded share
# of the loop (benchmarks/bench_webhook.py --audit-workloads measures it).
BATCH = 1
GROUP_STEP = 100
PAUSE = 0.002
Workloads = Callable[[], Awaitable[Sequence[Mapping[str, Any]] | None]]


class ReportWriter(Protocol):
    async def write_all(
        self, reports: Sequence[dict[str, Any]], *, name: str, managed: Mapping[str, str]
    ) -> None: ...


@dataclass
class AuditStatus:
    """What the metrics show of the background audit."""

    runs: int = 0
    failures: int = 0
    last_complete: float | None = None  # wall clock
    last_duration: float | None = None
    workloads: int = 0
    findings: int = 0
    # (namespace, scope, reason, result) -> workloads with such a finding
    would_deny: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    last_error: str | None = None
    reports_written: int = 0  # PolicyReports and ClusterPolicyReports written (step 4)


class BackgroundAudit:
    def __init__(
        self,
        admission: Admission,
        policy: Callable[[], Policy],
        workloads: Workloads,
        *,
        interval: float,
        writer: ReportWriter | None = None,
        policy_name: str = "sigpolicy",
        batch: int = BATCH,
        pause: float = PAUSE,
        clock: Callable[[], float] = time.time,
        around: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
    ) -> None:
        self.admission = admission
        self.policy = policy
        self.workloads = workloads
        self.interval = interval
        self.writer = writer
        self.policy_name = policy_name
        self.batch = batch
        self.pause = pause
        self.clock = clock
        self.status = AuditStatus()
        self.around = around  # what each audit runs inside (the webhook quiets the collector)

    async def run(self) -> None:
        """Audit every ``interval`` until cancelled."""
        while True:
            await self.run_once()
            await asyncio.sleep(self.interval)

    async def run_once(self) -> bool:
        """One audit (steps 1-4); True when it completed."""
        started = time.monotonic()
        try:
            objects = await self.workloads()  # 1
            while objects is None:
                await asyncio.sleep(1.0)
                objects = await self.workloads()
            with self.around():
                started = time.monotonic()
                uses = await group_by_owner_async(objects, step=GROUP_STEP, pause=self.pause)
                run = await decide_uses(  # 2
                    self.admission, uses, policy=self.policy(), batch=self.batch, pause=self.pause
                )
                if self.writer is not None:  # 4
                    reports = policy_reports(
                        run.findings, policy=self.policy_name, now=int(self.clock())
                    )
                    await self.writer.write_all(reports, name=REPORT_NAME, managed=MANAGED_BY)
                    self.status.reports_written += len(reports)
                await self._record(run.findings, time.monotonic() - started)  # 3
                await release(run.findings, self.pause)
                await release(uses, self.pause)
        except SigpolicyError as exc:
            self.status.failures += 1
            self.status.last_error = exc.diagnostics()
            log.warning("background audit failed: %s", exc.diagnostics())
            return False
        return True

    async def _record(self, findings: Sequence[Finding], seconds: float) -> None:
        status = self.status
        owners: dict[tuple[str, str, str, str], set[Any]] = {}
        for index, finding in enumerate(findings):
            if index % GROUP_STEP == GROUP_STEP - 1:
                await asyncio.sleep(self.pause)
            if finding.result not in ("fail", "warn"):
                continue
            key = (
                finding.use.owner.namespace,
                scope_of(finding),
                str(finding.decision.reason or "policy-denied"),
                finding.result,
            )
            owners.setdefault(key, set()).add(finding.use.owner)
        status.would_deny = Counter({key: len(found) for key, found in owners.items()})
        status.runs += 1
        status.last_complete = self.clock()
        status.last_duration = seconds
        status.workloads = len({f.use.owner for f in findings})
        status.findings = len(findings)
        status.last_error = None
        log.info(
            "background audit: %d workloads, %d image uses, %d would be denied, in %.2f s",
            status.workloads,
            status.findings,
            sum(1 for f in findings if f.result == "fail"),
            seconds,
        )
