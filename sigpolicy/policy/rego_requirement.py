"""``rego``: a requirement decided by OPA, through a server or the embedded engine.

The input document (docs/rego.md) carries the image, where it resolved to, the namespace, the
workload, and every simple-signing signature as verified against the policy's trust store
(without an identity rule: the Rego policy applies its own). Undefined, an error or a timeout
deny, with the cause in the decision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sigpolicy.errors import PolicyError
from sigpolicy.policy.decision import RequirementOutcome
from sigpolicy.policy.evidence import ImageEvidence, Workload
from sigpolicy.policy.rego import (
    RegoEvaluator,
    RegoInput,
    RegoSignature,
    RegoWorkload,
    rego_evaluator,
    rego_input,
)
from sigpolicy.reasons import Reason

if TYPE_CHECKING:
    from sigpolicy.policy.build import Builder, TrustProvider
    from sigpolicy.policy.schema import RegoSpec


class RegoRequirement:
    unsafe = False

    def __init__(
        self, evaluator: RegoEvaluator, trust: TrustProvider | None, description: str
    ) -> None:
        self.evaluator = evaluator
        self._trust = trust
        self.description = description

    async def evaluate(self, evidence: ImageEvidence) -> RequirementOutcome:
        outcome = await self.evaluator.evaluate(self._input(evidence))
        if outcome.allowed:
            return RequirementOutcome(self.description, True, None, outcome.cause)
        return RequirementOutcome(
            self.description, False, outcome.reason or Reason.POLICY_DENIED, outcome.cause
        )

    def _input(self, evidence: ImageEvidence) -> RegoInput:
        signatures = []
        trust = self._trust() if self._trust is not None else None
        for verified in evidence.simple_verdicts(trust) if trust is not None else ():
            verdict, signer = verified.verdict, verified.signer
            claims = verdict.claims
            signatures.append(
                RegoSignature(
                    trusted=verdict.trusted,
                    reason=verdict.reason,
                    signer=verdict.signer,
                    public_key_id=verdict.key_id,
                    trust_entry=signer.entry if signer else None,
                    identity=verdict.identity,
                    digest=verdict.digest,
                    created=verdict.created,
                    claims=None
                    if claims is None
                    else {**claims.as_string_map(), "optional": claims.optional},
                )
            )
        workload = evidence.workload
        digest = evidence.reference.digest
        return rego_input(
            reference=evidence.resolved_from or str(evidence.reference),
            resolved_reference=str(evidence.reference),
            digest="" if digest is None else str(digest),
            namespace=evidence.namespace,
            signatures=signatures,
            workload=None if workload is None else _workload(workload),
        )


def _workload(workload: Workload) -> RegoWorkload:
    return RegoWorkload(
        workload.kind,
        workload.name,
        workload.namespace,
        dict(workload.labels),
        dict(workload.annotations),
        workload.container,
    )


def rego_requirement(spec: RegoSpec, builder: Builder, where: str) -> RegoRequirement:
    try:
        if spec.server is not None:
            token = None
            if spec.server.token_file is not None:
                token = (builder.base / spec.server.token_file).read_text().strip()
            evaluator: RegoEvaluator = rego_evaluator(
                "server",
                url=spec.server.url,
                path=spec.server.path,
                timeout=spec.server.timeout,
                token=token,
            )
            description = f"rego server {spec.server.url} {spec.server.path}"
        else:
            assert spec.embedded is not None  # noqa: S101 - the schema requires one of the two
            modules = {}
            for index, module in enumerate(spec.embedded.modules):
                path = builder.base / module
                try:
                    modules[str(path)] = path.read_text(encoding="utf-8")
                except OSError as exc:
                    raise PolicyError(f"modules[{index}]: {path}: {exc.strerror}") from None
            evaluator = rego_evaluator(
                "embedded",
                modules=modules,
                query=spec.embedded.query,
                timeout=spec.embedded.timeout,
            )
            description = f"rego {spec.embedded.query}"
    except PolicyError as exc:
        raise builder.error(where, str(exc)) from None
    except OSError as exc:
        raise builder.error(where, f"{exc.filename}: {exc.strerror}") from None
    return RegoRequirement(evaluator, builder.trust, description)


__all__ = ["RegoRequirement", "rego_requirement"]
