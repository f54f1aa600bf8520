"""Prometheus metrics of one webhook app, in a registry of its own (two apps never mix).

Counted as reviews are answered:

- ``sigpolicy_reviews_total{decision,kind,reason}``: ``decision`` is ``allowed`` or
  ``denied``; ``reason`` a reason class, ``none`` for a plain admission, or ``malformed``,
  ``not-ready``, ``internal-error`` for answers about the review rather than the object;
- ``sigpolicy_review_seconds``: time from a whole body to the answer (buckets fine around
  1-10 ms);
- ``sigpolicy_malformed_reviews_total``: reviews that were not usable AdmissionReviews;
- ``sigpolicy_would_deny_total{mode}``: reviews admitted only because a ``warn`` or
  ``audit`` scope matched (the images would have been denied in ``enforce``).

Read from the runtime when scraped (the counters live where the work is done):

- ``sigpolicy_source_errors_total``, ``sigpolicy_verification_cache_hits_total`` /
  ``_misses_total``, ``sigpolicy_policy_reloads_total`` / ``_reload_failures_total``,
  ``sigpolicy_trust_reloads_total`` / ``_reload_failures_total``,
  ``sigpolicy_tls_reloads_total`` / ``_reload_failures_total``, and ``sigpolicy_ready``;
- ``sigpolicy_registry_requests_total{host,outcome}`` with ``--registry`` (the registry
  client's own counts: a host name, never a credential).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from webhook.audit_metrics import AuditCollector

if TYPE_CHECKING:
    from webhook.state import Runtime

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.004,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    8.0,
    10.0,
)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Reloading(Protocol):
    """Anything that reloads files and counts it (TLS certificate, watchers)."""

    @property
    def reloads(self) -> int: ...

    @property
    def reload_failures(self) -> int: ...


class WebhookMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.reviews = Counter(
            "sigpolicy_reviews",
            "AdmissionReviews answered, by decision, object kind and reason class",
            ["decision", "kind", "reason"],
            registry=self.registry,
        )
        self.review_seconds = Histogram(
            "sigpolicy_review_seconds",
            "Time to answer one AdmissionReview, body received to answer built",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.malformed = Counter(
            "sigpolicy_malformed_reviews",
            "Requests that were not usable AdmissionReviews (answered with code 400)",
            registry=self.registry,
        )
        self.would_deny = Counter(
            "sigpolicy_would_deny",
            "Reviews admitted by a warn or audit scope that enforce would have denied",
            ["mode"],
            registry=self.registry,
        )
        self.runtime: Callable[[], Runtime | None] = lambda: None
        self.tls: Reloading | None = None
        self.registry.register(_RuntimeCollector(self))
        self.registry.register(
            AuditCollector(lambda: getattr(self.runtime(), "audit", None))  # webhook.audit_task
        )

    def watch_runtime(self, runtime: Callable[[], Runtime | None]) -> None:
        self.runtime = runtime

    def watch_tls(self, tls: Reloading) -> None:
        self.tls = tls

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _RuntimeCollector(Collector):
    def __init__(self, metrics: WebhookMetrics) -> None:
        self.metrics = metrics

    def describe(self) -> Iterable[Metric]:
        return ()

    def collect(self) -> Iterable[Metric]:
        runtime = self.metrics.runtime()
        ready = GaugeMetricFamily(
            "sigpolicy_ready", "1 once policy, trust and source are loaded and synced"
        )
        ready.add_metric([], 1 if runtime is not None and runtime.synced else 0)
        yield ready
        source: Any = None if runtime is None else runtime.source
        yield _counter(
            "sigpolicy_source_cold_lookups",
            "Image API reads the watch-kept caches could not answer (one GET each)",
            _int(source, "cold_lookups"),
        )
        sizes = getattr(source, "cache_sizes", None)
        cached = GaugeMetricFamily(
            "sigpolicy_source_cached_objects",
            "Objects held by the watch-kept caches",
            labels=["kind"],
        )
        for kind, count in (sizes() if callable(sizes) else {}).items():
            cached.add_metric([kind], count)
        yield cached
        admission: Any = None if runtime is None else runtime.admission
        yield _counter(
            "sigpolicy_source_errors",
            "Image source failures met while deciding",
            _int(admission, "source_errors"),
        )
        registry: Any = None if runtime is None else runtime.registry
        requests = CounterMetricFamily(
            "sigpolicy_registry_requests",
            "Registry requests by host and outcome (ok, not-found, auth-refused, rate-limited,"
            " unreachable, timeout, protocol-error, digest-mismatch)",
            labels=["host", "outcome"],
        )
        for (host, outcome), count in sorted((registry.stats() if registry else {}).items()):
            requests.add_metric([host, outcome], count)
        yield requests
        cache = getattr(admission, "verification_cache", None)
        yield _counter(
            "sigpolicy_verification_cache_hits",
            "Signature verdicts reused from the verification cache",
            _int(cache, "hits"),
        )
        yield _counter(
            "sigpolicy_verification_cache_misses",
            "Signature verdicts not in the verification cache",
            _int(cache, "misses"),
        )
        watchers: tuple[tuple[str, Reloading | None], ...] = (
            ("policy", None if runtime is None else runtime.policy),
            ("trust", None if runtime is None else runtime.trust),
            ("tls", self.metrics.tls),
        )
        for name, watcher in watchers:
            yield _counter(
                f"sigpolicy_{name}_reloads",
                f"Successful {name} reloads since start",
                0 if watcher is None else watcher.reloads,
            )
            yield _counter(
                f"sigpolicy_{name}_reload_failures",
                f"Rejected {name} reloads (the last good one stays in force)",
                0 if watcher is None else watcher.reload_failures,
            )


def _counter(name: str, documentation: str, value: int) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def _int(owner: Any, attribute: str) -> int:
    value = getattr(owner, attribute, 0)
    return value if isinstance(value, int) else 0
