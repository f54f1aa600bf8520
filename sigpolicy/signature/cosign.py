"""Cosign key-based signatures, verified offline (SEMANTICS.md §1, §7).

A cosign signature is an attachment (:class:`~sigpolicy.signature.envelope.SigstoreSignature`):
the payload bytes, and the ``dev.cosignproject.cosign/signature`` annotation holding a
base64 signature over them. The trust rules, in order; the first failure decides the reason:

1. The attachment's mime type is ``application/vnd.dev.cosign.simplesigning.v1+json``;
   anything else is another kind of attachment, not a signature (``unsigned``), as
   containers/image counts it among the "sigstore non-signature attachments".
2. It has the signature annotation (``unsigned``), in standard base64 (``malformed``).
3. One of the trusted keys verifies it over the exact payload bytes, trying each key of the
   set in order (the set is bounded by :data:`MAX_KEYS`); none: ``bad-signature``. Without a
   key hint in the signature, "made by another key" and "altered" cannot be told apart.
   How each key type verifies is sigstore's ``LoadVerifier(key, SHA256)``, which
   containers/image uses:

   - ECDSA (P-256, P-384, P-521): a DER ``(r, s)`` signature over SHA-256 of the payload,
     whatever the curve (containers/image hard-codes SHA-256);
   - RSA (2048 to 16384 bits): PKCS #1 v1.5 with SHA-256;
   - Ed25519: pure Ed25519 over the payload itself (no pre-hash).
4. Only then is the payload parsed, strictly, as the cosign variant of the simple-signing
   payload (:func:`~sigpolicy.signature.payload.parse_payload`): ``invalid-payload``.
5. The signed manifest digest is the image's (the caller's digest check:
   ``digest-mismatch``, or ``invalid-manifest`` when the manifest cannot be digested).
6. The signed identity satisfies the caller's identity check (``identity-mismatch``). Cosign's
   CLI signs the repository without a tag, so only rules that accept a name-only signed
   reference (``matchRepository``, ``exactRepository``) accept its signatures.

The other annotations (``dev.sigstore.cosign/bundle`` with the Rekor SET,
``/certificate`` and ``/chain`` for Fulcio or PKI) are ignored here: key-based verification
does not need them, as with containers/image when the policy names no Rekor key. A policy
that requires a transparency-log entry or a certificate must not be satisfied by this module
alone (those checks are not implemented yet).

Keys (:class:`CosignKeySet`) come from PEM files holding one or more ``PUBLIC KEY``
(SubjectPublicKeyInfo) blocks. A key is named by its fingerprint: ``SHA256:`` and 64
lowercase hex digits, the SHA-256 of its DER SubjectPublicKeyInfo re-encoded by
``cryptography`` (so one key has one fingerprint however its file encoded it). Cosign keys
have no short key ID: verdicts carry ``key_id=None``.

The digest and identity checks of :mod:`sigpolicy.verify.checks` satisfy
:class:`DigestMatcher` and :class:`IdentityMatcher`; this layer may not import them.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)

from sigpolicy.errors import InputError, VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.envelope import SigstoreSignature
from sigpolicy.signature.payload import COSIGN_TYPE, SignedClaims, parse_payload
from sigpolicy.signature.verdict import Verdict

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

#: The mime type of a cosign signature layer (cosign ``types.SimpleSigningMediaType``).
SIMPLE_SIGNING_MIME_TYPE: Final = "application/vnd.dev.cosign.simplesigning.v1+json"
#: The most keys one set may hold: each signature may be tried against all of them.
MAX_KEYS: Final = 64
#: The biggest PEM key file read (64 keys of RSA-16384 fit).
MAX_KEY_FILE: Final = 256 * 1024

_MIN_RSA_BITS: Final = 2048
# RSA verification time grows with the modulus; 16384 bits bounds it (cosign makes 4096).
_MAX_RSA_BITS: Final = 16384
_CURVES: Final[dict[str, str]] = {
    "secp256r1": "ecdsa-p256",
    "secp384r1": "ecdsa-p384",
    "secp521r1": "ecdsa-p521",
}
_PEM_BEGIN: Final = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")
_MAX_SHOWN: Final = 40


class DigestMatcher(Protocol):
    """What :class:`sigpolicy.verify.checks.DigestCheck` offers (rule 5)."""

    def check(self, signed_digest: str) -> None: ...


class IdentityMatcher(Protocol):
    """What :class:`sigpolicy.verify.checks.IdentityCheck` offers (rule 6)."""

    def matches(self, signed_reference: str) -> bool: ...

    def describe(self) -> str: ...


# Plain classes, not dataclasses or NamedTuples: generating their code at import would slow
# down the start-up of the one-shot ``sigpolicy verify``. ``Final`` keeps fields read-only.
class CosignKey:
    """One trusted public key; build it with :meth:`CosignKeySet.from_files`."""

    __slots__ = ("algorithm", "fingerprint", "public_key", "source")

    def __init__(
        self,
        public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey,
        algorithm: str,
        fingerprint: str,
        source: str,
    ) -> None:
        self.public_key: Final = public_key
        #: ``ecdsa-p256``, ``ecdsa-p384``, ``ecdsa-p521``, ``rsa-<bits>`` or ``ed25519``.
        self.algorithm: Final = algorithm
        #: ``SHA256:`` + hex of the SHA-256 of the DER SubjectPublicKeyInfo.
        self.fingerprint: Final = fingerprint
        #: The file it came from, for messages.
        self.source: Final = source

    def __repr__(self) -> str:
        return f"CosignKey({self.algorithm}, {self.fingerprint})"

    def verifies(self, signature: bytes, payload: bytes) -> bool:
        """Whether ``signature`` over ``payload`` verifies with this key (rule 3)."""
        key = self.public_key
        try:
            if isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
            elif isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
            else:
                key.verify(signature, payload)
        except InvalidSignature:
            return False
        except Exception:
            # Fail closed (STYLE.md 5): whatever else a hostile signature makes the
            # primitive raise, it did not verify.
            return False
        return True


class CosignKeySet:
    """An immutable, non-empty set of trusted cosign public keys, in file order.

    A key present twice (in two files, or twice in one) counts once.
    """

    __slots__ = ("keys",)

    def __init__(self, keys: Iterable[CosignKey]) -> None:
        unique: dict[str, CosignKey] = {}
        for key in keys:
            unique.setdefault(key.fingerprint, key)
        if not unique:
            raise InputError("no cosign public keys")
        if len(unique) > MAX_KEYS:
            raise InputError(f"{len(unique)} cosign public keys, more than the {MAX_KEYS} allowed")
        self.keys: Final = tuple(unique.values())

    @classmethod
    def from_files(cls, files: Sequence[tuple[str, bytes]]) -> CosignKeySet:
        """Load ``(name, content)`` PEM files; ``name`` only appears in error messages.

        Raises :class:`InputError` (one line, naming the file) for a file that is not PEM,
        holds anything but ``PUBLIC KEY`` blocks, or a key that is refused: not ECDSA on
        P-256/P-384/P-521, RSA of 2048 to 16384 bits, or Ed25519.
        """
        keys: list[CosignKey] = []
        for name, data in files:
            keys.extend(_read_pem_keys(name, data))
        return cls(keys)

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(key.fingerprint for key in self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        return f"CosignKeySet({', '.join(key.fingerprint for key in self.keys)})"


class CosignAuthenticated:
    """An attachment whose signature verified (rules 1-3); the payload is not parsed yet."""

    __slots__ = ("key", "payload")

    def __init__(self, payload: bytes, key: CosignKey) -> None:
        self.payload: Final = payload
        self.key: Final = key

    @property
    def signer(self) -> str:
        return self.key.fingerprint


class VerifiedCosign:
    """A cosign signature that passed every check (rules 1-6), with what it proves."""

    __slots__ = ("claims", "key")

    def __init__(self, key: CosignKey, claims: SignedClaims) -> None:
        self.key: Final = key
        self.claims: Final = claims

    @property
    def signer(self) -> str:
        return self.key.fingerprint

    @property
    def created(self) -> int | None:
        """The signed timestamp; cosign's CLI signs none (``"optional": null``)."""
        return self.claims.timestamp


