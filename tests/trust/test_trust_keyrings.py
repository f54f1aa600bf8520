"""TrustStore.from_keyrings: the ``--keyring FILE`` shorthand."""

from __future__ import annotations

import pytest

from sigpolicy.errors import InputError
from sigpolicy.trust import TrustEntry, TrustStore
from tests.trust.helpers import (
    NOW,
    REVOKED_SUBKEY_PRIMARY_FPR,
    SECOND_FPR,
    SKOPEO_FPR,
    SKOPEO_UID,
    SUBKEY_PRIMARY_FPR,
    corpus_bytes,
)


def test_one_unnamed_entry_per_file() -> None:
    store = TrustStore.from_keyrings(
        [("a.gpg", corpus_bytes("public-key.gpg")), ("b.gpg", corpus_bytes("public-key-2.gpg"))]
    )
    assert store.entries == (
        TrustEntry("keyring:a.gpg", None, None, (SKOPEO_FPR,)),
        TrustEntry("keyring:b.gpg", None, None, (SECOND_FPR,)),
    )


def test_a_key_in_several_files_belongs_to_the_first() -> None:
    store = TrustStore.from_keyrings(
        [("pubring.gpg", corpus_bytes("pubring.gpg")), ("one.gpg", corpus_bytes("public-key.gpg"))]
    )
    assert store.entry_for(SKOPEO_FPR) == store.entry("keyring:pubring.gpg")
    assert store.entry("keyring:one.gpg").fingerprints == ()
    assert store.fingerprints == {
        SKOPEO_FPR,
        SECOND_FPR,
        SUBKEY_PRIMARY_FPR,
        REVOKED_SUBKEY_PRIMARY_FPR,
    }


def test_a_repeated_name_gets_a_number() -> None:
    data = corpus_bytes("public-key.gpg")
    store = TrustStore.from_keyrings([("k.gpg", data), ("k.gpg", data), ("k.gpg", data)])
    assert [entry.name for entry in store.entries] == [
        "keyring:k.gpg",
        "keyring:k.gpg#2",
        "keyring:k.gpg#3",
    ]


def test_signer_of_an_unnamed_entry_has_the_user_id_as_subject() -> None:
    store = TrustStore.from_keyrings([("public-key.gpg", corpus_bytes("public-key.gpg"))])
    message = store.verifier().verify_message(corpus_bytes("image.signature"), now=NOW)
    signer = store.signer_entry(message)
    assert signer.entry == "keyring:public-key.gpg"
    assert signer.issuer.organization is None
    assert signer.issuer.common_name is None
    assert signer.subject.common_name == SKOPEO_UID


@pytest.mark.parametrize(
    ("files", "error"),
    [
        ([], "no keyring given"),
        (
            [("ok.gpg", corpus_bytes("public-key.gpg")), ("notes.txt", b"hello")],
            "notes.txt: not a usable OpenPGP keyring:"
            " neither a binary nor an ASCII-armored OpenPGP key file",
        ),
    ],
    ids=["no-files", "not-a-keyring"],
)
def test_bad_keyrings_are_input_errors(files: list[tuple[str, bytes]], error: str) -> None:
    with pytest.raises(InputError) as raised:
        TrustStore.from_keyrings(files)
    assert str(raised.value) == error
