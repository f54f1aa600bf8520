"""``sigpolicy verify``: standalone signature blobs, as ``skopeo standalone-verify`` does.

sigpolicy verify SIGNATURE... --keyring FILE [--keyring FILE ...]
    (--manifest FILE | --digest DIGEST) --identity REF
    [--backend native|gnupg] [--output text|json]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from sigpolicy.cli.files import read_file
from sigpolicy.cli.main import EXIT_OK, EXIT_REJECTED
from sigpolicy.cli.render import render_verdict
from sigpolicy.errors import InputError
from sigpolicy.reference.digest import parse_digest
from sigpolicy.signature.backends import BACKENDS, close_verifier, open_verifier
from sigpolicy.signature.openpgp.limits import MAX_KEYFILE_BYTES, MAX_MESSAGE_BYTES
from sigpolicy.verify.checks import DigestCheck, KnownDigest, ManifestBytes, SameReference
from sigpolicy.verify.simple import explain_blob

MAX_MANIFEST_BYTES = 4 * 1024 * 1024


def build_parser() -> argparse.ArgumentParser:
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
    parser.add_argument("--output", choices=("text", "json"), default="text")
    return parser


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
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


def _digest_check(args: argparse.Namespace) -> DigestCheck:
    if args.manifest is not None:
        return ManifestBytes(read_file(args.manifest, what="manifest", limit=MAX_MANIFEST_BYTES))
    try:
        return KnownDigest(parse_digest(args.digest))
    except InputError as exc:
        raise InputError(f"--digest: {exc}") from None
