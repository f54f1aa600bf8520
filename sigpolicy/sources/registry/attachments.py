"""Sigstore (cosign) attachments in the image's own repository, read as containers/image.

Two places, both read when registries.d turns ``use-sigstore-attachments`` on, in this order
(``GetSignaturesWithFormat``: referrers, then the tag), duplicates dropped:

1. OCI 1.1 referrers (``GET /v2/<repo>/referrers/<digest>``). A registry without the API
   (404, or not an index) is asked through the distribution-spec fallback instead: the
   image index tagged ``<alg>-<hex>``. Of the listed manifests only those of a sigstore
   artifact type are taken (empty, ``application/vnd.dev.cosign.*`` or
   ``application/vnd.dev.sigstore.*``); each is fetched by digest and must be an OCI image
   manifest. As upstream, one referrer that cannot be read or parsed is skipped (the API
   may list unrelated or broken artifacts), while an unreachable, refusing or slow registry
   fails the lookup. Bounds as upstream: at most 1,024 index entries scanned, 64 referrer
   manifests and 512 layers fetched.
2. The cosign tag ``<alg>-<hex>.sig``: an OCI image manifest (media type exactly
   ``application/vnd.oci.image.manifest.v1+json``, else an error), one layer per
   attachment. No tag: nothing here.

Every layer blob is fetched by its digest (the client verifies the bytes against it), at
most :data:`~sigpolicy.signature.envelope.MAX_SIGNATURE_FILE` bytes (a descriptor that
declares more is refused unread). A manifest of more than :data:`MAX_LAYERS` layers is
refused. The layer's media type and annotations are kept exactly as found: nothing here is
believed; the cosign verifier decides what is a signature and whether it verifies.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sigpolicy.errors import InputError
from sigpolicy.reference.digest import Digest, parse_digest
from sigpolicy.reference.docker import Reference
from sigpolicy.signature.envelope import MAX_SIGNATURE_FILE, SigstoreSignature
from sigpolicy.sources.registry.errors import (
    ManifestDigestMismatchError,
    RegistryNotFoundError,
    RegistryProtocolError,
)

if TYPE_CHECKING:
    from sigpolicy.sources.registry.auth import CredentialSet
    from sigpolicy.sources.registry.client import Descriptor, RegistryClient

__all__ = [
    "MAX_LAYERS",
    "AttachmentResult",
    "cosign_tag",
    "read_cosign_tag",
    "read_referrers",
    "referrers_tag",
]

OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX: Final = "application/vnd.oci.image.index.v1+json"
#: The most layers one attachment manifest may list.
MAX_LAYERS: Final = 64
#: upstream ``maxReferrersToScan``, ``maxReferrersToProcess``, ``maxReferrersLayerFetches``.
MAX_REFERRERS_SCANNED: Final = 1024
MAX_REFERRERS_FETCHED: Final = 64
MAX_REFERRER_LAYERS: Final = 512
_SIGSTORE_TYPE_PREFIXES: Final = ("application/vnd.dev.cosign.", "application/vnd.dev.sigstore.")
# Errors that mean "this one referrer is broken", skipped as upstream skips them (rule 1).
_SKIPPED: Final = (RegistryNotFoundError, RegistryProtocolError, ManifestDigestMismatchError)


@dataclass(frozen=True, slots=True)
class AttachmentResult:
    """What one place held: ``(name, attachment)`` pairs, and the label of what was asked."""

    asked: str
    signatures: tuple[tuple[str, SigstoreSignature], ...]


@dataclass(frozen=True, slots=True)
class _Layer:
    media_type: str
    digest: Digest
    size: int
    annotations: dict[str, str]


def cosign_tag(digest: Digest) -> str:
    """``sha256-<hex>.sig`` (upstream ``sigstoreAttachmentTag``)."""
    return f"{digest.algorithm}-{digest.hex}.sig"


def referrers_tag(digest: Digest) -> str:
    """``sha256-<hex>``: the distribution-spec's referrers tag schema."""
    return f"{digest.algorithm}-{digest.hex}"


