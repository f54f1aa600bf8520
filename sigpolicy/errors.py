"""One error base and a small tree (STYLE.md 4).

- :class:`InputError`: what we were given is unusable (a bad argument, an unreadable or
  malformed file, a keyring that is not a keyring). The CLI maps it to exit status 2.
- :class:`VerificationError`: the artifact is not trusted; it always carries a reason class.
- :class:`PolicyError`: our configuration (policy, trust store) is wrong.
- :class:`SourceError`: fetching from a source failed.

Callers that only need "did it work" catch :class:`SigpolicyError`.
"""

from __future__ import annotations

from sigpolicy.reasons import Reason


class SigpolicyError(Exception):
    """Base of every error sigpolicy raises on purpose."""

    def diagnostics(self) -> str:
        """A one-line message a person can act on."""
        return str(self)


class InputError(SigpolicyError):
    """The input is unusable: a bad argument, an unreadable or malformed file."""


class PolicyError(SigpolicyError):
    """The policy or trust configuration is invalid."""


class SourceError(SigpolicyError):
    """Fetching images or signatures from a source failed."""

    reason = Reason.SOURCE_UNAVAILABLE


class VerificationError(SigpolicyError):
    """The artifact is not trusted. ``reason`` is the class of ARCHITECTURE.md."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def diagnostics(self) -> str:
        return f"{self.reason}: {self.message}"


class NotFoundError(SourceError):
    """The source answered, and the object does not exist."""

    reason = Reason.RESOLUTION_FAILED


class ConflictError(SourceError):
    """A write lost a race with a concurrent writer and could not be retried to success."""
