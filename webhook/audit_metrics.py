"""Prometheus metrics of the background audit (``serve --audit-interval``), read from its
status when scraped:

- ``sigpolicy_audit_would_deny_workloads{namespace,scope,reason,result}``: workloads with an
  image the policy would deny (``result="fail"``) or that only a warn or audit scope lets
  through (``result="warn"``), as of the last complete audit;
- ``sigpolicy_audit_last_complete_timestamp_seconds``: when it completed (Unix time; absent
  before the first);
- ``sigpolicy_audit_duration_seconds``: how long it took;
- ``sigpolicy_audit_workloads``: workloads it saw; ``sigpolicy_audit_runs_total``,
  ``sigpolicy_audit_failures_total``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from sigpolicy.audit.background import AuditStatus


class AuditCollector(Collector):
    def __init__(self, status: Callable[[], AuditStatus | None]) -> None:
        self.status = status

    def describe(self) -> Iterable[Metric]:
        return ()

    def collect(self) -> Iterable[Metric]:
        status = self.status()
        if status is None:
            return
        would_deny = GaugeMetricFamily(
            "sigpolicy_audit_would_deny_workloads",
            "Workloads the last background audit found would be denied (fail) or only warned",
            labels=["namespace", "scope", "reason", "result"],
        )
        for (namespace, scope, reason, result), count in sorted(status.would_deny.items()):
            would_deny.add_metric([namespace, scope, reason, result], count)
        yield would_deny
        if status.last_complete is not None:
            yield GaugeMetricFamily(
                "sigpolicy_audit_last_complete_timestamp_seconds",
                "When the last background audit completed (Unix time)",
                value=status.last_complete,
            )
        if status.last_duration is not None:
            yield GaugeMetricFamily(
                "sigpolicy_audit_duration_seconds",
                "How long the last complete background audit took",
                value=status.last_duration,
            )
        yield GaugeMetricFamily(
            "sigpolicy_audit_workloads",
            "Workloads the last background audit saw",
            value=status.workloads,
        )
        yield CounterMetricFamily(
            "sigpolicy_audit_runs", "Complete background audits", value=status.runs
        )
        yield CounterMetricFamily(
            "sigpolicy_audit_failures", "Background audits that failed", value=status.failures
        )
