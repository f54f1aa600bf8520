"""Signature and one-pass signature packets (OPENPGP.md §4; RFC 4880 §5.2, §5.4).

Parsing only: nothing here decides trust. The hashed prefix is kept as the exact octets
received, because re-serialising what gets hashed is how verifiers get fooled.
"""

from __future__ import annotations

from typing import Final

from sigpolicy.signature.openpgp.errors import PacketError, UnsupportedError
from sigpolicy.signature.openpgp.mpi import read_mpi

# Public-key algorithms (RFC 9580 §9.1).
RSA = 1
RSA_SIGN_ONLY = 3
DSA = 17
ECDSA = 19
EDDSA_LEGACY = 22
ED25519 = 27
ED448 = 28

SUB_CREATED = 2
SUB_SIG_EXPIRES = 3
SUB_EXPORTABLE = 4
SUB_TRUST = 5
SUB_REGEX = 6
SUB_REVOCABLE = 7
SUB_KEY_EXPIRES = 9
SUB_PREFERRED_SYMMETRIC = 11
SUB_REVOCATION_KEY = 12
SUB_ISSUER_KEY_ID = 16
SUB_NOTATION = 20
SUB_PREFERRED_HASH = 21
SUB_PREFERRED_COMPRESSION = 22
SUB_KEYSERVER_PREFS = 23
SUB_PREFERRED_KEYSERVER = 24
SUB_PRIMARY_UID = 25
SUB_POLICY_URI = 26
SUB_KEY_FLAGS = 27
SUB_SIGNER_UID = 28
SUB_REVOCATION_REASON = 29
SUB_FEATURES = 30
SUB_TARGET = 31
SUB_EMBEDDED_SIGNATURE = 32
SUB_ISSUER_FINGERPRINT = 33
SUB_PREFERRED_AEAD = 34
SUB_INTENDED_RECIPIENT = 35
SUB_PREFERRED_AEAD_CIPHERSUITES = 39

# Subpackets whose meaning we enforce or that are safe to ignore. A critical subpacket
# outside this set in the hashed area invalidates the signature (RFC 9580 §5.2.3.7);
# 5 (trust), 6 (regex) and 12 (revocation key) are deliberately absent: we do not enforce
# them, so a critical one must not be silently accepted.
_KNOWN = frozenset(
    {
        SUB_CREATED,
        SUB_SIG_EXPIRES,
        SUB_EXPORTABLE,
        SUB_REVOCABLE,
        SUB_KEY_EXPIRES,
        SUB_PREFERRED_SYMMETRIC,
        SUB_ISSUER_KEY_ID,
        SUB_PREFERRED_HASH,
        SUB_PREFERRED_COMPRESSION,
        SUB_KEYSERVER_PREFS,
        SUB_PREFERRED_KEYSERVER,
        SUB_PRIMARY_UID,
        SUB_POLICY_URI,
        SUB_KEY_FLAGS,
        SUB_SIGNER_UID,
        SUB_REVOCATION_REASON,
        SUB_FEATURES,
        SUB_EMBEDDED_SIGNATURE,
        SUB_ISSUER_FINGERPRINT,
        SUB_PREFERRED_AEAD,
        SUB_INTENDED_RECIPIENT,
        SUB_PREFERRED_AEAD_CIPHERSUITES,
    }
)
_SINGLE = frozenset({SUB_CREATED, SUB_SIG_EXPIRES, SUB_KEY_EXPIRES, SUB_KEY_FLAGS})

KEY_FLAG_SIGN = 0x02


