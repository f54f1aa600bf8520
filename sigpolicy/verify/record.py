"""What gets recorded on an ImageSignature after verification (SEMANTICS.md §5).

Rules, compatible with OpenShift's validation:

1. Trusted: ``imageIdentity`` (the signed reference), ``signedClaims`` (every signed claim as
   a string), ``created`` (the signed timestamp, else the signature's creation time),
   ``issuedBy`` (from the trust entry), ``issuedTo`` (``publicKeyID`` = ``0x`` + the signing
   key's 64-bit ID; subject from the trust entry, else the key's user ID); conditions
   ``Trusted=True`` then ``ForImage=True``, reason ``Verified``.
2. Not trusted: ``Trusted=False`` with the reason class as ``reason`` and a message a person
   can act on; ``ForImage`` True/False when the signed digest is known (authenticated),
   ``Unknown`` otherwise; ``Expired`` or ``Revoked`` added when that is the cause; every
   parsed field cleared, so nothing untrusted looks verified.
3. ``lastProbeTime`` is now; ``lastTransitionTime`` moves only when the status changes;
   conditions of other writers are kept, after ``[Trusted, ForImage]`` (OpenShift's
   validation mishandles other orders).
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Iterable

from sigpolicy.api import (
    Image,
    ImageSignature,
    SignatureCondition,
    SignatureConditionType,
    SignatureIssuer,
    SignatureSubject,
    format_timestamp,
)
from sigpolicy.reasons import Reason
from sigpolicy.verify.image import VERIFIED_REASON, ImageVerification, SignatureOutcome

TRUSTED = SignatureConditionType.TRUSTED.value
FOR_IMAGE = SignatureConditionType.FOR_IMAGE.value
EXPIRED = SignatureConditionType.EXPIRED.value
REVOKED = SignatureConditionType.REVOKED.value
_OURS = (TRUSTED, FOR_IMAGE, EXPIRED, REVOKED)
_PARSED_FIELDS = ("image_identity", "signed_claims", "created", "issued_by", "issued_to")


def record_image(
    image: Image,
    verification: ImageVerification,
    now: int,
    *,
    names: Collection[str] | None = None,
) -> Image:
    """``image`` with the outcomes of its own signatures recorded (only ``names``, if given)."""
    by_name = {o.name: o for o in verification.own() if names is None or o.name in names}
    signatures = [
        record_signature(sig, by_name[sig.name], now) if sig.name in by_name else sig
        for sig in image.signatures or ()
    ]
    return image.model_copy(update={"signatures": signatures})


def record_signature(
    signature: ImageSignature, outcome: SignatureOutcome, now: int
) -> ImageSignature:
    stamp = format_timestamp(datetime.datetime.fromtimestamp(now, datetime.UTC))
    previous = {c.type: c for c in signature.conditions or () if c.type in _OURS}
    ours = [_condition(TRUSTED, *_trusted(outcome), stamp, previous)]
    ours.append(_condition(FOR_IMAGE, *_for_image(outcome), stamp, previous))
    for kind, causes in ((EXPIRED, _EXPIRY), (REVOKED, {Reason.REVOKED_KEY})):
        if outcome.verdict.reason in causes:
            ours.append(
                _condition(
                    kind,
                    "True",
                    str(outcome.verdict.reason),
                    outcome.verdict.message,
                    stamp,
                    previous,
                )
            )
        elif kind in previous:
            ours.append(
                _condition(
                    kind,
                    "False",
                    VERIFIED_REASON if outcome.trusted else "NotTheCause",
                    "",
                    stamp,
                    previous,
                )
            )
    others = [c for c in signature.conditions or () if c.type not in _OURS]
    parsed = _parsed_fields(outcome)
    updated = signature.model_copy(update={"conditions": ours + others, **parsed})
    # Nothing untrusted may look verified; a trusted one keeps only what this run derived.
    return _cleared(updated, [name for name in _PARSED_FIELDS if name not in parsed])


_EXPIRY = {Reason.EXPIRED_KEY, Reason.EXPIRED_SIGNATURE}


def _trusted(outcome: SignatureOutcome) -> tuple[str, str, str]:
    verdict = outcome.verdict
    if verdict.trusted and outcome.signer is not None:
        signer = outcome.signer
        message = f"verified with key {signer.fingerprint} (trust entry {signer.entry})"
        return "True", VERIFIED_REASON, message
    reason = verdict.reason or Reason.POLICY_DENIED
    return "False", str(reason), f"{reason.plain}: {verdict.message}"


def _for_image(outcome: SignatureOutcome) -> tuple[str, str, str]:
    verdict = outcome.verdict
    if outcome.for_image is None:
        return (
            "Unknown",
            "NotVerified",
            "the signature is not authenticated, so its signed digest is unknown",
        )
    if not outcome.for_image:
        return "False", str(Reason.DIGEST_MISMATCH), f"signed for manifest digest {verdict.digest}"
    # On a trusted signature both conditions say "Verified"; otherwise ForImage only reports
    # that the (authenticated) signed digest is this image's.
    reason = VERIFIED_REASON if outcome.trusted else "DigestMatches"
    if outcome.via_list is not None:
        return "True", reason, f"signed for manifest list {outcome.via_list}, which contains it"
    return "True", reason, "signed for this image's manifest digest"


def _condition(
    kind: str,
    status: str,
    reason: str,
    message: str,
    stamp: str,
    previous: dict[str, SignatureCondition],
) -> SignatureCondition:
    before = previous.get(kind)
    transition = stamp
    if before is not None and before.status == status and before.last_transition_time:
        transition = before.last_transition_time
    return SignatureCondition(
        type=kind,
        status=status,
        lastProbeTime=stamp,
        lastTransitionTime=transition,
        reason=reason,
        message=message,
    )


def _parsed_fields(outcome: SignatureOutcome) -> dict[str, object]:
    verdict, signer = outcome.verdict, outcome.signer
    if not verdict.trusted or signer is None or verdict.claims is None or verdict.created is None:
        return {}
    fields: dict[str, object] = {
        "image_identity": verdict.claims.docker_reference,
        "signed_claims": verdict.claims.as_string_map(),
        "created": format_timestamp(datetime.datetime.fromtimestamp(verdict.created, datetime.UTC)),
        "issued_to": SignatureSubject(
            **_present(
                organization=signer.subject.organization,
                common_name=signer.subject.common_name,
                public_key_id=signer.public_key_id,
            )
        ),
    }
    if signer.issuer.organization or signer.issuer.common_name:
        fields["issued_by"] = SignatureIssuer(
            **_present(
                organization=signer.issuer.organization, common_name=signer.issuer.common_name
            )
        )
    return fields


def _present(**values: str | None) -> dict[str, str]:
    """Only the values that are set: an unset field is absent on the wire, not null."""
    return {name: value for name, value in values.items() if value is not None}


def _cleared(signature: ImageSignature, fields: Iterable[str]) -> ImageSignature:
    cleared = signature.model_copy(update=dict.fromkeys(fields))
    # Absent, not null: the recorded object should look as if nothing was ever parsed.
    for name in fields:
        cleared.__pydantic_fields_set__.discard(name)
    return cleared
