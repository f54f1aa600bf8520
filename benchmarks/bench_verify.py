#!/usr/bin/env python3
"""Signature verification speed, side by side in one run on the same signatures.

    .venv/bin/python -m benchmarks.bench_verify [--signatures 200] [--rounds 15] [--batch 1000]

Makes RSA-4096 and Ed25519 keys with gpg, signs one manifest with ``skopeo standalone-sign``
(the real producer), then times, per signature:

- the `cryptography` verify primitive on exactly those signature values (the floor);
- the native verifier in process, message only and the full check (payload, digest, identity);
- the GnuPG backend in process (python-gnupg, one gpg process per signature);
- ``skopeo standalone-verify`` (one process per signature);
- ``sigpolicy verify`` over a batch in one process (the signatures made, and ``--batch``
  arguments), and once for one signature.

Prints a Markdown table (the README's figures come from it). In-process figures are the best
of ``--rounds`` rounds in which the primitive and the verifier take turns; process figures
are the median of their runs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, utils

from sigpolicy.reference.digest import parse_digest
from sigpolicy.signature.backends import close_verifier, open_verifier
from sigpolicy.signature.message import MessageVerifier
from sigpolicy.signature.openpgp.keymaterial import HASHES
from sigpolicy.signature.openpgp.keyring import Keyring
from sigpolicy.signature.openpgp.message import parse_message
from sigpolicy.verify.checks import KnownDigest, SameReference
from sigpolicy.verify.simple import verify_blob

IDENTITY = "registry.example.com/bench/app:1.0"
MANIFEST = (
    b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}'
)


@dataclass
class KeySet:
    name: str
    home: Path
    fingerprint: str
    public: bytes
    signatures: list[Path]


def gpg(home: Path, *args: str) -> bytes:
    return subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--quiet", *args],
        check=True,
        capture_output=True,
    ).stdout


def make_keyset(base: Path, name: str, algo: str, count: int, manifest: Path) -> KeySet:
    home = base / name
    home.mkdir(mode=0o700)
    gpg(
        home,
        "--passphrase",
        "",
        "--quick-gen-key",
        f"Bench {name} <{name}@bench.test>",
        algo,
        "sign",
        "never",
    )
    listing = gpg(home, "--with-colons", "--list-keys").decode()
    fingerprint = next(
        line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
    )
    sigs = []
    env = {**os.environ, "GNUPGHOME": str(home)}
    for index in range(count):
        out = base / f"{name}-{index}.sig"
        subprocess.run(
            [
                "skopeo",
                "standalone-sign",
                "--output",
                str(out),
                str(manifest),
                IDENTITY,
                fingerprint,
            ],
            check=True,
            env=env,
            capture_output=True,
        )
        sigs.append(out)
    return KeySet(name, home, fingerprint, gpg(home, "--export", fingerprint), sigs)


def best_per_item(action: Callable[[], None], items: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best / items


def best_interleaved(
    actions: dict[str, Callable[[], None]], items: int, rounds: int
) -> dict[str, float]:
    """Best time per item of each action, the actions taking turns round after round, so
    that a slow spell of a shared machine weighs on all of them alike."""
    best = dict.fromkeys(actions, float("inf"))
    for _ in range(rounds):
        for what, action in actions.items():
            start = time.perf_counter()
            action()
            best[what] = min(best[what], time.perf_counter() - start)
    return {what: seconds / items for what, seconds in best.items()}


def primitive_closure(keys: KeySet, blobs: list[bytes]) -> Callable[[], None]:
    keyring = Keyring.from_files([("k", keys.public)])
    entry = keyring.certificates[0]
    public = entry.primary.key
    prepared = []
    for blob in blobs:
        message = parse_message(blob)
        sig = message.signature
        # gpg picks the hash from the key's preferences (SHA-512 for its RSA-4096 keys).
        algorithm = HASHES[sig.hash_algo]
        digest = hashlib.new(algorithm.name, message.data + sig.hashed_tail).digest()
        prepared.append((digest, algorithm, sig.values))
    if isinstance(public, rsa.RSAPublicKey):
        size = (public.key_size + 7) // 8
        rsa_calls = [(v[0].rjust(size, b"\0"), d, utils.Prehashed(a)) for d, a, v in prepared]

        def run_rsa() -> None:
            for signature, digest, prehashed in rsa_calls:
                public.verify(signature, digest, padding.PKCS1v15(), prehashed)

        return run_rsa
    assert isinstance(public, ed25519.Ed25519PublicKey)
    ed_calls = [(v[0].rjust(32, b"\0") + v[1].rjust(32, b"\0"), d) for d, _, v in prepared]

    def run_ed() -> None:
        for signature, digest in ed_calls:
            public.verify(signature, digest)

    return run_ed


def process_median(argv_list: list[list[str]], env: dict[str, str]) -> float:
    times = []
    for argv in argv_list:
        start = time.perf_counter()
        subprocess.run(argv, check=True, env=env, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class Check:
    """The same signatures, checked by one verifier or another."""

    def __init__(
        self, blobs: list[bytes], digest: KnownDigest, identity: SameReference, now: int
    ) -> None:
        self.blobs, self.digest, self.identity, self.now = blobs, digest, identity, now

    def messages(self, verifier: MessageVerifier) -> None:
        for blob in self.blobs:
            verifier.verify_message(blob, now=self.now)

    def full(self, verifier: MessageVerifier, limit: int | None = None) -> None:
        for blob in self.blobs[:limit]:
            verify_blob(blob, verifier, digest=self.digest, identity=self.identity, now=self.now)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--signatures", type=int, default=200, help="signatures per key type")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--batch", type=int, default=1000, help="signatures given to one sigpolicy verify process"
    )
    parser.add_argument("--process-runs", type=int, default=30, help="runs of each process figure")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="sigpolicy-bench-"))
    sigpolicy_cli = str(Path(sys.executable).parent / "sigpolicy")
    try:
        manifest = base / "manifest.json"
        manifest.write_bytes(MANIFEST)
        digest = KnownDigest(parse_digest("sha256:" + hashlib.sha256(MANIFEST).hexdigest()))
        identity = SameReference.parse(IDENTITY)
        rows: list[tuple[str, str, float]] = []
        print(
            f"generating keys and {args.signatures} signatures per key with skopeo ...",
            file=sys.stderr,
        )
        for name, algo in (("rsa4096", "rsa4096"), ("ed25519", "ed25519")):
            keys = make_keyset(base, name, algo, args.signatures, manifest)
            blobs = [p.read_bytes() for p in keys.signatures]
            n = len(blobs)
            now = int(time.time())
            keyfile = base / f"{name}.gpg"
            keyfile.write_bytes(keys.public)
            native = open_verifier("native", [(keyfile.name, keys.public)])
            gnupg = open_verifier("gnupg", [(keyfile.name, keys.public)])
            check = Check(blobs, digest, identity, now)
            print(f"timing {name} ...", file=sys.stderr)
            in_process = best_interleaved(
                {
                    "cryptography verify primitive": primitive_closure(keys, blobs),
                    "native verifier, message only": partial(check.messages, native),
                    "native verifier, full check": partial(check.full, native),
                },
                n,
                args.rounds,
            )
            rows.extend((name, what, seconds) for what, seconds in in_process.items())
            rows.append(
                (
                    name,
                    "GnuPG backend, full check",
                    best_per_item(partial(check.full, gnupg, 50), min(n, 50), 1),
                )
            )
            close_verifier(gnupg)
            env = {**os.environ, "GNUPGHOME": str(keys.home)}
            runs = keys.signatures[: args.process_runs]
            skopeo = process_median(
                [
                    [
                        "skopeo",
                        "standalone-verify",
                        str(manifest),
                        IDENTITY,
                        keys.fingerprint,
                        str(s),
                    ]
                    for s in runs
                ],
                env,
            )
            rows.append((name, "skopeo standalone-verify (one process per signature)", skopeo))
            cli = [
                sigpolicy_cli,
                "verify",
                "--keyring",
                str(keyfile),
                "--manifest",
                str(manifest),
                "--identity",
                IDENTITY,
            ]
            for size in sorted({n, args.batch}):
                # Past the signatures made, they are given again: each argument is read,
                # parsed and verified on its own (nothing is cached between them).
                paths = [str(keys.signatures[i % n]) for i in range(size)]
                batch = process_median([[*cli[:2], *paths, *cli[2:]] for _ in range(5)], env)
                what = f"sigpolicy verify, batch of {size:,} in one process"
                rows.append((name, what, batch / size))
            one_shot = process_median([[*cli[:2], str(s), *cli[2:]] for s in runs], env)
            rows.append((name, "sigpolicy verify, one signature (one process)", one_shot))
        print_table(rows)
    finally:
        for home in base.iterdir():
            if home.is_dir():
                subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
        shutil.rmtree(base, ignore_errors=True)


def print_table(rows: list[tuple[str, str, float]]) -> None:
    primitive = {key: t for key, what, t in rows if what.startswith("cryptography")}
    skopeo = {key: t for key, what, t in rows if what.startswith("skopeo")}
    print("| key | what | per signature | vs primitive | skopeo / this |")
    print("|---|---|---:|---:|---:|")
    for key, what, seconds in rows:
        print(
            f"| {key} | {what} | {format_time(seconds)} | {seconds / primitive[key]:.2f}x"
            f" | {skopeo[key] / seconds:.1f}x |"
        )


def format_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1e3:.1f} ms"


if __name__ == "__main__":
    main()
