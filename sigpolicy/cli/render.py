"""Rendering verdicts for people (text) and for tools (JSON Lines)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sigpolicy.verify.simple import SignatureVerdict

# RFC 3339 in UTC, for the years datetime can represent (0001-9999); anything else is
# printed as the number it is.
_FIRST_SECOND = -62135596800  # 0001-01-01T00:00:00Z
_LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z


def render_verdict(name: str, verdict: SignatureVerdict, output: str) -> str:
    if output == "json":
        # Imported here: text output, the default, starts faster without it.
        import json

        return json.dumps(verdict_json(name, verdict), sort_keys=False)
    return verdict_text(name, verdict)


def verdict_json(name: str, verdict: SignatureVerdict) -> dict[str, object]:
    """The JSON object of ARCHITECTURE.md's ``verify --output json`` contract."""
    return {
        "signature": name,
        "trusted": verdict.trusted,
        "reason": None if verdict.reason is None else str(verdict.reason),
        "message": verdict.message,
        "signer": verdict.signer,
        "publicKeyID": verdict.key_id,
        "identity": verdict.identity,
        "digest": verdict.digest,
        "created": None if verdict.created is None else rfc3339(verdict.created),
    }


def verdict_text(name: str, verdict: SignatureVerdict) -> str:
    if verdict.trusted:
        return (
            f"{name}: trusted: signed by {verdict.signer} for {verdict.identity}"
            f" (digest {verdict.digest})"
        )
    assert verdict.reason is not None  # noqa: S101 - an untrusted verdict always has a reason
    return f"{name}: NOT trusted ({verdict.reason}): {verdict.reason.plain}: {verdict.message}"


def rfc3339(timestamp: int) -> str:
    # time.gmtime, not datetime: importing datetime costs the one-shot ``sigpolicy verify``
    # start-up time.
    if not _FIRST_SECOND <= timestamp <= _LAST_SECOND:
        return str(timestamp)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))
