"""``sigpolicy verify-image``: verify an Image's signatures and record the verdicts on them.

    sigpolicy verify-image IMAGE --expected-identity REF (--keyring FILE... | --trust FILE)
        [--catalog DIR | --kubeconfig FILE | --in-cluster] [--save]
        [--identity-rule RULE] [--output text|json]

Exit status: 0 when at least one signature is trusted for the expected identity, 1 when none
is (an image without signatures included), 2 for a bad invocation or an unreachable source.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence

from sigpolicy.api import Image
from sigpolicy.cli.main import EXIT_OK, EXIT_REJECTED
from sigpolicy.cli.options import (
    IDENTITY_RULES,
    add_source_options,
    add_trust_options,
    load_trust,
    open_source,
    parse_expected_identity,
    parse_identity_rule,
)
from sigpolicy.cli.render_image import render_text
from sigpolicy.errors import InputError, NotFoundError
from sigpolicy.reference.digest import parse_digest
from sigpolicy.signature.backends import BACKENDS, Backend
from sigpolicy.sources.base import ImageSource
from sigpolicy.trust.store import TrustStore
from sigpolicy.verify.checks import RuleIdentity
from sigpolicy.verify.image import verify_image
from sigpolicy.verify.record import record_image


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sigpolicy verify-image",
        description="Verify the ImageSignatures of an Image and record the verdicts on them.",
        epilog="Exit status: 0 a signature is trusted, 1 none is, 2 bad invocation or source.",
    )
    parser.add_argument(
        "image", metavar="IMAGE", help="the Image name (sha256:...) or NAME@sha256:..."
    )
    parser.add_argument(
        "--expected-identity",
        required=True,
        metavar="REF",
        help="the image reference the signatures must name",
    )
    parser.add_argument(
        "--identity-rule", default="matchRepoDigestOrExact", metavar="RULE", help=IDENTITY_RULES
    )
    parser.add_argument("--save", action="store_true", help="write the verdicts onto the Image")
    parser.add_argument("--backend", choices=BACKENDS, default="native")
    parser.add_argument("--output", choices=("text", "json"), default="text")
    add_trust_options(parser)
    add_source_options(parser)
    return parser


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    name = image_name(args.image)
    identity = RuleIdentity(
        parse_identity_rule(args.identity_rule), parse_expected_identity(args.expected_identity)
    )
    return asyncio.run(_run(args, name, identity))


async def _run(args: argparse.Namespace, name: str, identity: RuleIdentity) -> int:
    source = open_source(args)
    try:
        trust = await load_trust(args, source)
        try:
            image = await _get(source, name)
            lists = await manifest_lists_containing(source, name)
            now = int(time.time())
            verification = verify_image(
                image, trust, identity, now=now, lists=lists, backend=args.backend
            )
            recorded = record_image(image, verification, now)
            if args.save:
                recorded = (
                    await _save(source, trust, identity, name, lists, args.backend) or recorded
                )
        finally:
            trust.close()
    finally:
        await source.close()
    out = sys.stdout
    if args.output == "json":
        out.write(json.dumps(recorded.to_json_dict(), indent=2) + "\n")
    else:
        out.write(render_text(verification, recorded, source.description, saved=args.save))
    return EXIT_OK if verification.trusted else EXIT_REJECTED


async def _get(source: ImageSource, name: str) -> Image:
    try:
        return await source.get_image(name)
    except NotFoundError as exc:
        raise InputError(str(exc)) from None


async def _save(
    source: ImageSource,
    trust: TrustStore,
    identity: RuleIdentity,
    name: str,
    lists: Sequence[Image],
    backend: Backend,
) -> Image | None:
    def change(fresh: Image) -> Image:
        # Re-verified on the newest copy: a signature added since the first read is judged too.
        now = int(time.time())
        verification = verify_image(fresh, trust, identity, now=now, lists=lists, backend=backend)
        return record_image(fresh, verification, now)

    return await source.update_image(name, change)


async def manifest_lists_containing(source: ImageSource, name: str) -> list[Image]:
    """Images that are manifest lists naming ``name`` among their manifests."""
    return [
        image
        for image in await source.list_images()
        if any(m.digest == name for m in image.docker_image_manifests or ())
    ]


def image_name(text: str) -> str:
    """An Image is named by its manifest digest; ``repo@sha256:...`` is accepted too."""
    digest = text.rpartition("@")[2] if "@" in text else text
    try:
        return str(parse_digest(digest))
    except InputError:
        raise InputError(
            f"IMAGE {text!r}: expected an Image name (sha256:...) or NAME@sha256:..."
        ) from None
