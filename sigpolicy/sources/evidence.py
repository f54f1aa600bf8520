"""Gathering what a decision needs about one image, from a ``dir:`` layout or an image source.

``dir:`` (containers/image layout): the manifest gives the digest check, every
``signature-N`` file is sorted by its envelope into simple-signing and sigstore signatures,
and the reference given is the image's identity.

Images of a catalog or the cluster are resolved as the webhook resolves them
(:mod:`sigpolicy.resolve.resolver`).
"""

from __future__ import annotations

import time
from pathlib import Path

from sigpolicy.errors import VerificationError
from sigpolicy.policy.evidence import ImageEvidence
from sigpolicy.reference.docker import Reference
from sigpolicy.signature.envelope import SigstoreSignature, parse_signature_file
from sigpolicy.sources.bundle_files import bundles_in_dir, is_bundle_attachment
from sigpolicy.sources.dirlayout import read_dir_image
from sigpolicy.verify.checks import ManifestBytes

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
    bundles = bundles_in_dir(image.path, len(image.signatures), sigstore)
    return ImageEvidence(
        reference,
        digest,
        tuple(simple),
        tuple((n, s) for n, s in sigstore if not is_bundle_attachment(s)),
        namespace=namespace,
        now=int(time.time()),
        sigstore_bundles=tuple(bundles),
    )
