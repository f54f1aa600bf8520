"""Every sigstore signature containers/image's ``sigstoreSigned`` accepts, verified offline.

One cosign attachment (:class:`~sigpolicy.signature.envelope.SigstoreSignature`) against
one :class:`SigstoreTrust`, which holds exactly one root of trust, as containers/image
(``signature/policy_eval_sigstore.go``):

- ``keys``: public keys; with ``rekor_keys`` the signature must also be in a Rekor log;
- ``fulcio``: a Fulcio certificate with the required OIDC issuer and subject, which needs
  ``rekor_keys`` (the SET's integrated time is when the certificate must be valid);
- ``pki``: a certificate of the organisation's own CAs, valid now (no Rekor).

The trust rules, in order; the first failure decides the reason (all checks of one step are
in the module named):

1. The attachment's mime type is the simple-signing one (else ``unsigned``: another kind of
   attachment), and it has the ``dev.cosignproject.cosign/signature`` annotation
   (``unsigned``), base64 as Go reads it (``malformed``).
2. The signing key:

   a. ``keys`` without Rekor: each trusted key is a candidate.
   b. ``keys`` with Rekor: the ``dev.sigstore.cosign/bundle`` annotation (else
      ``unknown-key``) is a SET that one trusted log key signed, over an entry that names
      one of the trusted keys, this signature and this payload
      (:mod:`~sigpolicy.signature.rekor_set`); that key is the candidate.
   c. ``fulcio``: the bundle and ``dev.sigstore.cosign/certificate`` (else ``unknown-key``)
      annotations; the SET verifies as in 2b for the certificate; the certificate chains to
      a Fulcio CA at the SET's integrated time and names the required issuer and subject
      (:mod:`~sigpolicy.signature.fulcio`); its key is the candidate.
   d. ``pki``: the certificate annotation; it chains to the PKI's roots now and names the
      required email and/or hostname (:mod:`~sigpolicy.signature.pki`).
3. A candidate verifies the signature over the exact payload bytes (``bad-signature``):
   ECDSA over SHA-256 whatever the curve, RSA PKCS #1 v1.5 with SHA-256, Ed25519 pure, as
   sigstore's ``LoadVerifier(key, SHA256)``.
4. Only then is the payload parsed (``invalid-payload``), its digest checked
   (``digest-mismatch``) and its identity (``identity-mismatch``), as for key-based cosign.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature._gobase64 import Base64Error, go_b64decode
from sigpolicy.signature.cosign import (
    SIMPLE_SIGNING_MIME_TYPE,
    CosignKeySet,
    DigestMatcher,
    IdentityMatcher,
)
from sigpolicy.signature.envelope import SIGNATURE_ANNOTATION, SigstoreSignature
from sigpolicy.signature.fulcio import (
    CertificateIdentity,
    FulcioRequirement,
    TextPattern,
    read_certificate,
    verify_fulcio,
)
from sigpolicy.signature.payload import COSIGN_TYPE, SignedClaims, parse_payload
from sigpolicy.signature.pki import PKIRequirement, verify_pki
from sigpolicy.signature.rekor_set import RekorEntry, verify_rekor_set
from sigpolicy.signature.sigstore_roots import RekorKey
from sigpolicy.signature.verdict import Verdict

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
    from cryptography.x509 import Certificate

__all__ = [
    "BUNDLE_ANNOTATION",
    "CERTIFICATE_ANNOTATION",
    "CHAIN_ANNOTATION",
    "FulcioRequirement",
    "PKIRequirement",
    "SigstoreAuthenticated",
    "SigstoreTrust",
    "SigstoreVerdict",
    "TextPattern",
    "authenticate_sigstore",
    "explain_sigstore",
    "verify_sigstore",
]

CERTIFICATE_ANNOTATION: Final = "dev.sigstore.cosign/certificate"
CHAIN_ANNOTATION: Final = "dev.sigstore.cosign/chain"
BUNDLE_ANNOTATION: Final = "dev.sigstore.cosign/bundle"


@dataclass(frozen=True)
class SigstoreTrust:
    """One ``sigstoreSigned`` root of trust: exactly one of ``keys``, ``fulcio``, ``pki``;
    a non-empty ``rekor_keys`` requires a valid SET (and ``fulcio`` requires one)."""

    keys: CosignKeySet | None = None
    fulcio: FulcioRequirement | None = None
    pki: PKIRequirement | None = None
    rekor_keys: tuple[RekorKey, ...] = ()

    def __post_init__(self) -> None:
        given = sum(x is not None for x in (self.keys, self.fulcio, self.pki))
        if given != 1:
            raise ValueError("exactly one of keys, fulcio and pki is required")
        if self.fulcio is not None and not self.rekor_keys:
            raise ValueError("fulcio needs at least one Rekor key")
        if self.pki is not None and self.rekor_keys:
            raise ValueError("Rekor keys are not supported with pki")


class SigstoreAuthenticated:
    """A signature whose signer is established (rules 1-3); the payload is not parsed yet.

    ``signer`` is the key's fingerprint (``SHA256:...``) for keys, the certificate's first
    email or URI for Fulcio and PKI; ``entry`` is the verified Rekor entry, if any.
    """

    __slots__ = ("entry", "identity", "mode", "payload", "public_key", "signer")

    def __init__(
        self,
        mode: str,
        signer: str,
        public_key: PublicKeyTypes,
        payload: bytes,
        entry: RekorEntry | None = None,
        identity: CertificateIdentity | None = None,
    ) -> None:
        self.mode: Final = mode
        self.signer: Final = signer
        self.public_key: Final = public_key
        self.payload: Final = payload
        self.entry: Final = entry
        self.identity: Final = identity

    @property
    def certificate(self) -> Certificate | None:
        return self.identity.certificate if self.identity is not None else None

    @property
    def issuer(self) -> str | None:
        return self.identity.issuer if self.identity is not None else None

    @property
    def valid_until(self) -> int | None:
        """For caches: a PKI certificate stops vouching when it expires (Fulcio's and keys'
        answers do not depend on the time of the decision)."""
        if self.mode == "pki" and self.identity is not None:
            return int(self.identity.certificate.not_valid_after_utc.timestamp())
        return None


class SigstoreVerdict(Verdict[SigstoreAuthenticated]):
    """The explained outcome for one sigstore signature (see :class:`Verdict`)."""

    __slots__ = ()


def authenticate_sigstore(
    sig: SigstoreSignature, trust: SigstoreTrust, *, now: int
) -> SigstoreAuthenticated:
    """Rules 1-3; raise VerificationError."""
    if sig.mime_type != SIMPLE_SIGNING_MIME_TYPE:  # 1
        raise VerificationError(
            Reason.UNSIGNED,
            f"a sigstore attachment of type {sig.mime_type[:40]!r}: not a signature",
        )
    encoded = sig.annotations.get(SIGNATURE_ANNOTATION)
    if encoded is None:
        raise VerificationError(
            Reason.UNSIGNED, f"the attachment has no {SIGNATURE_ANNOTATION} annotation"
        )
    try:
        signature = go_b64decode(encoded)
    except Base64Error:
        raise VerificationError(
            Reason.MALFORMED, f"the {SIGNATURE_ANNOTATION} annotation is not base64"
        ) from None
    if trust.keys is not None:  # 2a, 2b
        return _by_key(sig, trust.keys, trust.rekor_keys, signature)
    certificate_pem = _required(sig, CERTIFICATE_ANNOTATION, "a certificate")
    leaf, offered = read_certificate(certificate_pem, sig.annotations.get(CHAIN_ANNOTATION))
    entry: RekorEntry | None = None
    if trust.fulcio is not None:  # 2c
        bundle = _required(sig, BUNDLE_ANNOTATION, "a Rekor SET")
        entry = verify_rekor_set(
            trust.rekor_keys,
            bundle,
            key_or_cert_der=leaf.public_bytes(Encoding.DER),
            signature=signature,
            payload=sig.payload,
        )
        identity = verify_fulcio(trust.fulcio, leaf, offered, entry.integrated_time)
        mode = "fulcio"
    else:  # 2d
        assert trust.pki is not None  # noqa: S101 - SigstoreTrust holds exactly one
        identity = verify_pki(trust.pki, leaf, offered, now)
        mode = "pki"
    public_key = leaf.public_key()
    if not _verifies(public_key, signature, sig.payload):  # 3
        raise VerificationError(
            Reason.BAD_SIGNATURE,
            "the signature does not verify with the certificate's key (altered, or made by"
            " another key)",
        )
    return SigstoreAuthenticated(mode, identity.subject, public_key, sig.payload, entry, identity)


def verify_sigstore(
    sig: SigstoreSignature,
    trust: SigstoreTrust,
    *,
    digest: DigestMatcher,
    identity: IdentityMatcher,
    now: int,
) -> tuple[SigstoreAuthenticated, SignedClaims]:
    """Rules 1-4; raise VerificationError with the first failure's reason."""
    authenticated = authenticate_sigstore(sig, trust, now=now)
    claims = parse_payload(authenticated.payload, expected_type=COSIGN_TYPE)  # 4
    _check_claims(claims, digest, identity)
    return authenticated, claims


