"""Public key packets, fingerprints and the mapping onto `cryptography` (OPENPGP.md §5, §6).

A key whose material cannot be used (unknown algorithm, bad point, RSA under 2048 bits, a
version 2/3/6 packet) is kept with ``usable = False`` and a reason, so that a signature by it
is reported as ``unsupported`` rather than as an unknown key.
"""

from __future__ import annotations

from typing import Final

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa, utils

from sigpolicy.signature.openpgp.errors import PacketError
from sigpolicy.signature.openpgp.mpi import read_mpi
from sigpolicy.signature.openpgp.sigpacket import (
    DSA,
    ECDSA,
    ED448,
    ED25519,
    EDDSA_LEGACY,
    RSA,
    RSA_SIGN_ONLY,
)

MIN_RSA_BITS = 2048
_MAX_RSA_EXPONENT_BITS = 256

_CURVES: dict[bytes, tuple[ec.EllipticCurve, int]] = {
    bytes.fromhex("2A8648CE3D030107"): (ec.SECP256R1(), 32),
    bytes.fromhex("2B81040022"): (ec.SECP384R1(), 48),
    bytes.fromhex("2B81040023"): (ec.SECP521R1(), 66),
    bytes.fromhex("2B2403030208010107"): (ec.BrainpoolP256R1(), 32),
    bytes.fromhex("2B240303020801010B"): (ec.BrainpoolP384R1(), 48),
    bytes.fromhex("2B240303020801010D"): (ec.BrainpoolP512R1(), 64),
}
_ED25519_LEGACY_OID = bytes.fromhex("2B06010401DA470F01")

# Hash algorithm IDs (RFC 9580 §9.5) and their digests. MD5 (1) and RIPEMD-160 (3) are
# absent on purpose: refused everywhere. SHA-1 (2) is present for self-signatures only;
# the data-signature policy lives in the verifier.
SHA1 = 2
SHA256 = 8
HASHES: dict[int, hashes.HashAlgorithm] = {
    SHA1: hashes.SHA1(),  # noqa: S303 - self-signatures only, see DATA_HASHES
    SHA256: hashes.SHA256(),
    9: hashes.SHA384(),
    10: hashes.SHA512(),
    11: hashes.SHA224(),
    12: hashes.SHA3_256(),
    14: hashes.SHA3_512(),
}
# The same, by name (for hashlib, as the GnuPG backend uses it). The native verifier hashes
# with `cryptography` instead: hashlib would load a second OpenSSL at start-up.
HASHLIB_NAMES: dict[int, str] = {
    2: "sha1",
    8: "sha256",
    9: "sha384",
    10: "sha512",
    11: "sha224",
    12: "sha3_256",
    14: "sha3_512",
}
DATA_HASHES = frozenset({8, 9, 10, 11, 12, 14})
HASH_NAMES = {
    1: "MD5",
    2: "SHA-1",
    3: "RIPEMD-160",
    **{k: v.name.upper() for k, v in HASHES.items()},
}

PublicKeyObject = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
)


# Copying an empty context is cheaper than making one; filled on first use, per algorithm.
_EMPTY: dict[int, hashes.Hash] = {}


def compute_digest(algorithm: int, *parts: bytes) -> bytes:
    """The digest of ``parts`` with the hash of RFC 9580 ID ``algorithm`` (a key of HASHES)."""
    empty = _EMPTY.get(algorithm)
    if empty is None:
        empty = _EMPTY[algorithm] = hashes.Hash(HASHES[algorithm])
    hasher = empty.copy()
    for part in parts:
        hasher.update(part)
    return hasher.finalize()


