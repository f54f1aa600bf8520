"""The GnuPG backend: the second :class:`~sigpolicy.signature.message.MessageVerifier`.

It gives the same verdict (reason class) as the native verifier on every input, and gets
there by letting GnuPG do the cryptography. Who does what, by the steps of OPENPGP.md §9:

1-7. **Shared with the native verifier.** :func:`parse_message` checks size, armor,
     framing, bounded decompression and the message grammar (exactly one signature; no
     cleartext, detached, encrypted or bare literal message; at most one compression
     layer), then the packet policy is applied to the parsed signature: type 0x00 only,
     SHA-2/SHA-3 data hashes only (a hardening over gpg 2.2, which accepts SHA-1 and
     RIPEMD-160), and an issuer must be named. gpg never sees a blob that fails here.
8-16. **GnuPG's own.** ``gpg --decrypt`` runs in a private home holding only the trusted
     keys, with its clock frozen at ``now`` (``--faked-system-time <now>!``). The
     signature's cryptography, the key's self-signatures, back-signatures, expiry and
     revocation are judged by gpg, and read from its status lines only (never its
     human-readable stderr). Where gpg 2.2 is laxer than sigpolicy, its VALIDSIG fields
     and the key listing taken at load time apply the rule on top: keys the native
     verifier refuses to use (RSA under 2048 bits, DSA, curves other than NIST, Brainpool
     and Ed25519) are ``unsupported``; the 16-bit digest prefix, which gpg no longer
     compares, must match (``bad-signature``); a signature more than 300 s in the future, or older
     than its key, is ``bad-signature``; and where gpg reports several problems in its own
     order (expired signature before expired key before revoked key), the native order
     is restored: revoked, then expired key, then expired signature.
17.  Only a ``GOODSIG`` with its ``VALIDSIG``, for exactly one signature, by a key of the
     set, with the same payload the parser found, is trusted. gpg writes the payload even
     for a bad signature, so its output is used only after all of that.

Failures of the environment: a ``gpg`` that cannot be run is an :class:`InputError`
(``gpg not found: install gnupg``), like any other unusable invocation. A run that gives
no verdict for this blob (no result line, a garbled status line, gpg killed, gpg and the
parser disagreeing on the signature or the data) is ``malformed``: it fails closed, and
the blob is the only thing that varies between runs.

Key files: binary or armored, many keys each, read by ``gpg --import``. Refused with an
:class:`InputError`: a file over the native size cap, a GnuPG keybox, a file in which gpg
finds no OpenPGP key at all, a secret key, and a file gpg cannot read to the end (a
framing error, or armor with a wrong CRC-24, which the native loader only logs). A key gpg
declines to import (no valid user ID or binding) is no error: signatures by it are
``unknown-key``, as with the native verifier.

Where gpg 2.2 cannot be made to agree (no status line tells): an unknown *critical*
subpacket in the *unhashed* area makes gpg report ``BADSIG``, where the native verifier
ignores it (anyone can add one there, so it can only deny, never forge); gpg ignores the
date of a revocation, so at a ``now`` before a revocation was made the key is already
``revoked-key`` here; and a signing subkey without a valid back-signature or the sign
flag is ``unknown-key`` even when its signature is also bad (gpg checks usage first).

Throughput: one ``gpg`` process per signature (about 3-4 ms); the key listing is taken
once, at load.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from types import TracebackType
from typing import Self

from sigpolicy.errors import InputError, VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature._gnupg_adapter import (
    GnuPGUnavailableError,
    IsolatedGnuPG,
    ListedKey,
)
from sigpolicy.signature._gnupg_status import (
    GpgReport,
    SignatureReport,
    StatusFormatError,
    ValidSig,
    read_status,
)
from sigpolicy.signature.message import AuthenticatedMessage, earliest
from sigpolicy.signature.openpgp.errors import PacketError
from sigpolicy.signature.openpgp.keymaterial import DATA_HASHES, HASH_NAMES, HASHLIB_NAMES
from sigpolicy.signature.openpgp.limits import CLOCK_SKEW_SECONDS, MAX_KEYFILE_BYTES
from sigpolicy.signature.openpgp.message import ParsedMessage, parse_message

__all__ = ["GnuPGVerifier"]

SIG_BINARY = 0x00
_SHA224 = 11
_KEYBOX_MAGIC = b"KBXf"
_IMPORT_RES_CONSIDERED = 0
_IMPORT_RES_SECRET_READ = 9

# ERRSIG return codes (libgpg-error codes) and the step of OPENPGP.md §9 they stand for.
# Any code not named here is bad-signature (8 bad signature, 39 time conflict: the key is
# newer than the signature, ...).
_ERRSIG_NO_PUBLIC_KEY = 9
_ERRSIG_UNSUPPORTED = frozenset({4, 5})  # public-key algorithm, digest algorithm
_ERRSIG_CANNOT_SIGN = frozenset({1, 125})  # no valid back-signature (general error), usage

_RSA = frozenset({1, 3})
_ECDSA = 19
_EDDSA_LEGACY = 22
_ECDSA_CURVES = frozenset(
    {"nistp256", "nistp384", "nistp521", "brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1"}
)
_MIN_RSA_BITS = 2048
_REVOKED = "r"  # the validity letter of a revoked key in gpg's listing


class GnuPGVerifier:
    """Verifies OpenPGP signed messages with ``gpg`` against a fixed set of keys.

    ``key_files`` are the raw contents of keyring files. The keys are imported into a
    private temporary GnuPG home, removed by :meth:`close`, by leaving a ``with`` block,
    or when the object is collected.
    """

    def __init__(self, key_files: Sequence[bytes], *, gpg_binary: str = "gpg") -> None:
        try:
            self._gpg = IsolatedGnuPG(gpg_binary)
        except GnuPGUnavailableError as exc:
            raise InputError(f"{exc}: install gnupg") from None
        try:
            for index, data in enumerate(key_files, start=1):
                self._import(index, data)
            self._keys = self._list()
        except BaseException:
            self._gpg.close()
            raise
        self._by_key_id = {key.fingerprint[-16:]: key for key in self._keys.values()}
        self._fingerprints = frozenset(
            key.primary
            for key in self._keys.values()
            if key.fingerprint == key.primary and _usable_material(key)
        )

    @property
    def fingerprints(self) -> frozenset[str]:
        """Primary fingerprints (uppercase 40-hex) of the imported keys sigpolicy can use."""
        return self._fingerprints

    def close(self) -> None:
        """Remove the private GnuPG home. Idempotent."""
        self._gpg.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def verify_message(self, blob: bytes, *, now: int) -> AuthenticatedMessage:
        """Authenticate ``blob`` at ``now``; raise :class:`VerificationError` otherwise."""
        message = parse_message(blob)  # steps 1-4: shared grammar
        _check_packet_policy(message)  # steps 5-7: shared packet policy
        try:
            output = self._gpg.decrypt(blob, now=now)
        except GnuPGUnavailableError as exc:
            raise InputError(f"gpg could not be run: {exc}") from None
        if output.returncode < 0:
            raise VerificationError(Reason.MALFORMED, "gpg was killed while verifying")
        try:
            report = read_status(output.status)
        except StatusFormatError as exc:
            raise VerificationError(Reason.MALFORMED, f"unreadable gpg status: {exc}") from None
        if len(report.signatures) != 1:
            raise VerificationError(Reason.MALFORMED, _not_one_signature(report))
        authenticated, primary = self._judge(report.signatures[0], message, now)  # steps 8-16
        if output.stdout != message.data:
            raise VerificationError(
                Reason.MALFORMED, "gpg and the message parser disagree on the signed data"
            )
        return AuthenticatedMessage(  # step 17
            payload=output.stdout,
            signer=authenticated.primary,
            signing_key=authenticated.fingerprint,
            key_id="0x" + authenticated.fingerprint[-16:].lower(),
            created=message.signature.created,
            user_id=authenticated.user_id,
            valid_until=earliest(
                message.signature.expires_at, authenticated.expires, primary.expires
            ),
        )

    # --- steps 8-16: gpg's verdict, in the native verifier's order -------------------------

    def _judge(
        self, sig: SignatureReport, message: ParsedMessage, now: int
    ) -> tuple[ListedKey, ListedKey]:
        """Steps 8-16 for the one signature gpg reported on; returns the signing key and its
        primary."""
        key = self._authenticate(sig, message)  # steps 8-10
        valid, primary = self._validsig(sig, key, message)
        _check_semantics(message)  # step 11
        _check_times(valid, key, now)  # step 12
        _check_key_state(sig, key, primary, valid)  # steps 13-16
        return key, primary

    def _authenticate(self, sig: SignatureReport, message: ParsedMessage) -> ListedKey:
        """Steps 8-10: the key, its usability, the quick check and gpg's cryptography."""
        result = sig.result
        if result is None:
            raise VerificationError(Reason.MALFORMED, "gpg gave no single verdict")
        errsig = sig.errsig if result == "ERRSIG" else None
        key = self._signing_key(sig)
        if key is None or (errsig is not None and errsig.rc == _ERRSIG_NO_PUBLIC_KEY):
            raise VerificationError(
                Reason.UNKNOWN_KEY, f"key {sig.key_id} is not in the trusted keys"
            )
        _check_usable(key, message)
        if errsig is not None and errsig.rc in _ERRSIG_UNSUPPORTED:
            raise VerificationError(
                Reason.UNSUPPORTED,
                f"gpg cannot check this signature by key {key.fingerprint} (error {errsig.rc})",
            )
        if not _quick_check(message):  # gpg no longer compares the 16-bit digest prefix
            raise VerificationError(Reason.BAD_SIGNATURE, "the signature does not match the data")
        if errsig is not None:
            if errsig.rc in _ERRSIG_CANNOT_SIGN:  # step 14, which gpg checks before step 10
                raise VerificationError(
                    Reason.UNKNOWN_KEY,
                    f"key {key.fingerprint} may not sign (gpg error {errsig.rc})",
                )
            raise VerificationError(
                Reason.BAD_SIGNATURE,
                f"gpg could not verify the signature by key {key.fingerprint} (error {errsig.rc})",
            )
        if result == "BADSIG":
            raise VerificationError(
                Reason.BAD_SIGNATURE, f"the signature by key {key.fingerprint} does not verify"
            )
        return key

    def _validsig(
        self, sig: SignatureReport, key: ListedKey, message: ParsedMessage
    ) -> tuple[ValidSig, ListedKey]:
        """The VALIDSIG of a verified signature, consistent with the parsed packet."""
        valid = sig.validsig
        if valid is None or valid.fingerprint != key.fingerprint:
            raise VerificationError(Reason.MALFORMED, f"gpg reported {sig.result} without VALIDSIG")
        signature = message.signature
        if (valid.sig_class, valid.hash_algo, valid.created) != (
            signature.sig_type,
            signature.hash_algo,
            signature.created,
        ):
            raise VerificationError(
                Reason.MALFORMED, "gpg and the message parser disagree on the signature"
            )
        primary = self._keys.get(valid.primary)
        if primary is None or primary.fingerprint != key.primary:
            raise VerificationError(
                Reason.UNKNOWN_KEY, f"primary key {valid.primary} is not in the trusted keys"
            )
        return valid, primary

    def _signing_key(self, sig: SignatureReport) -> ListedKey | None:
        if sig.validsig is not None:
            return self._keys.get(sig.validsig.fingerprint)
        if sig.errsig is not None and sig.errsig.fingerprint is not None:
            return self._keys.get(sig.errsig.fingerprint)
        if sig.key_id is not None:
            return self._by_key_id.get(sig.key_id)
        return None

    # --- loading keys ----------------------------------------------------------------------

    def _import(self, index: int, data: bytes) -> None:
        what = f"key file {index}"
        if len(data) > MAX_KEYFILE_BYTES:
            raise InputError(f"{what} is larger than {MAX_KEYFILE_BYTES} octets")
        if data[8:12] == _KEYBOX_MAGIC:
            raise InputError(f"{what} is a GnuPG keybox; export the keys with gpg --export")
        try:
            output = self._gpg.import_keys(data)
        except GnuPGUnavailableError as exc:
            raise InputError(f"gpg could not be run: {exc}") from None
        counts = next((value.split() for key, value in output.status if key == "IMPORT_RES"), [])
        if len(counts) <= _IMPORT_RES_SECRET_READ:
            raise InputError(f"{what} holds no OpenPGP public key")
        if counts[_IMPORT_RES_SECRET_READ] != "0":
            raise InputError(f"{what} holds a secret key; give the public key only")
        if counts[_IMPORT_RES_CONSIDERED] == "0":
            raise InputError(f"{what} holds no OpenPGP public key")
        if output.returncode != 0:
            raise InputError(f"{what} could not be read to the end by gpg")

    def _list(self) -> dict[str, ListedKey]:
        try:
            listed = self._gpg.list_keys()
        except GnuPGUnavailableError as exc:
            raise InputError(f"gpg could not be run: {exc}") from None
        return {key.fingerprint: key for key in listed}