def explain_sigstore(
    signature: SigstoreSignature,
    trust: SigstoreTrust,
    *,
    digest: DigestMatcher,
    identity: IdentityMatcher,
    now: int,
) -> SigstoreVerdict:
    """Rules 1-4, returning the verdict instead of raising. ``now`` is the decision's time
    (unix seconds), used by PKI only: Fulcio certificates are judged at the Rekor time."""
    authenticated: SigstoreAuthenticated | None = None
    claims: SignedClaims | None = None
    try:
        authenticated = authenticate_sigstore(signature, trust, now=now)
        claims = parse_payload(authenticated.payload, expected_type=COSIGN_TYPE)
        _check_claims(claims, digest, identity)
    except VerificationError as exc:
        return _verdict(exc.reason, exc.message, authenticated, claims)
    assert authenticated is not None  # noqa: S101 - set when nothing raised
    return _verdict(None, _described(authenticated, claims), authenticated, claims)


def _required(sig: SigstoreSignature, annotation: str, what: str) -> str:
    value = sig.annotations.get(annotation)
    if value is None:
        raise VerificationError(
            Reason.UNKNOWN_KEY,
            f"the signature has no {annotation} annotation: {what} is required by the policy",
        )
    return value


def _by_key(
    sig: SigstoreSignature,
    keys: CosignKeySet,
    rekor_keys: tuple[RekorKey, ...],
    signature: bytes,
) -> SigstoreAuthenticated:
    candidates = keys.keys
    entry: RekorEntry | None = None
    if rekor_keys:  # 2b
        bundle = _required(sig, BUNDLE_ANNOTATION, "a Rekor SET")
        failures: list[VerificationError] = []
        for key in keys.keys:
            try:
                entry = verify_rekor_set(
                    rekor_keys,
                    bundle,
                    key_or_cert_der=key.public_key.public_bytes(
                        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
                    ),
                    signature=signature,
                    payload=sig.payload,
                )
            except VerificationError as exc:
                failures.append(exc)
                continue
            # A SET names one key: the others either do not match or are the same key.
            candidates = (key,)
            break
        else:
            first = failures[0]
            raise VerificationError(
                first.reason,
                f"the Rekor SET matches none of the {len(keys)} trusted key"
                f"{'s' * (len(keys) != 1)}: {first.message}",
            )
    for key in candidates:  # 3
        if _verifies(key.public_key, signature, sig.payload):
            return SigstoreAuthenticated("key", key.fingerprint, key.public_key, sig.payload, entry)
    count = len(candidates)
    raise VerificationError(
        Reason.BAD_SIGNATURE,
        f"the signature does not verify with the {count} trusted key{'s' * (count != 1)}"
        " (made by another key, or altered)",
    )


