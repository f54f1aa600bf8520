"""Everything one webhook app holds, in one object (no module-level mutable state).

1. A :class:`WebhookState` starts empty: ``/readyz`` answers 503 (and goes on answering 503
   until a cluster source's watches have synced) and a review is denied with
   code 503 (``not-ready``), or admitted with a warning when the admin chose fail-open.
2. :meth:`WebhookState.run` (the app's lifespan) calls the loader until it succeeds, with a
   growing pause between attempts, then runs the runtime's background tasks (trust store
   refresh from the cluster, catalog re-reads) until the app stops.
3. A loaded :class:`Runtime` is never changed: the watchers inside it swap their own policy
   and trust store by one reference assignment, so a review in flight finishes with what it
   started with.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sigpolicy.admission.model import MAX_REVIEW_BYTES, AdmissionOutcome, ReviewRequest
from sigpolicy.audit.background import AuditStatus
from sigpolicy.errors import SigpolicyError
from sigpolicy.policy.watch import PolicyWatcher
from sigpolicy.sources.base import ImageSource, WatchedImageSource
from sigpolicy.trust.watch import TrustStoreWatcher
from webhook.metrics import WebhookMetrics

log = logging.getLogger("sigpolicy.webhook")

FIRST_RETRY = 1.0
LAST_RETRY = 30.0


class Reviewer(Protocol):
    """What the webhook needs of :class:`sigpolicy.admission.engine.Admission`."""

    async def review(self, request: ReviewRequest) -> AdmissionOutcome: ...


BackgroundTask = Callable[[], Awaitable[None]]


class RegistryLookups(Protocol):
    """What the webhook needs of :class:`sigpolicy.resolve.registry_layer.RegistryLayer`."""

    def stats(self) -> Mapping[tuple[str, str], int]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Runtime:
    """The loaded parts a review is decided with."""

    admission: Reviewer
    policy: PolicyWatcher | None = None
    trust: TrustStoreWatcher | None = None
    source: ImageSource | None = None
    background: tuple[BackgroundTask, ...] = ()
    registry: RegistryLookups | None = None
    audit: AuditStatus | None = None  # serve --audit-interval (webhook.audit_task)

    def details(self) -> dict[str, Any]:
        """For ``/readyz``: what is loaded, how often it reloaded, the last reload error."""
        out: dict[str, Any] = {}
        if self.policy is not None:
            out["policy"] = {
                "path": str(self.policy.path),
                "reloads": self.policy.reloads,
                "reloadFailures": self.policy.reload_failures,
                "lastError": self.policy.last_error,
            }
        if self.trust is not None:
            out["trust"] = {
                "path": str(self.trust.path),
                "generation": self.trust.store.generation,
                "reloads": self.trust.reloads,
                "reloadFailures": self.trust.reload_failures,
                "lastError": self.trust.last_error,
            }
        out["source"] = None if self.source is None else self.source.description
        if isinstance(self.source, WatchedImageSource):
            out["sourceSynced"] = self.source.synced
        return out

    @property
    def synced(self) -> bool:
        """False while a watched source is still listing (reviews are still decided, through
        bounded cold lookups, but this replica should not take traffic yet)."""
        return not isinstance(self.source, WatchedImageSource) or self.source.synced

    async def close(self) -> None:
        if self.registry is not None:
            await self.registry.aclose()
        if self.source is not None:
            await self.source.close()


@dataclass(frozen=True)
class WebhookSettings:
    """How the webhook answers; the decision's own settings live in the Admission."""

    mutate: bool = False
    fail_open: bool = False
    max_review_bytes: int = MAX_REVIEW_BYTES
    # A client that trickles its body holds memory and a connection: this long for all of it.
    body_seconds: float = 10.0


Loader = Callable[[], Awaitable[Runtime]]


@dataclass
class WebhookState:
    """One app's state: settings, metrics, and the runtime once loaded."""

    settings: WebhookSettings
    loader: Loader
    metrics: WebhookMetrics = field(default_factory=WebhookMetrics)
    clock: Callable[[], float] = time.time
    runtime: Runtime | None = None
    load_error: str | None = None
    load_attempts: int = 0

    def __post_init__(self) -> None:
        self.metrics.watch_runtime(lambda: self.runtime)

    @classmethod
    def loaded(
        cls, runtime: Runtime, settings: WebhookSettings | None = None, **kwargs: Any
    ) -> WebhookState:
        """A state whose runtime is already there (tests, ``sigpolicy admit``-like uses)."""

        async def already() -> Runtime:
            return runtime

        return cls(settings or WebhookSettings(), already, runtime=runtime, **kwargs)

    @property
    def ready(self) -> bool:
        return self.runtime is not None

    def readiness(self) -> tuple[bool, Mapping[str, Any]]:
        runtime = self.runtime
        if runtime is None:
            return False, {
                "ready": False,
                "loading": True,
                "attempts": self.load_attempts,
                "lastError": self.load_error,
            }
        ready = runtime.synced
        return ready, {"ready": ready, **runtime.details()}

    async def load(self) -> Runtime:
        """One attempt; a failure is kept for ``/readyz`` and raised."""
        if self.runtime is not None:
            return self.runtime
        self.load_attempts += 1
        try:
            runtime = await self.loader()
        except SigpolicyError as exc:
            self.load_error = exc.diagnostics()
            raise
        self.runtime = runtime
        self.load_error = None
        return runtime

    async def run(self) -> None:
        """Load (retrying), then run the runtime's background tasks; until cancelled."""
        pause = FIRST_RETRY
        while self.runtime is None:
            try:
                await self.load()
            except SigpolicyError as exc:
                log.warning("not ready, retrying in %.0f s: %s", pause, exc.diagnostics())
                await asyncio.sleep(pause)
                pause = min(pause * 2, LAST_RETRY)
            except Exception as exc:  # a bug in a loader must not end the app; keep trying
                self.load_error = f"{type(exc).__name__}: {exc}"
                log.exception("not ready, retrying in %.0f s", pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, LAST_RETRY)
        runtime = self.runtime
        if runtime.background:
            await asyncio.gather(*(_forever(task) for task in runtime.background))

    async def close(self) -> None:
        if self.runtime is not None:
            await self.runtime.close()


async def _forever(task: BackgroundTask) -> None:
    """A background task that fails is logged and started again, never lost silently."""
    while True:
        try:
            await task()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background task failed; restarting it in %.0f s", LAST_RETRY)
            await asyncio.sleep(LAST_RETRY)
