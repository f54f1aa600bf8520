"""A test-only OpenPGP writer: builds packets octet by octet to craft adversarial inputs.

Real signatures come from gpg (see gpgkit); this writer exists for what gpg will not write:
lying lengths, extra critical subpackets, two signatures, swapped issuers, and so on. Keys
are generated in memory with `cryptography`; nothing is written to disk.
"""

from __future__ import annotations

import bz2
import hashlib
import zlib
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

HASH = {
    2: hashes.SHA1(),
    8: hashes.SHA256(),
    9: hashes.SHA384(),
    10: hashes.SHA512(),
    11: hashes.SHA224(),
}
HASHLIB = {
    1: "md5",
    2: "sha1",
    3: "ripemd160",
    8: "sha256",
    9: "sha384",
    10: "sha512",
    11: "sha224",
}
P256_OID = bytes.fromhex("2A8648CE3D030107")
ED25519_LEGACY_OID = bytes.fromhex("2B06010401DA470F01")
T0 = 1_700_000_000


def mpi(value: bytes | int) -> bytes:
    if isinstance(value, int):
        value = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    value = value.lstrip(b"\x00")
    bits = len(value) * 8 - (8 - value[0].bit_length()) if value else 0
    return bits.to_bytes(2, "big") + value


def packet(tag: int, body: bytes, *, legacy: bool = False, partial: int | None = None) -> bytes:
    """Frame a packet. ``partial=n`` splits the body into 2**n chunks then a final one."""
    if legacy:
        return bytes([0x80 | (tag << 2) | 1]) + len(body).to_bytes(2, "big") + body
    head = bytes([0xC0 | tag])
    if partial is not None:
        size = 1 << partial
        out = head
        rest = body
        while len(rest) > size:
            out += bytes([0xE0 | partial]) + rest[:size]
            rest = rest[size:]
        return out + _new_len(len(rest)) + rest
    return head + _new_len(len(body)) + body


def indeterminate(tag: int, body: bytes) -> bytes:
    return bytes([0x80 | (tag << 2) | 3]) + body


def _new_len(n: int) -> bytes:
    if n < 192:
        return bytes([n])
    if n < 8384:
        n -= 192
        return bytes([(n >> 8) + 192, n & 0xFF])
    return b"\xff" + n.to_bytes(4, "big")


def subpacket(kind: int, data: bytes, *, critical: bool = False) -> bytes:
    body = bytes([kind | (0x80 if critical else 0)]) + data
    return _new_len(len(body)) + body


def created(t: int) -> bytes:
    return subpacket(2, t.to_bytes(4, "big"))


@dataclass
class Key:
    private: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    algo: int
    created: int
    body: bytes = b""
    fingerprint: bytes = b""

    def __post_init__(self) -> None:
        self.body = (
            b"\x04" + self.created.to_bytes(4, "big") + bytes([self.algo]) + self._material()
        )
        self.fingerprint = hashlib.sha1(
            b"\x99" + len(self.body).to_bytes(2, "big") + self.body
        ).digest()

    @property
    def key_id(self) -> bytes:
        return self.fingerprint[-8:]

    @property
    def hashed_form(self) -> bytes:
        return b"\x99" + len(self.body).to_bytes(2, "big") + self.body

    def _material(self) -> bytes:
        pub = self.private.public_key()
        if isinstance(pub, rsa.RSAPublicKey):
            numbers = pub.public_numbers()
            return mpi(numbers.n) + mpi(numbers.e)
        if isinstance(pub, ed25519.Ed25519PublicKey):
            from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

            raw = pub.public_bytes(Encoding.Raw, PublicFormat.Raw)
            return bytes([len(ED25519_LEGACY_OID)]) + ED25519_LEGACY_OID + mpi(b"\x40" + raw)
        assert isinstance(pub, ec.EllipticCurvePublicKey)
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        point = pub.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return bytes([len(P256_OID)]) + P256_OID + mpi(point)

    def sign_digest(self, hash_algo: int, digest: bytes) -> bytes:
        """The algorithm-specific signature fields for an OpenPGP digest."""
        if isinstance(self.private, rsa.RSAPrivateKey):
            return mpi(
                self.private.sign(digest, padding.PKCS1v15(), utils.Prehashed(HASH[hash_algo]))
            )
        if isinstance(self.private, ed25519.Ed25519PrivateKey):
            raw = self.private.sign(digest)
            return mpi(raw[:32]) + mpi(raw[32:])
        der = self.private.sign(digest, ec.ECDSA(utils.Prehashed(HASH[hash_algo])))
        r, s = utils.decode_dss_signature(der)
        return mpi(r) + mpi(s)


