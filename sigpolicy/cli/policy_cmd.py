"""``sigpolicy policy check | explain | test``: policies as code, tested offline.

    sigpolicy policy check FILE [--trust FILE]
    sigpolicy policy explain IMAGE_REF --policy FILE (--dir DIR | --catalog DIR) [--namespace NS]
    sigpolicy policy test SUITE

``check`` prints every problem with its line and JSON path (exit 0 valid, 2 invalid);
``explain`` prints the decision as a tree (exit 0 allowed, 1 denied); ``test`` runs a YAML suite
of images with expected decisions, like ``kyverno test`` (exit 0 all pass, 1 any mismatch).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from sigpolicy.cli.check_image_cmd import add_image_arguments, decide
from sigpolicy.cli.main import EXIT_OK, EXIT_REJECTED, EXIT_USAGE
from sigpolicy.cli.policy_loading import load_policy_and_trust
from sigpolicy.cli.policy_suite import run_suite
from sigpolicy.cli.render_decision import decision_text
from sigpolicy.cli.render_openshift import openshift_translation, openshift_warnings
from sigpolicy.errors import SigpolicyError
from sigpolicy.reference.scopes import is_valid_scope


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sigpolicy policy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = sub.add_parser("check", help="validate a policy file")
    check.add_argument("file", metavar="FILE")
    check.add_argument("--trust", metavar="FILE", help="trust store (default: the policy's trust:)")
    explain = sub.add_parser("explain", help="explain the decision for one image")
    add_image_arguments(explain)
    test = sub.add_parser("test", help="run a test suite of images and expected decisions")
    test.add_argument("suite", metavar="SUITE")
    return parser


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.action == "check":
        return check(Path(args.file), args.trust)
    if args.action == "explain":
        decision = asyncio.run(decide(args))
        sys.stdout.write(openshift_translation(Path(args.policy), args.namespace))
        sys.stdout.write(decision_text(decision))
        return EXIT_OK if decision.allowed else EXIT_REJECTED
    return run_suite(Path(args.suite))


def check(path: Path, trust: str | None) -> int:
    try:
        policy, store = load_policy_and_trust(path, trust)
    except SigpolicyError as exc:
        print(exc.diagnostics(), file=sys.stderr)
        return EXIT_USAGE
    if store is not None:
        store.close()
    warnings = []
    for scope in policy.index.scopes:
        for pattern in scope.patterns:
            if pattern.kind not in ("glob", "any") and not is_valid_scope(pattern.text):
                warnings.append(
                    f"{path}: scope {scope.name!r}: {pattern.text!r} can never match an image"
                )
        if scope.requirement.unsafe:
            warnings.append(
                f"{path}: scope {scope.name!r} accepts images without any signature (unsafe)"
            )
    warnings.extend(openshift_warnings(policy))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    scopes, exemptions = len(policy.index.scopes), len(policy.exemptions)
    print(f"{path}: valid {policy.format_name} policy, {scopes} scopes, {exemptions} exemptions")
    return EXIT_OK