class CosignVerdict(Verdict[CosignAuthenticated]):
    """The explained outcome for one cosign signature (see :class:`Verdict`). ``key_id`` is
    always None and ``created`` is the signed timestamp or None: cosign signatures have
    neither a key ID nor a signature time of their own."""

    __slots__ = ()


def authenticate_cosign(sig: SigstoreSignature, keys: CosignKeySet) -> CosignAuthenticated:
    """Rules 1-3: the attachment is a signature by one of ``keys``; raise VerificationError."""
    if sig.mime_type != SIMPLE_SIGNING_MIME_TYPE:  # 1
        raise VerificationError(
            Reason.UNSIGNED,
            f"a sigstore attachment of type {_shown(sig.mime_type)}: not a signature",
        )
    if sig.signature is None:  # 2
        raise VerificationError(
            Reason.UNSIGNED, "the attachment has no dev.cosignproject.cosign/signature annotation"
        )
    try:
        raw = binascii.a2b_base64(sig.signature.encode("ascii"), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error):
        raise VerificationError(
            Reason.MALFORMED, "the dev.cosignproject.cosign/signature annotation is not base64"
        ) from None
    for key in keys.keys:  # 3
        if key.verifies(raw, sig.payload):
            return CosignAuthenticated(sig.payload, key)
    count = len(keys)
    raise VerificationError(
        Reason.BAD_SIGNATURE,
        f"the signature does not verify with the {count} trusted key{'s' * (count != 1)}"
        " (made by another key, or altered)",
    )


