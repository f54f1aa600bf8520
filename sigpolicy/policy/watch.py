"""Reloading the policy file without a restart.

1. :meth:`PolicyWatcher.current` re-reads the file when a check is due (at most every
   ``min_interval`` seconds, the time passed in) and its bytes changed.
2. A new file is loaded whole, into a new :class:`~sigpolicy.policy.engine.Policy`; it replaces
   the old one in one reference assignment, so a decision in flight finishes with the policy it
   started with.
3. A broken file is rejected whole: the last good policy stays in force, the error is logged
   once, counted (``reload_failures``) and kept (``last_error``) for metrics and readiness.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

from sigpolicy.errors import SigpolicyError
from sigpolicy.policy.engine import Policy
from sigpolicy.policy.load import TrustProvider, build_policy, read_policy_document

log = logging.getLogger(__name__)


class PolicyWatcher:
    def __init__(
        self, path: Path, trust: TrustProvider | None, *, now: float, min_interval: float = 2.0
    ) -> None:
        self.path = path
        self.trust = trust
        self.min_interval = min_interval
        text, document = read_policy_document(path)
        self._policy = build_policy(path, text, document, trust)
        self._digest = _digest(text)
        self._checked_at = now
        self._lock = threading.Lock()
        self.reloads = 0
        self.reload_failures = 0
        self.last_error: str | None = None

    @property
    def policy(self) -> Policy:
        return self._policy

    def current(self, *, now: float) -> Policy:
        due = now - self._checked_at >= self.min_interval or now < self._checked_at
        if due and self._lock.acquire(blocking=False):
            try:
                self._checked_at = now
                self._reload()
            finally:
                self._lock.release()
        return self._policy

    def _reload(self) -> None:
        try:
            text, document = read_policy_document(self.path)
            digest = _digest(text)
            if digest == self._digest:
                return
            policy = build_policy(self.path, text, document, self.trust)
        except SigpolicyError as exc:
            message = exc.diagnostics()
            if message != self.last_error:
                self.reload_failures += 1
                log.warning("policy reload rejected, keeping the last good policy: %s", message)
            self.last_error = message
            return
        self._policy = policy
        self._digest = digest
        self.reloads += 1
        self.last_error = None
        log.info("policy reloaded from %s", self.path)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
