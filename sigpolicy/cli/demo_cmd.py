"""``sigpolicy demo``: verify the bundled example signatures and say what each shows.

The embedded default of the README's first command: it needs no cluster and no files of the
user's, and exercises the same path as ``sigpolicy verify``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

from sigpolicy.cli.main import EXIT_OK
from sigpolicy.cli.render import verdict_text
from sigpolicy.signature.backends import BACKENDS, close_verifier, open_verifier
from sigpolicy.verify.checks import ManifestBytes, SameReference
from sigpolicy.verify.simple import explain_blob

# (file, what the example demonstrates, whether it should be trusted)
EXAMPLES: tuple[tuple[str, str, bool], ...] = (
    ("release-key.sig", "signed by the RSA-4096 release key", True),
    ("ci-key.sig", "signed by the Ed25519 CI key", True),
    ("other-image.sig", "a real signature, but for another image", False),
    ("unknown-key.sig", "signed by a key nobody trusts", False),
    ("tampered.sig", "one bit flipped after signing", False),
)


def example_dir() -> Path:
    return Path(str(files("sigpolicy") / "examples" / "signatures"))


def run(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="sigpolicy demo", description=__doc__)
    parser.add_argument("--backend", choices=BACKENDS, default="native")
    args = parser.parse_args(argv)
    base = example_dir()
    identity_text = (base / "identity.txt").read_text().strip()
    keyring = base / "trusted-keys.asc"
    verifier = open_verifier(args.backend, [(keyring.name, keyring.read_bytes())])
    digest = ManifestBytes((base / "manifest.json").read_bytes())
    identity = SameReference.parse(identity_text)
    out = sys.stdout
    out.write(f"Bundled examples in {base}\n")
    out.write(f"  image:        {identity_text} (manifest.json)\n")
    out.write(f"  trusted keys: {', '.join(sorted(verifier.fingerprints))}\n\n")
    surprises = 0
    now = int(time.time())
    try:
        for name, story, expected in EXAMPLES:
            verdict = explain_blob(
                (base / name).read_bytes(), verifier, digest=digest, identity=identity, now=now
            )
            surprises += verdict.trusted != expected
            out.write(f"{story}:\n  {verdict_text(name, verdict)}\n")
    finally:
        close_verifier(verifier)
    out.write(
        f"\n{len(EXAMPLES)} signatures checked, "
        f"{'all as expected' if not surprises else f'{surprises} NOT as expected'}.\n"
        "Try it yourself:\n"
        f"  sigpolicy verify {base}/release-key.sig --keyring {keyring} \\\n"
        f"      --manifest {base}/manifest.json --identity {identity_text}\n"
    )
    return EXIT_OK if not surprises else 1
