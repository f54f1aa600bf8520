"""What is known about one image when a decision is made, and verification done once.

An :class:`ImageEvidence` holds the image reference (what the pod pulls, or the resolved
source), how to check a signed digest, the signatures found for it, and where it runs. The
verdicts on its signatures are computed once per trust set and kept
(:meth:`ImageEvidence.simple_verdicts`), so requirements that share keys share the work, and
a decision over already verified signatures costs only the policy logic.

Signatures are verified here with *any* identity: each requirement applies its own
signedIdentity rule to the verified identity afterwards (SEMANTICS.md §3), because two
requirements may accept different identities for the same signature.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sigpolicy.reasons import Reason
from sigpolicy.reference.docker import Reference
from sigpolicy.signature.bundle import BundleAttachment
from sigpolicy.signature.envelope import SigstoreSignature
from sigpolicy.trust.identity import TrustedSigner
from sigpolicy.trust.store import TrustStore
from sigpolicy.verify.checks import DigestCheck, KnownDigest
from sigpolicy.verify.simple import SignatureVerdict, explain_blob


class AnyIdentity:
    """Accepts every signed identity: the requirement's own rule decides afterwards."""

    def matches(self, signed_reference: str) -> bool:
        return True

    def describe(self) -> str:
        return "any identity (checked per requirement)"


ANY_IDENTITY = AnyIdentity()


@dataclass(frozen=True, slots=True)
class VerifiedSimple:
    """One simple-signing signature judged against one trust store."""

    name: str
    verdict: SignatureVerdict
    signer: TrustedSigner | None


@dataclass(frozen=True, slots=True)
class Workload:
    kind: str
    name: str
    namespace: str | None
    container: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


class VerificationCache:
    """Verdicts shared between decisions, keyed by (signature content, image digest, trust
    store generation): a signature is verified once, not once per review. Successes live
    ``ttl`` seconds but never past the signature's or its key's expiry, failures
    ``failure_ttl`` (a source that was briefly wrong recovers soon).
    Bounded; safe to share between concurrent decisions (values are immutable)."""

    def __init__(
        self,
        *,
        ttl: float = 600.0,
        failure_ttl: float = 30.0,
        size: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl, self.failure_ttl, self.size, self.clock = ttl, failure_ttl, size, clock
        self._entries: dict[tuple[bytes, str, str], tuple[float, VerifiedSimple]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[bytes, str, str]) -> VerifiedSimple | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < self.clock():
            self.misses += 1
            return None
        self.hits += 1
        return entry[1]

    def put(self, key: tuple[bytes, str, str], value: VerifiedSimple, *, now: int) -> None:
        """Keep ``value`` (judged at wall-clock ``now``); a trusted verdict no longer than
        its signature and key stay valid."""
        if len(self._entries) >= self.size:
            self._entries.clear()
        ttl = self.ttl if value.verdict.trusted else self.failure_ttl
        authenticated = value.verdict.authenticated
        valid_until = authenticated.valid_until if authenticated is not None else None
        if value.verdict.trusted and valid_until is not None:
            ttl = min(ttl, valid_until - now)
        if ttl > 0:
            self._entries[key] = (self.clock() + ttl, value)


@dataclass
class ImageEvidence:
    """The facts a decision is made from. Not shared between concurrent decisions."""

    reference: Reference
    digest: DigestCheck | None
    simple_signatures: Sequence[tuple[str, bytes]] = ()
    sigstore_signatures: Sequence[tuple[str, SigstoreSignature]] = ()
    namespace: str | None = None
    namespace_labels: Mapping[str, str] | None = None
    workload: Workload | None = None
    resolved_from: str | None = None
    now: int = 0
    cache: VerificationCache | None = None
    # Where signatures were looked for (registry sources), for a denial that found none.
    sources_asked: tuple[str, ...] = ()
    # Sigstore bundles found for the image (dir: layouts, catalogs, OCI referrers), judged by
    # sigstoreSigned through sigpolicy.signature.bundle.explain_bundle.
    sigstore_bundles: Sequence[tuple[str, BundleAttachment]] = ()
    # Verdicts per trust generation; filled on first use.
    _simple: dict[str, tuple[VerifiedSimple, ...]] = field(default_factory=dict, repr=False)

    def simple_verdicts(self, trust: TrustStore) -> tuple[VerifiedSimple, ...]:
        cached = self._simple.get(trust.generation)
        if cached is None:
            cached = tuple(self._verify(trust, name, blob) for name, blob in self.simple_signatures)
            self._simple[trust.generation] = cached
        return cached

    def _verify(self, trust: TrustStore, name: str, blob: bytes) -> VerifiedSimple:
        key = None
        if self.cache is not None and isinstance(self.digest, KnownDigest):
            key = (hashlib.sha256(blob).digest(), str(self.digest.digest), trust.generation)
            cached = self.cache.get(key)
            if cached is not None:
                return (
                    cached
                    if cached.name == name
                    else VerifiedSimple(name, cached.verdict, cached.signer)
                )
        verified = self._verify_now(trust, name, blob)
        if key is not None and self.cache is not None:
            self.cache.put(key, verified, now=self.now)
        return verified

    def _verify_now(self, trust: TrustStore, name: str, blob: bytes) -> VerifiedSimple:
        if self.digest is None:
            missing = "the image's manifest is not available, so no signature can match it"
            return VerifiedSimple(
                name, SignatureVerdict(False, Reason.INVALID_MANIFEST, missing), None
            )
        verdict = explain_blob(
            blob, trust.verifier(), digest=self.digest, identity=ANY_IDENTITY, now=self.now
        )
        signer = None
        if verdict.authenticated is not None and verdict.trusted:
            signer = trust.signer_entry(verdict.authenticated)
        return VerifiedSimple(name, verdict, signer)

    def content_key(self) -> str:
        """A digest of the signatures, for caches keyed by what was verified."""
        hasher = hashlib.sha256()
        for _, blob in self.simple_signatures:
            hasher.update(hashlib.sha256(blob).digest())
        return hasher.hexdigest()

    def describe(self) -> dict[str, Any]:
        return {"reference": str(self.reference), "namespace": self.namespace}
