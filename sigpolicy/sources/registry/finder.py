"""Finding an image's signatures wherever containers/image would look for them.

:meth:`SignatureFinder.find`, step by step (``dockerImageSource.GetSignaturesWithFormat``):

1. The digest: the reference's own, else its tag (``latest`` for a name alone, as the docker
   transport pulls) resolved at the registry, but only when the caller allows it: a scope
   that demands digests gets ``resolution-failed`` without a request.
2. Simple signatures from exactly one place: the registry's signature extension API when
   the registry announces it, *otherwise* the lookaside store registries.d names for the
   reference. Upstream never reads the lookaside of a registry that has the extension
   (``switch { case supportsSignatures: ...; case signatureBase != nil: ... }``).
3. When registries.d turns ``use-sigstore-attachments`` on: OCI referrers, then the cosign
   tag, duplicates dropped (:mod:`~sigpolicy.sources.registry.attachments`).
4. Steps 2 and 3 run concurrently (they are independent requests); their results are put
   together in upstream's order, and when several fail, the first in that order is raised.
   A missing signature, tag or store is no failure: it is an empty answer.

Each lookaside file is sorted by its envelope
(:func:`~sigpolicy.signature.envelope.parse_signature_file`) into a simple-signing or a
sigstore signature; a file that is neither goes to the simple signatures as it is, so the
verifier reports it (``malformed``) instead of the whole image failing as upstream's
``GetSignatures`` would. Nothing is verified or believed here: the
findings carry bytes to the verifiers, and ``sources_asked`` says where they looked, so a
denial for "no signature" can name each place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.reference.digest import Digest
from sigpolicy.reference.docker import Reference
from sigpolicy.signature.envelope import SigstoreSignature, parse_signature_file
from sigpolicy.sources.registry.attachments import (
    AttachmentResult,
    deduplicated,
    read_cosign_tag,
    read_referrers,
)
from sigpolicy.sources.registry.extension import read_extension
from sigpolicy.sources.registry.lookaside import read_lookaside
from sigpolicy.sources.registry.registries_d import LookasideConfig, RegistriesD

if TYPE_CHECKING:
    from sigpolicy.sources.registry.auth import CredentialSet
    from sigpolicy.sources.registry.client import Manifest, RegistryClient

__all__ = ["RegistryFindings", "SignatureFinder"]

_DEFAULT_TAG: Final = "latest"
_NOTHING: Final = LookasideConfig(None, False)


@dataclass(frozen=True)
class RegistryFindings:
    """What the registry and its stores hold for one image; all of it unverified."""

    #: The repository and the digest looked up (no tag).
    reference: Reference
    digest: Digest
    #: Not fetched by :meth:`SignatureFinder.find` (signatures need the digest only).
    manifest: Manifest | None
    simple_signatures: tuple[tuple[str, bytes], ...]
    sigstore_signatures: tuple[tuple[str, SigstoreSignature], ...]
    sources_asked: tuple[str, ...]
    tag_resolved: bool

    @property
    def has_signatures(self) -> bool:
        return bool(self.simple_signatures or self.sigstore_signatures)


@dataclass(frozen=True, slots=True)
class _Simple:
    asked: tuple[str, ...]
    simple: tuple[tuple[str, bytes], ...] = ()
    sigstore: tuple[tuple[str, SigstoreSignature], ...] = ()


class SignatureFinder:
    """Finds signatures for references (the steps of this module)."""

    def __init__(self, client: RegistryClient, registries_d: RegistriesD | None) -> None:
        self._client = client
        self._registries_d = registries_d

    def config_for(self, reference: Reference) -> LookasideConfig:
        """The registries.d configuration that applies to ``reference``."""
        if self._registries_d is None:
            return _NOTHING
        return self._registries_d.for_reference(reference)

    async def find(
        self,
        reference: Reference,
        *,
        credentials: CredentialSet,
        deadline: float,
        resolve_tags: bool = True,
    ) -> RegistryFindings:
        digest, tag_resolved = await self._digest(reference, credentials, deadline, resolve_tags)
        pinned = Reference(reference.domain, reference.path, None, digest)
        config = self.config_for(reference)
        client = self._client
        attachments = []
        if config.use_sigstore_attachments:
            attachments = [
                read_referrers(client, pinned, digest, credentials=credentials, deadline=deadline),
                read_cosign_tag(client, pinned, digest, credentials=credentials, deadline=deadline),
            ]
        simple, *attached = await _in_order(
            self._simple(pinned, digest, config, credentials, deadline), attachments
        )
        asked = list(simple.asked)
        found: list[tuple[str, SigstoreSignature]] = []
        for result in attached:
            asked.append(result.asked)
            found.extend(result.signatures)
        return RegistryFindings(
            reference=pinned,
            digest=digest,
            manifest=None,
            simple_signatures=simple.simple,
            sigstore_signatures=simple.sigstore + deduplicated(found),
            sources_asked=tuple(asked),
            tag_resolved=tag_resolved,
        )

    async def _digest(
        self,
        reference: Reference,
        credentials: CredentialSet,
        deadline: float,
        resolve_tags: bool,
    ) -> tuple[Digest, bool]:
        """Step 1."""
        if reference.digest is not None:
            return reference.digest, False
        if not resolve_tags:
            raise VerificationError(
                Reason.RESOLUTION_FAILED,
                f"{reference}: the policy scope requires the image to be pinned by digest"
                " (tags are not resolved at the registry for it)",
            )
        tag = reference.tag if reference.tag is not None else _DEFAULT_TAG
        digest = await self._client.resolve_tag(
            reference.name_only(), tag, credentials=credentials, deadline=deadline
        )
        return digest, True

    async def _simple(
        self,
        pinned: Reference,
        digest: Digest,
        config: LookasideConfig,
        credentials: CredentialSet,
        deadline: float,
    ) -> _Simple:
        """Step 2: the extension API, else the lookaside store."""
        extension = await read_extension(
            self._client, pinned, digest, credentials=credentials, deadline=deadline
        )
        if extension is not None:
            return _Simple(("registry extension API",), tuple(extension))
        if config.lookaside is None:
            return _Simple(())
        files = await read_lookaside(
            self._client, config.lookaside, pinned, digest, deadline=deadline
        )
        simple: list[tuple[str, bytes]] = []
        sigstore: list[tuple[str, SigstoreSignature]] = []
        for name, data in files:
            try:
                parsed = parse_signature_file(data)
            except VerificationError:
                simple.append((name, data))  # the verifier says what is wrong with it
                continue
            if isinstance(parsed, SigstoreSignature):
                sigstore.append((name, parsed))
            else:
                simple.append((name, parsed.blob))
        return _Simple((f"lookaside {config.lookaside}",), tuple(simple), tuple(sigstore))


async def _in_order(
    simple: Awaitable[_Simple], attachments: Sequence[Awaitable[AttachmentResult]]
) -> tuple[_Simple, *tuple[AttachmentResult, ...]]:
    """Step 4: run concurrently; raise the first failure in upstream's order."""
    results = await asyncio.gather(simple, *attachments, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    first, *rest = results
    return (cast(_Simple, first), *(cast(AttachmentResult, r) for r in rest))
