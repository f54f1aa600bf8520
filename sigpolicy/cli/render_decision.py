"""A decision as a readable tree (text) or as JSON."""

from __future__ import annotations

from typing import Any

from sigpolicy.policy.decision import Decision, RequirementOutcome, SignatureFinding
from sigpolicy.reasons import Reason


def decision_text(decision: Decision) -> str:
    where = f" in namespace {decision.namespace}" if decision.namespace else ""
    if decision.allowed and decision.would_allow:
        verdict = "ALLOWED"
    elif decision.allowed:
        verdict = f"ALLOWED ({decision.mode} mode; enforce would deny)"
    else:
        verdict = "DENIED"
    lines = [f"{decision.image}{where}: {verdict}"]
    if decision.exemption is not None:
        exemption = decision.exemption
        lines.append(f"  exempt by {exemption.name} ({exemption.why}): {exemption.reason}")
    if decision.scope is not None:
        lines.append(f"  scope {decision.scope.name}: {decision.scope.why}; mode {decision.mode}")
    elif decision.exemption is None and decision.reason in (None, Reason.POLICY_DENIED):
        lines.append(f"  no scope matched: {decision.message}")
    elif decision.exemption is None:
        # Resolution or a source failed before any scope could judge the image.
        lines.append("  not judged: the image could not be looked at")
    if decision.outcome is not None:
        lines.extend(_outcome_lines(decision.outcome, "  "))
    if not decision.would_allow and decision.reason is not None:
        lines.append(f"  reason: {decision.reason} ({decision.reason.plain}): {decision.message}")
    return "\n".join(lines) + "\n"


def _outcome_lines(outcome: RequirementOutcome, indent: str) -> list[str]:
    mark = "ok  " if outcome.satisfied else "FAIL"
    unsafe = " [unsafe]" if outcome.unsafe else ""
    detail = outcome.message if outcome.satisfied else f"{outcome.reason}: {outcome.message}"
    lines = [f"{indent}{mark} {outcome.requirement}{unsafe}: {detail}"]
    for finding in outcome.signatures:
        lines.append(f"{indent}     {_finding(finding)}")
    for child in outcome.children:
        lines.extend(_outcome_lines(child, indent + "  "))
    return lines


def _finding(finding: SignatureFinding) -> str:
    if finding.accepted:
        return f"+ {finding.name}: {finding.message}"
    return f"- {finding.name} ({finding.reason}): {finding.message}"


def decision_json(decision: Decision) -> dict[str, Any]:
    return {
        "image": decision.image,
        "namespace": decision.namespace,
        "allowed": decision.allowed,
        "wouldAllow": decision.would_allow,
        "mode": decision.mode,
        "reason": None if decision.reason is None else str(decision.reason),
        "message": decision.message,
        "scope": None if decision.scope is None else decision.scope._asdict(),
        "exemption": None if decision.exemption is None else decision.exemption._asdict(),
        "requirements": None if decision.outcome is None else _outcome_json(decision.outcome),
    }


def _outcome_json(outcome: RequirementOutcome) -> dict[str, Any]:
    return {
        "requirement": outcome.requirement,
        "satisfied": outcome.satisfied,
        "reason": None if outcome.reason is None else str(outcome.reason),
        "message": outcome.message,
        "unsafe": outcome.unsafe,
        "signatures": [
            {**f._asdict(), "reason": None if f.reason is None else str(f.reason)}
            for f in outcome.signatures
        ],
        "children": [_outcome_json(child) for child in outcome.children],
    }
