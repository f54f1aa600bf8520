"""``sigpolicy check-image``: one policy decision for one image, offline.

    sigpolicy check-image IMAGE_REF --policy FILE (--dir DIR | --catalog DIR | --registry ...)
        [--namespace NS] [--namespace-label KEY=VALUE ...] [--trust FILE] [--output text|json]

``--registry`` (:mod:`sigpolicy.cli.registry_options`) looks up at its registry what the
catalog does not serve, or everything without ``--catalog``.

Exit status: 0 allowed, 1 denied, 2 bad input (policy, trust store, layout, reference).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sigpolicy.cli.main import EXIT_OK, EXIT_REJECTED
from sigpolicy.cli.policy_loading import load_policy_and_trust
from sigpolicy.cli.registry_options import add_registry_options, open_registry, registry_choice
from sigpolicy.cli.render_decision import decision_json, decision_text
from sigpolicy.errors import InputError, VerificationError
from sigpolicy.policy.decision import Decision
from sigpolicy.policy.engine import Policy, failed_before_policy
from sigpolicy.policy.evidence import ImageEvidence
from sigpolicy.reference.docker import parse_reference
from sigpolicy.resolve.pull_credentials import PullContext
from sigpolicy.resolve.resolver import Resolver
from sigpolicy.sources.catalog import CatalogSource
from sigpolicy.sources.evidence import evidence_from_dir


def add_image_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="IMAGE_REF", help="the image reference, as a pod names it")
    parser.add_argument(
        "--policy", required=True, metavar="FILE", help="sigpolicy YAML or containers-policy.json"
    )
    parser.add_argument(
        "--trust", metavar="FILE", help="trust store (default: the policy's trust:)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--dir", metavar="DIR", help="a containers/image dir: layout")
    where.add_argument("--catalog", metavar="DIR", help="a catalog folder of image API objects")
    parser.add_argument("--namespace", metavar="NS", help="the namespace the image runs in")
    parser.add_argument(
        "--namespace-label", action="append", default=[], metavar="KEY=VALUE",
        help="a label of that namespace (for namespaceSelector scopes; repeatable)",
    )  # fmt: skip
    add_registry_options(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sigpolicy check-image", description="One policy decision for one image."
    )
    add_image_arguments(parser)
    parser.add_argument("--output", choices=("text", "json"), default="text")
    return parser


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    decision = asyncio.run(decide(args))
    if args.output == "json":
        sys.stdout.write(json.dumps(decision_json(decision), indent=2) + "\n")
    else:
        sys.stdout.write(decision_text(decision))
    return EXIT_OK if decision.allowed else EXIT_REJECTED


async def decide(args: argparse.Namespace) -> Decision:
    policy, trust = load_policy_and_trust(Path(args.policy), args.trust)
    try:
        try:
            evidence = await gather(args, policy)
        except VerificationError as exc:
            return failed_before_policy(args.image, args.namespace, exc.reason, exc.message)
        return await policy.decide(evidence)
    finally:
        if trust is not None:
            trust.close()


async def gather(args: argparse.Namespace, policy: Policy) -> ImageEvidence:
    try:
        reference = parse_reference(args.image)
    except InputError as exc:
        raise InputError(f"IMAGE_REF: {exc}") from None
    labels = _labels(args.namespace_label) if args.namespace_label else None
    registry = registry_choice(args)
    if args.dir is None and args.catalog is None and registry is None:
        raise InputError("give where the image comes from: --dir, --catalog or --registry")
    if args.dir is not None and registry is not None:
        raise InputError("--dir and --registry exclude each other")
    if args.dir is not None:
        evidence = evidence_from_dir(Path(args.dir), reference, namespace=args.namespace)
    else:
        source = CatalogSource(Path(args.catalog)) if args.catalog is not None else None
        layer = open_registry(registry, source) if registry is not None else None
        try:
            resolution = await Resolver(source, registry=layer).resolve(
                args.image,
                namespace=args.namespace,
                now=int(time.time()),
                policy=policy,
                pull=None if args.namespace is None else PullContext(args.namespace),
                deadline=None if registry is None else time.monotonic() + registry.timeout,
            )
        finally:
            if layer is not None:
                await layer.aclose()
        evidence = resolution.evidence
    if labels is not None:  # given on the command line: they win over a catalog's Namespace
        evidence.namespace_labels = labels
    return evidence


def _labels(pairs: list[str]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--namespace-label {pair!r}: expected KEY=VALUE")
        labels[key] = value
    return labels
