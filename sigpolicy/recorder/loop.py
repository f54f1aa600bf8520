"""The recorder's work: passes over the images, writes, retries and totals.

One pass lists the images, picks the signatures that are due (:mod:`.due`), verifies each
image's signatures on the newest copy inside the source's read-modify-write (so a concurrent
writer's change survives), and records the verdicts of the due ones. An image whose read
or write fails is retried with exponential backoff; after the last attempt it is reported
as failed, never dropped silently. The time is read once per image write and passed down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sigpolicy.api import Image, SignatureConditionType
from sigpolicy.errors import InputError, SigpolicyError, SourceError
from sigpolicy.recorder.due import Freshness, due_signatures, own_identity
from sigpolicy.signature.backends import Backend
from sigpolicy.sources.base import BatchImageSource, ImageSource
from sigpolicy.trust.store import TrustStore
from sigpolicy.verify.image import verify_image
from sigpolicy.verify.record import record_image

log = logging.getLogger("sigpolicy.record")
T = TypeVar("T")


@dataclass
class Totals:
    images: int = 0
    images_written: int = 0
    signatures_verified: int = 0
    trusted: int = 0
    not_trusted: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.images} images, {self.signatures_verified} signatures verified"
            f" ({self.trusted} trusted, {self.not_trusted} not), {self.images_written} images"
            f" written, {self.skipped} skipped, {len(self.failed)} failed, in {self.seconds:.1f} s"
        )


@dataclass(frozen=True)
class RecorderSettings:
    stale_after: int = 24 * 3600
    backend: Backend = "native"
    concurrency: int = 8
    batch_size: int = 500
    attempts: int = 5
    first_backoff: float = 0.5


class Recorder:
    def __init__(
        self,
        source: ImageSource,
        trust: Callable[[], TrustStore],
        settings: RecorderSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.trust = trust
        self.settings = settings or RecorderSettings()
        self.clock = clock
        self._generation: str | None = None
        self._trust_since = 0

    def _freshness(self, store: TrustStore) -> Freshness:
        if store.generation != self._generation:
            self._generation = store.generation
            self._trust_since = int(self.clock())
        return Freshness(self.settings.stale_after, self._trust_since)

    async def run_pass(self, images: Sequence[Image] | None = None) -> Totals:
        """One pass over ``images`` (default: every image of the source)."""
        started = time.monotonic()
        totals = Totals()
        if images is None:
            listed = await self._retrying("listing images", self.source.list_images)
            if isinstance(listed, _Failed):
                raise SourceError(
                    f"{self.source.description}: listing images failed"
                    f" {self.settings.attempts} times; nothing was written"
                )
            images = listed
        store = self.trust()
        freshness = self._freshness(store)
        now = int(self.clock())
        pending = [_name(image) for image in images if due_signatures(image, freshness, now)]
        totals.images = len(images)
        log.info("record: %d of %d images have signatures to verify", len(pending), len(images))
        step = self.settings.batch_size
        for start in range(0, len(pending), step):
            await self._write_batch(pending[start : start + step], store, freshness, totals)
            log.info(
                "record: progress %d/%d images, %d signatures verified",
                min(start + step, len(pending)),
                len(pending),
                totals.signatures_verified,
            )
        totals.seconds = time.monotonic() - started
        log.info("record: pass done: %s", totals.summary())
        return totals

    async def _write_batch(
        self, names: list[str], store: TrustStore, freshness: Freshness, totals: Totals
    ) -> None:
        backend = self.settings.backend
        # What each image's last applied change recorded (a retried change overwrites it).
        recorded: dict[str, set[str]] = {}

        def change(image: Image) -> Image | None:
            now = int(self.clock())
            due = set(due_signatures(image, freshness, now))
            if not due:
                return None
            try:
                identity = own_identity(image)
            except InputError as exc:
                log.warning("record: %s", exc.diagnostics())
                return None
            verification = verify_image(image, store, identity, now=now, backend=backend)
            recorded[_name(image)] = due
            return record_image(image, verification, now, names=due)

        if isinstance(self.source, BatchImageSource):
            batch = self.source
            results = await self._retrying(
                f"writing {len(names)} images", lambda: batch.update_images(names, change)
            )
            if isinstance(results, _Failed):
                totals.failed.extend(names)
                return
            for name, written in results.items():
                _count(totals, written, recorded.get(name, set()))
            return
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def one(name: str) -> None:
            async with gate:
                written = await self._retrying(
                    f"image {name}", lambda: self.source.update_image(name, change)
                )
            if isinstance(written, _Failed):
                totals.failed.append(name)
            else:
                _count(totals, written, recorded.get(name, set()))

        await asyncio.gather(*(one(name) for name in names))

    async def _retrying(self, what: str, action: Callable[[], Awaitable[T]]) -> T | _Failed:
        """``action()``, retried with exponential backoff while the source fails."""
        delay = self.settings.first_backoff
        for attempt in range(1, self.settings.attempts + 1):
            try:
                return await action()
            except SourceError as exc:
                if attempt == self.settings.attempts:
                    log.error(
                        "record: %s failed after %d attempts: %s", what, attempt, exc.diagnostics()
                    )
                    break
                log.warning(
                    "record: %s failed (attempt %d of %d), retrying in %.1f s: %s",
                    what,
                    attempt,
                    self.settings.attempts,
                    delay,
                    exc.diagnostics(),
                )
                await asyncio.sleep(delay)
                delay *= 2
        return _Failed()


class _Failed:
    """An action that failed on every attempt (already logged)."""


def _count(totals: Totals, written: Image | None, names: set[str]) -> None:
    if written is None:
        totals.skipped += 1
        return
    totals.images_written += 1
    for signature in written.signatures or ():
        if signature.name not in names:
            continue
        trusted = signature.condition(SignatureConditionType.TRUSTED)
        totals.signatures_verified += 1
        if trusted is not None and trusted.status == "True":
            totals.trusted += 1
        else:
            totals.not_trusted += 1


def _name(image: Image) -> str:
    if image.metadata is None or not image.metadata.name:
        raise SigpolicyError("an Image without metadata.name")
    return image.metadata.name


async def run_forever(
    recorder: Recorder,
    *,
    resync_every: float,
    trust_generation: Callable[[], str],
    refresh_trust: Callable[[], Awaitable[None]] | None = None,
    poll: float = 5.0,
) -> None:
    """Record until cancelled: a full pass every ``resync_every`` seconds, at once when the
    trust store changes, and the images a watch reports in between."""
    pending: set[str] = set()
    wake = asyncio.Event()

    async def watch() -> None:
        backoff = 1.0
        while True:
            try:
                async for event in recorder.source.watch_images():
                    backoff = 1.0
                    if event.type in ("ADDED", "MODIFIED") and event.image is not None:
                        pending.add(_name(event.image))
                        wake.set()
            except SourceError as exc:
                log.warning(
                    "record: watch failed, restarting in %.0f s: %s", backoff, exc.diagnostics()
                )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 60.0)

    watcher = asyncio.create_task(watch())
    try:
        next_resync = 0.0
        generation = trust_generation()
        while True:
            if refresh_trust is not None:
                await refresh_trust()
            current = trust_generation()
            if current != generation:
                log.info("record: the trust store changed; re-verifying every signature")
                generation, next_resync = current, 0.0
            if time.monotonic() >= next_resync:
                pending.clear()
                try:
                    await recorder.run_pass()
                except SourceError as exc:
                    log.error("record: %s; the next pass will try again", exc.diagnostics())
                next_resync = time.monotonic() + resync_every
            elif pending:
                names = sorted(pending)
                pending.clear()
                images = []
                for name in names:
                    try:
                        images.append(await recorder.source.get_image(name))
                    except SourceError as exc:
                        log.warning("record: %s; it will be retried", exc.diagnostics())
                        pending.add(name)
                await recorder.run_pass(images)
            wake.clear()
            timeout = max(0.0, min(poll, next_resync - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=timeout)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
