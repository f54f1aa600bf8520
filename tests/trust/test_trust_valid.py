"""Valid trust files: which certificates each entry ends up trusting, and with what identity."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from sigpolicy.trust import Identity
from sigpolicy.trust.load import load_trust_store
from tests.trust.helpers import (
    REVOKED_SUBKEY_PRIMARY_FPR,
    SECOND_FPR,
    SKOPEO_FPR,
    SUBKEY_PRIMARY_FPR,
    armored,
    write_trust,
)

ALL_FOUR = {SKOPEO_FPR, SECOND_FPR, SUBKEY_PRIMARY_FPR, REVOKED_SUBKEY_PRIMARY_FPR}


@dataclass(frozen=True)
class Valid:
    name: str
    body: str
    trusted: dict[str, set[str]]


VALID = [
    Valid(
        "key-file",
        """
        entries:
          - name: release
            keys: [{file: keys/public-key.gpg}]
        """,
        {"release": {SKOPEO_FPR}},
    ),
    Valid(
        "inline-armored-data",
        f"""
        entries:
          - name: release
            keys:
              - data: |
{armored("public-key.gpg", 18)}
        """,
        {"release": {SKOPEO_FPR}},
    ),
    Valid(
        "several-keys-per-entry",
        """
        entries:
          - name: release
            keys:
              - file: keys/public-key.gpg
              - file: keys/public-key-2.gpg
        """,
        {"release": {SKOPEO_FPR, SECOND_FPR}},
    ),
    Valid(
        "several-entries",
        """
        entries:
          - name: release
            keys: [{file: keys/public-key.gpg}]
          - name: ci
            keys: [{file: keys/public-key-with-subkey.gpg}]
        """,
        {"release": {SKOPEO_FPR}, "ci": {SUBKEY_PRIMARY_FPR}},
    ),
    Valid(
        "keyring-without-pin-trusts-every-key",
        """
        entries:
          - name: all
            keys: [{file: keys/pubring.gpg}]
        """,
        {"all": ALL_FOUR},
    ),
    Valid(
        "pin-16-digits-with-0x-narrows-keyring",
        """
        entries:
          - name: release
            keys: [{file: keys/pubring.gpg, publicKeyID: "0xE932F44B23E8DD43"}]
        """,
        {"release": {SKOPEO_FPR}},
    ),
    Valid(
        "pin-16-digits-without-0x-lowercase",
        """
        entries:
          - name: release
            keys: [{file: keys/pubring.gpg, publicKeyID: "e932f44b23e8dd43"}]
        """,
        {"release": {SKOPEO_FPR}},
    ),
    Valid(
        "pin-40-digits",
        f"""
        entries:
          - name: release
            keys: [{{file: keys/pubring.gpg, publicKeyID: "{SECOND_FPR}"}}]
        """,
        {"release": {SECOND_FPR}},
    ),
    Valid(
        "pin-of-signing-subkey-selects-its-certificate",
        """
        entries:
          - name: ci
            keys: [{file: keys/pubring.gpg, publicKeyID: "0xD75B3109B3BAAEAF"}]
        """,
        {"ci": {SUBKEY_PRIMARY_FPR}},
    ),
    Valid(
        "pins-split-one-keyring-between-entries",
        """
        entries:
          - name: release
            keys: [{file: keys/pubring.gpg, publicKeyID: "E932F44B23E8DD43"}]
          - name: ci
            keys: [{file: keys/pubring.gpg, publicKeyID: "8D54A947EE396F36"}]
        """,
        {"release": {SKOPEO_FPR}, "ci": {SUBKEY_PRIMARY_FPR}},
    ),
    Valid(
        "same-key-twice-in-one-entry-merges",
        """
        entries:
          - name: release
            keys:
              - file: keys/public-key.gpg
              - file: keys/public-key-1.gpg
        """,
        {"release": {SKOPEO_FPR}},
    ),
]


@pytest.mark.parametrize("case", VALID, ids=[case.name for case in VALID])
def test_valid_store(tmp_path: Path, case: Valid) -> None:
    store = load_trust_store(write_trust(tmp_path, case.body))
    assert {entry.name: set(entry.fingerprints) for entry in store.entries} == case.trusted
    assert store.fingerprints == set().union(*case.trusted.values())


def test_identities_are_kept_and_anchors_may_share_them(tmp_path: Path) -> None:
    path = write_trust(
        tmp_path,
        """
        entries:
          - name: release
            issuer: &corp {organization: Example Corp, commonName: Example Release CA}
            subject: {organization: Example Corp, commonName: release pipeline}
            keys: [{file: keys/public-key.gpg}]
          - name: ci
            issuer: *corp
            keys: [{file: keys/public-key-2.gpg}]
        """,
    )
    store = load_trust_store(path)
    corp = Identity("Example Corp", "Example Release CA")
    assert store.entry("release").issuer == corp
    assert store.entry("release").subject == Identity("Example Corp", "release pipeline")
    assert store.entry("ci").issuer == corp
    assert store.entry("ci").subject is None
    assert store.entry_for(SKOPEO_FPR.lower()) == store.entry("release")
    assert store.entry_for(SUBKEY_PRIMARY_FPR) is None
    with pytest.raises(KeyError):
        store.entry("nightly")


def test_file_paths_are_relative_to_the_trust_file_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_trust(tmp_path, "entries: [{name: r, keys: [{file: keys/public-key.gpg}]}]\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load_trust_store(path).fingerprints == {SKOPEO_FPR}


def test_absolute_file_paths_are_used_as_given(tmp_path: Path) -> None:
    key = tmp_path / "abs.gpg"
    write_trust(tmp_path, "entries: []\n")
    key.write_bytes((tmp_path / "keys" / "public-key-2.gpg").read_bytes())
    folder = tmp_path / "conf"
    folder.mkdir()
    path = write_trust(folder, f"entries: [{{name: r, keys: [{{file: '{key}'}}]}}]\n")
    assert load_trust_store(path).fingerprints == {SECOND_FPR}
