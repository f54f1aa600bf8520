"""Leader election through a Lease on the fake server, with two candidates and short leases."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from sigpolicy.sources.cluster import ClusterSource
from sigpolicy.sources.leader import LeaderElector
from tests.support.fakeapi import FakeApiServer

NS = "sigpolicy"
LEASE = "sigpolicy-recorder"
LEASE_PATH = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/{LEASE}"


@contextlib.asynccontextmanager
async def candidate(
    kubeconfig: Path, identity: str, *, release_on_exit: bool = True
) -> AsyncIterator[LeaderElector]:
    """A candidate with its own connection: 1 s lease, 0.6 s renew deadline, 0.1 s retries."""
    elector = LeaderElector.from_kubeconfig(
        kubeconfig,
        namespace=NS,
        name=LEASE,
        identity=identity,
        timeout=0.5,
        lease_duration=1,
        renew_deadline=0.6,
        retry_period=0.1,
        release_on_exit=release_on_exit,
    )
    try:
        yield elector
    finally:
        await elector.close()


def holder(api: FakeApiServer) -> str:
    return str(api.store.get("leases", LEASE, NS)["spec"]["holderIdentity"])


async def test_only_one_of_two_candidates_leads(kubeconfig: Path, fake_api: FakeApiServer) -> None:
    async with candidate(kubeconfig, "a") as a, candidate(kubeconfig, "b") as b:
        results = await asyncio.gather(a.try_acquire_or_renew(), b.try_acquire_or_renew())
        assert sorted(results) == [False, True]
        leader, follower = (a, b) if results[0] else (b, a)
        assert leader.is_leader
        assert not follower.is_leader
        assert holder(fake_api) == leader.identity
        for _ in range(3):  # renewals keep it; the follower keeps observing a live record
            await asyncio.sleep(0.1)
            assert await leader.try_acquire_or_renew()
            assert not await follower.try_acquire_or_renew()
    lease = fake_api.store.get("leases", LEASE, NS)
    assert lease["spec"]["leaseTransitions"] == 0
    assert lease["spec"]["leaseDurationSeconds"] == 1


async def test_takeover_after_the_holder_stops_renewing(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    async with candidate(kubeconfig, "a") as a, candidate(kubeconfig, "b") as b:
        assert await a.try_acquire_or_renew()
        started = asyncio.get_running_loop().time()
        while not await b.try_acquire_or_renew():  # "a" has stopped renewing (crashed)
            await asyncio.sleep(0.1)
        waited = asyncio.get_running_loop().time() - started
        assert waited >= 1.0, "not before the lease duration has passed unrenewed"
        assert holder(fake_api) == "b"
        assert not await a.try_acquire_or_renew(), "the old holder sees it lost"
        assert not a.is_leader
    lease = fake_api.store.get("leases", LEASE, NS)
    assert lease["spec"]["leaseTransitions"] == 1


async def test_run_does_the_work_in_one_candidate_at_a_time(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    running: list[str] = []
    overlaps: list[tuple[str, ...]] = []

    def work(identity: str) -> Callable[[], Awaitable[None]]:
        async def lead() -> None:
            running.append(identity)
            if len(running) > 1:
                overlaps.append(tuple(running))
            await asyncio.sleep(0.3)
            running.remove(identity)

        return lead

    async with candidate(kubeconfig, "a") as a, candidate(kubeconfig, "b") as b:
        done = await asyncio.gather(a.run(work("a")), b.run(work("b")))
    assert list(done) == [True, True]
    assert overlaps == []
    assert holder(fake_api) == "", "the last leader released the lease on exit"


async def test_leader_stops_working_when_it_cannot_renew(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    cancelled = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with candidate(kubeconfig, "a") as a:
        running = asyncio.create_task(a.run(forever))
        async with asyncio.timeout(5):
            while not a.is_leader:
                await asyncio.sleep(0.05)
        fake_api.stop()
        async with asyncio.timeout(5):
            assert await running is False
    assert cancelled.is_set()


async def test_release_lets_another_candidate_lead_at_once(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    async with candidate(kubeconfig, "a") as a, candidate(kubeconfig, "b") as b:
        assert await a.try_acquire_or_renew()
        assert not await b.try_acquire_or_renew()
        await a.release()
        assert not a.is_leader
        assert await b.try_acquire_or_renew()
    assert holder(fake_api) == "b"


async def test_a_source_hands_out_electors_on_its_connection(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        elector = source.leader_elector(
            namespace=NS,
            name=LEASE,
            identity="pod-1",
            lease_duration=2,
            renew_deadline=1.0,
            retry_period=0.2,
        )
        assert await elector.try_acquire_or_renew()
    lease = fake_api.store.get("leases", LEASE, NS)
    assert lease["spec"]["holderIdentity"] == "pod-1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", lease["spec"]["renewTime"])
    assert fake_api.count("POST", f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases") == 1


async def test_whole_second_times_are_written_as_micro_time(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    whole_second = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        elector = LeaderElector(
            source.api, namespace=NS, name=LEASE, identity="pod-1", clock=lambda: whole_second
        )
        assert await elector.try_acquire_or_renew()
        assert await elector.try_acquire_or_renew()
    spec = fake_api.store.get("leases", LEASE, NS)["spec"]
    assert spec["renewTime"] == spec["acquireTime"] == "2024-05-01T10:00:00.000001Z"
