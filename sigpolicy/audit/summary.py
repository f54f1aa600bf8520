"""What an audit found, counted: the numbers its text, metrics and reports show."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

from sigpolicy.audit.engine import RESULTS, Finding, Result
from sigpolicy.audit.inventory import Owner

__all__ = ["Summary", "scope_of", "summarize"]


class Summary(NamedTuple):
    workloads: int  # owners
    images: int  # distinct image references as written
    findings: int  # (owner, image) pairs
    decisions: int  # distinct decisions made
    results: dict[Result, int]
    # (result, reason class, scope) of every finding that is not a pass or skip
    problems: Counter[tuple[Result, str, str]]
    # owners with at least one finding of that result
    owners_by_result: dict[Result, int]


def scope_of(finding: Finding) -> str:
    decision = finding.decision
    if decision.exemption is not None:
        return f"exemption {decision.exemption.name}"
    return decision.scope.name if decision.scope is not None else "(no scope)"


def summarize(findings: Sequence[Finding], decisions: int) -> Summary:
    results: dict[Result, int] = dict.fromkeys(RESULTS, 0)
    owners: dict[Result, set[Owner]] = {result: set() for result in RESULTS}
    problems: Counter[tuple[Result, str, str]] = Counter()
    for finding in findings:
        results[finding.result] += 1
        owners[finding.result].add(finding.use.owner)
        if finding.result in ("fail", "warn"):
            reason = str(finding.decision.reason or "policy-denied")
            problems[(finding.result, reason, scope_of(finding))] += 1
    return Summary(
        workloads=len({f.use.owner for f in findings}),
        images=len({f.use.image for f in findings}),
        findings=len(findings),
        decisions=decisions,
        results=results,
        problems=problems,
        owners_by_result={result: len(found) for result, found in owners.items()},
    )