def rsa_key(bits: int = 2048, *, at: int = T0) -> Key:
    return Key(rsa.generate_private_key(65537, bits), 1, at)


def ed25519_key(*, at: int = T0) -> Key:
    return Key(ed25519.Ed25519PrivateKey.generate(), 22, at)


def p256_key(*, at: int = T0) -> Key:
    return Key(ec.generate_private_key(ec.SECP256R1()), 19, at)


@dataclass
class Sig:
    """Options for one signature packet; defaults give a valid binary v4 signature."""

    sig_type: int = 0x00
    hash_algo: int = 8
    at: int = T0 + 100
    hashed: list[bytes] = field(default_factory=list)
    unhashed: list[bytes] | None = None
    issuer_fpr_hashed: bool = True
    bad_left16: bool = False
    pk_algo: int | None = None
    version: int = 4
    include_created: bool = True


def signature(key: Key, prefix: bytes, opts: Sig | None = None) -> bytes:
    """A signature packet body over ``prefix`` (the document, or key/UID material)."""
    opts = opts or Sig()
    pk_algo = key.algo if opts.pk_algo is None else opts.pk_algo
    if opts.version == 3:
        tail = bytes([opts.sig_type]) + opts.at.to_bytes(4, "big")
        digest = hashlib.new(HASHLIB[opts.hash_algo], prefix + tail).digest()
        left = digest[:2] if not opts.bad_left16 else bytes([digest[0] ^ 1, digest[1]])
        return (
            b"\x03\x05"
            + tail
            + key.key_id
            + bytes([pk_algo, opts.hash_algo])
            + left
            + key.sign_digest(opts.hash_algo, digest)
        )
    hashed = b""
    if opts.include_created:
        hashed += created(opts.at)
    if opts.issuer_fpr_hashed:
        hashed += subpacket(33, b"\x04" + key.fingerprint)
    hashed += b"".join(opts.hashed)
    unhashed = b"".join(opts.unhashed) if opts.unhashed is not None else subpacket(16, key.key_id)
    head = (
        bytes([4, opts.sig_type, pk_algo, opts.hash_algo]) + len(hashed).to_bytes(2, "big") + hashed
    )
    trailer = b"\x04\xff" + len(head).to_bytes(4, "big")
    digest = hashlib.new(HASHLIB[opts.hash_algo], prefix + head + trailer).digest()
    left = digest[:2] if not opts.bad_left16 else bytes([digest[0] ^ 1, digest[1]])
    return (
        head
        + len(unhashed).to_bytes(2, "big")
        + unhashed
        + left
        + key.sign_digest(opts.hash_algo, digest)
    )


def one_pass(
    key: Key, opts: Sig | None = None, *, last: int = 1, key_id: bytes | None = None
) -> bytes:
    opts = opts or Sig()
    pk_algo = key.algo if opts.pk_algo is None else opts.pk_algo
    return (
        bytes([3, opts.sig_type, opts.hash_algo, pk_algo]) + (key_id or key.key_id) + bytes([last])
    )


def literal(data: bytes, *, fmt: bytes = b"b", name: bytes = b"", date: int = 0) -> bytes:
    return fmt + bytes([len(name)]) + name + date.to_bytes(4, "big") + data


