"""Verifying an Image's ImageSignatures against the trust store (pure: objects in, outcomes out).

For each ImageSignature of the Image, in order (the first failure decides):

1. Its ``type`` is ``atomic`` or ``AtomicImageV1``; any other type is ``unsupported``,
   never trusted.
2. ``content`` is a simple-signing blob by a key of the trust store
   (:func:`sigpolicy.verify.simple.explain_blob`: authentication, strict payload).
3. The signed digest is the Image's name, or the digest of a manifest list that contains
   the Image (the outcome says which list).
4. The signed identity satisfies the expected identity (a SEMANTICS.md §3 rule).
5. Where the object already declares ``issuedBy``, ``issuedTo`` or ``issuedTo.publicKeyID``
   (and they were not recorded by sigpolicy itself), they agree with the verified signer
   and its trust entry: otherwise ``claims-mismatch``.

The time is taken once by the caller and passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sigpolicy.api import Image, ImageSignature, SignatureConditionType
from sigpolicy.errors import InputError, VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.reference.digest import Digest, parse_digest
from sigpolicy.signature.backends import Backend
from sigpolicy.signature.message import MessageVerifier
from sigpolicy.trust import TrustedSigner, TrustStore
from sigpolicy.verify.checks import IdentityCheck, ImageDigest
from sigpolicy.verify.simple import SignatureVerdict, explain_blob

SUPPORTED_TYPES = frozenset({"atomic", "AtomicImageV1"})
# The reason sigpolicy writes on Trusted=True; declared fields next to it are our own record.
VERIFIED_REASON = "Verified"


@dataclass(frozen=True, slots=True)
class SignatureOutcome:
    """The verdict on one ImageSignature, with what recording it needs."""

    name: str
    holder: str
    verdict: SignatureVerdict
    for_image: bool | None
    via_list: str | None = None
    signer: TrustedSigner | None = None

    @property
    def trusted(self) -> bool:
        return self.verdict.trusted


@dataclass(frozen=True, slots=True)
class ImageVerification:
    """Every signature of an Image (and of the manifest lists that contain it)."""

    image: str
    expected: str
    outcomes: tuple[SignatureOutcome, ...]

    @property
    def trusted(self) -> tuple[SignatureOutcome, ...]:
        return tuple(o for o in self.outcomes if o.verdict.trusted)

    def own(self) -> tuple[SignatureOutcome, ...]:
        """Outcomes of the signatures stored on the Image itself (the ones to record)."""
        return tuple(o for o in self.outcomes if o.holder == self.image)


def verify_image(
    image: Image,
    trust: TrustStore,
    identity: IdentityCheck,
    *,
    now: int,
    lists: Sequence[Image] = (),
    backend: Backend = "native",
) -> ImageVerification:
    """Verify every signature of ``image``; ``lists`` are manifest lists that contain it."""
    name = _image_name(image)
    digest_check = ImageDigest(
        _digest_of(name), tuple(_digest_of(_image_name(lst)) for lst in lists)
    )
    verifier = trust.verifier(backend)
    outcomes = []
    for holder in (image, *lists):
        for signature in holder.signatures or ():
            outcomes.append(
                _verify_one(
                    signature, _image_name(holder), trust, verifier, digest_check, identity, now
                )
            )
    return ImageVerification(name, identity.describe(), tuple(outcomes))


def _verify_one(
    signature: ImageSignature,
    holder: str,
    trust: TrustStore,
    verifier: MessageVerifier,
    digest: ImageDigest,
    identity: IdentityCheck,
    now: int,
) -> SignatureOutcome:
    name = signature.name or "(unnamed)"
    if signature.type not in SUPPORTED_TYPES:  # 1
        verdict = SignatureVerdict(
            False,
            Reason.UNSUPPORTED,
            f"signature type {signature.type!r} is not supported (atomic, AtomicImageV1)",
        )
        return SignatureOutcome(name, holder, verdict, for_image=None)
    verdict = explain_blob(  # 2, 3, 4
        signature.content,
        verifier,
        digest=digest,
        identity=identity,
        now=now,
    )
    for_image, via_list = _for_image(verdict, digest)
    signer: TrustedSigner | None = None
    if verdict.authenticated is not None:
        try:
            signer = trust.signer_entry(verdict.authenticated)
        except VerificationError as exc:
            verdict = verdict.rejected(exc.reason, exc.message)
    if verdict.trusted and signer is not None:
        mismatch = declared_claims_mismatch(signature, signer)  # 5
        if mismatch is not None:
            verdict = verdict.rejected(Reason.CLAIMS_MISMATCH, mismatch)
    return SignatureOutcome(name, holder, verdict, for_image, via_list, signer)


def _for_image(verdict: SignatureVerdict, digest: ImageDigest) -> tuple[bool | None, str | None]:
    """Whether the signed digest is this image's; None when the digest is not believable."""
    if verdict.digest is None:
        return None, None
    try:
        via = digest.matched_list(verdict.digest)
    except VerificationError:
        return False, None
    return True, None if via is None else str(via)


def declared_claims_mismatch(signature: ImageSignature, signer: TrustedSigner) -> str | None:
    """Why the object's declared issuer, subject or key contradicts the verified signer.

    A declared value passes when it equals the trust entry's (the subject falls back to the
    key's user ID), or, for ``issuedBy.commonName``, when it names the signing key by key ID
    or fingerprint, as ``oc adm verify-image-signature --save`` records it. Values next to a
    ``Trusted=True`` condition with reason ``Verified`` are sigpolicy's own earlier record:
    they are rewritten, not held against the signature (the trust entry may have changed).
    """
    trusted = signature.condition(SignatureConditionType.TRUSTED)
    if trusted is not None and trusted.status == "True" and trusted.reason == VERIFIED_REASON:
        return None
    issued_by, issued_to = signature.issued_by, signature.issued_to
    declared_key = issued_to.public_key_id if issued_to is not None else None
    if declared_key and not signer.matches_public_key_id(declared_key):
        return f"declared publicKeyID {declared_key} is not the signing key {signer.public_key_id}"
    declared = (
        ("issuedBy.organization", issued_by and issued_by.organization, signer.issuer.organization),
        ("issuedBy.commonName", issued_by and issued_by.common_name, signer.issuer.common_name),
        (
            "issuedTo.organization",
            issued_to and issued_to.organization,
            signer.subject.organization,
        ),
        ("issuedTo.commonName", issued_to and issued_to.common_name, signer.subject.common_name),
    )
    for field, value, expected in declared:
        if not value or value == expected:
            continue
        if field == "issuedBy.commonName" and signer.matches_public_key_id(value):
            continue
        return (
            f"declared {field} {value!r} contradicts the verified signer {signer.fingerprint}"
            f" (trust entry {signer.entry}: {expected!r})"
        )
    return None


def _image_name(image: Image) -> str:
    if image.metadata is None or not image.metadata.name:
        raise InputError("an Image without metadata.name cannot be verified")
    return image.metadata.name


def _digest_of(name: str) -> Digest:
    try:
        return parse_digest(name)
    except InputError:
        raise InputError(f"Image {name!r}: the name is not a manifest digest") from None
