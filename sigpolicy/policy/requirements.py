"""Requirements: one ``evaluate()`` each, composed (STYLE.md 3).

- :class:`AcceptAnything` (``insecureAcceptAnything``) allows any image; it is named unsafe
  and logs a warning when a policy is loaded with it.
- :class:`Reject` denies.
- :class:`SignedBy`: simple-signing signatures by keys of a trust store (optionally only some
  of its entries, with issuer/subject constraints), each checked with the requirement's
  signedIdentity rule; satisfied by ``threshold`` distinct keys (k-of-n), every ``required``
  entry among them.
- :class:`SigstoreSigned`: cosign key-based signatures; one accepted signature suffices.
- :class:`AllOf` (empty is an error), :class:`AnyOf` (empty is an error),
  :class:`Threshold` (k of its children).
- Rego lives in :mod:`sigpolicy.policy.rego_requirement`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from sigpolicy.errors import PolicyError, SigpolicyError
from sigpolicy.policy.decision import RequirementOutcome, SignatureFinding
from sigpolicy.policy.evidence import ImageEvidence, VerifiedSimple
from sigpolicy.reasons import Reason
from sigpolicy.reference.identity import IdentityRule
from sigpolicy.trust.identity import Identity
from sigpolicy.trust.store import TrustStore

log = logging.getLogger(__name__)

# When several signatures fail for different reasons, the requirement reports the most
# telling one: a near miss (right key, wrong image) explains more than a stranger's key.
_REASON_PRIORITY = (
    Reason.IDENTITY_MISMATCH,
    Reason.DIGEST_MISMATCH,
    Reason.REVOKED_KEY,
    Reason.EXPIRED_KEY,
    Reason.EXPIRED_SIGNATURE,
    Reason.CLAIMS_MISMATCH,
    Reason.INVALID_MANIFEST,
    Reason.INVALID_PAYLOAD,
    Reason.BAD_SIGNATURE,
    Reason.UNSUPPORTED,
    Reason.UNKNOWN_KEY,
    Reason.MALFORMED,
    Reason.UNSIGNED,
)


class Requirement(Protocol):
    @property
    def description(self) -> str: ...

    @property
    def unsafe(self) -> bool: ...

    async def evaluate(self, evidence: ImageEvidence) -> RequirementOutcome: ...


def _no_signature(evidence: ImageEvidence) -> str:
    message = "a signature was required, but the image has none"
    if evidence.digest is None and evidence.reference.digest is None:
        # A tag outside the image API names no particular image: nothing can vouch for it.
        message += (
            " (a tag the image API does not serve is not bound to a digest: reference the"
            " image by digest, or through its image stream)"
        )
    return message + asked_sources(evidence)


def asked_sources(evidence: ImageEvidence) -> str:
    """Which registry sources were asked, when some were (empty otherwise)."""
    if not evidence.sources_asked:
        return ""
    return f" (no signature at any source asked: {', '.join(evidence.sources_asked)})"


def most_telling(findings: Sequence[SignatureFinding]) -> SignatureFinding | None:
    rejected = [f for f in findings if not f.accepted and f.reason is not None]
    if not rejected:
        return None
    return min(
        rejected,
        key=lambda f: _REASON_PRIORITY.index(f.reason) if f.reason in _REASON_PRIORITY else 99,
    )


class AcceptAnything:
    description = "insecureAcceptAnything"
    unsafe = True

    async def evaluate(self, evidence: ImageEvidence) -> RequirementOutcome:
        return RequirementOutcome(
            self.description, True, None, "any image is accepted (unsafe)", unsafe=True
        )


class Reject:
    description = "reject"
    unsafe = False

    async def evaluate(self, evidence: ImageEvidence) -> RequirementOutcome:
        return RequirementOutcome(
            self.description, False, Reason.POLICY_DENIED, "images in this scope are rejected"
        )


class SignedBy:
    """Simple-signing signatures by trusted keys (threshold distinct keys)."""

    unsafe = False

    def __init__(
        self,
        trust: Callable[[], TrustStore],
        identity: IdentityRule,
        *,
        entries: frozenset[str] | None = None,
        threshold: int = 1,
        required: frozenset[str] = frozenset(),
        issuer: Identity | None = None,
        subject: Identity | None = None,
        label: str = "signedBy",
    ) -> None:
        if threshold < 1:
            raise PolicyError("threshold must be at least 1")
        if entries is not None and not required <= entries:
            raise PolicyError(f"required entries {sorted(required - entries)} are not trusted here")
        self._trust = trust
        self.identity = identity
        self.entries = entries
        self.threshold = threshold
        self.required = required
        self.issuer = issuer
        self.subject = subject
        parts = [label]
        if entries is not None:
            parts.append(f"trust={','.join(sorted(entries))}")
        if threshold > 1:
            parts.append(f"threshold={threshold}")
        if required:
            parts.append(f"required={','.join(sorted(required))}")
        parts.append(f"identity={identity.name}")
        self.description = " ".join(parts)

    async def evaluate(self, evidence: ImageEvidence) -> RequirementOutcome:
        try:
            trust = self._trust()
        except SigpolicyError as exc:
            return RequirementOutcome(
                self.description, False, Reason.UNKNOWN_KEY, exc.diagnostics()
            )
        findings = tuple(self._judge(v, evidence) for v in evidence.simple_verdicts(trust))
        if not findings:
            return RequirementOutcome(
                self.description, False, Reason.UNSIGNED, _no_signature(evidence)
            )
        accepted = [f for f in findings if f.accepted]
        keys = {f.signer for f in accepted}
        entries = {f.trust_entry for f in accepted}
        missing = sorted(self.required - {e for e in entries if e})
        if len(keys) >= self.threshold and not missing:
            signed = ", ".join(sorted(e for e in entries if e))
            message = f"{len(keys)} trusted key(s) signed ({signed})"
            return RequirementOutcome(self.description, True, None, message, findings)
        if accepted and missing:
            signed_by = ", ".join(sorted(e for e in entries if e))
            message = f"trust entry {', '.join(missing)} must sign too; signed by {signed_by}"
            return RequirementOutcome(
                self.description, False, Reason.POLICY_DENIED, message, findings
            )
        if accepted:
            message = f"{self.threshold} distinct trusted keys required, {len(keys)} signed"
            return RequirementOutcome(
                self.description, False, Reason.POLICY_DENIED, message, findings
            )
        worst = most_telling(findings)
        assert worst is not None  # noqa: S101 - no accepted finding means a rejected one
        return RequirementOutcome(
            self.description, False, worst.reason, f"{worst.name}: {worst.message}", findings
        )

    def _judge(self, verified: VerifiedSimple, evidence: ImageEvidence) -> SignatureFinding:
        verdict, signer = verified.verdict, verified.signer

        def finding(accepted: bool, reason: Reason | None, message: str) -> SignatureFinding:
            entry = signer.entry if signer else None
            return SignatureFinding(
                verified.name, "simple", accepted, reason, message,
                verdict.signer, verdict.key_id, entry, verdict.identity,
            )  # fmt: skip

        if not verdict.trusted or signer is None:
            return finding(False, verdict.reason, verdict.message)
        if self.entries is not None and signer.entry not in self.entries:
            return finding(
                False,
                Reason.UNKNOWN_KEY,
                f"signed by trust entry {signer.entry}, which this requirement does not accept",
            )
        for what, wanted, actual in (
            ("issuer", self.issuer, signer.issuer),
            ("subject", self.subject, signer.subject),
        ):
            if wanted is not None and not actual.agrees_with(
                wanted.organization, wanted.common_name
            ):
                return finding(
                    False,
                    Reason.UNKNOWN_KEY,
                    f"the signer's {what} ({actual.organization}, {actual.common_name}) is not"
                    f" the required ({wanted.organization}, {wanted.common_name})",
                )
        if verdict.identity is None or not self.identity.matches(
            evidence.reference, verdict.identity
        ):
            return finding(
                False,
                Reason.IDENTITY_MISMATCH,
                f"signed for {verdict.identity!r}, but {self.identity.name} requires"
                f" {evidence.reference}",
            )
        return finding(True, None, f"signed by {signer.fingerprint} (trust entry {signer.entry})")


class AllOf:
    def __init__(self, children: Sequence[Requirement], *, label: str = "all of") -> None:
        if not children:
            raise PolicyError("an empty list of requirements would allow everything")
        self.children = tuple(children)
        self.description = label
        self.unsafe = all(child.unsafe for child in self.children)

    async def evaluate(self, evidence: ImageEvidence) -> RequirementOutcome:
        outcomes = []
        for child in self.children:
            outcome = await child.evaluate(evidence)
            outcomes.append(outcome)
            if not outcome.satisfied:
                # The first denial decides, as in containers/image; the rest are not run.
                return RequirementOutcome(
                    self.description,
                    False,
                    outcome.reason,
                    outcome.message,
                    children=tuple(outcomes),
                )
        if len(outcomes) == 1:
            return outcomes[0]
        return RequirementOutcome(
            self.description,
            True,
            None,
            f"all {len(outcomes)} requirements satisfied",
            children=tuple(outcomes),
            unsafe=self.unsafe,
        )


class Threshold:
    """At least ``k`` of the children (AnyOf is ``k = 1``)."""

    def __init__(
        self, k: int, children: Sequence[Requirement], *, label: str | None = None
    ) -> None:
        if not children:
            raise PolicyError("an empty list of requirements cannot be satisfied")
        if not 1 <= k <= len(children):
            raise PolicyError(f"threshold {k} is not between 1 and {len(children)}")
        self.k = k
        self.children = tuple(children)
        self.description = label or f"{k} of {len(children)}"
        self.unsafe = any(child.unsafe for child in self.children)

    async def evaluate(self, evidence: ImageEvidence) -> RequirementOutcome:
        outcomes = [await child.evaluate(evidence) for child in self.children]
        met = sum(outcome.satisfied for outcome in outcomes)
        if met >= self.k:
            return RequirementOutcome(
                self.description,
                True,
                None,
                f"{met} of {len(outcomes)} satisfied",
                children=tuple(outcomes),
            )
        failed = [o for o in outcomes if not o.satisfied]
        return RequirementOutcome(
            self.description,
            False,
            failed[0].reason,
            f"{met} of {len(outcomes)} satisfied, {self.k} needed: {failed[0].message}",
            children=tuple(outcomes),
        )


def any_of(children: Sequence[Requirement]) -> Threshold:
    return Threshold(1, children, label="any of")
