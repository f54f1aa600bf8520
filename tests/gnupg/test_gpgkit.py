"""The key factory itself: what it generates and the shapes its helpers write."""

from __future__ import annotations

import json

import pytest

from sigpolicy.reasons import Reason
from tests.gnupg.cases import DIGEST, PAYLOAD, REFERENCE, Keys
from tests.gnupg.helpers import with_gnupg
from tests.support import gpgkit


def test_generated_keys(keys: Keys) -> None:
    for key in (keys.rsa4096, keys.ed25519, keys.p256, keys.past, keys.expired):
        assert len(key.fingerprint) == 40
        assert key.fingerprint == key.fingerprint.upper()
        assert key.signing_fingerprint == key.fingerprint
        assert key.public_key[0] & 0xBC == 0x98  # a legacy-format public key packet (tag 6)
        assert key.public_key_armored.startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert keys.subkey.signs_with_subkey
    assert keys.subkey.key_id == "0x" + keys.subkey.signing_fingerprint[-16:].lower()


def test_revocations_only_change_the_export(keys: Keys) -> None:
    assert (
        keys.revoked.public_key
        != gpgkit.export_public(keys.revoked.home, keys.revoked.fingerprint)[0]
    )
    assert keys.revoked_subkey.signs_with_subkey


@pytest.mark.parametrize(
    ("compress", "algo", "first_octets"),
    [
        (True, None, b"\xa3\x01"),
        (False, None, b"\x90\x0d"),
        (True, "zlib", b"\xa3\x02"),
        (True, "bzip2", b"\xa3\x03"),
    ],
    ids=["default-zip", "uncompressed", "zlib", "bzip2"],
)
def test_sign_shapes(
    keys: Keys, compress: bool, algo: gpgkit.CompressAlgo | None, first_octets: bytes
) -> None:
    blob = gpgkit.sign(PAYLOAD, keys.ed25519, compress=compress, compress_algo=algo)
    assert blob[:2] == first_octets


def test_other_shapes(keys: Keys) -> None:
    assert gpgkit.store(PAYLOAD, keys.ed25519.home)[:1] == b"\xcb"
    assert gpgkit.store(PAYLOAD, keys.ed25519.home, compress=True)[:2] == b"\xa3\x01"
    assert gpgkit.clearsign(PAYLOAD, keys.ed25519).startswith(b"-----BEGIN PGP SIGNED MESSAGE")
    assert gpgkit.detach_sign(PAYLOAD, keys.ed25519)[:1] == b"\x88"
    assert gpgkit.encrypt_symmetric(PAYLOAD, keys.ed25519.home)[:1] == b"\x8c"


def test_atomic_payload() -> None:
    document = json.loads(PAYLOAD)
    assert document["critical"] == {
        "identity": {"docker-reference": REFERENCE},
        "image": {"docker-manifest-digest": DIGEST},
        "type": "atomic container signature",
    }
    assert document["optional"] == {"creator": "sigpolicy tests", "timestamp": 1_700_000_000}
    bare = json.loads(gpgkit.atomic_payload(DIGEST, REFERENCE, creator=None, timestamp=None))
    assert bare["optional"] == {}


def test_edited_document_is_signed_as_given(keys: Keys) -> None:
    document = gpgkit.atomic_document(DIGEST, REFERENCE)
    document["critical"]["unexpected"] = True
    payload = json.dumps(document).encode()
    result = with_gnupg([keys.ed25519.public_key], gpgkit.sign(payload, keys.ed25519))
    assert not isinstance(result, Reason)
    assert result.payload == payload
