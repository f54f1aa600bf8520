"""Key material split into certificates, re-framed, and narrowed by pins."""

from __future__ import annotations

import pytest

from sigpolicy.signature.openpgp.keyring import Keyring
from sigpolicy.trust.material import (
    MaterialError,
    TrustedCertificate,
    select_pinned,
    split_certificates,
)
from tests.trust.helpers import (
    REVOKED_SUBKEY_PRIMARY_FPR,
    SECOND_FPR,
    SKOPEO_FPR,
    SUBKEY_FPR,
    SUBKEY_PRIMARY_FPR,
    corpus_bytes,
)

MARKER_PACKET = bytes((0xCA, 3)) + b"PGP"


def test_keyring_splits_into_its_certificates_in_order() -> None:
    found = split_certificates(corpus_bytes("pubring.gpg"))
    assert {cert.fingerprint for cert in found} == {
        SKOPEO_FPR,
        SECOND_FPR,
        SUBKEY_PRIMARY_FPR,
        REVOKED_SUBKEY_PRIMARY_FPR,
    }
    by_fpr = {cert.fingerprint: cert for cert in found}
    assert by_fpr[SUBKEY_PRIMARY_FPR].key_fingerprints == (SUBKEY_PRIMARY_FPR, SUBKEY_FPR)


@pytest.mark.parametrize("name", ["public-key.gpg", "public-key-1.gpg", "pubring.gpg"])
def test_reframed_certificates_load_as_the_same_keys(name: str) -> None:
    for cert in split_certificates(corpus_bytes(name)):
        assert Keyring.from_files([("framed", cert.data)]).fingerprints == {cert.fingerprint}


def test_armored_and_binary_copies_give_the_same_certificate() -> None:
    (armored,) = split_certificates(corpus_bytes("public-key.gpg"))
    (binary,) = split_certificates(corpus_bytes("public-key-1.gpg"))
    assert armored == binary


def test_copies_of_one_certificate_are_kept_together() -> None:
    (once,) = split_certificates(corpus_bytes("public-key-1.gpg"))
    (twice,) = split_certificates(corpus_bytes("public-key-1.gpg") * 2)
    assert twice.fingerprint == once.fingerprint
    assert twice.data == once.data * 2


REFUSED = [
    ("marker-packet-only", MARKER_PACKET, "holds no public key"),
    ("text", b"hello", "not a usable OpenPGP keyring: neither a binary nor an ASCII-armored"),
    ("truncated", corpus_bytes("public-key-1.gpg")[:40], "not a usable OpenPGP keyring: "),
]


@pytest.mark.parametrize(("data", "error"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_unusable_material(data: bytes, error: str) -> None:
    with pytest.raises(MaterialError) as raised:
        split_certificates(data)
    assert str(raised.value).startswith(error)


def _fake(fingerprint: str) -> TrustedCertificate:
    return TrustedCertificate(fingerprint, (fingerprint,), b"")


def test_a_pin_matching_several_certificates_is_ambiguous() -> None:
    # Two fingerprints sharing their low 64 bits: only crafted keys do this.
    first, second = _fake("A" * 24 + "1" * 16), _fake("B" * 24 + "1" * 16)
    with pytest.raises(MaterialError) as raised:
        select_pinned((first, second), "1" * 16)
    assert str(raised.value) == (
        f"0x{'1' * 16} matches several keys ({first.fingerprint}, {second.fingerprint})"
    )
    assert select_pinned((first, second), "A" + "1" * 16) == (first,)
    assert select_pinned((first, second), None) == (first, second)
