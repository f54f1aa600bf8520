"""Importing an Image's signatures from where they live into the image API, as OpenShift's
signature import controller does (openshift-controller-manager
``pkg/image/controller/signature``), then leaving their verification to the recorder.

For each Image, in order:

1. An Image managed by OpenShift (annotation ``openshift.io/image.managed: "true"``: pushed
   to the integrated registry, whose signatures already live in the API) is skipped.
2. Its ``dockerImageReference`` gives the repository; the Image's name is the digest. The
   simple signatures of ``repository@digest`` are read from every source the registry
   layer knows (:class:`~sigpolicy.sources.registry.finder.SignatureFinder`: lookaside,
   the registry extension API). Sigstore attachments are not imported: an ImageSignature
   holds a simple-signing blob.
3. Each blob becomes an ImageSignature named ``<image name>@<sha256 hex of the blob>``, of
   type ``AtomicImageV1`` (``imagev1.ImageSignatureTypeAtomicImageV1``, as the controller
   writes), content as fetched; nothing in it is believed here.
4. A blob the Image already holds (same name, or same type and content) is skipped: running
   again imports nothing twice, and a run that stopped half way is resumed by running it
   again. As upstream, an Image never gets more than ``limit`` signatures (default 10).
5. New signatures are created with ``POST imagesignatures`` where the source can (the
   server clears conditions and parsed fields; a 409 means someone imported it first), or
   added to the Image by a read-modify-write otherwise (a catalog folder).

A failure for one image (registry unreachable, refused, too slow) is counted and reported
with its message; the others go on.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from sigpolicy.api import Image, ImageSignature
from sigpolicy.errors import ConflictError, SigpolicyError
from sigpolicy.reference.digest import parse_digest
from sigpolicy.reference.docker import try_parse_reference
from sigpolicy.sources.base import ImageSource
from sigpolicy.sources.registry.auth import CredentialSet

__all__ = ["ImportSettings", "ImportTotals", "SignatureImporter", "signature_name"]

log = logging.getLogger("sigpolicy.import")

MANAGED_ANNOTATION = "openshift.io/image.managed"
IMPORTED_TYPE = "AtomicImageV1"
SIMPLE_TYPES = frozenset({"atomic", "AtomicImageV1"})


class Finder(Protocol):
    async def find(
        self,
        reference: Any,
        *,
        credentials: CredentialSet,
        deadline: float,
        resolve_tags: bool = True,
    ) -> Any: ...


@runtime_checkable
class SignatureWriter(Protocol):
    """A source that creates ImageSignature objects (the cluster)."""

    async def create_signature(self, signature: ImageSignature) -> ImageSignature: ...


@dataclass(frozen=True)
class ImportSettings:
    limit: int = 10
    concurrency: int = 8
    timeout: float = 8.0  # per image, all of its registry requests together


@dataclass
class ImportTotals:
    images: int = 0
    imported: int = 0
    already_there: int = 0
    without_signatures: int = 0
    managed: int = 0
    over_limit: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.images} images: {self.imported} signatures imported, {self.already_there}"
            f" already there, {self.without_signatures} images without signatures,"
            f" {self.managed} managed by OpenShift, {self.over_limit} at the signature limit,"
            f" {len(self.failed)} failed, in {self.seconds:.1f} s"
        )


def signature_name(image_name: str, blob: bytes) -> str:
    """``<image name>@<sha256 hex of the blob>`` (step 3)."""
    return f"{image_name}@{hashlib.sha256(blob).hexdigest()}"


class SignatureImporter:
    def __init__(
        self,
        source: ImageSource,
        finder: Finder,
        credentials: CredentialSet,
        settings: ImportSettings | None = None,
        *,
        progress: Callable[[ImportTotals, int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.finder = finder
        self.credentials = credentials
        self.settings = settings or ImportSettings()
        self.progress = progress
        self.clock = clock

    async def run(self, images: Sequence[Image]) -> ImportTotals:
        totals = ImportTotals()
        started = self.clock()
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def one(image: Image) -> None:
            async with gate:
                await self._import(image, totals)
            totals.images += 1
            if self.progress is not None:
                self.progress(totals, len(images))

        await asyncio.gather(*(one(image) for image in images))
        totals.seconds = self.clock() - started
        return totals

    async def _import(self, image: Image, totals: ImportTotals) -> None:
        name = image.metadata.name if image.metadata else None
        annotations = (image.metadata.annotations if image.metadata else None) or {}
        if annotations.get(MANAGED_ANNOTATION) == "true":  # 1
            totals.managed += 1
            return
        source = try_parse_reference(image.docker_image_reference or "")
        if not name or source is None:
            totals.failed.append(f"{name or '(no name)'}: no usable dockerImageReference")
            return
        try:
            pinned = source.name_only().with_digest(parse_digest(name))  # 2
            found = await self.finder.find(
                pinned,
                credentials=self.credentials,
                deadline=self.clock() + self.settings.timeout,
                resolve_tags=False,
            )
        except SigpolicyError as exc:
            totals.failed.append(f"{name}: {exc.diagnostics()}")
            return
        blobs = [blob for _, blob in found.simple_signatures]
        if not blobs:
            totals.without_signatures += 1
            return
        new = _new_signatures(image, name, blobs)  # 3, 4
        totals.already_there += len(dict.fromkeys(blobs)) - len(new)
        if not new:
            return
        if len(image.signatures or ()) + len(new) > self.settings.limit:
            log.warning(
                "image %s: would hold more than %d signatures; nothing imported",
                name,
                self.settings.limit,
            )
            totals.over_limit += 1
            return
        try:
            totals.imported += await self._write(name, new)  # 5
        except SigpolicyError as exc:
            totals.failed.append(f"{name}: {exc.diagnostics()}")

    async def _write(self, name: str, new: list[ImageSignature]) -> int:
        if isinstance(self.source, SignatureWriter):
            created = 0
            for signature in new:
                try:
                    await self.source.create_signature(signature)
                except ConflictError:
                    continue  # imported meanwhile (or the same content under another name)
                created += 1
            return created

        def add(current: Image) -> Image | None:
            missing = _new_signatures(current, name, [s.content for s in new])
            if not missing:
                return None
            return current.model_copy(
                update={"signatures": [*(current.signatures or ()), *missing]}
            )

        written = await self.source.update_image(name, add)
        return 0 if written is None else len(new)


def _new_signatures(image: Image, name: str, blobs: Iterable[bytes]) -> list[ImageSignature]:
    """The blobs the Image does not hold yet, as ImageSignatures (step 4)."""
    names = {s.name for s in image.signatures or ()}
    contents = {bytes(s.content) for s in image.signatures or () if s.type in SIMPLE_TYPES}
    out: dict[str, ImageSignature] = {}
    for blob in blobs:
        signature_id = signature_name(name, blob)
        if signature_id in names or blob in contents or signature_id in out:
            continue
        out[signature_id] = ImageSignature.model_validate(
            {"metadata": {"name": signature_id}, "type": IMPORTED_TYPE, "content": blob}
        )
    return list(out.values())
