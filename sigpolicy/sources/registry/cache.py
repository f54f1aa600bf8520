"""Caches in front of a registry: what was found for a digest, what a tag points to.

1. Findings per ``(repository, digest)``: the manifest of a digest never changes, so what
   was found for it lives long (``findings_ttl``), bounded in size (least recently used
   out first). Findings without any signature live only ``negative_ttl``: an image is often
   signed after it was pushed. The whole table is cleared when the trust store or the
   policy changes (:meth:`RegistryCache.invalidate`), so a new key or scope is never judged
   on what an older configuration fetched.
2. Tag -> digest per ``(repository, tag)``: a tag moves, so ``tag_ttl`` is short.
3. Answers that say "not there" or "not now" (a missing tag or manifest, an unreachable or
   rate-limiting registry) are kept ``negative_ttl``, shorter still, so a burst of reviews
   of a broken image costs one request, not one each. An authentication failure is never
   kept: it depends on the credentials the review brought, and another pod's may work.
4. Concurrent lookups of one key share one request
   (:class:`~sigpolicy.sources.lookups.SharedLookups`), and the answer is stored before the
   shared request ends, so no caller arriving later repeats it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sigpolicy.sources.lookups import SharedLookups

__all__ = ["CacheSettings", "RegistryCache", "TimedLookups"]

V = TypeVar("V")
Key = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CacheSettings:
    """TTLs in seconds and sizes in entries (the chart's ``registry.cache`` values)."""

    findings_ttl: float = 3600.0
    tag_ttl: float = 30.0
    negative_ttl: float = 5.0
    size: int = 20_000

    def __post_init__(self) -> None:
        for name in ("findings_ttl", "tag_ttl", "negative_ttl"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.size < 1:
            raise ValueError("size must be at least 1")


class TimedLookups(Generic[V]):
    """Values by key, each kept for the TTL its value asks for, at most ``size`` of them.

    ``ttl_of(value)`` says how long a value lives; an exception whose type is in
    ``kept_errors`` is kept ``error_ttl`` and raised again to every caller meanwhile.
    """

    def __init__(
        self,
        *,
        ttl_of: Callable[[V], float],
        error_ttl: float,
        kept_errors: tuple[type[Exception], ...],
        size: int,
        clock: Callable[[], float],
    ) -> None:
        self._ttl_of = ttl_of
        self._error_ttl = error_ttl
        self._kept_errors = kept_errors
        self._size = size
        self._clock = clock
        self._entries: OrderedDict[Key, tuple[float, V | Exception]] = OrderedDict()
        self._shared = SharedLookups(ttl=0.0, negative_ttl=0.0)
        self.hits = 0
        self.fetches = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: Key, fetch: Callable[[], Awaitable[V]]) -> V:
        entry = self._entries.get(key)
        if entry is not None:
            if entry[0] > self._clock():
                self._entries.move_to_end(key)
                self.hits += 1
                if isinstance(entry[1], Exception):
                    # A kept error is raised again and again: without its old traceback,
                    # each raise would add its frames to the ones before.
                    raise entry[1].with_traceback(None)
                return entry[1]
            del self._entries[key]
        value: V = await self._shared.get(key, lambda: self._fetch(key, fetch), self._clock())
        return value

    async def _fetch(self, key: Key, fetch: Callable[[], Awaitable[V]]) -> V:
        self.fetches += 1
        try:
            value = await fetch()
        except self._kept_errors as exc:
            self._store(key, exc, self._error_ttl)
            raise
        self._store(key, value, self._ttl_of(value))
        return value

    def _store(self, key: Key, value: V | Exception, ttl: float) -> None:
        if ttl <= 0:
            return
        self._entries[key] = (self._clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


class RegistryCache:
    """The two tables of the module docstring, and the generation they were filled under."""

    def __init__(
        self,
        settings: CacheSettings | None = None,
        *,
        kept_errors: tuple[type[Exception], ...] = (),
        has_signatures: Callable[[Any], bool] = bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings = settings or CacheSettings()
        self.findings: TimedLookups[Any] = TimedLookups(
            ttl_of=lambda found: (
                settings.findings_ttl if has_signatures(found) else settings.negative_ttl
            ),
            error_ttl=settings.negative_ttl,
            kept_errors=kept_errors,
            size=settings.size,
            clock=clock,
        )
        self.tags: TimedLookups[Any] = TimedLookups(
            ttl_of=lambda _digest: settings.tag_ttl,
            error_ttl=settings.negative_ttl,
            kept_errors=kept_errors,
            size=settings.size,
            clock=clock,
        )
        self._generation: str | None = None

    def invalidate(self, generation: str) -> None:
        """Forget everything when ``generation`` (of the trust store and policy) changed."""
        if generation != self._generation:
            if self._generation is not None:
                self.findings.clear()
                self.tags.clear()
            self._generation = generation
