"""signer_entry: the trust entry behind a verified signature, and what to record about it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.backends import BACKENDS, Backend
from sigpolicy.signature.message import AuthenticatedMessage
from sigpolicy.trust import Identity, TrustedSigner, TrustStore
from sigpolicy.trust.load import load_trust_store
from tests.trust.helpers import (
    NOW,
    SKOPEO_FPR,
    SKOPEO_KEY_ID,
    SUBKEY_FPR,
    SUBKEY_PRIMARY_FPR,
    corpus_bytes,
    write_trust,
)

TRUST = """
entries:
  - name: release
    issuer: {organization: Example Corp, commonName: Example Release CA}
    subject: {organization: Example Corp, commonName: release pipeline}
    keys: [{file: keys/public-key.gpg}]
  - name: ci
    issuer: {commonName: CI}
    keys: [{file: keys/public-key-with-subkey.gpg}]
"""


@pytest.fixture
def store(tmp_path: Path) -> TrustStore:
    return load_trust_store(write_trust(tmp_path, TRUST))


@dataclass(frozen=True)
class SignerCase:
    name: str
    signature: str
    expected: TrustedSigner


SIGNERS = [
    SignerCase(
        "subject-from-the-entry",
        "image.signature",
        TrustedSigner(
            entry="release",
            issuer=Identity("Example Corp", "Example Release CA"),
            subject=Identity("Example Corp", "release pipeline"),
            fingerprint=SKOPEO_FPR,
            signing_key=SKOPEO_FPR,
            public_key_id=SKOPEO_KEY_ID,
        ),
    ),
    SignerCase(
        "subject-falls-back-to-the-user-id-and-subkey-is-the-key-id",
        "subkey.signature",
        TrustedSigner(
            entry="ci",
            issuer=Identity(None, "CI"),
            subject=Identity(None, "c/image test key with subkey"),
            fingerprint=SUBKEY_PRIMARY_FPR,
            signing_key=SUBKEY_FPR,
            public_key_id="0x" + SUBKEY_FPR[-16:].lower(),
        ),
    ),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", SIGNERS, ids=[case.name for case in SIGNERS])
def test_signer_entry(store: TrustStore, case: SignerCase, backend: Backend) -> None:
    message = store.verifier(backend).verify_message(corpus_bytes(case.signature), now=NOW)
    try:
        assert store.signer_entry(message) == case.expected
    finally:
        store.close()


def test_no_subject_and_no_user_id_gives_an_empty_subject(store: TrustStore) -> None:
    message = store.verifier().verify_message(corpus_bytes("subkey.signature"), now=NOW)
    anonymous = AuthenticatedMessage(
        message.payload, message.signer, message.signing_key, message.key_id, message.created
    )
    signer = store.signer_entry(anonymous)
    assert signer.subject == Identity()


def test_unknown_signer_is_unknown_key(store: TrustStore) -> None:
    other = TrustStore.from_keyrings([("pubring.gpg", corpus_bytes("pubring.gpg"))])
    message = other.verifier().verify_message(corpus_bytes("image.signature"), now=NOW)
    stranger = AuthenticatedMessage(
        message.payload, "F" * 40, message.signing_key, message.key_id, message.created
    )
    with pytest.raises(VerificationError) as raised:
        store.signer_entry(stranger)
    assert raised.value.reason is Reason.UNKNOWN_KEY
    assert raised.value.message == f"signer {'F' * 40} is not in the trust store"


def test_the_verifier_trusts_exactly_the_store(store: TrustStore) -> None:
    assert store.verifier().fingerprints == {SKOPEO_FPR, SUBKEY_PRIMARY_FPR}
    assert store.verifier() is store.verifier()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_pin_narrows_the_verifier_of_every_backend(tmp_path: Path, backend: Backend) -> None:
    path = write_trust(
        tmp_path,
        'entries: [{name: r, keys: [{file: keys/pubring.gpg, publicKeyID: "E932F44B23E8DD43"}]}]',
    )
    store = load_trust_store(path)
    try:
        verifier = store.verifier(backend)
        assert verifier.fingerprints == {SKOPEO_FPR}
        with pytest.raises(VerificationError) as raised:
            verifier.verify_message(corpus_bytes("subkey.signature"), now=NOW)
        assert raised.value.reason is Reason.UNKNOWN_KEY
    finally:
        store.close()


SIGNED_BY_SUBKEY = TrustedSigner(
    entry="ci",
    issuer=Identity(),
    subject=Identity(),
    fingerprint=SUBKEY_PRIMARY_FPR,
    signing_key=SUBKEY_FPR,
    public_key_id="0x" + SUBKEY_FPR[-16:].lower(),
)
DECLARED = [
    ("signing-key-id", "0x" + SUBKEY_FPR[-16:], True),
    ("signing-key-id-lowercase-no-prefix", SUBKEY_FPR[-16:].lower(), True),
    ("signing-key-fingerprint", SUBKEY_FPR, True),
    ("primary-key-id", SUBKEY_PRIMARY_FPR[-16:], True),
    ("another-key", SKOPEO_FPR[-16:], False),
    ("too-short-to-count", SUBKEY_FPR[-8:], False),
    ("not-hex", "0x" + "Z" * 16, False),
]


@pytest.mark.parametrize(
    ("declared", "agrees"), [c[1:] for c in DECLARED], ids=[c[0] for c in DECLARED]
)
def test_declared_public_key_id(declared: str, agrees: bool) -> None:
    assert SIGNED_BY_SUBKEY.matches_public_key_id(declared) is agrees


CORP = Identity("Example Corp", "release pipeline")
CLAIMS = [
    ("nothing-declared", None, None, True),
    ("both-equal", "Example Corp", "release pipeline", True),
    ("organization-only", "Example Corp", None, True),
    ("common-name-differs", "Example Corp", "someone else", False),
    ("case-matters", "example corp", None, False),
]


@pytest.mark.parametrize(
    ("organization", "common_name", "agrees"),
    [c[1:] for c in CLAIMS],
    ids=[c[0] for c in CLAIMS],
)
def test_declared_identity(organization: str | None, common_name: str | None, agrees: bool) -> None:
    assert CORP.agrees_with(organization, common_name) is agrees
    assert Identity().agrees_with(organization, common_name) is (
        organization is None and common_name is None
    )
