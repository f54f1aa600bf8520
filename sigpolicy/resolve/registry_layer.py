"""The registry under the image API: evidence for a reference no image stream serves.

Image streams keep priority (SEMANTICS.md §6): the resolver asks this layer only when the
image API (or catalog) has no claim on the reference. For one reference, in order:

1. The policy says what it needs (:meth:`Policy.lookup_plan`): an exemption, a scope that
   reads no signature or an unmatched image needs nothing from a registry; a scope with
   ``tagResolution: digest-only`` denies a reference without a digest (``resolution-failed``)
   before any request.
2. A tag becomes a digest at the registry (HEAD, else GET; cached ``tag_ttl``).
3. The manifest of ``repository@digest`` is fetched (the client recomputes its digest: a
   registry that names a digest it cannot serve is ``digest-mismatch`` or
   ``resolution-failed``, as containers/image finds it), and, at the same time, the
   signatures from every configured source
   (:class:`~sigpolicy.sources.registry.finder.SignatureFinder`: lookaside, the registry
   extension API, cosign attachments); both are cached per digest. Nothing read is
   believed: the verifier checks each signature against the verified digest.
4. Credentials (:mod:`.pull_credentials`) are gathered only when a request must be made.
5. Nothing waits past the review's deadline; a failure becomes a one-line denial with its
   reason class (:func:`registry_failure`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple, Protocol

from sigpolicy.errors import SourceError, VerificationError
from sigpolicy.policy.engine import LookupPlan
from sigpolicy.reasons import Reason
from sigpolicy.reference.digest import Digest
from sigpolicy.reference.docker import Reference
from sigpolicy.resolve.pull_credentials import PullContext, PullCredentials
from sigpolicy.signature.envelope import SigstoreSignature
from sigpolicy.sources.registry.auth import CredentialSet
from sigpolicy.sources.registry.cache import CacheSettings, RegistryCache
from sigpolicy.sources.registry.errors import (
    ManifestDigestMismatchError,
    RegistryAuthError,
    RegistryError,
    RegistryNotFoundError,
    RegistryRateLimitedError,
    RegistryTimeoutError,
    RegistryUnreachableError,
)

__all__ = ["DEFAULT_DEADLINE", "RegistryAnswer", "RegistryLayer", "registry_failure"]

# For a one-off lookup that was given no deadline (the admission engine always gives one).
DEFAULT_DEADLINE = 8.0


class Findings(Protocol):
    """What this layer reads of :class:`~sigpolicy.sources.registry.finder.RegistryFindings`."""

    @property
    def digest(self) -> Digest: ...

    @property
    def simple_signatures(self) -> tuple[tuple[str, bytes], ...]: ...

    @property
    def sigstore_signatures(self) -> tuple[tuple[str, SigstoreSignature], ...]: ...

    @property
    def sources_asked(self) -> tuple[str, ...]: ...


class Finder(Protocol):
    async def find(
        self,
        reference: Reference,
        *,
        credentials: CredentialSet,
        deadline: float,
        resolve_tags: bool = True,
    ) -> Any: ...


class Client(Protocol):
    async def get_manifest(
        self, repository: Reference, reference: str, *, credentials: CredentialSet, deadline: float
    ) -> Any: ...

    async def resolve_tag(
        self, repository: Reference, tag: str, *, credentials: CredentialSet, deadline: float
    ) -> Digest: ...

    def stats(self) -> Mapping[tuple[str, str], int]: ...

    async def aclose(self) -> None: ...


class RegistryAnswer(NamedTuple):
    digest: Digest
    simple_signatures: tuple[tuple[str, bytes], ...]
    sigstore_signatures: tuple[tuple[str, SigstoreSignature], ...]
    sources_asked: tuple[str, ...]
    tag_resolved: bool


class RegistryLayer:
    """One client, finder, credential builder and cache, shared by every review."""

    def __init__(
        self,
        client: Client,
        finder: Finder,
        credentials: PullCredentials,
        *,
        cache: CacheSettings | None = None,
        generation: Callable[[], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.finder = finder
        self.credentials = credentials
        self.clock = clock
        self.generation = generation
        # Auth failures are not kept (module docstring of .cache): they depend on who asked.
        self.cache = RegistryCache(
            cache,
            kept_errors=(RegistryNotFoundError, RegistryUnreachableError, RegistryRateLimitedError),
            has_signatures=_has_signatures,
            clock=clock,
        )

    def stats(self) -> Mapping[tuple[str, str], int]:
        """Requests by (host, outcome), for ``sigpolicy_registry_requests_total``."""
        return self.client.stats()

    async def aclose(self) -> None:
        await self.client.aclose()

    async def look_up(
        self,
        reference: Reference,
        plan: LookupPlan,
        *,
        pull: PullContext | None,
        deadline: float,
        policy_generation: str = "",
    ) -> RegistryAnswer:
        """Steps 2-5 of the module docstring (the caller did step 1 and ``plan.needed``).

        Raises VerificationError with the reason class of what happened.
        """
        generation = policy_generation + "/" + (self.generation() if self.generation else "")
        self.cache.invalidate(generation)
        if reference.digest is None and not plan.resolve_tags:
            raise VerificationError(
                Reason.RESOLUTION_FAILED,
                f"{reference}: scope {plan.scope} has tagResolution: digest-only: reference the"
                " image by digest (name@sha256:...), not by tag",
            )
        remaining = deadline - self.clock()
        try:
            async with asyncio.timeout(max(remaining, 0.0)):
                return await self._look_up(reference, pull, deadline)
        except TimeoutError:
            raise VerificationError(
                Reason.TIMEOUT,
                f"registry {reference.domain}: no answer within the review's deadline",
            ) from None
        except RegistryError as exc:
            raise registry_failure(exc) from None
        except SourceError as exc:  # a lookaside store that cannot be read
            raise VerificationError(Reason.SOURCE_UNAVAILABLE, exc.diagnostics()) from None

    async def _look_up(
        self, reference: Reference, pull: PullContext | None, deadline: float
    ) -> RegistryAnswer:
        known: list[CredentialSet] = []

        async def credentials() -> CredentialSet:
            if not known:
                known.append(await self.credentials.for_pull(pull))
            return known[0]

        repository = reference.name_only()
        digest = reference.digest
        tag_resolved = False
        if digest is None:
            tag = reference.tag or "latest"
            digest = await self.cache.tags.get(
                ("tag", repository.repository, tag),
                _with(credentials, lambda c: self.client.resolve_tag(
                    repository, tag, credentials=c, deadline=deadline
                )),
            )  # fmt: skip
            tag_resolved = True
        pinned = repository.with_digest(digest)

        async def fetch(c: CredentialSet) -> _Found:
            _manifest, findings = await asyncio.gather(
                self.client.get_manifest(repository, str(digest), credentials=c, deadline=deadline),
                self.finder.find(pinned, credentials=c, deadline=deadline, resolve_tags=False),
            )
            return _Found(findings)

        cached: _Found = await self.cache.findings.get(
            ("findings", repository.repository, str(digest)), _with(credentials, fetch)
        )
        found = cached.findings
        return RegistryAnswer(
            digest,
            tuple(found.simple_signatures),
            tuple(found.sigstore_signatures),
            tuple(found.sources_asked),
            tag_resolved,
        )


def _with(
    credentials: Callable[[], Awaitable[CredentialSet]],
    request: Callable[[CredentialSet], Awaitable[Any]],
) -> Callable[[], Awaitable[Any]]:
    async def fetch() -> Any:
        return await request(await credentials())

    return fetch


class _Found(NamedTuple):
    """What is kept per digest (the manifest's bytes are not needed once it was checked)."""

    findings: Findings


def _has_signatures(found: _Found) -> bool:
    return bool(found.findings.simple_signatures or found.findings.sigstore_signatures)


def registry_failure(exc: RegistryError) -> VerificationError:
    """What a registry failure means for a decision: its reason class and a message that says
    what happened (the credential by its label, never its value)."""
    message = exc.diagnostics()
    if isinstance(exc, ManifestDigestMismatchError):
        return VerificationError(Reason.DIGEST_MISMATCH, message)
    if isinstance(exc, RegistryTimeoutError):
        return VerificationError(Reason.TIMEOUT, message)
    if isinstance(exc, RegistryNotFoundError):
        return VerificationError(Reason.RESOLUTION_FAILED, message)
    if isinstance(exc, RegistryAuthError):
        said = exc.credential in message
        return VerificationError(
            Reason.SOURCE_UNAVAILABLE,
            message if said else f"{message} (credential tried: {exc.credential})",
        )
    if isinstance(exc, RegistryRateLimitedError):
        said = exc.retry_after is None or "retry after" in message
        after = "" if said else f"; it asked to retry after {exc.retry_after:g} s"
        return VerificationError(Reason.SOURCE_UNAVAILABLE, f"{message}{after}")
    return VerificationError(Reason.SOURCE_UNAVAILABLE, message)
