"""The reason classes of ARCHITECTURE.md, shared by every output, log, metric and condition."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why something is not trusted, not allowed, or could not be decided.

    The string values are a public contract: JSON output, condition reasons, metrics labels
    and other tools use them verbatim.
    """

    UNSIGNED = "unsigned"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad-signature"
    UNKNOWN_KEY = "unknown-key"
    EXPIRED_SIGNATURE = "expired-signature"
    EXPIRED_KEY = "expired-key"
    REVOKED_KEY = "revoked-key"
    INVALID_PAYLOAD = "invalid-payload"
    INVALID_MANIFEST = "invalid-manifest"
    DIGEST_MISMATCH = "digest-mismatch"
    IDENTITY_MISMATCH = "identity-mismatch"
    CLAIMS_MISMATCH = "claims-mismatch"
    UNSUPPORTED = "unsupported"
    POLICY_DENIED = "policy-denied"
    RESOLUTION_FAILED = "resolution-failed"
    SOURCE_UNAVAILABLE = "source-unavailable"
    TIMEOUT = "timeout"

    @property
    def plain(self) -> str:
        """The reason in plain words, for text output."""
        return _PLAIN[self]


_PLAIN: dict[Reason, str] = {
    Reason.UNSIGNED: "the blob carries no signature",
    Reason.MALFORMED: "the signature blob is malformed",
    Reason.BAD_SIGNATURE: "the signature does not verify",
    Reason.UNKNOWN_KEY: "signed by a key that is not trusted",
    Reason.EXPIRED_SIGNATURE: "the signature has expired",
    Reason.EXPIRED_KEY: "the signing key has expired",
    Reason.REVOKED_KEY: "the signing key is revoked",
    Reason.INVALID_PAYLOAD: "the signed payload is not a valid container signature",
    Reason.INVALID_MANIFEST: "the manifest cannot be digested",
    Reason.DIGEST_MISMATCH: "signed for another manifest digest",
    Reason.IDENTITY_MISMATCH: "signed for another image identity",
    Reason.CLAIMS_MISMATCH: "the declared signer contradicts the verified one",
    Reason.UNSUPPORTED: "uses an algorithm, key or signature type that is refused",
    Reason.POLICY_DENIED: "denied by policy",
    Reason.RESOLUTION_FAILED: "the image reference could not be resolved",
    Reason.SOURCE_UNAVAILABLE: "the image source could not be reached",
    Reason.TIMEOUT: "the decision ran out of time",
}
