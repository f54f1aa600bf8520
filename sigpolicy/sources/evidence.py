"""Gathering what a decision needs about one image, from a ``dir:`` layout or an image source.

``dir:`` (containers/image layout): the manifest gives the digest check, every
``signature-N`` file is sorted by its envelope into simple-signing and sigstore signatures,
and the reference given is the image's identity.

An image source (catalog or cluster): a reference with a digest is the Image of that name; a
tagged reference is looked up through the image streams that import it (spec tag ``from``
that reference) or serve it (``status.dockerImageRepository`` and
``publicDockerImageRepository``). When the Image is found, scopes and identity rules apply to
its ``dockerImageReference`` (its source, bound by the digest). A reference that names no
Image is ``resolution-failed``.
"""

from __future__ import annotations

import time
from pathlib import Path

from sigpolicy.api import Image, ImageStream
from sigpolicy.errors import NotFoundError, VerificationError
from sigpolicy.policy.evidence import ImageEvidence
from sigpolicy.reasons import Reason
from sigpolicy.reference.digest import parse_digest
from sigpolicy.reference.docker import Reference, parse_reference, try_parse_reference
from sigpolicy.signature.envelope import SigstoreSignature, parse_signature_file
from sigpolicy.sources.base import ImageSource
from sigpolicy.sources.dirlayout import read_dir_image
from sigpolicy.verify.checks import KnownDigest, ManifestBytes

SIMPLE_TYPES = frozenset({"atomic", "AtomicImageV1"})


def evidence_from_dir(
    path: Path, reference: Reference, *, namespace: str | None = None
) -> ImageEvidence:
    image = read_dir_image(path)
    simple: list[tuple[str, bytes]] = []
    sigstore: list[tuple[str, SigstoreSignature]] = []
    for number, data in enumerate(image.signatures, start=1):
        name = f"signature-{number}"
        try:
            parsed = parse_signature_file(data)
        except VerificationError:
            simple.append((name, data))  # the verifier reports what is wrong with it
            continue
        if isinstance(parsed, SigstoreSignature):
            sigstore.append((name, parsed))
        else:
            simple.append((name, parsed.blob))
    digest = ManifestBytes(image.manifest) if image.manifest is not None else None
    return ImageEvidence(
        reference,
        digest,
        tuple(simple),
        tuple(sigstore),
        namespace=namespace,
        now=int(time.time()),
    )


class ResolutionError(VerificationError):
    def __init__(self, message: str) -> None:
        super().__init__(Reason.RESOLUTION_FAILED, message)


async def evidence_from_source(
    source: ImageSource, reference: Reference, *, namespace: str | None = None
) -> ImageEvidence:
    """Evidence from the image API; the reference as written when it has no claim on it."""
    image = await find_image(source, reference)
    if image is None:
        return ImageEvidence(reference, None, (), (), namespace=namespace, now=int(time.time()))
    name = image.metadata.name if image.metadata else None
    if not name:
        raise ResolutionError(f"{reference}: the Image has no name")
    resolved = try_parse_reference(image.docker_image_reference or "")
    if resolved is None or resolved.digest is None:
        resolved = reference.name_only().with_digest(parse_digest(name))
    simple = tuple(
        (s.name or f"signature-{i}", s.content)
        for i, s in enumerate(image.signatures or (), start=1)
        if s.type in SIMPLE_TYPES
    )
    return ImageEvidence(
        resolved,
        KnownDigest(parse_digest(name)),
        simple,
        (),
        namespace=namespace,
        resolved_from=str(reference),
        now=int(time.time()),
    )


async def find_image(source: ImageSource, reference: Reference) -> Image | None:
    """The Image ``reference`` names through the image API, or None when the API has no
    claim on it (an external image never imported). A reference the API should resolve but
    cannot (a served repository's missing tag) raises ResolutionError."""
    if reference.digest is not None:
        try:
            return await source.get_image(str(reference.digest))
        except NotFoundError:
            return None
    tag = reference.tag or "latest"
    for stream in await _streams(source):
        meta = stream.metadata
        if meta is None or meta.name is None:
            continue
        serves = _serves(stream, reference)
        if serves or _imports(stream, reference, tag):
            where = f"{meta.namespace or 'default'}/{meta.name}:{tag}"
            try:
                found = await source.get_image_stream_tag(
                    meta.namespace or "default", f"{meta.name}:{tag}"
                )
            except NotFoundError as exc:
                raise ResolutionError(f"{reference}: ImageStreamTag {where}: {exc}") from None
            return found.image
    return None


async def _streams(source: ImageSource) -> list[ImageStream]:
    lister = getattr(source, "list_image_streams", None)
    if lister is None:
        return []
    streams: list[ImageStream] = await lister()
    return streams


def _serves(stream: ImageStream, reference: Reference) -> bool:
    status = stream.status
    if status is None:
        return False
    for repository in (status.docker_image_repository, status.public_docker_image_repository):
        parsed = try_parse_reference(repository or "")
        if parsed is not None and parsed.repository == reference.repository:
            return True
    return False


def _imports(stream: ImageStream, reference: Reference, tag: str) -> bool:
    spec_tag = stream.spec_tag(tag)
    source = spec_tag.from_ if spec_tag is not None else None
    if source is None or source.kind != "DockerImage" or not source.name:
        return False
    parsed = try_parse_reference(source.name)
    return parsed is not None and str(parsed) == str(reference)


def parse_image_reference(text: str) -> Reference:
    return parse_reference(text)
