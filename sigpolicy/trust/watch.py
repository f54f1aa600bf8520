"""Picking up trust file changes without a restart.

Reload rules (:class:`TrustStoreWatcher`):

1. At most one check per ``min_interval`` seconds. The caller passes ``now`` (the time it
   took once for its decision); nothing here reads the clock.
2. A check reads the trust file and all the key material it names, and compares a digest
   of the bytes with the last check's: nothing changed, nothing is rebuilt.
3. Changed and valid: the new store replaces the old in one reference assignment, so a
   concurrent reader sees the old store or the new one, never a mix. A removed key is not
   in the new store, so it stops counting for the next decision. When the trusted set is
   the same (``generation`` unchanged, say an edited comment) the old store, with its warm
   verifiers, stays.
4. Changed and invalid: the last good store stays; the one-line error is logged as a
   warning, kept in ``last_error`` and counted in ``reload_failures`` (once per bad state,
   not once per check). The next good state clears ``last_error``.
5. :meth:`~TrustStoreWatcher.current` reloads synchronously and is meant for stores of
   files and inline data. With a cluster source (Secret and ConfigMap keys, which change
   without the file changing), call :meth:`~TrustStoreWatcher.refresh` instead, for
   example from a background task; ``current`` then only returns the newest store.

A replaced store is not closed: decisions in flight may still use its verifiers, which
release their resources when collected.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Self

from sigpolicy.errors import SigpolicyError
from sigpolicy.trust.load import (
    KeyMaterialReader,
    TrustInputs,
    aread_trust_inputs,
    read_trust_inputs,
)
from sigpolicy.trust.store import TrustStore

DEFAULT_MIN_INTERVAL = 5.0

logger = logging.getLogger(__name__)


class TrustStoreWatcher:
    """Holds the newest good :class:`TrustStore` of one trust file (rules in the module doc).

    ``reloads``, ``reload_failures`` and ``last_error`` are for metrics and readiness.
    """

    def __init__(
        self,
        path: str | Path,
        inputs: TrustInputs,
        *,
        now: float,
        min_interval: float = DEFAULT_MIN_INTERVAL,
        key_source: KeyMaterialReader | None = None,
    ) -> None:
        """Start from ``inputs`` (a first load), which must build: there is no older store
        to fall back to. Prefer :meth:`open` and :meth:`aopen`."""
        self.path = Path(path)
        self.min_interval = min_interval
        self._key_source = key_source
        self._store = inputs.build()
        self._seen = inputs.digest
        self._checked_at = now
        self._lock = threading.Lock()
        self.reloads = 0
        self.reload_failures = 0
        self.last_error: str | None = None

    @classmethod
    def open(
        cls, path: str | Path, *, now: float, min_interval: float = DEFAULT_MIN_INTERVAL
    ) -> Self:
        """Load ``path`` now (raises PolicyError if it is invalid) and watch it."""
        return cls(path, read_trust_inputs(path), now=now, min_interval=min_interval)

    @classmethod
    async def aopen(
        cls,
        path: str | Path,
        key_source: KeyMaterialReader | None,
        *,
        now: float,
        min_interval: float = DEFAULT_MIN_INTERVAL,
    ) -> Self:
        """As :meth:`open`, fetching Secret and ConfigMap keys through ``key_source``."""
        inputs = await aread_trust_inputs(path, key_source)
        return cls(path, inputs, now=now, min_interval=min_interval, key_source=key_source)

    @property
    def store(self) -> TrustStore:
        """The newest good store, without checking for changes."""
        return self._store

    @property
    def stale(self) -> bool:
        """Whether the file on disk is invalid and an older store is being used."""
        return self.last_error is not None

    def current(self, *, now: float) -> TrustStore:
        """The newest good store, after checking the files if a check is due (rule 5)."""
        if self._key_source is None and self._due(now) and self._lock.acquire(blocking=False):
            # Another thread already checking: it will swap the store; use the current one.
            try:
                self._checked_at = now
                try:
                    inputs = read_trust_inputs(self.path)
                except SigpolicyError as exc:
                    self._reject(exc.diagnostics(), state=f"error: {exc.diagnostics()}")
                else:
                    self._apply(inputs)
            finally:
                self._lock.release()
        return self._store

    async def refresh(self, *, now: float, force: bool = False) -> TrustStore:
        """Check the file and the cluster's key material if due (or ``force``), then return
        the newest good store."""
        if (force or self._due(now)) and self._lock.acquire(blocking=False):
            # Non-blocking, so the event loop never waits: a concurrent refresh just returns.
            try:
                self._checked_at = now
                try:
                    inputs = await aread_trust_inputs(self.path, self._key_source)
                except SigpolicyError as exc:
                    self._reject(exc.diagnostics(), state=f"error: {exc.diagnostics()}")
                else:
                    self._apply(inputs)
            finally:
                self._lock.release()
        return self._store

    def _due(self, now: float) -> bool:
        # A clock that went backwards counts as due, rather than pausing reloads.
        return now - self._checked_at >= self.min_interval or now < self._checked_at

    def _apply(self, inputs: TrustInputs) -> None:
        if inputs.digest == self._seen:
            return
        try:
            store = inputs.build()
        except SigpolicyError as exc:
            self._reject(exc.diagnostics(), state=inputs.digest)
            return
        self._seen = inputs.digest
        self.last_error = None
        if store.generation == self._store.generation:
            return
        previous, self._store = self._store, store
        self.reloads += 1
        logger.info(
            "trust store %s reloaded: generation %s -> %s",
            self.path,
            previous.generation,
            store.generation,
        )

    def _reject(self, message: str, *, state: str) -> None:
        if state == self._seen:
            return
        self._seen = state
        self.reload_failures += 1
        self.last_error = message
        logger.warning(
            "trust store %s not reloaded, keeping the last good one (generation %s): %s",
            self.path,
            self._store.generation,
            message,
        )