def verify_cosign(
    sig: SigstoreSignature,
    keys: CosignKeySet,
    *,
    digest: DigestMatcher,
    identity: IdentityMatcher,
) -> VerifiedCosign:
    """Rules 1-6 for one attachment; raise VerificationError with the first failure's reason."""
    authenticated = authenticate_cosign(sig, keys)  # 1-3
    claims = parse_payload(authenticated.payload, expected_type=COSIGN_TYPE)  # 4
    _check_claims(claims, digest, identity)  # 5, 6
    return VerifiedCosign(authenticated.key, claims)


def explain_cosign(
    sig: SigstoreSignature,
    keys: CosignKeySet,
    *,
    digest: DigestMatcher,
    identity: IdentityMatcher,
) -> CosignVerdict:
    """Rules 1-6 for one attachment, returning the verdict instead of raising."""
    authenticated: CosignAuthenticated | None = None
    claims: SignedClaims | None = None
    try:
        authenticated = authenticate_cosign(sig, keys)
        claims = parse_payload(authenticated.payload, expected_type=COSIGN_TYPE)
        _check_claims(claims, digest, identity)
    except VerificationError as exc:
        return _verdict(exc.reason, exc.message, authenticated, claims)
    return _verdict(
        None,
        f"signed by {authenticated.signer} for {claims.docker_reference}",
        authenticated,
        claims,
    )


def _check_claims(claims: SignedClaims, digest: DigestMatcher, identity: IdentityMatcher) -> None:
    digest.check(claims.docker_manifest_digest)  # 5
    if not identity.matches(claims.docker_reference):  # 6
        raise VerificationError(
            Reason.IDENTITY_MISMATCH,
            f"signed for {claims.docker_reference!r}, expected {identity.describe()}",
        )


def _verdict(
    reason: Reason | None,
    text: str,
    authenticated: CosignAuthenticated | None,
    claims: SignedClaims | None,
) -> CosignVerdict:
    """Trusted without a reason; the signer is reported once authenticated, claims once parsed."""
    if authenticated is None:
        return CosignVerdict(False, reason, text)
    if claims is None:
        return CosignVerdict(
            False, reason, text, signer=authenticated.signer, authenticated=authenticated
        )
    return CosignVerdict(
        reason is None,
        reason,
        text,
        signer=authenticated.signer,
        identity=claims.docker_reference,
        digest=claims.docker_manifest_digest,
        created=claims.timestamp,
        claims=claims,
        authenticated=authenticated,
    )


# --- key files ---