# Plain classes, not dataclasses or NamedTuples: generating their code at import would slow
# down the start-up of the one-shot ``sigpolicy verify``. ``Final`` keeps fields read-only.
class Signature:
    """A parsed signature packet (version 3 or 4); the subpacket fields are filled in later."""

    __slots__ = (
        "created",
        "embedded",
        "hash_algo",
        "hashed_tail",
        "intended_recipient",
        "issuer_fingerprints",
        "issuer_key_ids",
        "key_expires",
        "key_flags",
        "left16",
        "pk_algo",
        "primary_uid",
        "revocation_reason",
        "sig_expires",
        "sig_type",
        "unknown_critical",
        "values",
        "version",
    )

    def __init__(
        self,
        version: int,
        sig_type: int,
        pk_algo: int,
        hash_algo: int,
        hashed_tail: bytes,
        left16: bytes,
        values: tuple[bytes, ...],
        created: int,
        issuer_key_ids: set[bytes] | None = None,
    ) -> None:
        self.version = version
        self.sig_type = sig_type
        self.pk_algo = pk_algo
        self.hash_algo = hash_algo
        # What the signature hashes after the document: the exact received octets.
        self.hashed_tail = hashed_tail
        self.left16 = left16
        self.values = values
        self.created = created
        self.issuer_key_ids: set[bytes] = set() if issuer_key_ids is None else issuer_key_ids
        self.issuer_fingerprints: set[bytes] = set()
        self.sig_expires: int | None = None
        self.key_expires: int | None = None
        self.key_flags: int | None = None
        self.primary_uid = False
        self.revocation_reason: int | None = None
        self.embedded: list[bytes] = []
        self.unknown_critical = False
        self.intended_recipient = False

    @property
    def expires_at(self) -> int | None:
        """Absolute expiry of the signature itself (subpacket 3), None for never."""
        if not self.sig_expires:
            return None
        return self.created + self.sig_expires

    def issuer_key_id(self) -> bytes | None:
        """The single 8-octet issuer the packet names, or None; disagreement is malformed."""
        ids = set(self.issuer_key_ids)
        ids.update(fpr[-8:] for fpr in self.issuer_fingerprints)
        if len(self.issuer_fingerprints) > 1 or len(ids) > 1:
            raise PacketError("the signature names more than one issuer")
        return next(iter(ids), None)


class OnePassSignature:
    __slots__ = ("hash_algo", "key_id", "last", "pk_algo", "sig_type")

    def __init__(
        self, sig_type: int, hash_algo: int, pk_algo: int, key_id: bytes, last: int
    ) -> None:
        self.sig_type: Final = sig_type
        self.hash_algo: Final = hash_algo
        self.pk_algo: Final = pk_algo
        self.key_id: Final = key_id
        self.last: Final = last


def parse_signature(body: bytes) -> Signature:
    if not body:
        raise PacketError("empty signature packet")
    version = body[0]
    if version == 4:
        return _parse_v4(body)
    if version == 3:
        return _parse_v3(body)
    raise UnsupportedError(f"signature version {version}")


def _parse_v3(body: bytes) -> Signature:
    if len(body) < 19 or body[1] != 5:
        raise PacketError("malformed version 3 signature header")
    sig_type = body[2]
    created = int.from_bytes(body[3:7], "big")
    key_id = body[7:15]
    pk_algo, hash_algo = body[15], body[16]
    values = _read_values(body, 19, pk_algo)
    return Signature(
        version=3,
        sig_type=sig_type,
        pk_algo=pk_algo,
        hash_algo=hash_algo,
        hashed_tail=body[2:7],
        left16=body[17:19],
        values=values,
        created=created,
        issuer_key_ids={key_id},
    )


def _parse_v4(body: bytes) -> Signature:
    if len(body) < 6:
        raise PacketError("truncated signature packet")
    sig_type, pk_algo, hash_algo = body[1], body[2], body[3]
    hashed_len = int.from_bytes(body[4:6], "big")
    hashed_end = 6 + hashed_len
    if hashed_end + 2 > len(body):
        raise PacketError("signature hashed area runs past the packet")
    unhashed_len = int.from_bytes(body[hashed_end : hashed_end + 2], "big")
    unhashed_end = hashed_end + 2 + unhashed_len
    if unhashed_end + 2 > len(body):
        raise PacketError("signature unhashed area runs past the packet")
    prefix = body[:hashed_end]
    sig = Signature(
        version=4,
        sig_type=sig_type,
        pk_algo=pk_algo,
        hash_algo=hash_algo,
        hashed_tail=prefix + b"\x04\xff" + len(prefix).to_bytes(4, "big"),
        left16=body[unhashed_end : unhashed_end + 2],
        values=_read_values(body, unhashed_end + 2, pk_algo),
        created=-1,
    )
    _read_subpackets(sig, body[6:hashed_end], hashed=True)
    _read_subpackets(sig, body[hashed_end + 2 : unhashed_end], hashed=False)
    if sig.created < 0:
        raise PacketError("signature has no creation time in its hashed area")
    return sig


