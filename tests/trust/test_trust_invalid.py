"""Invalid trust files: each is refused with one exact, located, one-line PolicyError."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

from sigpolicy.errors import PolicyError
from sigpolicy.trust.load import aload_trust_store, load_trust_store
from tests.trust.helpers import SECOND_FPR, SKOPEO_FPR, one_entry, write_trust


@dataclass(frozen=True)
class Invalid:
    name: str
    body: str
    error: str  # after "<trust file>: "; {dir} is the trust file's folder
    header: bool = True


INVALID = [
    Invalid(
        "unknown-top-level-field",
        "color: red\nentries: [{name: r, keys: [{file: keys/public-key.gpg}]}]\n",
        "color: unknown field",
    ),
    Invalid(
        "unknown-key-field",
        "entries: [{name: r, keys: [{file: keys/public-key.gpg, fingerprint: x}]}]\n",
        "entries[0].keys[0].fingerprint: unknown field",
    ),
    Invalid(
        "unknown-identity-field",
        "entries: [{name: r, issuer: {org: x}, keys: [{file: keys/public-key.gpg}]}]\n",
        "entries[0].issuer.org: unknown field",
    ),
    Invalid(
        "two-sources-in-one-key",
        "entries: [{name: r, keys: [{file: keys/public-key.gpg, data: x}]}]\n",
        "entries[0].keys[0]: give only one of file, data, secretKeyRef, configMapKeyRef"
        " (got file and data)",
    ),
    Invalid(
        "no-source",
        'entries: [{name: r, keys: [{publicKeyID: "E932F44B23E8DD43"}]}]\n',
        "entries[0].keys[0]: one of file, data, secretKeyRef, configMapKeyRef is required",
    ),
    Invalid(
        "pin-of-12-digits",
        """
        entries:
          - {name: a, keys: [{file: keys/public-key-2.gpg}]}
          - {name: b, keys: [{file: keys/public-key.gpg, publicKeyID: "0xF44B23E8DD43"}]}
        """,
        "entries[1].keys[0].publicKeyID: 12 hex digits is too weak (16 to 40 required)",
    ),
    Invalid(
        "pin-of-41-digits",
        'entries: [{name: r, keys: [{file: keys/public-key.gpg, publicKeyID: "0'
        + SKOPEO_FPR
        + '"}]}]\n',
        "entries[0].keys[0].publicKeyID: 41 hex digits is too long (16 to 40 required)",
    ),
    Invalid(
        "non-hex-pin",
        one_entry('{file: keys/public-key.gpg, publicKeyID: "E932F44B23E8DD4G"}'),
        "entries[0].keys[0].publicKeyID: 'E932F44B23E8DD4G' is not hexadecimal",
    ),
    Invalid(
        "unquoted-hex-pin-read-as-a-number",
        one_entry("{file: keys/public-key.gpg, publicKeyID: 0xE932F44B23E8DD43}"),
        "entries[0].keys[0].publicKeyID: expected a quoted string"
        " (YAML reads unquoted hex as a number)",
    ),
    Invalid(
        "pin-matching-no-key",
        one_entry('{file: keys/public-key.gpg, publicKeyID: "9F78B0B340221A12A3CD242DA6028093"}'),
        "entries[0].keys[0].publicKeyID: 0x9F78B0B340221A12A3CD242DA6028093 matches no key"
        f" in the material (holds {SKOPEO_FPR})",
    ),
    Invalid(
        "same-key-in-two-entries",
        """
        entries:
          - {name: release, keys: [{file: keys/public-key.gpg}]}
          - {name: ci, keys: [{file: keys/public-key-2.gpg}, {file: keys/public-key-1.gpg}]}
        """,
        f'entries[1].keys[1]: key {SKOPEO_FPR} is already in entry "release"'
        " (entries[0].keys[0]); a key belongs to one entry only",
    ),
    Invalid(
        "same-key-in-two-entries-through-a-keyring",
        """
        entries:
          - {name: everyone, keys: [{file: keys/pubring.gpg}]}
          - {name: other, keys: [{file: keys/public-key-2.gpg}]}
        """,
        f'entries[1].keys[0]: key {SECOND_FPR} is already in entry "everyone"'
        " (entries[0].keys[0]); a key belongs to one entry only",
    ),
    Invalid(
        "duplicate-entry-names",
        """
        entries:
          - {name: release, keys: [{file: keys/public-key.gpg}]}
          - {name: ci, keys: [{file: keys/public-key-2.gpg}]}
          - {name: release, keys: [{file: keys/public-key-with-subkey.gpg}]}
        """,
        'entries[2].name: duplicate entry name "release" (also entries[0])',
    ),
    Invalid(
        "duplicate-yaml-keys",
        """
        entries:
          - name: release
            keys: [{file: keys/public-key.gpg}]
            name: ci
        """,
        "line 7, column 5: duplicate key 'name'",
    ),
    Invalid(
        "duplicate-yaml-keys-at-top-level",
        "apiVersion: sigpolicy.io/v1alpha1\nkind: TrustStore\nentries: []\nkind: X\n",
        "line 4, column 1: duplicate key 'kind'",
        header=False,
    ),
    Invalid(
        "missing-key-file",
        "entries: [{name: r, keys: [{file: keys/missing.asc}]}]\n",
        "entries[0].keys[0].file: {dir}/keys/missing.asc: no such file",
    ),
    Invalid(
        "key-file-is-a-folder",
        "entries: [{name: r, keys: [{file: keys/a-folder}]}]\n",
        "entries[0].keys[0].file: {dir}/keys/a-folder: is a directory",
    ),
    Invalid(
        "key-file-not-a-keyring",
        "entries: [{name: r, keys: [{file: keys/not-a-key.txt}]}]\n",
        "entries[0].keys[0].file: {dir}/keys/not-a-key.txt: not a usable OpenPGP keyring:"
        " neither a binary nor an ASCII-armored OpenPGP key file",
    ),
    Invalid(
        "inline-data-not-a-keyring",
        "entries: [{name: r, keys: [{file: keys/public-key.gpg}, {data: hello}]}]\n",
        "entries[0].keys[1].data: not a usable OpenPGP keyring:"
        " neither a binary nor an ASCII-armored OpenPGP key file",
    ),
    Invalid(
        "secret-key-ref-without-cluster-source",
        """
        entries:
          - name: release
            keys:
              - file: keys/public-key.gpg
              - data: irrelevant
              - secretKeyRef: {namespace: sigpolicy, name: trusted-keys, key: release.asc}
        """,
        "entries[0].keys[2]: secretKeyRef needs a cluster source (--kubeconfig or --in-cluster)",
    ),
    Invalid(
        "config-map-key-ref-without-cluster-source",
        """
        entries:
          - name: ci
            keys: [{configMapKeyRef: {namespace: sigpolicy, name: trusted-keys, key: ci.asc}}]
        """,
        "entries[0].keys[0]: configMapKeyRef needs a cluster source (--kubeconfig or --in-cluster)",
    ),
    Invalid(
        "bad-namespace-in-reference",
        """
        entries:
          - name: ci
            keys: [{secretKeyRef: {namespace: Sig_Policy, name: keys, key: ci.asc}}]
        """,
        "entries[0].keys[0].secretKeyRef.namespace: 'Sig_Policy' is not a namespace name"
        " (a DNS label)",
    ),
    Invalid(
        "entry-name-not-a-dns-label",
        "entries: [{name: Release, keys: [{file: keys/public-key.gpg}]}]\n",
        "entries[0].name: 'Release' is not a DNS label"
        " (lowercase letters, digits, '-', at most 63)",
    ),
    Invalid(
        "empty-identity",
        "entries: [{name: r, issuer: {}, keys: [{file: keys/public-key.gpg}]}]\n",
        "entries[0].issuer: give organization, commonName or both",
    ),
    Invalid(
        "empty-common-name",
        "entries: [{name: r, subject: {commonName: ''}, keys: [{file: keys/public-key.gpg}]}]\n",
        "entries[0].subject.commonName: must not be an empty string",
    ),
    Invalid(
        "entry-without-keys",
        "entries: [{name: r, keys: []}]\n",
        "entries[0].keys: must not be empty",
    ),
    Invalid("no-entries", "entries: []\n", "entries: must not be empty"),
    Invalid(
        "entries-missing",
        "apiVersion: sigpolicy.io/v1alpha1\nkind: TrustStore\n",
        "entries: required field is missing",
        header=False,
    ),
    Invalid(
        "wrong-kind",
        "apiVersion: sigpolicy.io/v1alpha1\nkind: Policy\nentries: []\n",
        "kind: expected 'TrustStore', got 'Policy' (and 1 more)",
        header=False,
    ),
    Invalid(
        "wrong-api-version",
        "apiVersion: v1\nkind: TrustStore\nentries: [{name: r, keys: [{file: k}]}]\n",
        "apiVersion: expected 'sigpolicy.io/v1alpha1', got 'v1'",
        header=False,
    ),
    Invalid(
        "key-item-not-a-mapping",
        "entries: [{name: r, keys: [keys/public-key.gpg]}]\n",
        "entries[0].keys[0]: expected a mapping, got str",
    ),
    Invalid(
        "name-not-a-string",
        "entries: [{name: 7, keys: [{file: keys/public-key.gpg}]}]\n",
        "entries[0].name: expected a string, got 7",
    ),
    Invalid("top-level-list", "- a\n- b\n", "expected a mapping, got list", header=False),
    Invalid("empty-file", "", "the file is empty", header=False),
    Invalid(
        "not-yaml",
        "entries: [{name: r\n",
        "line 4, column 1: did not find expected ',' or '}'",  # libyaml's words
    ),
]


@pytest.mark.parametrize("case", INVALID, ids=[case.name for case in INVALID])
def test_invalid_store(tmp_path: Path, case: Invalid) -> None:
    path = write_trust(tmp_path, case.body, header=case.header)
    with pytest.raises(PolicyError) as raised:
        load_trust_store(path)
    assert str(raised.value) == f"{path}: " + case.error.replace("{dir}", str(tmp_path))
    assert "\n" not in str(raised.value)


def test_missing_trust_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as raised:
        load_trust_store(tmp_path / "absent.yaml")
    assert str(raised.value) == f"{tmp_path / 'absent.yaml'}: no such file"


def test_async_loader_without_a_cluster_source_says_what_is_missing(tmp_path: Path) -> None:
    path = write_trust(
        tmp_path,
        "entries: [{name: r, keys: [{secretKeyRef: {namespace: s, name: k, key: a}}]}]\n",
    )
    with pytest.raises(PolicyError) as raised:
        asyncio.run(aload_trust_store(path, None))
    assert str(raised.value) == (
        f"{path}: entries[0].keys[0]: secretKeyRef needs a cluster source"
        " (--kubeconfig or --in-cluster)"
    )
