"""Verifying one simple-signing blob for one image.

The trust rules, in order (the first failure decides the reason class):

1. The blob is an OpenPGP signed message by a trusted, valid key (the backend).
2. Only then is the payload parsed, strictly (``invalid-payload``).
3. The signed manifest digest is the image's (``digest-mismatch``; ``invalid-manifest``
   when the manifest cannot be digested).
4. The signed identity is what the caller expects (``identity-mismatch``).

:func:`verify_blob` raises :class:`VerificationError`; :func:`explain_blob` returns a
:class:`SignatureVerdict` for callers that must say why (the CLI, the webhook).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.message import AuthenticatedMessage, MessageVerifier
from sigpolicy.signature.payload import ATOMIC_TYPE, SignedClaims, parse_payload
from sigpolicy.verify.checks import DigestCheck, IdentityCheck


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """A signature that passed every check, with what it proves."""

    signer: str
    signing_key: str
    key_id: str
    user_id: str | None
    signature_created: int
    claims: SignedClaims

    @property
    def created(self) -> int:
        """The signed timestamp, else the signature's creation time."""
        if self.claims.timestamp is not None:
            return self.claims.timestamp
        return self.signature_created


@dataclass(frozen=True, slots=True)
class SignatureVerdict:
    """The explained outcome for one signature. Deliberately has no truth value.

    ``signer``, ``key_id``, ``identity`` and ``digest`` are set only once the signature is
    authenticated (and the payload parsed, for the last two): nothing from an unverified
    signature is reported as if it meant something.
    """

    trusted: bool
    reason: Reason | None
    message: str
    signer: str | None = None
    key_id: str | None = None
    identity: str | None = None
    digest: str | None = None
    created: int | None = None
    claims: SignedClaims | None = None
    authenticated: AuthenticatedMessage | None = None


def verify_blob(
    blob: bytes,
    verifier: MessageVerifier,
    *,
    digest: DigestCheck,
    identity: IdentityCheck,
    now: int,
    payload_type: str = ATOMIC_TYPE,
) -> VerifiedSignature:
    message = verifier.verify_message(blob, now=now)  # 1
    claims = parse_payload(message.payload, expected_type=payload_type)  # 2
    return _check_claims(message, claims, digest, identity)  # 3, 4


def _check_claims(
    message: AuthenticatedMessage,
    claims: SignedClaims,
    digest: DigestCheck,
    identity: IdentityCheck,
) -> VerifiedSignature:
    digest.check(claims.docker_manifest_digest)
    if not identity.matches(claims.docker_reference):
        raise VerificationError(
            Reason.IDENTITY_MISMATCH,
            f"signed for {claims.docker_reference!r}, expected {identity.describe()}",
        )
    return VerifiedSignature(
        signer=message.signer,
        signing_key=message.signing_key,
        key_id=message.key_id,
        user_id=message.user_id,
        signature_created=message.created,
        claims=claims,
    )


def explain_blob(
    blob: bytes,
    verifier: MessageVerifier,
    *,
    digest: DigestCheck,
    identity: IdentityCheck,
    now: int,
    payload_type: str = ATOMIC_TYPE,
) -> SignatureVerdict:
    verdict = SignatureVerdict(False, None, "")
    try:
        message = verifier.verify_message(blob, now=now)
        verdict = replace(
            verdict,
            signer=message.signer,
            key_id=message.key_id,
            created=message.created,
            authenticated=message,
        )
        claims = parse_payload(message.payload, expected_type=payload_type)
        verdict = replace(
            verdict,
            identity=claims.docker_reference,
            digest=claims.docker_manifest_digest,
            claims=claims,
            created=claims.timestamp if claims.timestamp is not None else message.created,
        )
        verified = _check_claims(message, claims, digest, identity)
    except VerificationError as exc:
        return replace(verdict, reason=exc.reason, message=exc.message)
    return replace(
        verdict,
        trusted=True,
        message=f"signed by {verified.signer} for {claims.docker_reference}",
    )
