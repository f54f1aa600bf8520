"""Sigstore bundles in a ``dir:`` layout, and in a catalog's ImageSignature objects.

containers/image has no place for a Sigstore bundle in its ``dir:`` layout, and cosign v3
stores one as an OCI referrer whose single layer is the bundle JSON (cosign
``specs/BUNDLE_SPEC.md``). sigpolicy reads bundles from these places (docs/policy.md):

1. ``signature-N`` with the ``sigstore-json`` envelope whose ``mimeType`` is a bundle media
   type (``application/vnd.dev.sigstore.bundle.v0.3+json``, or the v0.1/v0.2/v0.3
   ``+json;version=0.N`` forms): its ``payload`` is the bundle, byte for byte the referrer's
   layer blob. Such a bundle must hold what it signs (a DSSE envelope, as cosign v3 writes).
2. ``signature-N.sigstore.json`` beside a ``signature-N`` that is a cosign attachment: the
   bundle of that attachment's payload (a message signature holds only the payload's
   digest), after the ``<artifact>.sigstore.json`` naming sigstore clients use for the
   bundle of a file. Read for N from 1 to the number of signature files, each at most
   :data:`~sigpolicy.signature.bundle_format.MAX_BUNDLE` bytes.
3. In a catalog (and the cluster), an ImageSignature whose ``type`` is a bundle media type:
   its ``content`` is the bundle (self-contained, as in 1).

Nothing is parsed or trusted here: :func:`~sigpolicy.signature.bundle.explain_bundle` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from sigpolicy.signature.bundle import BundleAttachment
from sigpolicy.signature.bundle_format import MAX_BUNDLE, MEDIA_TYPES
from sigpolicy.signature.envelope import SigstoreSignature

# The layout reader's own bounded, FIFO-safe open: one way of reading files of a layout.
from sigpolicy.sources.dirlayout import _read_optional

BUNDLE_SUFFIX: Final = ".sigstore.json"


def is_bundle_attachment(signature: SigstoreSignature) -> bool:
    """Rule 1: the envelope says its payload is a bundle."""
    return signature.mime_type in MEDIA_TYPES


def bundles_in_dir(
    folder: Path,
    count: int,
    sigstore: Sequence[tuple[str, SigstoreSignature]],
) -> list[tuple[str, BundleAttachment]]:
    """Rules 1 and 2 for a layout of ``count`` signature files, of which ``sigstore`` are
    the ``sigstore-json`` ones (by name)."""
    attachments = dict(sigstore)
    found = [
        (name, BundleAttachment(signature.payload))
        for name, signature in sigstore
        if is_bundle_attachment(signature)
    ]
    for number in range(1, count + 1):
        name = f"signature-{number}"
        data = _read_optional(folder / f"{name}{BUNDLE_SUFFIX}", MAX_BUNDLE)
        if data is None:
            continue
        beside = attachments.get(name)
        payload = (
            beside.payload if beside is not None and not is_bundle_attachment(beside) else None
        )
        found.append((f"{name}{BUNDLE_SUFFIX}", BundleAttachment(data, payload)))
    return found


def bundles_in_signatures(
    signatures: Iterable[tuple[str, str, bytes]],
) -> list[tuple[str, BundleAttachment]]:
    """Rule 3: ``(name, type, content)`` of ImageSignature objects."""
    return [
        (name, BundleAttachment(content))
        for name, kind, content in signatures
        if kind in MEDIA_TYPES
    ]