# Plain classes, not dataclasses or NamedTuples: generating their code at import would slow
# down the start-up of the one-shot ``sigpolicy verify``. ``Final`` keeps fields read-only.
class KeyPacket:
    """A version 4 public key or subkey packet."""

    __slots__ = (
        "algorithm",
        "body",
        "created",
        "fingerprint",
        "fsize",
        "key",
        "unusable",
        "version",
    )

    def __init__(
        self,
        version: int,
        created: int,
        algorithm: int,
        body: bytes,
        fingerprint: bytes,
        key: PublicKeyObject | None,
        unusable: str | None,
        fsize: int = 0,
    ) -> None:
        self.version: Final = version
        self.created: Final = created
        self.algorithm: Final = algorithm
        self.body: Final = body
        self.fingerprint: Final = fingerprint
        self.key: Final = key
        self.unusable: Final = unusable
        self.fsize: Final = fsize

    @property
    def key_id(self) -> bytes:
        return self.fingerprint[-8:]

    @property
    def fingerprint_hex(self) -> str:
        return self.fingerprint.hex().upper()

    @property
    def hashed_form(self) -> bytes:
        """KEY(k) of RFC 9580 §5.2.4: how a key enters a binding signature's hash."""
        return b"\x99" + len(self.body).to_bytes(2, "big") + self.body


def parse_key_packet(body: bytes) -> KeyPacket:
    """Parse a public key packet body; framing errors raise, unusable material is recorded."""
    if len(body) < 6:
        raise PacketError("truncated key packet")
    version = body[0]
    created = int.from_bytes(body[1:5], "big")
    if version != 4:
        # v2/v3 keys have MD5 fingerprints and forgeable key IDs; v6 is not implemented.
        digest = compute_digest(SHA256, body)[:20]
        return KeyPacket(version, created, body[5], body, digest, None, f"key version {version}")
    if len(body) > 0xFFFF:
        raise PacketError("key packet too long to fingerprint")
    # v4 fingerprints are SHA-1 by definition.
    fingerprint = compute_digest(SHA1, b"\x99", len(body).to_bytes(2, "big"), body)
    algorithm = body[5]
    key: PublicKeyObject | None = None
    unusable: str | None = None
    fsize = 0
    try:
        key, fsize = _load_material(algorithm, body, 6)
    except _UnusableKeyError as exc:
        unusable = str(exc)
    return KeyPacket(4, created, algorithm, body, fingerprint, key, unusable, fsize)


class _UnusableKeyError(Exception):
    pass


def _load_material(algorithm: int, body: bytes, pos: int) -> tuple[PublicKeyObject, int]:
    if algorithm in (RSA, RSA_SIGN_ONLY):
        n, pos = read_mpi(body, pos)
        e, pos = read_mpi(body, pos)
        return _rsa_key(int.from_bytes(n, "big"), int.from_bytes(e, "big")), 0
    if algorithm == ECDSA:
        curve, fsize, point = _curve_point(body, pos)
        if point[:1] != b"\x04" or len(point) != 1 + 2 * fsize:
            raise _UnusableKeyError("EC point is not an uncompressed point of its curve")
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(curve, point), fsize
        except ValueError:
            raise _UnusableKeyError("EC point is not on its curve") from None
    if algorithm == EDDSA_LEGACY:
        oid, pos = _oid(body, pos)
        if oid != _ED25519_LEGACY_OID:
            raise _UnusableKeyError("EdDSA key on an unsupported curve")
        point, _ = read_mpi(body, pos)
        if len(point) != 33 or point[0] != 0x40:
            raise _UnusableKeyError("EdDSA public point is not 0x40 + 32 octets")
        return ed25519.Ed25519PublicKey.from_public_bytes(point[1:]), 32
    if algorithm == ED25519:
        if len(body) < pos + 32:
            raise PacketError("truncated Ed25519 key")
        return ed25519.Ed25519PublicKey.from_public_bytes(body[pos : pos + 32]), 32
    if algorithm == ED448:
        if len(body) < pos + 57:
            raise PacketError("truncated Ed448 key")
        return ed448.Ed448PublicKey.from_public_bytes(body[pos : pos + 57]), 57
    if algorithm == DSA:
        raise _UnusableKeyError("DSA signatures are refused (RFC 9580 §12.5)")
    raise _UnusableKeyError(f"public-key algorithm {algorithm} cannot sign")


