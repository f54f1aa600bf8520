"""``sigpolicy verify``: standalone signature blobs, as ``skopeo standalone-verify`` does.

sigpolicy verify SIGNATURE... --keyring FILE [--keyring FILE ...]
    (--manifest FILE | --digest DIGEST) --identity REF
    [--backend native|gnupg] [--output text|json]
"""

from __future__ import annotations

import sys
import time
from types import SimpleNamespace
from typing import TYPE_CHECKING

from sigpolicy.cli.files import read_file
from sigpolicy.cli.main import EXIT_OK, EXIT_REJECTED
from sigpolicy.cli.render import render_verdict
from sigpolicy.errors import InputError
from sigpolicy.reference.digest import parse_digest
from sigpolicy.signature.backends import BACKENDS, close_verifier, open_verifier
from sigpolicy.signature.openpgp.limits import MAX_KEYFILE_BYTES, MAX_MESSAGE_BYTES
from sigpolicy.verify.checks import DigestCheck, KnownDigest, ManifestBytes, SameReference
from sigpolicy.verify.simple import explain_blob

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
OUTPUTS = ("text", "json")
# Every option takes one value.
_OPTIONS = ("--keyring", "--manifest", "--digest", "--identity", "--backend", "--output")


def build_parser() -> argparse.ArgumentParser:
    import argparse  # see parse_args

    parser = argparse.ArgumentParser(
        prog="sigpolicy verify",
        description="Verify simple-signing signature blobs for one image.",
        epilog="Exit status: 0 all trusted, 1 any not trusted, 2 bad invocation or input.",
    )
    parser.add_argument("signatures", nargs="+", metavar="SIGNATURE", help="signature file")
    parser.add_argument(
        "--keyring",
        action="append",
        required=True,
        metavar="FILE",
        help="trusted public keys, binary or ASCII-armored (repeatable)",
    )
    image = parser.add_mutually_exclusive_group(required=True)
    image.add_argument("--manifest", metavar="FILE", help="the image manifest")
    image.add_argument("--digest", metavar="DIGEST", help="the image's manifest digest")
    parser.add_argument(
        "--identity",
        required=True,
        metavar="REF",
        help="expected image reference (exact match after normalization)",
    )
    parser.add_argument("--backend", choices=BACKENDS, default="native")
    parser.add_argument("--output", choices=OUTPUTS, default="text")
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace | SimpleNamespace:
    """The arguments as :func:`build_parser` reads them.

    Importing argparse (with the shutil, bz2, lzma and gettext it brings) would cost the
    one-shot command milliseconds of start-up, so the usual spelling is read here:
    ``--option value`` pairs around one run of signature files. Anything else (``--help``,
    ``--option=value``, abbreviations, every mistake) goes to argparse itself, which stays the
    reference for help, errors and exit status.
    """
    args = _parse_usual(argv)
    return args if args is not None else build_parser().parse_args(argv)


def _parse_usual(argv: Sequence[str]) -> SimpleNamespace | None:
    """``--option value`` pairs around one run of signature files; None for anything else."""
    values: dict[str, list[str]] = {option: [] for option in _OPTIONS}
    positions: list[int] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        if not token.startswith("-"):
            positions.append(index)
            index += 1
            continue
        if token not in values or index + 1 == len(argv) or argv[index + 1].startswith("-"):
            return None
        values[token].append(argv[index + 1])
        index += 2
    keyrings = values.pop("--keyring")
    # argparse takes the signatures from one run of positional arguments only, and keeps the
    # last of a repeated option after checking each one: both cases are left to it.
    if not positions or positions[-1] - positions[0] != len(positions) - 1:
        return None
    if any(len(found) > 1 for found in values.values()):
        return None
    given = {option.removeprefix("--"): found[0] for option, found in values.items() if found}
    backend = given.get("backend", "native")
    output = given.get("output", "text")
    if (
        not keyrings
        or "identity" not in given
        or ("manifest" in given) == ("digest" in given)
        or backend not in BACKENDS
        or output not in OUTPUTS
    ):
        return None
    return SimpleNamespace(
        signatures=[argv[position] for position in positions],
        keyring=keyrings,
        manifest=given.get("manifest"),
        digest=given.get("digest"),
        identity=given["identity"],
        backend=backend,
        output=output,
    )


def run(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    identity = SameReference.parse(args.identity)
    digest = _digest_check(args)
    key_files = [
        (path, read_file(path, what="keyring", limit=MAX_KEYFILE_BYTES)) for path in args.keyring
    ]
    blobs = [
        (path, read_file(path, what="signature", limit=MAX_MESSAGE_BYTES, refuse_larger=False))
        for path in args.signatures
    ]
    verifier = open_verifier(args.backend, key_files)
    now = int(time.time())
    all_trusted = True
    try:
        for path, blob in blobs:
            verdict = explain_blob(blob, verifier, digest=digest, identity=identity, now=now)
            all_trusted = all_trusted and verdict.trusted
            sys.stdout.write(render_verdict(path, verdict, args.output) + "\n")
    finally:
        close_verifier(verifier)
    return EXIT_OK if all_trusted else EXIT_REJECTED


def _digest_check(args: argparse.Namespace | SimpleNamespace) -> DigestCheck:
    if args.manifest is not None:
        return ManifestBytes(read_file(args.manifest, what="manifest", limit=MAX_MANIFEST_BYTES))
    try:
        return KnownDigest(parse_digest(args.digest))
    except InputError as exc:
        raise InputError(f"--digest: {exc}") from None
