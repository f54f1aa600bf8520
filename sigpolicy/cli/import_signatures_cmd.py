"""``sigpolicy import-signatures``: ImageSignature objects for the signatures registries hold.

    sigpolicy import-signatures (IMAGE... | --all)
        [--catalog DIR | --kubeconfig FILE [--context NAME] | --in-cluster]
        [--registries-d DIR] [--authfile FILE] [--cert-dir DIR] [--insecure-registry HOST ...]
        [--pull-secret NAMESPACE/NAME] [--limit 10] [--concurrency 8] [--progress-every 100]

IMAGE is an Image's name (``sha256:...``). What is imported, and how it is named and
deduplicated, is :mod:`sigpolicy.recorder.importer`; ``sigpolicy record --import-signatures``
imports before it verifies. Progress goes to stderr: a line every ``--progress-every``
images (one line rewritten in place on a terminal), and the totals at the end.

Exit status: 0 every image done (imported, already there, or nothing to import), 1 some
images failed (each named on stderr), 2 bad invocation or a source that cannot be read.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from sigpolicy.api import Image
from sigpolicy.cli.main import EXIT_OK, EXIT_REJECTED
from sigpolicy.cli.options import add_source_options, open_source
from sigpolicy.cli.registry_options import RegistryChoice, add_registry_options, registry_choice
from sigpolicy.errors import InputError, NotFoundError
from sigpolicy.recorder.importer import ImportSettings, ImportTotals, SignatureImporter
from sigpolicy.sources.base import ImageSource


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sigpolicy import-signatures",
        description="Create ImageSignature objects from the signatures registries hold.",
    )
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="Image names (sha256:...)")
    parser.add_argument("--all", action="store_true", help="every Image of the source")
    add_import_options(parser)
    add_source_options(parser)
    add_registry_options(parser)
    return parser


def add_import_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("importing")
    group.add_argument(
        "--limit", type=_positive, default=10, help="most signatures an Image may hold (10)"
    )
    group.add_argument(
        "--concurrency", type=_positive, default=8, help="images looked up at once (8)"
    )
    group.add_argument(
        "--progress-every", type=_positive, default=100, metavar="N",
        help="a progress line every N images (100)",
    )  # fmt: skip


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if bool(args.images) == bool(args.all):
        raise InputError("give IMAGE names or --all (not both)")
    args.registry = True  # the registry options are the point of this command
    choice = registry_choice(args)
    assert choice is not None  # noqa: S101 - --registry is set just above
    totals = asyncio.run(_run(args, choice))
    for failure in totals.failed:
        print(f"sigpolicy: import-signatures: {failure}", file=sys.stderr)
    print(f"sigpolicy: import-signatures: {totals.summary()}", file=sys.stderr)
    return EXIT_OK if not totals.failed else EXIT_REJECTED


async def _run(args: argparse.Namespace, choice: RegistryChoice) -> ImportTotals:
    source = open_source(args)
    try:
        images = await _images(source, args.images) if args.images else await source.list_images()
        return await import_all(source, choice, images, args, sys.stderr)
    finally:
        await source.close()


async def import_all(
    source: ImageSource,
    choice: RegistryChoice,
    images: Sequence[Image],
    args: argparse.Namespace,
    out: TextIO,
) -> ImportTotals:
    """One import pass over ``images`` (also ``sigpolicy record --import-signatures``)."""
    from sigpolicy.cli.registry_options import open_registry

    layer = open_registry(choice, source)
    try:
        credentials = await layer.credentials.for_pull(None)
        importer = SignatureImporter(
            source,
            layer.finder,
            credentials,
            ImportSettings(limit=args.limit, concurrency=args.concurrency, timeout=choice.timeout),
            progress=_progress(out, args.progress_every),
        )
        return await importer.run(images)
    finally:
        await layer.aclose()


async def _images(source: ImageSource, names: Sequence[str]) -> list[Image]:
    images = []
    for name in names:
        try:
            images.append(await source.get_image(name))
        except NotFoundError:
            raise InputError(f"IMAGE {name}: no such Image in {source.description}") from None
    return images


def _progress(out: TextIO, every: int) -> Callable[[ImportTotals, int], None]:
    terminal = out.isatty()

    def show(totals: ImportTotals, count: int) -> None:
        if totals.images % every and totals.images != count and not terminal:
            return
        line = (
            f"import-signatures: {totals.images}/{count} images, {totals.imported} imported,"
            f" {len(totals.failed)} failed"
        )
        if terminal:
            out.write("\r" + line + ("\n" if totals.images == count else ""))
        else:
            out.write(line + "\n")
        out.flush()

    return show


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)
