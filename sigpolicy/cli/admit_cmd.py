"""``sigpolicy admit``: the webhook's answer to an AdmissionReview file, offline.

    sigpolicy admit REVIEW --policy FILE [--trust FILE]
        [--catalog DIR | --kubeconfig FILE [--context NAME] | --in-cluster]
        [--deadline 8] [--fail-open] [--mutate] [--registry ...]

REVIEW is a JSON or YAML AdmissionReview (``-``: standard input). Prints the response
AdmissionReview that ``POST /validate`` (``/mutate`` with ``--mutate``) would send, as
indented JSON. Without a source nothing is looked up: images that need their signatures
read are denied.

Exit status: 0 allowed, 1 denied, 2 for a review that is not usable (its malformed-review
answer is printed all the same) or a bad invocation, policy or trust store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sigpolicy.admission.engine import Admission, AdmissionSettings
from sigpolicy.admission.model import (
    MAX_REVIEW_BYTES,
    MalformedReview,
    malformed_response,
    parse_review,
    review_response,
)
from sigpolicy.cli.files import read_file
from sigpolicy.cli.main import EXIT_OK, EXIT_REJECTED, EXIT_USAGE
from sigpolicy.cli.options import add_source_options
from sigpolicy.cli.policy_loading import load_policy_and_trust
from sigpolicy.cli.registry_options import add_registry_options, open_registry, registry_choice
from sigpolicy.errors import InputError
from sigpolicy.sources.base import ImageSource
from sigpolicy.yamlfile import load_json_strict, load_one


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sigpolicy admit",
        description="Print the AdmissionReview the webhook would answer to REVIEW.",
    )
    parser.add_argument("review", metavar="REVIEW", help="AdmissionReview file (JSON or YAML)")
    parser.add_argument(
        "--policy", required=True, metavar="FILE", help="sigpolicy YAML or containers-policy.json"
    )
    parser.add_argument(
        "--trust", metavar="FILE", help="trust store (default: the policy's trust:)"
    )
    add_source_options(parser, "where images come from (default: nowhere)")
    add_registry_options(parser)
    parser.add_argument(
        "--deadline", type=float, default=8.0, metavar="SECONDS", help="as for serve (8)"
    )
    parser.add_argument("--fail-open", action="store_true", help="as for serve")
    parser.add_argument(
        "--mutate", action="store_true", help="answer as POST /mutate (with digest pins)"
    )
    return parser


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.deadline <= 0:
        raise InputError("--deadline must be above 0")
    document = _read_review(args.review)
    response = asyncio.run(answer(args, document))
    sys.stdout.write(json.dumps(response, indent=2) + "\n")
    status = response["response"].get("status", {})
    if status.get("reason") == "malformed":
        print(f"sigpolicy: error: {status.get('message')}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK if response["response"]["allowed"] else EXIT_REJECTED


def _read_review(path: str) -> Any | MalformedReview:
    """The review's document, or the MalformedReview that its text is."""
    if path == "-":
        data = sys.stdin.buffer.read(MAX_REVIEW_BYTES + 1)
    else:
        data = read_file(path, what="review", limit=MAX_REVIEW_BYTES, refuse_larger=False)
    if len(data) > MAX_REVIEW_BYTES:
        return MalformedReview(f"the body is larger than {MAX_REVIEW_BYTES} bytes")
    try:
        text = data.decode("utf-8")
        if text.lstrip().startswith("{"):
            return load_json_strict(text, where=path)
        return load_one(text, where=path)
    except UnicodeDecodeError:
        return MalformedReview("the body is not UTF-8 text")
    except InputError as exc:
        return MalformedReview(f"the body is not JSON or YAML: {exc}")


async def answer(args: argparse.Namespace, document: Any) -> dict[str, Any]:
    try:
        if isinstance(document, MalformedReview):
            raise document
        request = parse_review(document)
    except MalformedReview as error:
        return malformed_response(error)
    policy, trust = load_policy_and_trust(Path(args.policy), args.trust)
    choice = registry_choice(args)
    source = _open_source(args)
    registry = None
    try:
        registry = open_registry(choice, source) if choice is not None else None
        settings = AdmissionSettings(
            deadline=args.deadline, fail_open=args.fail_open, pin_digests=args.mutate
        )
        admission = Admission(lambda: policy, source, settings, registry=registry)
        outcome = await admission.review(request)
    finally:
        if registry is not None:
            await registry.aclose()
        if source is not None:
            await source.close()
        if trust is not None:
            trust.close()
    if not args.mutate:
        outcome = outcome._replace(patch=None)
    return review_response(request.api_version, request.uid, outcome)


def _open_source(args: argparse.Namespace) -> ImageSource | None:
    if args.catalog is None and args.kubeconfig is None and not args.in_cluster:
        return None
    from sigpolicy.cli.options import open_source

    return open_source(args)
