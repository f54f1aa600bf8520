"""Sample input documents: one pod's image, signed (or not) by named trust entries."""

from __future__ import annotations

from sigpolicy.policy.rego import RegoInput, RegoSignature, RegoWorkload, rego_input
from sigpolicy.reasons import Reason

DIGEST = "sha256:" + "ab" * 32
RELEASE_FPR = "0123456789ABCDEF0123456789ABCDEF01234567"


def sample_input(*signatures: RegoSignature, namespace: str | None = "shop") -> RegoInput:
    """A pod's container image in ``namespace`` with these signatures."""
    return rego_input(
        reference="registry.example/shop/checkout:1.4",
        resolved_reference=f"registry.example/shop/checkout@{DIGEST}",
        digest=DIGEST,
        namespace=namespace,
        workload=RegoWorkload(
            kind="Pod",
            name="checkout-7d9f",
            namespace=namespace,
            labels={"app": "checkout"},
            annotations={"team": "payments"},
            container="app",
        ),
        signatures=signatures,
    )


def trusted_by(entry: str) -> RegoSignature:
    return RegoSignature(
        trusted=True,
        signer=RELEASE_FPR,
        public_key_id="0x89abcdef01234567",
        trust_entry=entry,
        identity="registry.example/shop/checkout:1.4",
        digest=DIGEST,
        created=1_714_564_800,
        claims={"type": "atomic container signature", "creator": "skopeo"},
    )


def untrusted(entry: str, reason: Reason = Reason.IDENTITY_MISMATCH) -> RegoSignature:
    return RegoSignature(
        trusted=False,
        reason=reason,
        signer=RELEASE_FPR,
        public_key_id="0x89abcdef01234567",
        trust_entry=entry,
        identity="registry.example/shop/other:1.0",
        digest=DIGEST,
    )
