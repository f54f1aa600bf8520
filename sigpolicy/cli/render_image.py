"""Text rendering of an Image's verification, with the conditions that were recorded."""

from __future__ import annotations

from sigpolicy.api import Image, ImageSignature, SignatureConditionType
from sigpolicy.verify.image import ImageVerification, SignatureOutcome

_OUR_CONDITIONS = frozenset(t.value for t in SignatureConditionType)


def render_text(
    verification: ImageVerification, recorded: Image, where: str, *, saved: bool
) -> str:
    lines = [
        f"Image {verification.image} ({where})",
        f"expected identity: {verification.expected}",
    ]
    if not verification.outcomes:
        lines.append("  the image has no signatures: nothing vouches for it")
    recorded_by_name = {s.name: s for s in recorded.signatures or ()}
    for outcome in verification.outcomes:
        lines.append("  " + _verdict_line(outcome, verification.image))
        signature = recorded_by_name.get(outcome.name)
        if signature is not None and outcome.holder == verification.image:
            lines.extend("      " + line for line in _recorded_lines(signature))
    trusted, total = len(verification.trusted), len(verification.outcomes)
    status = "recorded on the Image" if saved else "not saved (add --save to record them)"
    lines.append(f"{trusted} of {total} signatures trusted; conditions {status}")
    return "\n".join(lines) + "\n"


def _verdict_line(outcome: SignatureOutcome, image: str) -> str:
    verdict = outcome.verdict
    label = outcome.name
    if outcome.holder != image:
        label += f" (on manifest list {outcome.holder})"
    if verdict.trusted and outcome.signer is not None:
        via = f", signed for manifest list {outcome.via_list}" if outcome.via_list else ""
        return (
            f"{label}: trusted: signed by {outcome.signer.fingerprint}"
            f" (trust entry {outcome.signer.entry}) for {verdict.identity}{via}"
        )
    plain = verdict.reason.plain if verdict.reason else "not trusted"
    return f"{label}: NOT trusted ({verdict.reason}): {plain}: {verdict.message}"


def _recorded_lines(signature: ImageSignature) -> list[str]:
    conditions = ", ".join(
        f"{c.type}={c.status}" + (f" ({c.reason})" if c.reason else "")
        for c in signature.conditions or ()
        if c.type in _OUR_CONDITIONS
    )
    lines = [f"conditions: {conditions}"]
    issued_to = signature.issued_to
    if issued_to is not None:
        issued_by = signature.issued_by
        by = (
            f"{issued_by.organization or '-'} / {issued_by.common_name or '-'}"
            if issued_by
            else "-"
        )
        lines.append(f"issuedBy: {by}")
        lines.append(
            f"issuedTo: {issued_to.organization or '-'} / {issued_to.common_name or '-'}"
            f" (publicKeyID {issued_to.public_key_id})"
        )
        lines.append(f"imageIdentity: {signature.image_identity}; created {signature.created}")
    return lines