def is_sigstore_artifact_type(artifact_type: str | None) -> bool:
    """Upstream ``isSigstoreReferrerArtifactType``: empty for cosign v1, or a sigstore type."""
    return not artifact_type or artifact_type.startswith(_SIGSTORE_TYPE_PREFIXES)


async def read_cosign_tag(
    client: RegistryClient,
    ref: Reference,
    digest: Digest,
    *,
    credentials: CredentialSet,
    deadline: float,
) -> AttachmentResult:
    """Rule 2: the attachments of the cosign tag, in layer order."""
    tag = cosign_tag(digest)
    asked = f"cosign tag {tag}"
    repository = ref.name_only()
    try:
        manifest = await client.get_manifest(
            repository, tag, credentials=credentials, deadline=deadline
        )
    except RegistryNotFoundError:
        return AttachmentResult(asked, ())
    if manifest.media_type != OCI_MANIFEST:
        raise RegistryProtocolError(
            ref.domain,
            f"{ref.repository}:{tag}: a sigstore attachment manifest of type"
            f" {manifest.media_type!r}, not {OCI_MANIFEST}",
        )
    layers = _manifest_layers(manifest.body, f"{ref.repository}:{tag}", ref.domain)
    found = await _fetch_layers(client, ref, layers, tag, credentials, deadline)
    return AttachmentResult(asked, tuple(found))


async def read_referrers(
    client: RegistryClient,
    ref: Reference,
    digest: Digest,
    *,
    credentials: CredentialSet,
    deadline: float,
) -> AttachmentResult:
    """Rule 1: the sigstore attachments among the referrers of ``digest``."""
    repository = ref.name_only()
    descriptors: Sequence[Descriptor] | None = await client.get_referrers(
        repository, digest, credentials=credentials, deadline=deadline
    )
    asked = "OCI referrers"
    entries: list[tuple[str | None, Digest, str]]
    if descriptors is not None:
        entries = [(d.artifact_type, d.digest, d.media_type) for d in descriptors]
    else:
        tag = referrers_tag(digest)
        asked = f"OCI referrers (tag {tag})"
        entries = await _referrers_from_tag(client, ref, tag, credentials, deadline)
    found: list[tuple[str, SigstoreSignature]] = []
    fetched = layers_fetched = 0
    for index, (artifact_type, manifest_digest, _media_type) in enumerate(entries):
        if index >= MAX_REFERRERS_SCANNED or fetched >= MAX_REFERRERS_FETCHED:
            break
        if layers_fetched >= MAX_REFERRER_LAYERS:
            break
        if not is_sigstore_artifact_type(artifact_type):
            continue
        fetched += 1
        where = f"{ref.repository}@{manifest_digest}"
        try:
            manifest = await client.get_manifest(
                repository, str(manifest_digest), credentials=credentials, deadline=deadline
            )
            if manifest.media_type != OCI_MANIFEST:
                continue
            layers = _manifest_layers(manifest.body, where, ref.domain)
            layers = layers[: MAX_REFERRER_LAYERS - layers_fetched]
            layers_fetched += len(layers)
            found.extend(
                await _fetch_layers(
                    client, ref, layers, f"referrer {manifest_digest}", credentials, deadline
                )
            )
        except _SKIPPED:
            continue
    return AttachmentResult(asked, tuple(found))


def deduplicated(
    signatures: Sequence[tuple[str, SigstoreSignature]],
) -> tuple[tuple[str, SigstoreSignature], ...]:
    """Drop attachments equal to an earlier one (upstream ``deduplicateSigstoreSignatures``)."""
    seen: set[tuple[str, bytes, tuple[tuple[str, str], ...]]] = set()
    kept: list[tuple[str, SigstoreSignature]] = []
    for name, sig in signatures:
        key = (sig.mime_type, sig.payload, tuple(sorted(sig.annotations.items())))
        if key in seen:
            continue
        seen.add(key)
        kept.append((name, sig))
    return tuple(kept)


# --- helpers ---


