"""Write a tiny OCI image layout for scripts/registry-demo: one generated layer and a config.

    .venv/bin/python scripts/registry_demo_image.py LAYOUT_DIR TAG TEXT

The layer is a gzipped tar holding one file (``hello.txt`` with TEXT), with fixed times so
the same TEXT always gives the same digest. Standard library only: the demo must run with no
network and nothing beyond the project venv.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def blob(layout: Path, data: bytes) -> dict[str, object]:
    """Store ``data`` under blobs/sha256/ and return its descriptor fields."""
    digest = hashlib.sha256(data).hexdigest()
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (blobs / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def layer(text: bytes) -> tuple[bytes, str]:
    """The gzipped layer and the diff ID (digest of the uncompressed tar) the config names."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(text)
        info.mtime = 0
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(text))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), f"sha256:{hashlib.sha256(tar_bytes).hexdigest()}"


def write_layout(layout: Path, tag: str, text: bytes) -> str:
    """Write the layout; returns the manifest digest."""
    layout.mkdir(parents=True, exist_ok=True)
    gz, diff_id = layer(text)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "config": {},
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **blob(layout, json.dumps(config).encode())},
        "layers": [{"mediaType": OCI_LAYER_GZIP, **blob(layout, gz)}],
    }
    top = blob(layout, json.dumps(manifest).encode())
    entry = {
        "mediaType": OCI_MANIFEST,
        **top,
        "annotations": {"org.opencontainers.image.ref.name": tag},
    }
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return str(top["digest"])


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: registry_demo_image.py LAYOUT_DIR TAG TEXT", file=sys.stderr)
        return 2
    try:
        print(write_layout(Path(argv[0]), argv[1], argv[2].encode()))
    except OSError as error:
        print(f"registry_demo_image: {argv[0]}: {error.strerror or error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