def _read_pem_keys(name: str, data: bytes) -> list[CosignKey]:
    """Every ``PUBLIC KEY`` block of one PEM file; only blank lines may lie around them.

    Stricter than Go's ``pem.Decode`` (which skips any text and reads the first block only):
    a key file is trust configuration, and a stray private key, certificate or half-pasted
    block there is a mistake to report, not to work around. One pass over the lines, so a
    hostile file costs linear time.
    """
    if len(data) > MAX_KEY_FILE:
        raise InputError(f"{name}: {len(data)} bytes, over the {MAX_KEY_FILE}-byte key file limit")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise InputError(f"{name}: not a PEM public key file (not ASCII text)") from None
    keys: list[CosignKey] = []
    label: str | None = None
    body: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        where = f"{name}: PEM block {len(keys) + 1}"
        if label is None:
            if not line:
                continue
            begin = _PEM_BEGIN.fullmatch(line)
            if begin is None:
                raise InputError(f"{name}: text outside the PEM blocks")
            label, body = begin.group(1), []
            _check_label(label, where)
        elif line.startswith("-----"):
            if line != f"-----END {label}-----":
                raise InputError(f"{where}: BEGIN {label} is not closed by END {label}")
            keys.append(_load_key(_pem_body(body, where), name, where))
            label = None
        else:
            body.append(line)
    if label is not None:
        raise InputError(f"{name}: PEM block {len(keys) + 1} is not closed")
    if not keys:
        raise InputError(f"{name}: no PEM public key found")
    return keys


def _check_label(label: str, where: str) -> None:
    if label == "PUBLIC KEY":
        return
    if "PRIVATE KEY" in label:
        raise InputError(f"{where}: a private key cannot be a trusted key")
    if label.startswith("PGP "):
        raise InputError(f"{where}: an OpenPGP key, not a PEM public key")
    if label == "CERTIFICATE":
        raise InputError(f"{where}: certificates are not supported, only PUBLIC KEY blocks")
    if label == "RSA PUBLIC KEY":
        raise InputError(f"{where}: PKCS #1 RSA keys are not supported, use a PUBLIC KEY block")
    raise InputError(f"{where}: {label} is not a PUBLIC KEY block")


def _pem_body(lines: list[str], where: str) -> bytes:
    if any(":" in line for line in lines):
        # RFC 1421 headers (Proc-Type, DEK-Info) belong to encrypted private keys.
        raise InputError(f"{where}: PEM headers are not allowed in a public key")
    try:
        return binascii.a2b_base64("".join(lines).encode("ascii"), strict_mode=True)
    except binascii.Error:
        raise InputError(f"{where}: the PEM body is not valid base64") from None


def _load_key(der: bytes, source: str, where: str) -> CosignKey:
    try:
        key: PublicKeyTypes = load_der_public_key(der)
    except (ValueError, TypeError):
        raise InputError(f"{where}: not a valid SubjectPublicKeyInfo") from None
    if isinstance(key, ec.EllipticCurvePublicKey):
        algorithm = _CURVES.get(key.curve.name)
        if algorithm is None:
            raise InputError(f"{where}: ECDSA on {key.curve.name} is not supported")
    elif isinstance(key, rsa.RSAPublicKey):
        if not _MIN_RSA_BITS <= key.key_size <= _MAX_RSA_BITS:
            raise InputError(
                f"{where}: RSA keys of {key.key_size} bits are refused"
                f" ({_MIN_RSA_BITS} to {_MAX_RSA_BITS} are accepted)"
            )
        algorithm = f"rsa-{key.key_size}"
    elif isinstance(key, ed25519.Ed25519PublicKey):
        algorithm = "ed25519"
    else:
        raise InputError(
            f"{where}: {type(key).__name__} keys are not supported (ECDSA, RSA or Ed25519 only)"
        )
    spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    # `cryptography`'s hashes, not hashlib: they are loaded already (see reference/manifest).
    hasher = hashes.Hash(hashes.SHA256())
    hasher.update(spki)
    return CosignKey(key, algorithm, "SHA256:" + hasher.finalize().hex(), source)


def _shown(value: str) -> str:
    """``value`` quoted and cut short: it is untrusted and may be long or hostile."""
    if len(value) > _MAX_SHOWN:
        return repr(value[:_MAX_SHOWN])[:-1] + "...'"
    return repr(value)
