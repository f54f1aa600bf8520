"""``sigpolicy audit``: what running workloads would the policy deny, and what does a policy
change change.

    sigpolicy audit --policy FILE [--baseline FILE] [--trust FILE]
        (--catalog DIR | --kubeconfig FILE [--context NAME] | --in-cluster)
        [--namespace NS ...] [--output text|json|policyreport] [--output-file FILE]
        [--all] [--fail-on-warn] [--quiet] [--progress-every N]

1. The workloads are listed (a catalog folder's, or the cluster's in pages) and grouped by
   owner (:mod:`sigpolicy.audit.inventory`): each image of a Deployment and its pods is one
   finding.
2. Each distinct image of each namespace is decided once, by the admission engine, as the
   webhook decides on CREATE (:mod:`sigpolicy.audit.engine`).
3. With ``--baseline`` the same workloads are decided by the baseline policy too and the
   differences are printed (:mod:`sigpolicy.audit.diff`).
4. The output is built whole and written at the end: to standard output, or to
   ``--output-file`` through a temporary file renamed over it. A failure before that
   writes nothing.

Output: ``text`` (a summary, then a table of what would be denied or warned, every finding
with ``--all``); ``json``: JSON Lines, one object per finding (with ``--baseline``, one per
change); ``policyreport``: a ``v1`` List of ``wgpolicyk8s.io/v1alpha2`` PolicyReports (one per
namespace) and a ClusterPolicyReport, for ``kubectl apply -f``.

Exit status: 0 nothing would be denied (with ``--baseline``: nothing newly denied); 1 something
would be (``--fail-on-warn``: or would be warned); 2 for a bad invocation or policy, an
unreadable catalog, or a cluster that cannot be listed or does not answer while deciding.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from sigpolicy.admission.engine import DEFAULT_REGISTRY_HOSTS, Admission, AdmissionSettings
from sigpolicy.audit.diff import diff_findings
from sigpolicy.audit.engine import AuditRun, decide_uses
from sigpolicy.audit.inventory import ImageUse, group_by_owner
from sigpolicy.audit.listing import list_workloads
from sigpolicy.audit.policyreport import policy_reports
from sigpolicy.audit.summary import summarize
from sigpolicy.cli.audit_render import audit_text, changes_jsonl, diff_text, findings_jsonl
from sigpolicy.cli.main import EXIT_OK, EXIT_REJECTED
from sigpolicy.cli.options import add_source_options, open_source
from sigpolicy.cli.policy_loading import load_policy_and_trust
from sigpolicy.cli.progress import Progress
from sigpolicy.errors import InputError, SourceError
from sigpolicy.policy.engine import Policy
from sigpolicy.reasons import Reason
from sigpolicy.sources.base import ImageSource


class Output(NamedTuple):
    text: str
    status: int


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sigpolicy audit",
        description="Decide every running workload's images as the webhook would on CREATE.",
    )
    parser.add_argument(
        "--policy", required=True, metavar="FILE", help="sigpolicy YAML or containers-policy.json"
    )
    parser.add_argument(
        "--baseline", metavar="FILE", help="the policy in force: print what --policy changes"
    )
    parser.add_argument(
        "--trust", metavar="FILE", help="trust store (default: each policy's own trust:)"
    )
    add_source_options(parser, "where workloads and images come from (default: the kubeconfig)")
    parser.add_argument(
        "--namespace", action="append", default=[], metavar="NS",
        help="audit only this namespace (repeatable; default: every namespace)",
    )  # fmt: skip
    parser.add_argument("--output", choices=("text", "json", "policyreport"), default="text")
    parser.add_argument(
        "--output-file", metavar="FILE", help="write there (atomically) instead of stdout"
    )
    parser.add_argument("--all", action="store_true", help="text: list allowed findings too")
    parser.add_argument(
        "--fail-on-warn", action="store_true", help="exit 1 also for warn/audit-mode findings"
    )
    parser.add_argument(
        "--registry-host", action="append", default=[], metavar="HOST",
        help=f"the integrated registry, as for serve (default {DEFAULT_REGISTRY_HOSTS[0]})",
    )  # fmt: skip
    parser.add_argument(
        "--deadline", type=float, default=8.0, metavar="SECONDS",
        help="per decision, as the webhook's (8)",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument(
        "--progress-every", type=int, default=1000, metavar="N",
        help="off a terminal: a progress line every N decisions (1000)",
    )  # fmt: skip
    return parser


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.baseline and args.output == "policyreport":
        raise InputError("--baseline prints a diff: use --output text or json")
    if args.deadline <= 0:
        raise InputError("--deadline must be above 0")
    output = asyncio.run(audit(args))
    write_output(output.text, args.output_file)
    return output.status


def write_output(text: str, path: str | None) -> None:
    """Standard output, or ``path`` replaced whole (never half written)."""
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise InputError(f"--output-file {path}: {exc.strerror}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise InputError(f"--output-file {path}: {exc.strerror}") from None


async def audit(args: argparse.Namespace) -> Output:
    progress = Progress(quiet=args.quiet, every=args.progress_every, label="sigpolicy audit: ")
    policy, trust = load_policy_and_trust(Path(args.policy), args.trust)
    baseline, baseline_trust = (
        load_policy_and_trust(Path(args.baseline), args.trust) if args.baseline else (None, None)
    )
    settings = AdmissionSettings(
        deadline=args.deadline,
        registry_hosts=tuple(args.registry_host) or DEFAULT_REGISTRY_HOSTS,
        check_owned_pods=True,  # ownership is the inventory's to decide
    )
    source = open_source(args)
    try:
        progress.note(f"listing workloads of {source.description}")
        objects = await list_workloads(source, args.namespace or None)
        namespaces = frozenset(args.namespace) if args.namespace else None
        uses = group_by_owner(objects, namespaces)
        owners = len({use.owner for use in uses})
        progress.note(f"{len(objects)} objects: {owners} workloads, {len(uses)} image uses")
        found = await _decide(source, settings, policy, uses, progress, "decisions")
        if baseline is None:
            return _report(args, source, found)
        previous = await _decide(source, settings, baseline, uses, progress, "baseline decisions")
        changes = diff_findings(previous.findings, found.findings)
        if args.output == "json":
            text = changes_jsonl(changes)
        else:
            text = diff_text(
                changes,
                policy=args.policy,
                baseline=args.baseline,
                source=source.description,
                findings=len(found.findings),
            )
        newly_denied = any(change.kind == "newly-denied" for change in changes)
        return Output(text, EXIT_REJECTED if newly_denied else EXIT_OK)
    finally:
        await source.close()
        for store in (trust, baseline_trust):
            if store is not None:
                store.close()


async def _decide(
    source: ImageSource,
    settings: AdmissionSettings,
    policy: Policy,
    uses: list[ImageUse],
    progress: Progress,
    what: str,
) -> AuditRun:
    admission = Admission(lambda: policy, source, settings)
    found = await decide_uses(
        admission,
        uses,
        policy=policy,
        progress=lambda done, total: progress.step(done, total, what),
    )
    unreachable = [
        f
        for f in found.findings
        if f.decision.reason in (Reason.SOURCE_UNAVAILABLE, Reason.TIMEOUT)
    ]
    if unreachable:
        first = unreachable[0]
        raise SourceError(
            f"{source.description}: {len(unreachable)} image decisions could not be made "
            f"(first: {first.use.image}: {first.decision.message}); no report written"
        )
    return found


def _report(args: argparse.Namespace, source: ImageSource, found: AuditRun) -> Output:
    findings = found.findings
    results = {f.result for f in findings}
    denied = "fail" in results or (args.fail_on_warn and "warn" in results)
    status = EXIT_REJECTED if denied else EXIT_OK
    if args.output == "json":
        return Output(findings_jsonl(findings), status)
    if args.output == "policyreport":
        reports = policy_reports(findings, policy=Path(args.policy).stem, now=int(time.time()))
        document = {"apiVersion": "v1", "kind": "List", "items": reports}
        return Output(json.dumps(document, indent=2) + "\n", status)
    summary = summarize(findings, found.decisions)
    text = audit_text(
        findings, summary, policy=args.policy, source=source.description, everything=args.all
    )
    return Output(text, status)
