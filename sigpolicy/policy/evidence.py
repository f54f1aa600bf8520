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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sigpolicy.reasons import Reason
from sigpolicy.reference.docker import Reference
from sigpolicy.signature.envelope import SigstoreSignature
from sigpolicy.trust.identity import TrustedSigner
from sigpolicy.trust.store import TrustStore
from sigpolicy.verify.checks import DigestCheck
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
    # Verdicts per trust generation; filled on first use.
    _simple: dict[str, tuple[VerifiedSimple, ...]] = field(default_factory=dict, repr=False)

    def simple_verdicts(self, trust: TrustStore) -> tuple[VerifiedSimple, ...]:
        cached = self._simple.get(trust.generation)
        if cached is None:
            cached = tuple(self._verify(trust, name, blob) for name, blob in self.simple_signatures)
            self._simple[trust.generation] = cached
        return cached

    def _verify(self, trust: TrustStore, name: str, blob: bytes) -> VerifiedSimple:
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