def _rsa_key(n: int, e: int) -> rsa.RSAPublicKey:
    if n.bit_length() < MIN_RSA_BITS:
        raise _UnusableKeyError(
            f"RSA key of {n.bit_length()} bits (at least {MIN_RSA_BITS} required)"
        )
    if e < 3 or not e & 1 or e.bit_length() > _MAX_RSA_EXPONENT_BITS:
        raise _UnusableKeyError("RSA public exponent out of range")
    try:
        return rsa.RSAPublicNumbers(e, n).public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise _UnusableKeyError("RSA key rejected by the crypto library") from None


def _oid(body: bytes, pos: int) -> tuple[bytes, int]:
    if pos >= len(body):
        raise PacketError("truncated curve OID")
    size = body[pos]
    if size in (0, 0xFF) or pos + 1 + size > len(body):
        raise PacketError("malformed curve OID")
    return body[pos + 1 : pos + 1 + size], pos + 1 + size


def _curve_point(body: bytes, pos: int) -> tuple[ec.EllipticCurve, int, bytes]:
    oid, pos = _oid(body, pos)
    if oid not in _CURVES:
        raise _UnusableKeyError(f"unsupported curve OID {oid.hex()}")
    curve, fsize = _CURVES[oid]
    point, _ = read_mpi(body, pos)
    return curve, fsize, point


def verify_values(key: KeyPacket, hash_algo: int, digest: bytes, values: tuple[bytes, ...]) -> bool:
    """Check signature values over an OpenPGP digest; False for any invalid signature."""
    public = key.key
    try:
        if isinstance(public, rsa.RSAPublicKey):
            return _verify_rsa(public, hash_algo, digest, values[0])
        if isinstance(public, ec.EllipticCurvePublicKey):
            return _verify_ecdsa(public, key.fsize, hash_algo, digest, values)
        if isinstance(public, ed25519.Ed25519PublicKey):
            return _verify_ed25519(public, key.algorithm, digest, values)
        if isinstance(public, ed448.Ed448PublicKey):
            if len(digest) < 64:
                return False
            public.verify(values[0], digest)
            return True
    except InvalidSignature:
        return False
    return False


def _verify_rsa(public: rsa.RSAPublicKey, hash_algo: int, digest: bytes, value: bytes) -> bool:
    size = (public.key_size + 7) // 8
    stripped = value.lstrip(b"\x00")
    # A value >= n is rejected by the library itself; only the length needs checking here.
    if len(stripped) > size:
        return False
    # Signatures of 3070/3071 bits occur with 3072-bit keys: the library wants exactly k octets.
    public.verify(stripped.rjust(size, b"\x00"), digest, _PKCS1V15, _PREHASHED[hash_algo])
    return True


# Stateless parameter objects, made once rather than per signature.
_PKCS1V15: Final = padding.PKCS1v15()
_PREHASHED: Final = {algorithm: utils.Prehashed(hasher) for algorithm, hasher in HASHES.items()}


def _verify_ecdsa(
    public: ec.EllipticCurvePublicKey,
    fsize: int,
    hash_algo: int,
    digest: bytes,
    values: tuple[bytes, ...],
) -> bool:
    r = int.from_bytes(values[0], "big")
    s = int.from_bytes(values[1], "big")
    if (
        not r
        or not s
        or len(values[0].lstrip(b"\x00")) > fsize
        or len(values[1].lstrip(b"\x00")) > fsize
    ):
        return False
    if len(digest) < min(fsize, 64):
        return False
    public.verify(utils.encode_dss_signature(r, s), digest, ec.ECDSA(_PREHASHED[hash_algo]))
    return True


def _verify_ed25519(
    public: ed25519.Ed25519PublicKey, algorithm: int, digest: bytes, values: tuple[bytes, ...]
) -> bool:
    if len(digest) < 32:
        return False
    if algorithm == EDDSA_LEGACY:
        r, s = values
        if len(r) > 32 or len(s) > 32:
            return False
        signature = r.rjust(32, b"\x00") + s.rjust(32, b"\x00")
    else:
        signature = values[0]
    # Ed25519 in OpenPGP signs the OpenPGP digest itself as the PureEdDSA message.
    public.verify(signature, digest)
    return True
