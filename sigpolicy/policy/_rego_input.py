"""The input document a Rego policy sees (docs/rego.md documents every field).

:func:`rego_input` builds it from plain typed values: the policy engine maps its evidence
to :class:`RegoSignature` and :class:`RegoWorkload` records and calls it. The result holds
only JSON values (``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``, ``None``),
always with every key present, so a policy never has to guess whether a field is missing
or empty.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypedDict

from sigpolicy.errors import InputError
from sigpolicy.reasons import Reason


class RegoImage(TypedDict):
    reference: str
    resolvedReference: str
    digest: str


class RegoWorkloadDoc(TypedDict):
    kind: str
    name: str
    namespace: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    container: str | None


class RegoSignatureDoc(TypedDict):
    trusted: bool
    reason: str | None
    signer: str | None
    publicKeyID: str | None
    trustEntry: str | None
    identity: str | None
    digest: str | None
    created: str | None
    claims: dict[str, Any] | None


class RegoInput(TypedDict):
    """The whole input document: ``input`` in Rego."""

    image: RegoImage
    namespace: str | None
    workload: RegoWorkloadDoc | None
    signatures: list[RegoSignatureDoc]


@dataclass(frozen=True, slots=True)
class RegoSignature:
    """One signature of the image as verification saw it.

    ``trusted`` is the verdict; the other fields are set only for what was actually verified
    (the signer of an authenticated signature, the identity and digest of a parsed payload),
    so an untrusted signature may still carry a signer (right key, wrong image).
    ``created`` is in seconds since the epoch; ``claims`` is the signed payload's claims.
    """

    trusted: bool
    reason: Reason | None = None
    signer: str | None = None
    public_key_id: str | None = None
    trust_entry: str | None = None
    identity: str | None = None
    digest: str | None = None
    created: int | None = None
    claims: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RegoWorkload:
    """The object under admission review, and which of its containers runs the image."""

    kind: str
    name: str
    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    container: str | None = None


def rego_input(
    *,
    reference: str,
    resolved_reference: str,
    digest: str,
    namespace: str | None,
    signatures: Sequence[RegoSignature],
    workload: RegoWorkload | None = None,
) -> RegoInput:
    """The input document for one image; :class:`InputError` if claims are not JSON."""
    return {
        "image": {
            "reference": reference,
            "resolvedReference": resolved_reference,
            "digest": digest,
        },
        "namespace": namespace,
        "workload": None if workload is None else _workload(workload),
        "signatures": [_signature(s) for s in signatures],
    }


def _workload(workload: RegoWorkload) -> RegoWorkloadDoc:
    return {
        "kind": workload.kind,
        "name": workload.name,
        "namespace": workload.namespace,
        "labels": {str(k): str(v) for k, v in workload.labels.items()},
        "annotations": {str(k): str(v) for k, v in workload.annotations.items()},
        "container": workload.container,
    }


def _signature(signature: RegoSignature) -> RegoSignatureDoc:
    return {
        "trusted": signature.trusted,
        "reason": None if signature.reason is None else str(signature.reason),
        "signer": signature.signer,
        "publicKeyID": signature.public_key_id,
        "trustEntry": signature.trust_entry,
        "identity": signature.identity,
        "digest": signature.digest,
        "created": None if signature.created is None else rfc3339(signature.created),
        "claims": None if signature.claims is None else _json_object(signature.claims),
    }


def rfc3339(seconds: int) -> str:
    """``2024-05-01T12:00:00Z``: UTC, whole seconds."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_object(value: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy holding only JSON values (no NaN or infinity, string keys)."""
    try:
        copied = json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        raise InputError(f"signature claims are not a JSON object: {exc}") from exc
    if not isinstance(copied, dict):
        raise InputError("signature claims are not a JSON object")
    return copied
