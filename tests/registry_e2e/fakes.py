"""A registry client and finder that satisfy registry-contract.md, for tests of the layering
logic (what is asked, when, how often, and what each failure becomes). The end-to-end tests
use the real client against Debian's docker-registry."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from sigpolicy.reference.digest import Digest, parse_digest
from sigpolicy.reference.docker import Reference
from sigpolicy.sources.registry.auth import CredentialSet
from sigpolicy.sources.registry.client import Manifest
from sigpolicy.sources.registry.finder import RegistryFindings


@dataclass
class FakeRegistry:
    """Tags and signatures by repository; ``fail`` raises for a repository; ``hang`` waits."""

    tags: dict[tuple[str, str], str] = field(default_factory=dict)
    signatures: dict[tuple[str, str], tuple[tuple[str, bytes], ...]] = field(default_factory=dict)
    fail: dict[str, Exception] = field(default_factory=dict)
    hang: set[str] = field(default_factory=set)
    calls: Counter[str] = field(default_factory=Counter)
    credentials_seen: list[CredentialSet] = field(default_factory=list)
    closed: bool = False

    async def _maybe_fail(self, repository: str) -> None:
        await asyncio.sleep(0)  # a real request always yields
        if repository in self.hang:
            await asyncio.sleep(3600)
        if repository in self.fail:
            raise self.fail[repository]

    # -- the client's part ------------------------------------------------------------------

    async def resolve_tag(
        self, repository: Reference, tag: str, *, credentials: CredentialSet, deadline: float
    ) -> Digest:
        self.calls[f"tag {repository.repository}:{tag}"] += 1
        self.credentials_seen.append(credentials)
        await self._maybe_fail(repository.repository)
        from sigpolicy.sources.registry.errors import RegistryNotFoundError

        digest = self.tags.get((repository.repository, tag))
        if digest is None:
            raise RegistryNotFoundError(repository.domain, f"{repository}:{tag}: no such tag")
        return parse_digest(digest)

    async def get_manifest(
        self, repository: Reference, reference: str, *, credentials: CredentialSet, deadline: float
    ) -> Manifest:
        self.calls[f"manifest {repository.repository}@{reference}"] += 1
        await self._maybe_fail(repository.repository)
        return Manifest(
            parse_digest(reference), "application/vnd.oci.image.manifest.v1+json", b"{}"
        )

    def stats(self) -> Mapping[tuple[str, str], int]:
        return {("fake.example", "ok"): sum(self.calls.values())}

    async def aclose(self) -> None:
        self.closed = True

    # -- the finder's part ------------------------------------------------------------------

    async def find(
        self,
        reference: Reference,
        *,
        credentials: CredentialSet,
        deadline: float,
        resolve_tags: bool = True,
    ) -> RegistryFindings:
        assert reference.digest is not None, "the layer resolves tags itself"
        assert not resolve_tags
        self.calls[f"find {reference}"] += 1
        self.credentials_seen.append(credentials)
        await self._maybe_fail(reference.repository)
        found = self.signatures.get((reference.repository, str(reference.digest)), ())
        return RegistryFindings(
            reference=reference,
            digest=reference.digest,
            manifest=None,
            simple_signatures=found,
            sigstore_signatures=(),
            sources_asked=("lookaside https://sigs.fake.example", "registry extension API"),
            tag_resolved=False,
        )
