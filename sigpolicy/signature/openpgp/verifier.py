"""The verification algorithm (OPENPGP.md §9): one blob, one trusted keyring, one moment.

Steps, numbered as in OPENPGP.md §9; the first that fails decides the reason class:

1-3. Size, armor, framing, bounded decompression and the message grammar
     (:func:`parse_message`): ``malformed`` or ``unsigned``.
4.   The literal's data is the payload (format, name and date are not signed).
5-6. Signature version, type, hash and algorithm policy: ``unsupported`` for anything but
     a binary (0x00) document signature with a SHA-2/SHA-3 hash.
7.   Issuers named by the one-pass packet and the signature: none is ``unknown-key``.
8.   Candidate keys by fingerprint, else by key ID: none is ``unknown-key``; a key whose
     material is refused is ``unsupported``.
9-10. Digest, quick check, and the cryptographic check: ``bad-signature``.
11.  An unknown critical subpacket or an intended recipient: ``bad-signature``.
12.  Signature from the future, or older than its key: ``bad-signature``.
13.  Key or primary revoked: ``revoked-key``.
14.  Key not allowed to sign (no valid binding, no sign flag, no back-signature):
     ``unknown-key``.
15.  Key or primary expired at the signature time or now: ``expired-key``.
16.  Signature expired: ``expired-signature``.
17.  Return the payload with the primary's fingerprint as the signer.
"""

from __future__ import annotations

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.message import AuthenticatedMessage, earliest
from sigpolicy.signature.openpgp.keymaterial import (
    DATA_HASHES,
    HASH_NAMES,
    compute_digest,
    verify_values,
)
from sigpolicy.signature.openpgp.keyring import KeyEntry, Keyring
from sigpolicy.signature.openpgp.limits import CLOCK_SKEW_SECONDS
from sigpolicy.signature.openpgp.message import ParsedMessage, parse_message
from sigpolicy.signature.openpgp.sigpacket import ED25519, EDDSA_LEGACY, Signature

SIG_BINARY = 0x00
_MAX_CANDIDATES = 4


class NativeVerifier:
    """Implements :class:`sigpolicy.signature.message.MessageVerifier` in process."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    @property
    def fingerprints(self) -> frozenset[str]:
        return self.keyring.fingerprints

    def verify_message(self, blob: bytes, *, now: int) -> AuthenticatedMessage:
        message = parse_message(blob)  # steps 1-4
        signature = message.signature
        _check_policy(signature)  # steps 5-6
        entry = self._authenticate(message)  # steps 7-11
        _check_times(signature, entry, now)  # step 12
        user_id, key_expires = _check_key(signature, entry, now)  # steps 13-15
        expires = signature.expires_at
        if expires is not None and now >= expires:  # step 16
            raise VerificationError(
                Reason.EXPIRED_SIGNATURE, f"the signature expired at {_when(expires)}"
            )
        cert, key = entry.certificate, entry.key
        return AuthenticatedMessage(  # step 17
            payload=message.data,
            signer=cert.fingerprint,
            signing_key=key.fingerprint_hex,
            key_id="0x" + key.key_id.hex(),
            created=signature.created,
            user_id=user_id,
            valid_until=earliest(expires, key_expires),
        )

    def _authenticate(self, message: ParsedMessage) -> KeyEntry:
        signature = message.signature
        issuer = signature.issuer_key_id()  # step 7; raises on disagreement (malformed)
        if issuer is None and message.one_pass is not None:
            issuer = message.one_pass.key_id
        if issuer is None:
            raise VerificationError(Reason.UNKNOWN_KEY, "the signature names no issuer key")
        candidates = self._candidates(signature, issuer)  # step 8
        digest = _digest(signature, message.data)  # step 9
        if digest[:2] != signature.left16:
            raise VerificationError(Reason.BAD_SIGNATURE, "the signature does not match the data")
        for entry in candidates[:_MAX_CANDIDATES]:  # step 10
            if verify_values(entry.key, signature.hash_algo, digest, signature.values):
                break
        else:
            raise VerificationError(
                Reason.BAD_SIGNATURE,
                f"the signature by key {issuer.hex().upper()} does not verify",
            )
        if signature.unknown_critical:  # step 11
            raise VerificationError(
                Reason.BAD_SIGNATURE, "the signature carries an unknown critical subpacket"
            )
        if signature.intended_recipient:
            raise VerificationError(
                Reason.BAD_SIGNATURE, "the signature is only valid inside an encrypted message"
            )
        return entry

    def _candidates(self, signature: Signature, issuer: bytes) -> list[KeyEntry]:
        if signature.issuer_fingerprints:
            found = self.keyring.by_fingerprint(next(iter(signature.issuer_fingerprints)))
            entries = [found] if found is not None else []
        else:
            entries = self.keyring.by_key_id(issuer)
        if not entries:
            raise VerificationError(
                Reason.UNKNOWN_KEY, f"key {issuer.hex().upper()} is not in the trusted keys"
            )
        usable = [e for e in entries if e.key.key is not None]
        if not usable:
            raise VerificationError(
                Reason.UNSUPPORTED,
                f"key {entries[0].key.fingerprint_hex} cannot be used: {entries[0].key.unusable}",
            )
        usable = [e for e in usable if _same_algorithm(e.key.algorithm, signature.pk_algo)]
        if not usable:
            raise VerificationError(
                Reason.BAD_SIGNATURE, "the signature's algorithm does not match the key's"
            )
        if signature.hash_algo == 11 and usable[0].key.algorithm in (ED25519, EDDSA_LEGACY):
            raise VerificationError(Reason.UNSUPPORTED, "Ed25519 signatures need a 256-bit hash")
        return usable


def _check_policy(signature: Signature) -> None:
    if signature.sig_type != SIG_BINARY:
        raise VerificationError(
            Reason.UNSUPPORTED,
            f"signature type {signature.sig_type:#04x} (only binary document signatures, 0x00)",
        )
    if signature.hash_algo not in DATA_HASHES:
        name = HASH_NAMES.get(signature.hash_algo, f"hash algorithm {signature.hash_algo}")
        raise VerificationError(Reason.UNSUPPORTED, f"{name} is refused for data signatures")


def _digest(signature: Signature, data: bytes) -> bytes:
    return compute_digest(signature.hash_algo, data, signature.hashed_tail)


def _check_times(signature: Signature, entry: KeyEntry, now: int) -> None:
    if signature.created > now + CLOCK_SKEW_SECONDS:
        raise VerificationError(
            Reason.BAD_SIGNATURE, f"the signature claims a future time, {_when(signature.created)}"
        )
    if entry.key.created > signature.created:
        raise VerificationError(Reason.BAD_SIGNATURE, "the key is newer than the signature")


def _check_key(signature: Signature, entry: KeyEntry, now: int) -> tuple[str | None, int | None]:
    """Steps 13-15; returns the certificate's primary user ID and when the key expires."""
    status, user_id = entry.certificate.status(entry.key, now)
    who = entry.key.fingerprint_hex
    if status.revoked:
        raise VerificationError(Reason.REVOKED_KEY, f"key {who} is revoked")
    if status.cannot_sign is not None:
        raise VerificationError(Reason.UNKNOWN_KEY, f"key {who}: {status.cannot_sign}")
    expires = status.expires_at
    if expires is not None and (signature.created >= expires or now >= expires):
        raise VerificationError(Reason.EXPIRED_KEY, f"key {who} expired at {_when(expires)}")
    return user_id, expires


def _same_algorithm(key_algo: int, sig_algo: int) -> bool:
    return key_algo == sig_algo or {key_algo, sig_algo} == {1, 3}


def _when(timestamp: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
