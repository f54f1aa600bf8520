"""The verification path (store, verifier, signer) loads neither YAML nor pydantic."""

from __future__ import annotations

import subprocess
import sys

from tests.conformance.corpus import CORPUS
from tests.trust.helpers import NOW

CODE = f"""
import sys
from pathlib import Path
from sigpolicy.trust import TrustStore
corpus = Path({str(CORPUS)!r})
store = TrustStore.from_keyrings([("k", (corpus / "public-key.gpg").read_bytes())])
message = store.verifier().verify_message((corpus / "image.signature").read_bytes(), now={NOW})
store.signer_entry(message)
print(",".join(m for m in ("yaml", "pydantic", "sigpolicy.api") if m in sys.modules))
"""


def test_verification_path_is_light() -> None:
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