def _read_values(body: bytes, pos: int, pk_algo: int) -> tuple[bytes, ...]:
    if pk_algo in (RSA, RSA_SIGN_ONLY):
        count = 1
    elif pk_algo in (DSA, ECDSA, EDDSA_LEGACY):
        count = 2
    elif pk_algo in (ED25519, ED448):
        size = 64 if pk_algo == ED25519 else 114
        if len(body) - pos != size:
            raise PacketError("signature value has the wrong length")
        return (body[pos:],)
    else:
        raise UnsupportedError(f"public-key algorithm {pk_algo}")
    values = []
    for _ in range(count):
        value, pos = read_mpi(body, pos)
        values.append(value)
    if pos != len(body):
        raise PacketError("octets after the signature values")
    return tuple(values)


def _read_subpackets(sig: Signature, area: bytes, *, hashed: bool) -> None:
    pos = 0
    end = len(area)
    seen: set[int] = set()
    while pos < end:
        length, pos = _subpacket_length(area, pos)
        if length == 0 or pos + length > end:
            raise PacketError("subpacket length runs past its area")
        raw_type = area[pos]
        data = area[pos + 1 : pos + length]
        pos += length
        kind = raw_type & 0x7F
        if hashed:
            if kind in _SINGLE and kind in seen:
                raise PacketError(f"subpacket {kind} appears twice in the hashed area")
            seen.add(kind)
            _apply_hashed(sig, kind, data, critical=bool(raw_type & 0x80))
        else:
            _apply_unhashed(sig, kind, data)


def _subpacket_length(area: bytes, pos: int) -> tuple[int, int]:
    first = area[pos]
    if first < 192:
        return first, pos + 1
    if first < 255:
        if pos + 2 > len(area):
            raise PacketError("truncated subpacket length")
        return ((first - 192) << 8) + area[pos + 1] + 192, pos + 2
    if pos + 5 > len(area):
        raise PacketError("truncated subpacket length")
    return int.from_bytes(area[pos + 1 : pos + 5], "big"), pos + 5


def _u32(data: bytes, what: str) -> int:
    if len(data) != 4:
        raise PacketError(f"{what} subpacket must be 4 octets")
    return int.from_bytes(data, "big")


def _apply_hashed(sig: Signature, kind: int, data: bytes, *, critical: bool) -> None:
    if kind == SUB_CREATED:
        sig.created = _u32(data, "creation time")
    elif kind == SUB_SIG_EXPIRES:
        sig.sig_expires = _u32(data, "signature expiration")
    elif kind == SUB_KEY_EXPIRES:
        sig.key_expires = _u32(data, "key expiration")
    elif kind == SUB_KEY_FLAGS:
        sig.key_flags = int.from_bytes(data[:1] or b"\x00", "big")
    elif kind == SUB_PRIMARY_UID:
        sig.primary_uid = data[:1] not in (b"", b"\x00")
    elif kind == SUB_REVOCATION_REASON:
        sig.revocation_reason = data[0] if data else None
    elif kind == SUB_INTENDED_RECIPIENT:
        sig.intended_recipient = True
    elif kind == SUB_NOTATION:
        # No notation name is known to us, so a critical one is an unknown critical subpacket.
        if critical:
            sig.unknown_critical = True
    elif kind in (SUB_ISSUER_KEY_ID, SUB_ISSUER_FINGERPRINT, SUB_EMBEDDED_SIGNATURE):
        _apply_unhashed(sig, kind, data)
    elif critical and kind not in _KNOWN:
        sig.unknown_critical = True


def _apply_unhashed(sig: Signature, kind: int, data: bytes) -> None:
    if kind == SUB_ISSUER_KEY_ID:
        if len(data) != 8:
            raise PacketError("issuer key ID subpacket must be 8 octets")
        sig.issuer_key_ids.add(data)
    elif kind == SUB_ISSUER_FINGERPRINT:
        if len(data) != 21 or data[0] != 4:
            raise PacketError("issuer fingerprint subpacket does not fit a v4 signature")
        sig.issuer_fingerprints.add(data[1:])
    elif kind == SUB_EMBEDDED_SIGNATURE:
        sig.embedded.append(data)


def parse_one_pass(body: bytes) -> OnePassSignature:
    if len(body) != 13 or body[0] != 3:
        if body[:1] == b"\x06":
            raise UnsupportedError("version 6 one-pass signature")
        raise PacketError("malformed one-pass signature packet")
    return OnePassSignature(
        sig_type=body[1], hash_algo=body[2], pk_algo=body[3], key_id=body[4:12], last=body[12]
    )
