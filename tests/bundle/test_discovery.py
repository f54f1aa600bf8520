"""Where bundles are found: a dir: layout's bundle envelope and signature-N.sigstore.json
beside a cosign attachment, and catalog ImageSignatures typed by a bundle media type."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from sigpolicy.reference.docker import parse_reference
from sigpolicy.sources.bundle_files import bundles_in_signatures
from sigpolicy.sources.evidence import evidence_from_dir
from tests.support.sigstore_bundle_kit import BUNDLE_V03

BUNDLE = json.dumps({"mediaType": BUNDLE_V03}).encode()
PAYLOAD = b'{"critical": {}}'


def _envelope(mime_type: str, payload: bytes) -> bytes:
    document = {
        "mimeType": mime_type,
        "payload": base64.b64encode(payload).decode(),
        "annotations": {},
    }
    return b"\x00sigstore-json\n" + json.dumps(document).encode()


def test_dir_layout(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_bytes(b"{}")
    (tmp_path / "signature-1").write_bytes(
        _envelope("application/vnd.dev.cosign.simplesigning.v1+json", PAYLOAD)
    )
    (tmp_path / "signature-1.sigstore.json").write_bytes(BUNDLE)
    (tmp_path / "signature-2").write_bytes(_envelope(BUNDLE_V03, BUNDLE))
    (tmp_path / "signature-9.sigstore.json").write_bytes(BUNDLE)  # beyond the list: not read
    evidence = evidence_from_dir(tmp_path, parse_reference("quay.io/ns/app"))
    found = {name: (a.bundle, a.payload) for name, a in evidence.sigstore_bundles}
    assert found == {"signature-2": (BUNDLE, None), "signature-1.sigstore.json": (BUNDLE, PAYLOAD)}
    # The bundle envelope is a bundle, not a cosign attachment as well.
    assert [name for name, _ in evidence.sigstore_signatures] == ["signature-1"]


def test_catalog_signature_types() -> None:
    found = bundles_in_signatures(
        [("a@1", BUNDLE_V03, BUNDLE), ("a@2", "atomic", b"x"), ("a@3", "application/json", b"y")]
    )
    assert [(name, a.bundle) for name, a in found] == [("a@1", BUNDLE)]
