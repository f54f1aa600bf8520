"""Audit findings as ``wgpolicyk8s.io/v1alpha2`` PolicyReport and ClusterPolicyReport objects.

The format the Kubernetes policy working group defined and Kyverno's policy-reporter,
Kyverno itself and other dashboards read:

- one ``PolicyReport`` per namespace, named :data:`REPORT_NAME`, with one result per
  finding: ``policy`` (the policy's name), ``rule`` (the scope, exemption, or
  ``no-scope``), ``result`` (``pass``, ``fail``, ``warn``, ``skip``), ``message``,
  ``source: sigpolicy``, ``category``, ``severity`` (``high`` for a denial, ``medium`` for a
  warning), ``timestamp``, ``resources`` (the owner workload) and ``properties`` (image,
  resolved image, reason class, mode, containers: strings only, as the schema requires);
  and ``summary`` counts of each result;
- one ``ClusterPolicyReport`` of the same name, with one result per namespace (its
  resource the Namespace, its result the worst of the namespace's) and the summary of the
  whole audit: one object to read for the state of the cluster.

Objects carry the label ``app.kubernetes.io/managed-by: sigpolicy``, so the writer can tell
its own reports from others'.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sigpolicy.audit.engine import Finding, Result
from sigpolicy.audit.summary import scope_of

__all__ = ["API_VERSION", "REPORT_NAME", "policy_reports"]

API_VERSION = "wgpolicyk8s.io/v1alpha2"
REPORT_NAME = "sigpolicy-image-audit"
SOURCE = "sigpolicy"
CATEGORY = "Image Signatures"
MANAGED_BY = {"app.kubernetes.io/managed-by": "sigpolicy"}
_SEVERITY = {"fail": "high", "warn": "medium"}
_WORST: tuple[Result, ...] = ("fail", "warn", "pass", "skip")
MAX_MESSAGE = 1024  # results are read by people; the whole message is in the JSON output


def _rule(finding: Finding) -> str:
    decision = finding.decision
    if decision.exemption is not None:
        return f"exemption:{decision.exemption.name}"
    return decision.scope.name if decision.scope is not None else "no-scope"


def _result(finding: Finding, policy: str, now: int) -> dict[str, Any]:
    decision = finding.decision
    owner = finding.use.owner
    resource: dict[str, Any] = {
        "apiVersion": owner.api_version,
        "kind": owner.kind,
        "name": owner.name,
        "namespace": owner.namespace,
    }
    if owner.uid:
        resource["uid"] = owner.uid
    properties = {
        "image": finding.use.image,
        "resolvedImage": decision.image,
        "mode": decision.mode,
        "containers": ", ".join(finding.use.containers),
        "scope": scope_of(finding),
    }
    if decision.reason is not None:
        properties["reason"] = str(decision.reason)
    entry: dict[str, Any] = {
        "policy": policy,
        "rule": _rule(finding),
        "result": finding.result,
        "message": _message(finding),
        "source": SOURCE,
        "category": CATEGORY,
        "scored": True,
        "timestamp": {"seconds": now, "nanos": 0},
        "resources": [resource],
        "properties": properties,
    }
    severity = _SEVERITY.get(finding.result)
    if severity is not None:
        entry["severity"] = severity
    return entry


def _message(finding: Finding) -> str:
    decision = finding.decision
    head = f"image {finding.use.image}"
    if finding.result == "pass":
        text = f"{head}: allowed: {decision.message}" if decision.message else f"{head}: allowed"
    elif finding.result == "skip":
        text = f"{head}: {decision.message}"
    else:
        verb = "would be denied" if finding.result == "fail" else f"allowed in {decision.mode} mode"
        text = f"{head}: {verb}: {decision.reason}: {decision.message}"
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _summary(results: Sequence[Result]) -> dict[str, int]:
    counts = dict.fromkeys(("pass", "fail", "warn", "error", "skip"), 0)
    for result in results:
        counts[result] += 1
    return counts


def policy_reports(findings: Sequence[Finding], *, policy: str, now: int) -> list[dict[str, Any]]:
    """The PolicyReports (sorted by namespace), then the ClusterPolicyReport."""
    by_namespace: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_namespace[finding.use.owner.namespace].append(finding)
    reports: list[dict[str, Any]] = []
    overview: list[dict[str, Any]] = []
    for namespace in sorted(by_namespace):
        found = by_namespace[namespace]
        results = [f.result for f in found]
        reports.append(
            {
                "apiVersion": API_VERSION,
                "kind": "PolicyReport",
                "metadata": {
                    "name": REPORT_NAME,
                    "namespace": namespace,
                    "labels": dict(MANAGED_BY),
                },
                "results": [_result(f, policy, now) for f in found],
                "summary": _summary(results),
            }
        )
        worst = next(r for r in _WORST if r in results)
        counts = _summary(results)
        entry: dict[str, Any] = {
            "policy": policy,
            "rule": "namespace-workloads",
            "result": worst,
            "message": (
                f"{len(found)} image uses: {counts['fail']} would be denied, {counts['warn']} "
                f"warned, {counts['pass']} allowed, {counts['skip']} exempt"
            ),
            "source": SOURCE,
            "category": CATEGORY,
            "scored": True,
            "timestamp": {"seconds": now, "nanos": 0},
            "resources": [{"apiVersion": "v1", "kind": "Namespace", "name": namespace}],
            "properties": {k: str(v) for k, v in counts.items()},
        }
        if worst in _SEVERITY:
            entry["severity"] = _SEVERITY[worst]
        overview.append(entry)
    reports.append(
        {
            "apiVersion": API_VERSION,
            "kind": "ClusterPolicyReport",
            "metadata": {"name": REPORT_NAME, "labels": dict(MANAGED_BY)},
            "results": overview,
            "summary": _summary([f.result for f in findings]),
        }
    )
    return reports
