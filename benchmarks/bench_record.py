#!/usr/bin/env python3
"""``sigpolicy record`` over a catalog of 10,000 signatures.

    .venv/bin/python -m benchmarks.bench_record [--images 2500] [--per-image 4]

Builds a catalog folder of ``--images`` Images (one YAML file of 500 Images each, as
``oc get images -o yaml`` would print them), each carrying ``--per-image`` real signatures
(Ed25519 and RSA-3072 keys, the GnuPG message shape), then runs one recorder pass and
reports: the whole pass (read, verify, write back), the time spent verifying alone, and
the same pass through the ``sigpolicy record --once`` process.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from sigpolicy.recorder.due import own_identity
from sigpolicy.recorder.loop import Recorder
from sigpolicy.sources.catalog import CatalogSource
from sigpolicy.trust.store import TrustStore
from sigpolicy.verify.image import verify_image
from tests.support import pgpwriter as w

PER_FILE = 500


def payload(digest: str, reference: str) -> bytes:
    return json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": reference},
                "image": {"docker-manifest-digest": digest},
                "type": "atomic container signature",
            },
            "optional": {"creator": "bench", "timestamp": 1_800_000_000},
        }
    ).encode()


def build(root: Path, images: int, per_image: int) -> tuple[Path, bytes]:
    keys = [w.ed25519_key(), w.rsa_key(3072)]
    keyring = b"".join(w.certificate(k) for k in keys)
    objects = []
    for index in range(images):
        digest = "sha256:" + hashlib.sha256(f"image-{index}".encode()).hexdigest()
        reference = f"registry.example.com/bench/app{index % 50}:v{index}"
        signatures = []
        for n in range(per_image):
            blob = w.message(keys[n % 2], payload(digest, reference))
            signatures.append(
                {
                    "metadata": {"name": f"{digest}@{n:032x}"},
                    "type": "atomic",
                    "content": base64.b64encode(blob).decode(),
                }
            )
        objects.append(
            {
                "apiVersion": "image.openshift.io/v1",
                "kind": "Image",
                "metadata": {"name": digest, "resourceVersion": str(index + 1)},
                "dockerImageReference": f"registry.example.com/bench/app{index % 50}@{digest}",
                "signatures": signatures,
            }
        )
    catalog = root / "catalog"
    catalog.mkdir()
    for start in range(0, len(objects), PER_FILE):
        chunk = objects[start : start + PER_FILE]
        text = "".join(
            "---\n" + yaml.dump(o, Dumper=yaml.CSafeDumper, sort_keys=False) for o in chunk
        )
        (catalog / f"images-{start // PER_FILE:03}.yaml").write_text(text)
    keyfile = root / "keys.gpg"
    keyfile.write_bytes(keyring)
    return catalog, keyring


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=2500)
    parser.add_argument("--per-image", type=int, default=4)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="sigpolicy-bench-record-"))
    try:
        print("building the catalog ...", file=sys.stderr)
        catalog, keyring = build(root, args.images, args.per_image)
        total = args.images * args.per_image
        work = root / "run"
        shutil.copytree(catalog, work)
        store = TrustStore.from_keyrings([("keys.gpg", keyring)])
        started = time.perf_counter()
        cpu = time.process_time()
        source = CatalogSource(work)
        load = time.perf_counter() - started
        totals = asyncio.run(Recorder(source, lambda: store).run_pass())
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
        assert totals.signatures_verified == total, totals.summary()
        # Verification alone, on the same images, with nothing else around it.
        images = asyncio.run(CatalogSource(catalog).list_images())
        started = time.perf_counter()
        for image in images:
            verify_image(image, store, own_identity(image), now=int(time.time()))
        verifying = time.perf_counter() - started
        shutil.rmtree(work)
        shutil.copytree(catalog, work)
        command = [str(Path(sys.executable).parent / "sigpolicy"), "record", "--once"]
        command += [
            "--catalog",
            str(work),
            "--keyring",
            str(root / "keys.gpg"),
            "--log-level",
            "WARNING",
        ]
        started = time.perf_counter()
        subprocess.run(command, check=True)
        cli = time.perf_counter() - started
        per = wall / total * 1e3
        print(f"| what | {total:,} signatures on {args.images:,} images |")
        print("|---|---:|")
        pass_line = f"{wall:.2f} s ({per:.2f} ms a signature)"
        print(f"| one pass in process (read, verify, write back) | {pass_line} |")
        print(f"| of which reading the catalog | {load:.2f} s |")
        print(f"| verifying alone (every signature, same images) | {verifying:.2f} s |")
        print(f"| CPU time of the pass | {cpu:.2f} s |")
        print(f"| `sigpolicy record --once` process | {cli:.2f} s |")
        print(f"| result | {totals.summary()} |")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
