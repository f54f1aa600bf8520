"""Lookups shared by concurrent callers, optionally kept for a while.

Used by the resolver (lookups kept for a TTL over a source without caches of its own) and by
the watch-kept caches' cold path (no TTL: only concurrent callers share one request).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sigpolicy.errors import NotFoundError

__all__ = ["SharedLookups"]


class SharedLookups:
    """Lookups by key: concurrent callers share one fetch, results kept ``ttl`` seconds
    (NotFound ``negative_ttl``), bounded in size.

    The fetch runs as a task of its own: a caller that gives up (its review hit the deadline)
    does not cancel it for the others waiting on the same key.
    """

    def __init__(self, ttl: float, negative_ttl: float, size: int = 4096) -> None:
        self.ttl, self.negative_ttl, self.size = ttl, negative_ttl, size
        self._entries: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._pending: dict[tuple[str, ...], asyncio.Task[Any]] = {}

    async def get(
        self, key: tuple[str, ...], fetch: Callable[[], Awaitable[Any]], now: float
    ) -> Any:
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            value = hit[1]
            if isinstance(value, NotFoundError):
                raise value
            return value
        task = self._pending.get(key)
        if task is None:
            task = asyncio.ensure_future(self._fill(key, fetch, now))
            task.add_done_callback(_retrieved)
            self._pending[key] = task
        return await asyncio.shield(task)

    async def _fill(
        self, key: tuple[str, ...], fetch: Callable[[], Awaitable[Any]], now: float
    ) -> Any:
        try:
            value = await fetch()
        except NotFoundError as exc:
            self._store(key, self.negative_ttl, now, exc)
            raise
        else:
            self._store(key, self.ttl, now, value)
            return value
        finally:
            del self._pending[key]

    def _store(self, key: tuple[str, ...], ttl: float, now: float, value: Any) -> None:
        if ttl <= 0:
            return
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[key] = (now + ttl, value)


def _retrieved(task: asyncio.Task[Any]) -> None:
    """Mark a failed fetch's exception as seen when every caller had already given up."""
    if not task.cancelled():
        task.exception()