def _not_one_signature(report: GpgReport) -> str:
    """Why gpg's report cannot be one signature's (the parser had found exactly one)."""
    count = len(report.signatures)
    if count:
        return f"gpg found {count} signatures, expected one"
    if report.encrypted:
        return "gpg found encrypted data and no signature"
    if report.nodata:
        return "gpg found no OpenPGP data"
    return "gpg found no signature"


def _check_packet_policy(message: ParsedMessage) -> None:
    """Steps 5-7, on the parsed signature packet, exactly as the native verifier."""
    signature = message.signature
    if signature.sig_type != SIG_BINARY:
        raise VerificationError(
            Reason.UNSUPPORTED,
            f"signature type {signature.sig_type:#04x} (only binary document signatures, 0x00)",
        )
    if signature.hash_algo not in DATA_HASHES:
        name = HASH_NAMES.get(signature.hash_algo, f"hash algorithm {signature.hash_algo}")
        raise VerificationError(Reason.UNSUPPORTED, f"{name} is refused for data signatures")
    try:
        issuer = signature.issuer_key_id()
    except PacketError as exc:
        raise VerificationError(Reason.MALFORMED, str(exc)) from None
    if issuer is None and message.one_pass is None:
        raise VerificationError(Reason.UNKNOWN_KEY, "the signature names no issuer key")


