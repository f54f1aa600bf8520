"""Transferable public keys and their self-signatures (OPENPGP.md §7).

Loading does the expensive, time-independent work once: every self-signature that names the
primary is checked cryptographically, and only those that verify are kept. What depends on
the time of a decision (which self-signature is authoritative now, expiry) is evaluated per
verification by :meth:`Certificate.evaluate`, which is cheap list work.

Trust rules, in the order the verifier applies them:
1. A valid key revocation (0x20) revokes the certificate and every subkey; a valid subkey
   revocation (0x28) revokes that subkey, even if a newer binding exists (as GnuPG does).
   Any valid revocation counts, whatever its reason code (the "hard" reading).
2. The primary is usable through its newest valid direct-key signature (0x1F) and the
   binding of its primary user ID (newest valid self-certification of a non-revoked user ID,
   preferring those flagged primary). Neither: the key cannot sign.
3. A subkey signs only through its newest valid binding (0x18) carrying the sign flag (or
   no flags at all, as GnuPG accepts) and an embedded primary-key binding (0x19) made by the
   subkey: otherwise anyone could bind someone else's signing subkey under their primary.
4. Expiry is the earliest key-expiration among the authoritative signatures; a subkey never
   outlives its primary.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

from sigpolicy.signature.openpgp.errors import PacketError, UnsupportedError
from sigpolicy.signature.openpgp.keymaterial import (
    HASHES,
    KeyPacket,
    compute_digest,
    parse_key_packet,
    verify_values,
)
from sigpolicy.signature.openpgp.limits import (
    CLOCK_SKEW_SECONDS,
    MAX_COMPONENTS,
    MAX_SELF_SIGNATURES,
)
from sigpolicy.signature.openpgp.packets import (
    TAG_MARKER,
    TAG_PADDING,
    TAG_PUBLIC_KEY,
    TAG_PUBLIC_SUBKEY,
    TAG_SECRET_KEY,
    TAG_SECRET_SUBKEY,
    TAG_SIGNATURE,
    TAG_TRUST,
    TAG_USER_ATTRIBUTE,
    TAG_USER_ID,
    Packet,
)
from sigpolicy.signature.openpgp.sigpacket import (
    KEY_FLAG_SIGN,
    Signature,
    parse_signature,
)

SIG_CERTIFICATIONS = frozenset({0x10, 0x11, 0x12, 0x13})
SIG_SUBKEY_BINDING = 0x18
SIG_PRIMARY_BINDING = 0x19
SIG_DIRECT_KEY = 0x1F
SIG_KEY_REVOCATION = 0x20
SIG_SUBKEY_REVOCATION = 0x28
SIG_CERT_REVOCATION = 0x30

SHA1 = 2
SELF_SIGNATURE_HASHES = frozenset(HASHES)


# Plain classes, not dataclasses or NamedTuples: generating their code at import would slow
# down the start-up of the one-shot ``sigpolicy verify``. ``Final`` keeps fields read-only.
class UserId:
    __slots__ = ("certifications", "is_attribute", "revocations", "value")

    def __init__(self, value: bytes, is_attribute: bool) -> None:
        self.value = value
        self.is_attribute = is_attribute
        self.certifications: list[Signature] = []
        self.revocations: list[Signature] = []


class Subkey:
    __slots__ = ("bindings", "key", "revocations")

    def __init__(self, key: KeyPacket) -> None:
        self.key = key
        # (binding, whether it carries a valid back-signature by the subkey)
        self.bindings: list[tuple[Signature, bool]] = []
        self.revocations: list[Signature] = []


class KeyStatus:
    """What a certificate says about one of its keys at one moment."""

    __slots__ = ("cannot_sign", "expires_at", "revoked")

    def __init__(self, revoked: bool, cannot_sign: str | None, expires_at: int | None) -> None:
        self.revoked: Final = revoked
        self.cannot_sign: Final = cannot_sign
        self.expires_at: Final = expires_at


_STATUS_CACHE_SIZE = 64


class Certificate:
    __slots__ = ("_status_cache", "direct", "primary", "revocations", "subkeys", "user_ids")

    def __init__(self, primary: KeyPacket) -> None:
        self.primary = primary
        self.direct: list[Signature] = []
        self.revocations: list[Signature] = []
        self.user_ids: list[UserId] = []
        self.subkeys: list[Subkey] = []
        # The status only changes with the time, so a burst of verifications within one
        # second evaluates it once. Bounded; the certificate is immutable once loaded.
        self._status_cache: dict[tuple[bytes, int], tuple[KeyStatus, str | None]] = {}

    @property
    def fingerprint(self) -> str:
        return self.primary.fingerprint_hex

    def all_keys(self) -> Iterator[KeyPacket]:
        yield self.primary
        for subkey in self.subkeys:
            yield subkey.key

    def status(self, key: KeyPacket, now: int) -> tuple[KeyStatus, str | None]:
        """:meth:`evaluate` and :meth:`primary_user_id` together, cached per second."""
        cache_key = (key.fingerprint, now)
        cached = self._status_cache.get(cache_key)
        if cached is None:
            if len(self._status_cache) >= _STATUS_CACHE_SIZE:
                self._status_cache.clear()
            cached = (self.evaluate(key, now), self.primary_user_id(now))
            self._status_cache[cache_key] = cached
        return cached

    def primary_user_id(self, now: int) -> str | None:
        binding = self._primary_uid_binding(now)
        if binding is None:
            return None
        return binding[0].value.decode("utf-8", "replace")

    def evaluate(self, key: KeyPacket, now: int) -> KeyStatus:
        """The status of ``key`` (the primary or one of its subkeys) at ``now``."""
        revoked = bool(self.revocations)
        direct = _newest_valid(self.direct, now)
        uid = self._primary_uid_binding(now)
        uid_sig = uid[1] if uid else None
        if direct is None and uid_sig is None:
            return KeyStatus(revoked, "the primary key has no valid self-signature", None)
        expires_at = _earliest_expiry(self.primary, (direct, uid_sig))
        if key is self.primary:
            flags_from = direct if direct is not None and direct.key_flags is not None else uid_sig
            flags = flags_from.key_flags if flags_from is not None else None
            if flags is not None and not flags & KEY_FLAG_SIGN:
                return KeyStatus(revoked, "the primary key is not allowed to sign", expires_at)
            return KeyStatus(revoked, None, expires_at)
        subkey = next(s for s in self.subkeys if s.key is key)
        revoked = revoked or bool(subkey.revocations)
        binding = _newest_valid_binding(subkey.bindings, now)
        if binding is None:
            return KeyStatus(revoked, "the subkey has no valid binding signature", expires_at)
        sig, has_back_signature = binding
        sub_expiry = _earliest_expiry(subkey.key, (sig,))
        if expires_at is None or (sub_expiry is not None and sub_expiry < expires_at):
            expires_at = sub_expiry
        if sig.key_flags is not None and not sig.key_flags & KEY_FLAG_SIGN:
            return KeyStatus(revoked, "the subkey is not allowed to sign", expires_at)
        if not has_back_signature:
            return KeyStatus(
                revoked, "the signing subkey has no valid primary-key binding", expires_at
            )
        return KeyStatus(revoked, None, expires_at)

    def _primary_uid_binding(self, now: int) -> tuple[UserId, Signature] | None:
        best: tuple[bool, int, int] | None = None
        chosen: tuple[UserId, Signature] | None = None
        for order, uid in enumerate(self.user_ids):
            if uid.is_attribute:
                continue
            cert = _newest_valid(uid.certifications, now)
            if cert is None:
                continue
            if any(rev.created > cert.created for rev in uid.revocations):
                continue
            rank = (cert.primary_uid, cert.created, -order)
            if best is None or rank > best:
                best, chosen = rank, (uid, cert)
        return chosen


def _valid_at(sig: Signature, now: int) -> bool:
    expires = sig.expires_at
    return sig.created <= now + CLOCK_SKEW_SECONDS and (expires is None or now < expires)


def _newest_valid(sigs: Iterable[Signature], now: int) -> Signature | None:
    newest: Signature | None = None
    for sig in sigs:
        # On a tie the later one in packet order wins (>=).
        if _valid_at(sig, now) and (newest is None or sig.created >= newest.created):
            newest = sig
    return newest


def _newest_valid_binding(
    bindings: Iterable[tuple[Signature, bool]], now: int
) -> tuple[Signature, bool] | None:
    newest: tuple[Signature, bool] | None = None
    for binding in bindings:
        if _valid_at(binding[0], now) and (
            newest is None or binding[0].created >= newest[0].created
        ):
            newest = binding
    return newest


def _earliest_expiry(key: KeyPacket, sigs: Iterable[Signature | None]) -> int | None:
    expiries = [
        key.created + sig.key_expires for sig in sigs if sig is not None and sig.key_expires
    ]
    return min(expiries) if expiries else None


# --- loading --------------------------------------------------------------------------


class _RawComponent:
    __slots__ = ("packet", "signatures", "tag")

    def __init__(self, packet: bytes, tag: int) -> None:
        self.packet = packet
        self.tag = tag
        self.signatures: list[bytes] = []


class _RawCertificate:
    __slots__ = ("components", "primary", "signatures")

    def __init__(self, primary: KeyPacket) -> None:
        self.primary = primary
        self.signatures: list[bytes] = []
        self.components: list[_RawComponent] = []


def load_certificates(packets: list[Packet], *, allow_sha1: bool = True) -> list[Certificate]:
    """Group packets into certificates, merge copies, and keep only valid self-signatures."""
    raw = _group(packets)
    return [_build(cert, allow_sha1=allow_sha1) for cert in raw]


def _group(packets: list[Packet]) -> list[_RawCertificate]:
    by_fingerprint: dict[bytes, _RawCertificate] = {}
    current: _RawCertificate | None = None
    component: _RawComponent | None = None
    for packet in packets:
        tag = packet.tag
        if tag in (TAG_SECRET_KEY, TAG_SECRET_SUBKEY):
            raise UnsupportedError("a secret key cannot be a trust anchor")
        if tag in (TAG_TRUST, TAG_MARKER, TAG_PADDING) or tag >= 40:
            continue
        if tag == TAG_PUBLIC_KEY:
            primary = parse_key_packet(packet.body)
            current = by_fingerprint.get(primary.fingerprint)
            if current is None:
                current = _RawCertificate(primary)
                by_fingerprint[primary.fingerprint] = current
            component = None
            continue
        if current is None:
            raise PacketError(f"packet tag {tag} before any public key packet")
        if tag in (TAG_USER_ID, TAG_USER_ATTRIBUTE, TAG_PUBLIC_SUBKEY):
            component = _component(current, packet)
        elif tag == TAG_SIGNATURE:
            (component.signatures if component else current.signatures).append(packet.body)
        else:
            raise PacketError(f"packet tag {tag} does not belong in a key file")
    return list(by_fingerprint.values())


def _component(cert: _RawCertificate, packet: Packet) -> _RawComponent:
    # Copies of a certificate merge: the same user ID or subkey gathers every signature.
    for existing in cert.components:
        if existing.tag == packet.tag and existing.packet == packet.body:
            return existing
    if len(cert.components) >= MAX_COMPONENTS:
        raise PacketError(f"certificate has more than {MAX_COMPONENTS} components")
    created = _RawComponent(packet.body, packet.tag)
    cert.components.append(created)
    return created


def _build(raw: _RawCertificate, *, allow_sha1: bool) -> Certificate:
    primary = raw.primary
    cert = Certificate(primary)
    if primary.key is None:
        return cert
    checker = _SelfSignatureChecker(primary, allow_sha1=allow_sha1)
    for sig in checker.valid(raw.signatures, (SIG_DIRECT_KEY, SIG_KEY_REVOCATION), b""):
        (cert.direct if sig.sig_type == SIG_DIRECT_KEY else cert.revocations).append(sig)
    for component in raw.components:
        if component.tag == TAG_PUBLIC_SUBKEY:
            subkey = _build_subkey(component, checker)
            if subkey is not None:
                cert.subkeys.append(subkey)
        else:
            cert.user_ids.append(_build_user_id(component, checker))
    return cert


def _build_user_id(component: _RawComponent, checker: _SelfSignatureChecker) -> UserId:
    is_attribute = component.tag == TAG_USER_ATTRIBUTE
    prefix = b"\xd1" if is_attribute else b"\xb4"
    hashed = prefix + len(component.packet).to_bytes(4, "big") + component.packet
    uid = UserId(component.packet, is_attribute)
    for sig in checker.valid(
        component.signatures, (*SIG_CERTIFICATIONS, SIG_CERT_REVOCATION), hashed
    ):
        (uid.revocations if sig.sig_type == SIG_CERT_REVOCATION else uid.certifications).append(sig)
    return uid


def _build_subkey(component: _RawComponent, checker: _SelfSignatureChecker) -> Subkey | None:
    try:
        key = parse_key_packet(component.packet)
    except PacketError:
        return None
    if key.version != checker.primary.version:
        return None
    subkey = Subkey(key)
    hashed = key.hashed_form
    for sig in checker.valid(
        component.signatures, (SIG_SUBKEY_BINDING, SIG_SUBKEY_REVOCATION), hashed, bound=key
    ):
        if sig.sig_type == SIG_SUBKEY_REVOCATION:
            subkey.revocations.append(sig)
        else:
            subkey.bindings.append((sig, checker.back_signature_ok(sig, key)))
    return subkey


class _SelfSignatureChecker:
    def __init__(self, primary: KeyPacket, *, allow_sha1: bool) -> None:
        self.primary = primary
        self.allow_sha1 = allow_sha1
        self._primary_form = primary.hashed_form

    def valid(
        self,
        bodies: list[bytes],
        types: tuple[int, ...],
        component: bytes,
        *,
        bound: KeyPacket | None = None,
    ) -> list[Signature]:
        """Self-signatures of the given types over primary + component that verify."""
        candidates: list[Signature] = []
        seen: set[bytes] = set()
        for body in bodies:
            if body in seen:
                continue
            seen.add(body)
            sig = _parse_quietly(body)
            # Third-party signatures are skipped before any cryptography (certificate flooding).
            if sig is None or sig.sig_type not in types or not self._names_primary(sig):
                continue
            candidates.append(sig)
        candidates.sort(key=lambda s: s.created, reverse=True)
        out: list[Signature] = []
        for sig in candidates[:MAX_SELF_SIGNATURES]:
            if self._acceptable(sig, bound) and self._verifies(self.primary, sig, component):
                out.append(sig)
        return out

    def back_signature_ok(self, binding: Signature, subkey: KeyPacket) -> bool:
        if subkey.key is None:
            return False
        for body in binding.embedded[:4]:
            sig = _parse_quietly(body)
            if sig is None or sig.sig_type != SIG_PRIMARY_BINDING:
                continue
            issuer = _issuer_or_none(sig)
            if issuer is not None and issuer != subkey.key_id:
                continue
            if self._acceptable(sig, subkey) and self._verifies(subkey, sig, subkey.hashed_form):
                return True
        return False

    def _names_primary(self, sig: Signature) -> bool:
        issuer = _issuer_or_none(sig)
        return issuer is None or issuer == self.primary.key_id

    def _acceptable(self, sig: Signature, bound: KeyPacket | None) -> bool:
        is_revocation = sig.sig_type in (
            SIG_KEY_REVOCATION,
            SIG_SUBKEY_REVOCATION,
            SIG_CERT_REVOCATION,
        )
        if sig.version != 4 or sig.hash_algo not in SELF_SIGNATURE_HASHES:
            return False
        # Revocations are honoured even when made with SHA-1 (OPENPGP.md §7).
        if sig.hash_algo == SHA1 and not self.allow_sha1 and not is_revocation:
            return False
        if sig.unknown_critical and not is_revocation:
            return False
        if sig.created < self.primary.created:
            return False
        return bound is None or sig.created >= bound.created

    def _verifies(self, signer: KeyPacket, sig: Signature, component: bytes) -> bool:
        if signer.key is None or not _same_algorithm(signer.algorithm, sig.pk_algo):
            return False
        digest = compute_digest(sig.hash_algo, self._primary_form, component, sig.hashed_tail)
        if digest[:2] != sig.left16:
            return False
        return verify_values(signer, sig.hash_algo, digest, sig.values)


def _same_algorithm(key_algo: int, sig_algo: int) -> bool:
    return key_algo == sig_algo or {key_algo, sig_algo} == {1, 3}


def _issuer_or_none(sig: Signature) -> bytes | None:
    try:
        return sig.issuer_key_id()
    except PacketError:
        return b"conflicting"


def _parse_quietly(body: bytes) -> Signature | None:
    try:
        return parse_signature(body)
    except (PacketError, UnsupportedError):
        return None