def compress(inner: bytes, algo: int = 1) -> bytes:
    if algo == 1:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return b"\x01" + c.compress(inner) + c.flush()
    if algo == 2:
        return b"\x02" + zlib.compress(inner, 9)
    if algo == 3:
        return b"\x03" + bz2.compress(inner, 9)
    return bytes([algo]) + inner


def message(
    key: Key, payload: bytes, opts: Sig | None = None, *, compressed: int | None = 1
) -> bytes:
    """The GnuPG shape: COMP{OPS LIT SIG} (or OPS LIT SIG with ``compressed=None``)."""
    opts = opts or Sig()
    inner = (
        packet(4, one_pass(key, opts))
        + packet(11, literal(payload))
        + packet(2, signature(key, payload, opts))
    )
    if compressed is None:
        return inner
    return indeterminate(8, compress(inner, compressed))


# --- certificates -----------------------------------------------------------------------


@dataclass
class Binding:
    """Options for a self-signature (user ID certification or subkey binding)."""

    at: int = T0 + 10
    flags: int | None = 0x03
    key_expires: int | None = None
    hash_algo: int = 8
    back_signature: bool = True
    extra: list[bytes] = field(default_factory=list)


def uid_binding(primary: Key, uid: bytes, opts: Binding | None = None) -> bytes:
    opts = opts or Binding()
    hashed = list(opts.extra)
    if opts.flags is not None:
        hashed.append(subpacket(27, bytes([opts.flags])))
    if opts.key_expires is not None:
        hashed.append(subpacket(9, opts.key_expires.to_bytes(4, "big")))
    prefix = primary.hashed_form + b"\xb4" + len(uid).to_bytes(4, "big") + uid
    return signature(
        primary, prefix, Sig(sig_type=0x13, hash_algo=opts.hash_algo, at=opts.at, hashed=hashed)
    )


def subkey_binding(
    primary: Key, sub: Key, opts: Binding | None = None, *, back_by: Key | None = None
) -> bytes:
    opts = opts or Binding(flags=0x02)
    hashed = list(opts.extra)
    if opts.flags is not None:
        hashed.append(subpacket(27, bytes([opts.flags])))
    if opts.key_expires is not None:
        hashed.append(subpacket(9, opts.key_expires.to_bytes(4, "big")))
    prefix = primary.hashed_form + sub.hashed_form
    unhashed = [subpacket(16, primary.key_id)]
    if opts.back_signature:
        signer = back_by or sub
        back = signature(signer, prefix, Sig(sig_type=0x19, at=opts.at))
        unhashed.append(subpacket(32, back))
    return signature(
        primary,
        prefix,
        Sig(sig_type=0x18, hash_algo=opts.hash_algo, at=opts.at, hashed=hashed, unhashed=unhashed),
    )


def key_revocation(primary: Key, *, at: int = T0 + 50, reason: int = 0) -> bytes:
    return signature(
        primary,
        primary.hashed_form,
        Sig(sig_type=0x20, at=at, hashed=[subpacket(29, bytes([reason]))]),
    )


def subkey_revocation(primary: Key, sub: Key, *, at: int = T0 + 50) -> bytes:
    prefix = primary.hashed_form + sub.hashed_form
    return signature(primary, prefix, Sig(sig_type=0x28, at=at, hashed=[subpacket(29, b"\x00")]))


def certificate(
    primary: Key,
    *,
    uid: bytes = b"Test Key <test@sigpolicy.test>",
    binding: Binding | None = None,
    subkeys: list[tuple[Key, bytes]] | None = None,
    extra_primary_sigs: list[bytes] | None = None,
    uid_sigs: list[bytes] | None = None,
) -> bytes:
    """A transferable public key: primary, key-level sigs, one UID, then subkeys."""
    out = packet(6, primary.body)
    for sig in extra_primary_sigs or []:
        out += packet(2, sig)
    out += packet(13, uid)
    out += packet(2, uid_binding(primary, uid, binding))
    for sig in uid_sigs or []:
        out += packet(2, sig)
    for sub, binding_sig in subkeys or []:
        out += packet(14, sub.body.replace(b"", b"", 0))
        out += packet(2, binding_sig)
    return out
