"""``sigstoreSigned``: cosign signatures by keys, Fulcio certificates or a PKI, optionally
logged in Rekor (:mod:`sigpolicy.signature.keyless`).

With one authority (every containers-policy.json requirement) one accepted signature
suffices, as in containers/image. The project's YAML may name several authorities: then
at least ``threshold`` distinct authorities must each accept a signature of the image (one
signature may count for several), and every ``required`` authority among them, as
``signedBy`` counts distinct trusted keys.

An authority's files are read at its first evaluation and kept; one that cannot be read
denies (``unknown-key``, naming the file), as upstream rejects when ``prepareTrustRoot``
fails.

Sigstore bundles found for the image (``ImageEvidence.sigstore_bundles``) count exactly as
cosign attachments do: each is judged by :func:`~sigpolicy.signature.bundle.explain_bundle`
against every authority, with any identity, and this requirement's identity rule is then
applied to the identity the bundle's verified payload signs; a bundle is a finding of kind
``sigstore-bundle`` beside the attachments' ``sigstore`` ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sigpolicy.errors import PolicyError, SigpolicyError
from sigpolicy.policy.decision import RequirementOutcome, SignatureFinding
from sigpolicy.policy.evidence import ANY_IDENTITY, ImageEvidence
from sigpolicy.policy.requirements import asked_sources, most_telling
from sigpolicy.reasons import Reason
from sigpolicy.reference.identity import IdentityRule
from sigpolicy.signature.bundle import BundleAttachment, explain_bundle
from sigpolicy.signature.envelope import SigstoreSignature
from sigpolicy.signature.keyless import SigstoreTrust, SigstoreVerdict, explain_sigstore


@dataclass
class Authority:
    """One named root of trust; ``load`` reads its files (raising SigpolicyError)."""

    name: str
    load: Callable[[], SigstoreTrust]
    _trust: SigstoreTrust | None = None

    def trust(self) -> SigstoreTrust:
        if self._trust is None:
            self._trust = self.load()
        return self._trust


class SigstoreSigned:
    unsafe = False

    def __init__(
        self,
        authorities: Sequence[Authority],
        identity: IdentityRule,
        *,
        threshold: int = 1,
        required: frozenset[str] = frozenset(),
        label: str = "sigstoreSigned",
    ) -> None:
        names = [a.name for a in authorities]
        if not authorities:
            raise PolicyError("sigstoreSigned needs at least one authority")
        if len(set(names)) != len(names):
            raise PolicyError("sigstoreSigned authority names must be unique")
        if not 1 <= threshold <= len(authorities):
            raise PolicyError(f"threshold {threshold} is not between 1 and {len(authorities)}")
        if not required <= set(names):
            raise PolicyError(f"required authorities {sorted(required - set(names))} are unknown")
        self.authorities = tuple(authorities)
        self.identity = identity
        self.threshold = threshold
        self.required = required
        parts = [label]
        if len(authorities) > 1:
            parts.append(f"authorities={','.join(names)}")
        if threshold > 1:
            parts.append(f"threshold={threshold}")
        if required:
            parts.append(f"required={','.join(sorted(required))}")
        parts.append(f"identity={identity.name}")
        self.description = " ".join(parts)

    async def evaluate(self, evidence: ImageEvidence) -> RequirementOutcome:
        trusts: list[tuple[str, SigstoreTrust]] = []
        for authority in self.authorities:
            try:
                trusts.append((authority.name, authority.trust()))
            except SigpolicyError as exc:
                return RequirementOutcome(
                    self.description, False, Reason.UNKNOWN_KEY, exc.diagnostics()
                )
        if not evidence.sigstore_signatures and not evidence.sigstore_bundles:
            return RequirementOutcome(
                self.description,
                False,
                Reason.UNSIGNED,
                "a sigstore signature was required, but the image has none"
                + asked_sources(evidence),
            )
        several = len(trusts) > 1
        findings = tuple(
            self._judge(name, kind, item, entry if several else None, trust, evidence)
            for entry, trust in trusts
            for name, kind, item in _signatures(evidence)
        )
        accepted = [f for f in findings if f.accepted]
        # The authorities that accepted a signature ("" stands for the only one).
        by = {f.trust_entry or "" for f in accepted}
        missing = sorted(self.required - by)
        if len(by) >= self.threshold and not missing:
            message = f"signed by {accepted[0].signer}"
            if several:
                message = f"{len(by)} authorities accepted ({', '.join(sorted(by))})"
            return RequirementOutcome(self.description, True, None, message, findings)
        if accepted:
            named = ", ".join(sorted(by))
            message = (
                f"authority {', '.join(missing)} must accept a signature too; accepted by {named}"
                if missing
                else f"{self.threshold} distinct authorities required, {len(by)} accepted ({named})"
            )
            return RequirementOutcome(
                self.description, False, Reason.POLICY_DENIED, message, findings
            )
        worst = most_telling(findings)
        reason = worst.reason if worst else Reason.UNSIGNED
        message = f"{worst.name}: {worst.message}" if worst else "no signature"
        return RequirementOutcome(self.description, False, reason, message, findings)

    def _judge(
        self,
        name: str,
        kind: str,
        item: SigstoreSignature | BundleAttachment,
        entry: str | None,
        trust: SigstoreTrust,
        evidence: ImageEvidence,
    ) -> SignatureFinding:
        if evidence.digest is None:
            return SignatureFinding(
                name, kind, False, Reason.INVALID_MANIFEST, "the manifest is not available",
                trust_entry=entry,
            )  # fmt: skip
        verdict: SigstoreVerdict
        if isinstance(item, BundleAttachment):
            verdict = explain_bundle(
                item, trust, digest=evidence.digest, identity=ANY_IDENTITY, now=evidence.now
            )
        else:
            verdict = explain_sigstore(
                item, trust, digest=evidence.digest, identity=ANY_IDENTITY, now=evidence.now
            )
        reason, message = verdict.reason, verdict.message
        accepted = verdict.trusted
        if accepted and (
            verdict.identity is None
            or not self.identity.matches(evidence.reference, verdict.identity)
        ):
            accepted = False
            reason = Reason.IDENTITY_MISMATCH
            message = (
                f"signed for {verdict.identity!r}, but {self.identity.name} requires"
                f" {evidence.reference}"
            )
        return SignatureFinding(
            name,
            kind,
            accepted,
            None if accepted else reason,
            message,
            verdict.signer,
            verdict.key_id,
            entry,
            verdict.identity,
        )


def _signatures(
    evidence: ImageEvidence,
) -> Iterator[tuple[str, str, SigstoreSignature | BundleAttachment]]:
    """The cosign attachments, then the bundles, each with its finding kind."""
    for name, signature in evidence.sigstore_signatures:
        yield name, "sigstore", signature
    for name, bundle in evidence.sigstore_bundles:
        yield name, "sigstore-bundle", bundle
