"""generation: changes exactly when the trusted set changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigpolicy.trust.load import load_trust_store
from tests.trust.helpers import write_trust

BASE = """
entries:
  - name: release
    issuer: {organization: Example Corp}
    keys: [{file: keys/public-key.gpg}]
"""

SAME_SET = [
    ("comment-added", BASE + "# a comment\n"),
    (
        "flow-style",
        "entries: [{name: release, issuer: {organization: Example Corp},"
        " keys: [{file: keys/public-key.gpg}]}]\n",
    ),
    ("binary-copy-of-the-key", BASE.replace("public-key.gpg", "public-key-1.gpg")),
    (
        "pin-that-keeps-the-same-key",
        BASE.replace(
            "{file: keys/public-key.gpg}",
            '{file: keys/public-key.gpg, publicKeyID: "E932F44B23E8DD43"}',
        ),
    ),
]
OTHER_SET = [
    ("entry-renamed", BASE.replace("name: release", "name: stable")),
    ("issuer-changed", BASE.replace("Example Corp", "Other Corp")),
    ("subject-added", BASE.replace("    keys:", "    subject: {commonName: x}\n    keys:")),
    (
        "key-added",
        BASE.replace(
            "[{file: keys/public-key.gpg}]",
            "[{file: keys/public-key.gpg}, {file: keys/public-key-2.gpg}]",
        ),
    ),
    ("key-replaced", BASE.replace("public-key.gpg", "public-key-2.gpg")),
]


def _generation(folder: Path, body: str) -> str:
    return load_trust_store(write_trust(folder, body)).generation


@pytest.mark.parametrize(("body",), [c[1:] for c in SAME_SET], ids=[c[0] for c in SAME_SET])
def test_same_trusted_set_same_generation(tmp_path: Path, body: str) -> None:
    assert _generation(tmp_path, body) == _generation(tmp_path, BASE)


@pytest.mark.parametrize(("body",), [c[1:] for c in OTHER_SET], ids=[c[0] for c in OTHER_SET])
def test_other_trusted_set_other_generation(tmp_path: Path, body: str) -> None:
    assert _generation(tmp_path, body) != _generation(tmp_path, BASE)


def test_generation_is_16_hex_digits(tmp_path: Path) -> None:
    generation = _generation(tmp_path, BASE)
    assert len(generation) == 16
    assert int(generation, 16) >= 0
