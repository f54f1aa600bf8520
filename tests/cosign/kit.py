"""Fresh cosign keys and signatures for the tests, made with ``cryptography`` (no files kept).

A signature here is what ``cosign sign --key`` attaches (one OCI layer: the payload and the
``dev.cosignproject.cosign/signature`` annotation), stored as containers/image stores it in a
``dir:`` layout: ``0x00`` ``sigstore-json`` ``\\n`` JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sigpolicy.signature.cosign import SIMPLE_SIGNING_MIME_TYPE
from sigpolicy.signature.envelope import SIGNATURE_ANNOTATION
from sigpolicy.signature.payload import COSIGN_TYPE

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

MANIFEST = (
    b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}'
)
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
REPOSITORY = "quay.io/ns/app"


def new_key(kind: str) -> PrivateKey:
    """``p256``, ``p384``, ``p521``, ``rsa2048``, ``rsa4096`` or ``ed25519``."""
    curves: dict[str, ec.EllipticCurve] = {
        "p256": ec.SECP256R1(),
        "p384": ec.SECP384R1(),
        "p521": ec.SECP521R1(),
    }
    if kind in curves:
        return ec.generate_private_key(curves[kind])
    if kind.startswith("rsa"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
    assert kind == "ed25519"
    return ed25519.Ed25519PrivateKey.generate()


def public_pem(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: PrivateKey) -> str:
    der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + hashlib.sha256(der).hexdigest()


def sign(key: PrivateKey, data: bytes) -> bytes:
    """As cosign signs: ECDSA and RSA PKCS #1 v1.5 over SHA-256, Ed25519 over the data."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data)


def payload(
    digest: str = DIGEST,
    reference: str = REPOSITORY,
    *,
    optional: Any = None,
    type_: str = COSIGN_TYPE,
) -> bytes:
    """A cosign payload; ``optional=None`` writes ``null`` as the cosign CLI does."""
    document = {
        "critical": {
            "identity": {"docker-reference": reference},
            "image": {"docker-manifest-digest": digest},
            "type": type_,
        },
        "optional": optional,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def sigstore_file(
    data: bytes,
    signature: bytes | None,
    *,
    mime_type: str = SIMPLE_SIGNING_MIME_TYPE,
    extra_annotations: dict[str, str] | None = None,
) -> bytes:
    """A ``dir:`` signature file holding one cosign attachment."""
    annotations = dict(extra_annotations or {})
    if signature is not None:
        annotations[SIGNATURE_ANNOTATION] = base64.b64encode(signature).decode()
    body = {
        "mimeType": mime_type,
        "payload": base64.b64encode(data).decode(),
        "annotations": annotations,
    }
    return b"\x00sigstore-json\n" + json.dumps(body).encode()


def signed_file(key: PrivateKey, data: bytes | None = None) -> bytes:
    data = payload() if data is None else data
    return sigstore_file(data, sign(key, data))
