"""Cosign public key files: what loads, the fingerprints, and one-line errors for the rest."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, rsa, x25519
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from sigpolicy.errors import InputError
from sigpolicy.signature.cosign import MAX_KEY_FILE, MAX_KEYS, CosignKeySet
from tests.conformance.corpus import CORPUS
from tests.cosign.kit import fingerprint, new_key, public_pem

# SHA-256 of the DER SubjectPublicKeyInfo, as `openssl pkey -pubin -outform DER | sha256sum`.
COSIGN_PUB = "SHA256:c87a79018f346cc02482448b77296b0bea143ef2ccab99b04776fb0f638f301f"
COSIGN2_PUB = "SHA256:5e7eb6c1e2e6db06470ae59ee8253b3dc4ce33beefb9a0cca06a371cfc0ebdfa"
# AlgorithmIdentifier { id-ecPublicKey, prime256v1 }, DER.
P256_ALGORITHM = bytes.fromhex("301306072a8648ce3d020106082a8648ce3d030107")


def load(*files: tuple[str, bytes]) -> CosignKeySet:
    return CosignKeySet.from_files(list(files))


@pytest.mark.parametrize(
    ("kind", "algorithm"),
    [
        ("p256", "ecdsa-p256"),
        ("p384", "ecdsa-p384"),
        ("p521", "ecdsa-p521"),
        ("rsa2048", "rsa-2048"),
        ("ed25519", "ed25519"),
    ],
)
def test_supported_key_types(kind: str, algorithm: str) -> None:
    key = new_key(kind)
    keys = load(("k.pub", public_pem(key)))
    assert [(k.algorithm, k.fingerprint, k.source) for k in keys.keys] == [
        (algorithm, fingerprint(key), "k.pub")
    ]


def test_corpus_keys_and_their_fingerprints() -> None:
    keys = load(
        ("cosign.pub", (CORPUS / "cosign.pub").read_bytes()),
        ("cosign2.pub", (CORPUS / "cosign2.pub").read_bytes()),
    )
    assert [(k.algorithm, k.fingerprint) for k in keys.keys] == [
        ("ecdsa-p256", COSIGN_PUB),
        ("ecdsa-p256", COSIGN2_PUB),
    ]
    assert keys.fingerprints == {COSIGN_PUB, COSIGN2_PUB}


def test_several_keys_per_file_in_order_and_duplicates_count_once() -> None:
    first, second = new_key("p256"), new_key("ed25519")
    bundle = public_pem(first) + b"\n" + public_pem(second)
    keys = load(("a.pub", bundle), ("b.pub", public_pem(first)))
    assert [k.fingerprint for k in keys.keys] == [fingerprint(first), fingerprint(second)]
    assert len(keys) == 2


def test_fingerprint_does_not_depend_on_the_encoding() -> None:
    key = new_key("p256")
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    # The same key in an SPKI with its compressed point: another DER, the same fingerprint.
    bit_string = b"\x03" + bytes([len(point) + 1, 0]) + point
    body = P256_ALGORITHM + bit_string
    spki = b"\x30" + bytes([len(body)]) + body
    assert load(("c.pub", _pem("PUBLIC KEY", spki))).keys[0].fingerprint == fingerprint(key)


def test_blank_lines_and_crlf_are_fine() -> None:
    key = new_key("p256")
    text = b"\r\n\r\n" + public_pem(key).replace(b"\n", b"\r\n") + b"\r\n\r\n"
    assert load(("crlf.pub", text)).keys[0].fingerprint == fingerprint(key)


def _pem(label: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).decode().strip()
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n".encode()


P256 = new_key("p256")
GOOD_PEM = public_pem(P256)

BAD_FILES: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "no PEM public key found"),
    "blank": (b"\n\n", "no PEM public key found"),
    "not-pem": (b"hello\n", "text outside the PEM blocks"),
    "not-ascii": (b"\xff" + GOOD_PEM, "not ASCII text"),
    "comment-before": (b"my key:\n" + GOOD_PEM, "text outside the PEM blocks"),
    "text-after": (GOOD_PEM + b"trailing\n", "text outside the PEM blocks"),
    "not-closed": (GOOD_PEM.rsplit(b"-----END", 1)[0], "is not closed"),
    "end-label-differs": (
        GOOD_PEM.replace(b"END PUBLIC KEY", b"END PRIVATE KEY"),
        "is not closed by END PUBLIC KEY",
    ),
    "pem-headers": (
        GOOD_PEM.replace(b"-----\n", b"-----\nProc-Type: 4,ENCRYPTED\n\n", 1),
        "PEM headers are not allowed",
    ),
    "body-not-base64": (GOOD_PEM.replace(b"\n", b"\n*", 1), "not valid base64"),
    "body-truncated": (
        _pem("PUBLIC KEY", b"\x30\x59\x30\x13"),
        "not a valid SubjectPublicKeyInfo",
    ),
    "private-key": (
        P256.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()),
        "a private key cannot be a trusted key",
    ),
    "ec-private-key": (
        P256.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption()),
        "a private key cannot be a trusted key",
    ),
    "certificate": ((CORPUS / "fulcio_v1.crt.pem").read_bytes(), "certificates are not supported"),
    "pkcs1-rsa": (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.PKCS1),
        "PKCS #1 RSA keys are not supported",
    ),
    "pgp-key": ((CORPUS / "public-key.gpg").read_bytes(), "an OpenPGP key, not a PEM public key"),
    "rsa-1024": (
        public_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),  # noqa: S505
        "RSA keys of 1024 bits are refused",
    ),
    "ecdsa-p224": (
        public_pem(ec.generate_private_key(ec.SECP224R1())),
        "ECDSA on secp224r1 is not supported",
    ),
    "ecdsa-secp256k1": (
        public_pem(ec.generate_private_key(ec.SECP256K1())),
        "ECDSA on secp256k1 is not supported",
    ),
    "dsa": (
        dsa.generate_private_key(key_size=2048)
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
        "keys are not supported (ECDSA, RSA or Ed25519 only)",
    ),
    "ed448": (
        ed448.Ed448PrivateKey.generate()
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
        "keys are not supported (ECDSA, RSA or Ed25519 only)",
    ),
    "x25519": (
        x25519.X25519PrivateKey.generate()
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
        "keys are not supported (ECDSA, RSA or Ed25519 only)",
    ),
    "good-then-bad": (GOOD_PEM + b"garbage\n", "text outside the PEM blocks"),
    "over-the-size-limit": (GOOD_PEM + b"\n" * MAX_KEY_FILE, "key file limit"),
}


@pytest.mark.parametrize(("data", "expected"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_key_files_are_one_line_input_errors_naming_the_file(
    data: bytes, expected: str
) -> None:
    with pytest.raises(InputError) as caught:
        load(("good.pub", GOOD_PEM), ("keys/bad.pub", data))
    message = str(caught.value)
    assert message.startswith("keys/bad.pub: ")
    assert expected in message
    assert "\n" not in message


def test_an_empty_set_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no cosign public keys"):
        CosignKeySet.from_files([])


def test_the_number_of_keys_is_bounded() -> None:
    keys = [(f"{n}.pub", public_pem(new_key("ed25519"))) for n in range(MAX_KEYS + 1)]
    assert len(CosignKeySet.from_files(keys[:MAX_KEYS])) == MAX_KEYS
    with pytest.raises(InputError, match="more than the 64 allowed"):
        CosignKeySet.from_files(keys)
