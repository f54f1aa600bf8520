"""``sigpolicy audit`` output: text for people, JSON Lines for tools, PolicyReports."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sigpolicy.audit.diff import CHANGE_KINDS, Change
from sigpolicy.audit.engine import Finding
from sigpolicy.audit.summary import Summary, scope_of

_RESULT_WORDS = {
    "pass": "allowed",
    "skip": "exempt",
    "fail": "would be denied",
    "warn": "warned only",
}


def finding_json(finding: Finding) -> dict[str, Any]:
    use, decision = finding.use, finding.decision
    return {
        "namespace": use.owner.namespace,
        "kind": use.owner.kind,
        "apiVersion": use.owner.api_version,
        "name": use.owner.name,
        "uid": use.owner.uid,
        "image": use.image,
        "resolvedImage": decision.image,
        "containers": list(use.containers),
        "objects": use.members,
        "result": finding.result,
        "allowed": decision.allowed,
        "wouldAllow": decision.would_allow,
        "mode": decision.mode,
        "scope": None if decision.scope is None else decision.scope.name,
        "exemption": None if decision.exemption is None else decision.exemption.name,
        "reason": None if decision.reason is None else str(decision.reason),
        "message": decision.message,
    }


def findings_jsonl(findings: Sequence[Finding]) -> str:
    return "".join(json.dumps(finding_json(f)) + "\n" for f in findings)


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def summary_text(summary: Summary, *, policy: str, source: str) -> list[str]:
    owners = summary.owners_by_result
    lines = [
        f"audit of {source} with policy {policy}",
        f"workloads: {summary.workloads}   images: {summary.images}   "
        f"image uses: {summary.findings}   decisions: {summary.decisions}",
    ]
    for result in ("pass", "skip", "fail", "warn"):
        count = summary.results[result]
        lines.append(f"  {_RESULT_WORDS[result]:<16} {count:>6}  (in {owners[result]} workloads)")
    for result, title in (
        ("fail", "would be denied, by reason class and scope:"),
        ("warn", "warned only (warn or audit mode; enforce would deny), by reason and scope:"),
    ):
        rows = sorted(
            (
                (n, reason, scope)
                for (r, reason, scope), n in summary.problems.items()
                if r == result
            ),
            key=lambda row: (-row[0], row[1], row[2]),
        )
        if rows:
            lines.append(title)
            lines.extend(
                f"  {line}"
                for line in _table([(str(n), reason, scope) for n, reason, scope in rows])
            )
    return lines


def audit_text(
    findings: Sequence[Finding], summary: Summary, *, policy: str, source: str, everything: bool
) -> str:
    lines = summary_text(summary, policy=policy, source=source)
    shown = [f for f in findings if everything or f.result in ("fail", "warn")]
    if shown:
        lines.append("")
        rows = [("NAMESPACE", "WORKLOAD", "IMAGE", "RESULT", "SCOPE", "REASON")]
        rows += [
            (
                f.use.owner.namespace,
                f"{f.use.owner.kind}/{f.use.owner.name}",
                f.use.image,
                f.result,
                scope_of(f),
                str(f.decision.reason or "-"),
            )
            for f in shown
        ]
        lines.extend(_table(rows))
    elif not everything:
        lines.append("nothing would be denied or warned")
    return "\n".join(lines) + "\n"


def _side(finding: Finding) -> dict[str, Any]:
    decision = finding.decision
    return {
        "result": finding.result,
        "mode": decision.mode,
        "scope": scope_of(finding),
        "reason": None if decision.reason is None else str(decision.reason),
        "message": decision.message,
    }


def change_json(change: Change) -> dict[str, Any]:
    owner = change.policy.use.owner
    return {
        "change": change.kind,
        "namespace": owner.namespace,
        "kind": owner.kind,
        "name": owner.name,
        "image": change.policy.use.image,
        "baseline": _side(change.baseline),
        "policy": _side(change.policy),
    }


def changes_jsonl(changes: Sequence[Change]) -> str:
    return "".join(json.dumps(change_json(c)) + "\n" for c in changes)


def diff_text(
    changes: Sequence[Change], *, policy: str, baseline: str, source: str, findings: int
) -> str:
    counts = {kind: sum(1 for c in changes if c.kind == kind) for kind in CHANGE_KINDS}
    lines = [
        f"policy diff on {source}: {policy} against baseline {baseline}",
        f"image uses compared: {findings}   newly denied: {counts['newly-denied']}   "
        f"newly allowed: {counts['newly-allowed']}   changed: {counts['changed']}",
    ]
    for kind in CHANGE_KINDS:
        selected = [c for c in changes if c.kind == kind]
        if not selected:
            continue
        lines += ["", f"{kind}:"]
        rows = [("NAMESPACE", "WORKLOAD", "IMAGE", "BASELINE", "POLICY")]
        rows += [
            (
                c.policy.use.owner.namespace,
                f"{c.policy.use.owner.kind}/{c.policy.use.owner.name}",
                c.policy.use.image,
                _brief(c.baseline),
                _brief(c.policy),
            )
            for c in selected
        ]
        lines.extend(f"  {line}" for line in _table(rows))
    if not changes:
        lines.append("no decision changes")
    return "\n".join(lines) + "\n"


def _brief(finding: Finding) -> str:
    reason = f" {finding.decision.reason}" if finding.decision.reason else ""
    return f"{finding.result} ({scope_of(finding)}{reason})"
