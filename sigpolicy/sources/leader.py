"""Leader election through a coordination.k8s.io/v1 Lease, as client-go's leaderelection does.

Several replicas (of the webhook, of a recorder) may run; work that must happen once, such
as writing verification results back to Images, runs only in the leader. The rules:

1. A Lease with no holder, or one whose record has not changed for ``leaseDurationSeconds``
   *as observed by this process's monotonic clock*, may be taken. Observing changes instead
   of comparing ``renewTime`` with our wall clock makes the election immune to clock skew
   between nodes (client-go does the same).
2. Taking or renewing is a PUT with the ``resourceVersion`` just read (or a POST when the
   Lease does not exist): of two candidates racing, the server accepts exactly one.
3. The leader renews every ``retry_period``. If it has not renewed successfully for
   ``renew_deadline`` (shorter than the lease duration, so it stops before anyone else can
   take over), it stops leading: the work is cancelled.
4. On a clean exit the leader releases the Lease (empty holder) so another replica takes over
   at once instead of after the lease duration.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sigpolicy.errors import ConflictError, NotFoundError, SourceError
from sigpolicy.sources._kube import KubeApi, LeaseRecord

__all__ = ["LeaderElector"]

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LeaderElector:
    """One candidate for the Lease ``namespace/name``, identified by ``identity``."""

    def __init__(
        self,
        api: KubeApi,
        *,
        namespace: str,
        name: str,
        identity: str,
        lease_duration: int = 15,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        release_on_exit: bool = True,
        clock: Callable[[], datetime] = _utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not identity:
            raise ValueError("a leader election identity must not be empty")
        if not 0 < retry_period < renew_deadline < lease_duration:
            raise ValueError("need 0 < retry_period < renew_deadline < lease_duration")
        self._api = api
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.release_on_exit = release_on_exit
        self._clock = clock
        self._monotonic = monotonic
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0
        self._last_renew: float | None = None

    @classmethod
    def from_kubeconfig(
        cls,
        path: str | os.PathLike[str],
        *,
        namespace: str,
        name: str,
        identity: str,
        context: str | None = None,
        timeout: float = 5.0,
        lease_duration: int = 15,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        release_on_exit: bool = True,
    ) -> LeaderElector:
        """An elector with its own connection (close it with :meth:`close`)."""
        api = KubeApi.from_kubeconfig(path, context=context, timeout=timeout)
        return cls(
            api,
            namespace=namespace,
            name=name,
            identity=identity,
            lease_duration=lease_duration,
            renew_deadline=renew_deadline,
            retry_period=retry_period,
            release_on_exit=release_on_exit,
        )

    @property
    def is_leader(self) -> bool:
        """Whether this candidate holds the Lease and renewed it within ``renew_deadline``."""
        if self._last_renew is None:
            return False
        return self._monotonic() - self._last_renew < self.renew_deadline

    @property
    def observed_holder(self) -> str:
        """The holder in the newest Lease record this candidate saw ('' when none)."""
        return self._observed.holder if self._observed else ""

    async def try_acquire_or_renew(self) -> bool:
        """One attempt to take or renew the Lease (rules 1 and 2); never raises for the API.

        Returns whether this candidate leads now.
        """
        now = self._clock()
        try:
            current = await self._api.get_lease(self.namespace, self.name)
        except NotFoundError:
            return await self._create(now)
        except SourceError as err:
            log.warning("leader election: reading the lease failed: %s", err.diagnostics())
            return self.is_leader
        self._observe(current)
        held_by_other = current.holder not in ("", self.identity)
        duration = current.duration_seconds or self.lease_duration
        if held_by_other and self._monotonic() < self._observed_at + duration:
            self._last_renew = None
            return False
        renewing = current.holder == self.identity
        wanted = LeaseRecord(
            holder=self.identity,
            duration_seconds=self.lease_duration,
            acquire_time=current.acquire_time if renewing else now,
            renew_time=now,
            transitions=current.transitions if renewing else current.transitions + 1,
            resource_version=current.resource_version,
        )
        try:
            written = await self._api.replace_lease(self.namespace, self.name, wanted)
        except ConflictError:
            log.info("leader election: lost a race for %s/%s", self.namespace, self.name)
            return self.is_leader
        except SourceError as err:
            log.warning("leader election: writing the lease failed: %s", err.diagnostics())
            return self.is_leader
        return self._won(written, taken=not renewing)

    async def run(self, work: Callable[[], Awaitable[None]]) -> bool:
        """Wait to lead, run ``work`` while leading (rule 3), release on exit (rule 4).

        Returns True when ``work`` finished while this candidate led, False when leadership
        was lost and ``work`` was cancelled. Exceptions from ``work`` propagate.
        """
        try:
            while not await self.try_acquire_or_renew():
                await self._pause()
            task = asyncio.ensure_future(work())
            try:
                while True:
                    done, _ = await asyncio.wait({task}, timeout=self._jittered())
                    if done:
                        task.result()
                        return True
                    await self.try_acquire_or_renew()
                    if not self.is_leader:
                        log.warning(
                            "leader election: %s stopped leading %s/%s",
                            self.identity,
                            self.namespace,
                            self.name,
                        )
                        return False
            finally:
                if not task.done():
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
        finally:
            if self.release_on_exit:
                await self.release()

    async def release(self) -> None:
        """Give up the Lease if this candidate holds it, so another takes over at once."""
        if self._last_renew is None or self._observed is None:
            return
        self._last_renew = None
        now = self._clock()
        released = LeaseRecord(
            holder="",
            duration_seconds=1,
            acquire_time=now,
            renew_time=now,
            transitions=self._observed.transitions,
            resource_version=self._observed.resource_version,
        )
        try:
            await self._api.replace_lease(self.namespace, self.name, released)
        except SourceError as err:
            log.info("leader election: release of the lease failed: %s", err.diagnostics())

    async def close(self) -> None:
        await self._api.close()

    # -- helpers ------------------------------------------------------------------------------

    async def _create(self, now: datetime) -> bool:
        record = LeaseRecord(
            holder=self.identity,
            duration_seconds=self.lease_duration,
            acquire_time=now,
            renew_time=now,
            transitions=0,
        )
        try:
            written = await self._api.create_lease(self.namespace, self.name, record)
        except SourceError as err:  # ConflictError: another candidate created it first
            log.info("leader election: creating the lease failed: %s", err.diagnostics())
            return False
        return self._won(written, taken=True)

    def _won(self, written: LeaseRecord, *, taken: bool) -> bool:
        self._observe(written)
        self._last_renew = self._monotonic()
        if taken:
            log.info("leader election: %s leads %s/%s", self.identity, self.namespace, self.name)
        return True

    def _observe(self, record: LeaseRecord) -> None:
        """Rule 1: remember when the record last changed, by our own clock."""
        if self._observed is None or _record_key(self._observed) != _record_key(record):
            self._observed_at = self._monotonic()
        self._observed = record

    def _jittered(self) -> float:
        # Jitter keeps candidates from hitting the server in lockstep; not a security measure.
        return self.retry_period * random.uniform(1.0, 1.2)  # noqa: S311

    async def _pause(self) -> None:
        await asyncio.sleep(self._jittered())


def _record_key(record: LeaseRecord) -> tuple[object, ...]:
    return (
        record.holder,
        record.duration_seconds,
        record.acquire_time,
        record.renew_time,
        record.transitions,
    )
