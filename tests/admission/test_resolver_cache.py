"""The resolver's shared lookups: one fetch for concurrent callers, and one caller giving up
(its review's deadline) never cancels the fetch for the others."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sigpolicy.api import Image
from sigpolicy.resolve.resolver import Resolver
from sigpolicy.sources.catalog import CatalogSource

EXAMPLES = Path(__file__).resolve().parents[2] / "sigpolicy" / "examples"
DIGEST = "sha256:b3c238eeade5bf4be20e767324c89d5a1e6a6bb1a2eb0512bf8c977e91fc4bd7"
BY_DIGEST = f"registry.example.com/shop/checkout@{DIGEST}"


class SlowCatalog(CatalogSource):
    """The example catalog, answering Image reads after ``delay`` seconds, counting them."""

    def __init__(self, delay: float) -> None:
        super().__init__(EXAMPLES / "catalog")
        self.delay = delay
        self.reads = 0

    async def get_image(self, name: str) -> Image:
        self.reads += 1
        await asyncio.sleep(self.delay)
        return await super().get_image(name)


async def test_concurrent_lookups_share_one_fetch() -> None:
    source = SlowCatalog(0.05)
    resolver = Resolver(source)
    found = await asyncio.gather(
        *(resolver.resolve(BY_DIGEST, namespace="shop", now=0) for _ in range(10))
    )
    assert source.reads == 1
    assert {str(r.evidence.reference.digest) for r in found} == {DIGEST}


async def test_a_caller_that_gives_up_does_not_cancel_the_others() -> None:
    source = SlowCatalog(0.3)
    resolver = Resolver(source)

    async def impatient() -> None:
        async with asyncio.timeout(0.05):
            await resolver.resolve(BY_DIGEST, namespace="shop", now=0)

    first = asyncio.create_task(impatient())
    await asyncio.sleep(0.01)
    patient = asyncio.create_task(resolver.resolve(BY_DIGEST, namespace="shop", now=0))
    with pytest.raises(TimeoutError):
        await first
    resolution = await patient
    assert str(resolution.evidence.reference.digest) == DIGEST
    assert source.reads == 1
