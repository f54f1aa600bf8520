#!/usr/bin/env python3
"""Regenerate the bundled example signatures in sigpolicy/examples/signatures/.

Makes throwaway keys with gpg in a temporary home, signs with ``skopeo standalone-sign``
(the way release pipelines do), exports only the public keys, and deletes the home: no
private key is ever written into the repository. Run: ``python3 scripts/make_examples.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "sigpolicy" / "examples" / "signatures"
IDENTITY = "registry.example.com/shop/checkout:1.4.2"

MANIFEST = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {
        "mediaType": "application/vnd.oci.image.config.v1+json",
        "digest": "sha256:3f1c6a2b7f7f0c1e0a9d2b4c6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f",
        "size": 1469,
    },
    "layers": [
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": "sha256:9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
            "size": 3623807,
        }
    ],
}


def gpg(home: Path, *args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--quiet", *args],
        input=stdin,
        check=True,
        capture_output=True,
    ).stdout


def new_key(home: Path, name: str, algo: str) -> str:
    gpg(home, "--passphrase", "", "--quick-gen-key", name, algo, "sign", "never")
    listing = gpg(home, "--with-colons", "--list-keys", name).decode()
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def sign(home: Path, manifest: Path, identity: str, fingerprint: str, out: Path) -> None:
    subprocess.run(
        ["skopeo", "standalone-sign", "--output", str(out), str(manifest), identity, fingerprint],
        check=True,
        env={**os.environ, "GNUPGHOME": str(home)},
    )


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="sigpolicy-examples-"))
    home.chmod(0o700)
    try:
        release = new_key(home, "Example Release Key <release@example.com>", "rsa4096")
        ci = new_key(home, "Example CI Key <ci@example.com>", "ed25519")
        stranger = new_key(home, "Someone Else <someone@example.net>", "nistp256")
        OUT.mkdir(parents=True, exist_ok=True)
        manifest = OUT / "manifest.json"
        manifest.write_text(json.dumps(MANIFEST, indent=3) + "\n")
        (OUT / "trusted-keys.asc").write_bytes(gpg(home, "--armor", "--export", release, ci))
        sign(home, manifest, IDENTITY, release, OUT / "release-key.sig")
        sign(home, manifest, IDENTITY, ci, OUT / "ci-key.sig")
        sign(
            home,
            manifest,
            "registry.example.com/shop/payments:1.4.2",
            release,
            OUT / "other-image.sig",
        )
        sign(home, manifest, IDENTITY, stranger, OUT / "unknown-key.sig")
        tampered = bytearray((OUT / "release-key.sig").read_bytes())
        tampered[-20] ^= 0x01
        (OUT / "tampered.sig").write_bytes(bytes(tampered))
        (OUT / "identity.txt").write_text(IDENTITY + "\n")
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
