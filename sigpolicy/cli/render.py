"""Rendering verdicts for people (text) and for tools (JSON Lines)."""

from __future__ import annotations

import datetime
import json

from sigpolicy.verify.simple import SignatureVerdict


def render_verdict(name: str, verdict: SignatureVerdict, output: str) -> str:
    if output == "json":
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
    try:
        moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return str(timestamp)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