def _verifies(public_key: PublicKeyTypes, signature: bytes, payload: bytes) -> bool:
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, payload)
        else:
            return False
    except InvalidSignature:
        return False
    except Exception:
        # Fail closed (STYLE.md 5): whatever else a hostile signature makes it raise.
        return False
    return True


def _check_claims(claims: SignedClaims, digest: DigestMatcher, identity: IdentityMatcher) -> None:
    digest.check(claims.docker_manifest_digest)
    if not identity.matches(claims.docker_reference):
        raise VerificationError(
            Reason.IDENTITY_MISMATCH,
            f"signed for {claims.docker_reference!r}, expected {identity.describe()}",
        )


def _described(authenticated: SigstoreAuthenticated, claims: SignedClaims | None) -> str:
    who = authenticated.signer
    if authenticated.mode == "fulcio":
        who = f"{who} (OIDC issuer {authenticated.issuer})"
    elif authenticated.mode == "pki":
        who = f"{who} (PKI certificate)"
    logged = ""
    if authenticated.entry is not None:
        logged = f", logged at Rekor index {authenticated.entry.log_index}"
    target = claims.docker_reference if claims is not None else "?"
    return f"signed by {who} for {target}{logged}"


def _verdict(
    reason: Reason | None,
    text: str,
    authenticated: SigstoreAuthenticated | None,
    claims: SignedClaims | None,
) -> SigstoreVerdict:
    """Trusted without a reason; the signer is reported once authenticated, claims once
    parsed (never before)."""
    created = None
    if authenticated is not None and authenticated.entry is not None:
        created = authenticated.entry.integrated_time
    elif claims is not None:
        created = claims.timestamp
    return SigstoreVerdict(
        reason is None,
        reason,
        text,
        signer=authenticated.signer if authenticated is not None else None,
        identity=claims.docker_reference if claims is not None else None,
        digest=claims.docker_manifest_digest if claims is not None else None,
        created=created,
        claims=claims,
        authenticated=authenticated,
    )


def fingerprint_of(public_key: PublicKeyTypes) -> str:
    """``SHA256:`` and the hex SHA-256 of the DER SubjectPublicKeyInfo, as cosign keys are
    named."""
    der = public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + hashlib.sha256(der).hexdigest()
