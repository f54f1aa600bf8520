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

from typing import Final

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.message import AuthenticatedMessage, MessageVerifier
from sigpolicy.signature.payload import ATOMIC_TYPE, SignedClaims, parse_payload
from sigpolicy.signature.verdict import Verdict
from sigpolicy.verify.checks import DigestCheck, IdentityCheck


# Plain classes, not dataclasses or NamedTuples: generating their code at import would slow
# down the start-up of the one-shot ``sigpolicy verify``. ``Final`` keeps fields read-only.
class VerifiedSignature:
    """A signature that passed every check, with what it proves."""

    __slots__ = ("claims", "key_id", "signature_created", "signer", "signing_key", "user_id")

    def __init__(
        self,
        signer: str,
        signing_key: str,
        key_id: str,
        user_id: str | None,
        signature_created: int,
        claims: SignedClaims,
    ) -> None:
        self.signer: Final = signer
        self.signing_key: Final = signing_key
        self.key_id: Final = key_id
        self.user_id: Final = user_id
        self.signature_created: Final = signature_created
        self.claims: Final = claims

    @property
    def created(self) -> int:
        """The signed timestamp, else the signature's creation time."""
        if self.claims.timestamp is not None:
            return self.claims.timestamp
        return self.signature_created


class SignatureVerdict(Verdict[AuthenticatedMessage]):
    """The explained outcome for one simple-signing signature (see :class:`Verdict`)."""

    __slots__ = ()


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
    message: AuthenticatedMessage | None = None
    claims: SignedClaims | None = None
    try:
        message = verifier.verify_message(blob, now=now)
        claims = parse_payload(message.payload, expected_type=payload_type)
        verified = _check_claims(message, claims, digest, identity)
    except VerificationError as exc:
        return _verdict(exc.reason, exc.message, message, claims)
    return _verdict(
        None, f"signed by {verified.signer} for {claims.docker_reference}", message, claims
    )


def _verdict(
    reason: Reason | None,
    text: str,
    message: AuthenticatedMessage | None,
    claims: SignedClaims | None,
) -> SignatureVerdict:
    """Trusted without a reason; the signer is reported once authenticated, claims once parsed."""
    if message is None:
        return SignatureVerdict(False, reason, text)
    if claims is None:
        return SignatureVerdict(
            False,
            reason,
            text,
            signer=message.signer,
            key_id=message.key_id,
            created=message.created,
            authenticated=message,
        )
    return SignatureVerdict(
        reason is None,
        reason,
        text,
        signer=message.signer,
        key_id=message.key_id,
        identity=claims.docker_reference,
        digest=claims.docker_manifest_digest,
        created=claims.timestamp if claims.timestamp is not None else message.created,
        claims=claims,
        authenticated=message,
    )