def _usable_material(key: ListedKey) -> bool:
    """Whether the native verifier can use this key's material (OPENPGP.md §5, §6)."""
    if key.algorithm in _RSA:
        return key.length >= _MIN_RSA_BITS
    if key.algorithm == _ECDSA:
        return key.curve in _ECDSA_CURVES
    if key.algorithm == _EDDSA_LEGACY:
        return key.curve == "ed25519"
    return False


def _check_usable(key: ListedKey, message: ParsedMessage) -> None:
    """Step 8: keys whose material the native verifier refuses are ``unsupported``."""
    if not _usable_material(key):
        curve = f" {key.curve}" if key.curve else ""
        raise VerificationError(
            Reason.UNSUPPORTED,
            f"key {key.fingerprint} (algorithm {key.algorithm}{curve}, {key.length} bits) "
            "cannot be used",
        )
    if key.algorithm == _EDDSA_LEGACY and message.signature.hash_algo == _SHA224:
        raise VerificationError(Reason.UNSUPPORTED, "Ed25519 signatures need a 256-bit hash")


def _quick_check(message: ParsedMessage) -> bool:
    """Step 9: the digest's first two octets against the signature's ``left16`` field."""
    signature = message.signature
    hasher = hashlib.new(HASHLIB_NAMES[signature.hash_algo])
    hasher.update(message.data)
    hasher.update(signature.hashed_tail)
    return hasher.digest()[:2] == signature.left16


