"""The registry client's errors: one small tree under :class:`~sigpolicy.errors.SourceError`.

Every message is one line that names the registry host; none ever carries a credential's
value (a :class:`RegistryAuthError` names the credential by its origin label only).
"""

from __future__ import annotations

from sigpolicy.errors import SourceError
from sigpolicy.reasons import Reason


class RegistryError(SourceError):
    """Fetching from a registry (or a lookaside server) failed; ``host`` says which."""

    #: The outcome label of :meth:`RegistryClient.stats` for this error.
    outcome = "error"

    def __init__(self, host: str, message: str) -> None:
        super().__init__(message)
        self.host = host


class RegistryUnreachableError(RegistryError):
    """No usable answer: connect, DNS or TLS failure, or 5xx after the retry."""

    outcome = "unreachable"


class RegistryAuthError(RegistryError):
    """Authentication was refused; ``credential`` names the credential tried, never its value.

    ``credential`` is the credential's origin label, or ``"anonymous"`` when none was sent.
    """

    outcome = "auth-refused"

    def __init__(self, host: str, message: str, *, credential: str) -> None:
        super().__init__(host, message)
        self.credential = credential


class RegistryRateLimitedError(RegistryError):
    """429 or 503 that could not be waited out before the deadline."""

    outcome = "rate-limited"

    def __init__(self, host: str, message: str, *, retry_after: float | None) -> None:
        super().__init__(host, message)
        self.retry_after = retry_after


class RegistryNotFoundError(RegistryError):
    """The registry answered 404 for a manifest, tag or blob (not the image API's not-found)."""

    outcome = "not-found"


class ManifestDigestMismatchError(RegistryError):
    """The body the registry sent does not digest to the digest asked for."""

    outcome = "digest-mismatch"
    reason = Reason.DIGEST_MISMATCH


class RegistryTimeoutError(RegistryError):
    """The caller's deadline passed before the registry answered in full."""

    outcome = "timeout"
    reason = Reason.TIMEOUT


class RegistryProtocolError(RegistryError):
    """The answer breaks the protocol: too large, not JSON, a redirect loop, a bad status."""

    outcome = "protocol-error"
