"""The registry caches on their own, with a clock the test moves (no sleeping, no timing)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from sigpolicy.errors import SourceError
from sigpolicy.sources.registry.cache import CacheSettings, RegistryCache, TimedLookups


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lookups(clock: Clock, *, size: int = 10, ttl: float = 10.0) -> TimedLookups[str]:
    return TimedLookups(
        ttl_of=lambda value: 0.0 if value == "never kept" else ttl,
        error_ttl=2.0,
        kept_errors=(SourceError,),
        size=size,
        clock=clock,
    )


async def test_a_value_lives_its_ttl() -> None:
    clock, calls = Clock(), Counter[str]()
    table = lookups(clock)

    async def fetch() -> str:
        calls["k"] += 1
        return "v"

    for moment in (0.0, 9.9, 10.1, 15.0):
        clock.now = 1000.0 + moment
        assert await table.get(("k",), fetch) == "v"
    assert calls["k"] == 2  # fetched at 0 and again once 10 s had passed


async def test_least_recently_used_goes_first_past_the_size() -> None:
    clock, calls = Clock(), Counter[str]()
    table = lookups(clock, size=2)

    def fetcher(key: str):  # type: ignore[no-untyped-def]
        async def fetch() -> str:
            calls[key] += 1
            return key

        return fetch

    for key in ("a", "b", "a", "c", "a", "b"):
        await table.get((key,), fetcher(key))
    assert len(table) == 2
    assert calls == {"a": 1, "b": 2, "c": 1}  # b was the least recently used when c came


async def test_concurrent_callers_share_one_fetch() -> None:
    clock, calls = Clock(), Counter[str]()
    table = lookups(clock)
    release = asyncio.Event()

    async def fetch() -> str:
        calls["k"] += 1
        await release.wait()
        return "v"

    waiting = [asyncio.ensure_future(table.get(("k",), fetch)) for _ in range(10)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiting) == ["v"] * 10
    assert calls["k"] == 1


KEPT = [
    ("a source error is kept its error_ttl", SourceError("down"), 1),
    ("any other error is not kept", ValueError("bug"), 2),
]


@pytest.mark.parametrize(("name", "error", "fetches"), KEPT, ids=[k[0] for k in KEPT])
async def test_which_errors_are_kept(name: str, error: Exception, fetches: int) -> None:
    clock, calls = Clock(), Counter[str]()
    table = lookups(clock)

    async def fetch() -> str:
        calls["k"] += 1
        raise error

    for _ in range(2):
        with pytest.raises(type(error)):
            await table.get(("k",), fetch)
    assert calls["k"] == fetches
    clock.now += 2.1
    with pytest.raises(type(error)):
        await table.get(("k",), fetch)
    assert calls["k"] == fetches + 1


async def test_a_zero_ttl_value_is_not_kept() -> None:
    clock, calls = Clock(), Counter[str]()
    table = lookups(clock)

    async def fetch() -> str:
        calls["k"] += 1
        return "never kept"

    await table.get(("k",), fetch)
    await table.get(("k",), fetch)
    assert calls["k"] == 2


def test_invalidate_clears_only_on_a_new_generation() -> None:
    cache = RegistryCache(CacheSettings(), clock=Clock())
    cache.tags._entries[("tag", "r", "t")] = (2000.0, "sha256:x")
    cache.invalidate("one")
    cache.invalidate("one")
    assert len(cache.tags) == 1
    cache.invalidate("two")
    assert len(cache.tags) == 0


SETTINGS = [("negative ttl", {"negative_ttl": -1}), ("no room", {"size": 0})]


@pytest.mark.parametrize(("name", "values"), SETTINGS, ids=[s[0] for s in SETTINGS])
def test_bad_settings_are_refused(name: str, values: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        CacheSettings(**values)  # type: ignore[arg-type]