def _check_semantics(message: ParsedMessage) -> None:
    """Step 11 (gpg itself rejects unknown critical subpackets, not intended recipients)."""
    signature = message.signature
    if signature.unknown_critical:
        raise VerificationError(
            Reason.BAD_SIGNATURE, "the signature carries an unknown critical subpacket"
        )
    if signature.intended_recipient:
        raise VerificationError(
            Reason.BAD_SIGNATURE, "the signature is only valid inside an encrypted message"
        )


def _check_times(valid: ValidSig, key: ListedKey, now: int) -> None:
    """Step 12: gpg 2.2 accepts signatures from the future; sigpolicy allows 300 s of skew."""
    if valid.created > now + CLOCK_SKEW_SECONDS:
        raise VerificationError(
            Reason.BAD_SIGNATURE, f"the signature claims a future time ({valid.created})"
        )
    if key.created > valid.created:
        raise VerificationError(Reason.BAD_SIGNATURE, "the key is newer than the signature")


def _check_key_state(
    sig: SignatureReport, key: ListedKey, primary: ListedKey, valid: ValidSig
) -> None:
    """Steps 13-16 in the native order; gpg prints EXPSIG before EXPKEYSIG before REVKEYSIG.

    gpg reports one result line, so a revoked key that also expired is only visible in the
    key listing (its revocation flag does not depend on the time) and an expired key under
    an expired signature only by its ``KEYEXPIRED`` line.
    """
    result = sig.result
    if result == "REVKEYSIG" or sig.key_revoked or _REVOKED in (key.validity, primary.validity):
        raise VerificationError(Reason.REVOKED_KEY, f"key {key.fingerprint} is revoked")
    if result == "EXPKEYSIG" or sig.key_expired:
        raise VerificationError(Reason.EXPIRED_KEY, f"key {key.fingerprint} has expired")
    if result == "EXPSIG":
        raise VerificationError(
            Reason.EXPIRED_SIGNATURE, f"the signature expired at {valid.expires}"
        )
    if result != "GOODSIG":  # pragma: no cover - every result line is handled by now
        raise VerificationError(Reason.MALFORMED, f"unexpected gpg verdict {result}")