async def _referrers_from_tag(
    client: RegistryClient,
    ref: Reference,
    tag: str,
    credentials: CredentialSet,
    deadline: float,
) -> list[tuple[str | None, Digest, str]]:
    try:
        index = await client.get_manifest(
            ref.name_only(), tag, credentials=credentials, deadline=deadline
        )
    except RegistryNotFoundError:
        return []
    if index.media_type != OCI_INDEX:
        return []
    document = _json_object(index.body, f"{ref.repository}:{tag}", ref.domain)
    manifests = document.get("manifests", [])
    if not isinstance(manifests, list):
        raise RegistryProtocolError(ref.domain, f"{ref.repository}:{tag}: manifests is not a list")
    entries: list[tuple[str | None, Digest, str]] = []
    for position, raw in enumerate(manifests[:MAX_REFERRERS_SCANNED]):
        descriptor = _descriptor(raw, f"{ref.repository}:{tag} manifests[{position}]", ref.domain)
        artifact = raw.get("artifactType")
        artifact_type = artifact if isinstance(artifact, str) else None
        entries.append((artifact_type, descriptor.digest, descriptor.media_type))
    return entries


async def _fetch_layers(
    client: RegistryClient,
    ref: Reference,
    layers: Sequence[_Layer],
    label: str,
    credentials: CredentialSet,
    deadline: float,
) -> list[tuple[str, SigstoreSignature]]:
    for layer in layers:
        if layer.size > MAX_SIGNATURE_FILE:
            raise RegistryProtocolError(
                ref.domain,
                f"{ref.repository}: attachment layer {layer.digest} declares {layer.size}"
                f" bytes, over the {MAX_SIGNATURE_FILE}-byte limit",
            )
    repository = ref.name_only()
    blobs = await asyncio.gather(
        *(
            client.get_blob(
                repository,
                layer.digest,
                credentials=credentials,
                deadline=deadline,
                max_bytes=MAX_SIGNATURE_FILE,
            )
            for layer in layers
        )
    )
    return [
        (
            f"{label} layer {number}",
            SigstoreSignature(
                layer.media_type,
                blob,
                layer.annotations.get("dev.cosignproject.cosign/signature"),
                dict(layer.annotations),
            ),
        )
        for number, (layer, blob) in enumerate(zip(layers, blobs, strict=True), start=1)
    ]


def _manifest_layers(body: bytes, where: str, host: str) -> list[_Layer]:
    document = _json_object(body, where, host)
    declared = document.get("mediaType")
    if declared is not None and declared != OCI_MANIFEST:
        raise RegistryProtocolError(host, f"{where}: mediaType {declared!r} is not {OCI_MANIFEST}")
    raw_layers = document.get("layers", [])
    if not isinstance(raw_layers, list):
        raise RegistryProtocolError(host, f"{where}: layers is not a list")
    if len(raw_layers) > MAX_LAYERS:
        raise RegistryProtocolError(
            host, f"{where}: {len(raw_layers)} layers, more than the {MAX_LAYERS} accepted"
        )
    return [
        _descriptor(raw, f"{where} layers[{position}]", host)
        for position, raw in enumerate(raw_layers)
    ]


def _descriptor(raw: Any, where: str, host: str) -> _Layer:
    if not isinstance(raw, dict):
        raise RegistryProtocolError(host, f"{where}: not a descriptor object")
    media_type = raw.get("mediaType")
    size = raw.get("size")
    annotations = raw.get("annotations") or {}
    if not isinstance(media_type, str):
        raise RegistryProtocolError(host, f"{where}: mediaType is not a string")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise RegistryProtocolError(host, f"{where}: size is not a non-negative integer")
    if not isinstance(annotations, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
    ):
        raise RegistryProtocolError(host, f"{where}: annotations must map strings to strings")
    text = raw.get("digest")
    try:
        digest = parse_digest(text if isinstance(text, str) else "")
    except InputError as exc:
        raise RegistryProtocolError(host, f"{where}: {exc}") from None
    return _Layer(media_type, digest, size, dict(annotations))


def _json_object(body: bytes, where: str, host: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise RegistryProtocolError(host, f"{where}: not JSON") from None
    if not isinstance(document, dict):
        raise RegistryProtocolError(host, f"{where}: not a JSON object")
    return document
