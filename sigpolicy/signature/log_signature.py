"""How a transparency log's key verifies what the log signs (SETs, checkpoints).

The key type decides the scheme, as ``keyDetails`` in a trusted root names it
(:mod:`sigpolicy.signature.trusted_root` accepts only these): ECDSA with its curve's hash
(P-256/SHA-256, P-384/SHA-384, P-521/SHA-512), Ed25519 over the data itself, RSA PKCS #1
v1.5 with SHA-256. Any failure of the primitive, whatever it raises, is "does not verify"
(STYLE.md 5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

_CURVE_HASH: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}


def log_key_verifies(public_key: PublicKeyTypes, signature: bytes, data: bytes) -> bool:
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            algorithm = _CURVE_HASH.get(public_key.curve.name)
            if algorithm is None:
                return False
            public_key.verify(signature, data, ec.ECDSA(algorithm()))
        elif isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, data)
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except Exception:
        return False
    return True
