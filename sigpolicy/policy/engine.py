"""The policy engine: exemptions, the most specific scope, its requirements, the mode.

For one image, in order:

1. An exemption whose namespaces and image patterns match allows it, and says why.
2. The most specific scope (:mod:`.patterns`) gives the requirements; all must hold.
3. No scope: the policy's ``default`` requirements (containers-policy.json), else its
   ``noMatch`` answer (``deny``, ``warn`` or ``allow``).
4. The mode (the scope's, else the policy's): ``enforce`` denies what the requirements deny;
   ``warn`` and ``audit`` allow it and report "would deny" (``Decision.would_allow``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple

from sigpolicy.policy.decision import Decision, Exemption, Mode, RequirementOutcome, ScopeMatch
from sigpolicy.policy.evidence import ImageEvidence
from sigpolicy.policy.patterns import ImagePattern
from sigpolicy.policy.requirements import AcceptAnything, Reject, Requirement
from sigpolicy.policy.scopes import Scope, ScopeIndex
from sigpolicy.policy.selectors import NamespaceCondition
from sigpolicy.reasons import Reason
from sigpolicy.reference.docker import Reference

NoMatch = Literal["deny", "warn", "allow"]


class ExemptionRule(NamedTuple):
    name: str
    reason: str
    namespaces: NamespaceCondition | None
    images: tuple[ImagePattern, ...]

    def applies(self, evidence: ImageEvidence, full: str) -> str | None:
        if self.namespaces is not None and not self.namespaces.matches(
            evidence.namespace, evidence.namespace_labels
        ):
            return None
        matched = next((p for p in self.images if p.matches(evidence.reference, full)), None)
        if self.images and matched is None:
            return None
        parts = []
        if self.namespaces is not None:
            parts.append(self.namespaces.describe())
        if matched is not None:
            parts.append(f"image pattern {matched.text!r}")
        return " and ".join(parts)


class Policy:
    def __init__(
        self,
        scopes: Sequence[Scope],
        *,
        mode: Mode = "enforce",
        no_match: NoMatch = "deny",
        default: Requirement | None = None,
        exemptions: Sequence[ExemptionRule] = (),
        origin: str = "",
        format_name: str = "sigpolicy",
    ) -> None:
        self.index = ScopeIndex(scopes)
        self.mode: Mode = mode
        self.no_match: NoMatch = no_match
        self.default = default
        self.exemptions = tuple(exemptions)
        self.origin = origin
        self.format_name = format_name

    @property
    def unsafe_scopes(self) -> list[str]:
        return [scope.name for scope in self.index.scopes if scope.requirement.unsafe]

    def lookup_plan(
        self, reference: Reference, namespace: str | None, labels: Mapping[str, str] | None
    ) -> LookupPlan:
        """What a decision on ``reference`` needs from a registry, known before asking it:
        nothing when an exemption or an answer that reads no signature decides (``needed``
        False), and whether a tag may be resolved there (the scope's ``tagResolution``)."""
        probe = ImageEvidence(reference, None, namespace=namespace, namespace_labels=labels)
        full = str(reference)
        if any(rule.applies(probe, full) is not None for rule in self.exemptions):
            return LookupPlan(False, False, None)
        found = self.index.match(reference, namespace, labels)
        if found is None:
            if self.default is None:
                return LookupPlan(False, False, None)
            return LookupPlan(_reads_signatures(self.default), True, None)
        scope = found[0]
        return LookupPlan(
            _reads_signatures(scope.requirement), scope.tag_resolution == "registry", scope.name
        )

    async def decide(self, evidence: ImageEvidence) -> Decision:
        image = str(evidence.reference)
        for rule in self.exemptions:  # 1
            why = rule.applies(evidence, image)
            if why is not None:
                return Decision(
                    True, True, self.mode, image, evidence.namespace, None,
                    Exemption(rule.name, rule.reason, why), None, None, f"exempt: {rule.reason}",
                )  # fmt: skip
        found = self.index.match(evidence.reference, evidence.namespace, evidence.namespace_labels)
        if found is None:  # 3
            return await self._no_scope(evidence, image)
        scope, match = found  # 2
        outcome = await scope.requirement.evaluate(evidence)
        return self._apply_mode(scope.mode or self.mode, image, evidence, match, outcome)

    async def _no_scope(self, evidence: ImageEvidence, image: str) -> Decision:
        if self.default is not None:
            outcome = await self.default.evaluate(evidence)
            return self._apply_mode(self.mode, image, evidence, None, outcome)
        if self.no_match == "allow":
            return Decision(
                True, True, self.mode, image, evidence.namespace, None, None, None, None,
                "no scope matches; the policy allows unmatched images (noMatch: allow)",
            )  # fmt: skip
        message = "no scope of the policy matches this image"
        mode: Mode = "warn" if self.no_match == "warn" else "enforce"
        return Decision(
            mode == "warn", False, mode, image, evidence.namespace, None, None, None,
            Reason.POLICY_DENIED, message,
        )  # fmt: skip

    def _apply_mode(
        self,
        mode: Mode,
        image: str,
        evidence: ImageEvidence,
        match: ScopeMatch | None,
        outcome: RequirementOutcome,
    ) -> Decision:
        would = outcome.satisfied
        return Decision(
            allowed=would or mode != "enforce",
            would_allow=would,
            mode=mode,
            image=image,
            namespace=evidence.namespace,
            scope=match,
            exemption=None,
            outcome=outcome,
            reason=None if would else outcome.reason or Reason.POLICY_DENIED,
            message=outcome.message,
        )


class LookupPlan(NamedTuple):
    """:meth:`Policy.lookup_plan`'s answer."""

    needed: bool
    resolve_tags: bool
    scope: str | None


def _reads_signatures(requirement: Requirement) -> bool:
    """False for the requirements whose outcome no signature can change."""
    return not isinstance(requirement, AcceptAnything | Reject)


def failed_before_policy(
    image: str, namespace: str | None, reason: Reason, message: str
) -> Decision:
    """The decision when the image could not even be looked at (resolution, source, time):
    denied whatever the mode, because there is nothing the policy could have allowed."""
    return Decision(False, False, "enforce", image, namespace, None, None, None, reason, message)
