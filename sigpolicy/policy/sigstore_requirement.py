"""``sigstoreSigned``: cosign key-based signatures; one accepted signature suffices."""

from __future__ import annotations

from collections.abc import Callable

from sigpolicy.errors import SigpolicyError
from sigpolicy.policy.decision import RequirementOutcome, SignatureFinding
from sigpolicy.policy.evidence import ANY_IDENTITY, ImageEvidence
from sigpolicy.policy.requirements import asked_sources, most_telling
from sigpolicy.reasons import Reason
from sigpolicy.reference.identity import IdentityRule
from sigpolicy.signature.cosign import CosignKeySet, explain_cosign
from sigpolicy.signature.envelope import SigstoreSignature


class SigstoreSigned:
    unsafe = False

    def __init__(
        self,
        keys: Callable[[], list[tuple[str, bytes]]],
        identity: IdentityRule,
        *,
        label: str = "sigstoreSigned",
    ) -> None:
        self._read_keys = keys
        self._keys: CosignKeySet | None = None
        self.identity = identity
        self.description = f"{label} identity={identity.name}"

    def keys(self) -> CosignKeySet:
        if self._keys is None:
            self._keys = CosignKeySet.from_files(self._read_keys())
        return self._keys

    async def evaluate(self, evidence: ImageEvidence) -> RequirementOutcome:
        try:
            keys = self.keys()
        except SigpolicyError as exc:
            return RequirementOutcome(
                self.description, False, Reason.UNKNOWN_KEY, exc.diagnostics()
            )
        if not evidence.sigstore_signatures:
            return RequirementOutcome(
                self.description,
                False,
                Reason.UNSIGNED,
                "a sigstore signature was required, but the image has none"
                + asked_sources(evidence),
            )
        findings = [
            self._judge(name, signature, keys, evidence)
            for name, signature in evidence.sigstore_signatures
        ]
        accepted = [f for f in findings if f.accepted]
        if accepted:
            return RequirementOutcome(
                self.description, True, None, f"signed by {accepted[0].signer}", tuple(findings)
            )
        worst = most_telling(findings)
        reason = worst.reason if worst else Reason.UNSIGNED
        message = f"{worst.name}: {worst.message}" if worst else "no signature"
        return RequirementOutcome(self.description, False, reason, message, tuple(findings))

    def _judge(
        self, name: str, signature: SigstoreSignature, keys: CosignKeySet, evidence: ImageEvidence
    ) -> SignatureFinding:
        if evidence.digest is None:
            return SignatureFinding(
                name, "sigstore", False, Reason.INVALID_MANIFEST, "the manifest is not available"
            )
        verdict = explain_cosign(signature, keys, digest=evidence.digest, identity=ANY_IDENTITY)
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
            "sigstore",
            accepted,
            None if accepted else reason,
            message,
            verdict.signer,
            verdict.key_id,
            None,
            verdict.identity,
        )
