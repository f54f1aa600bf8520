"""The explained outcome of checking one signature, whatever its format.

``signer``, ``key_id``, ``identity`` and ``digest`` are set only once the signature is
authenticated (and the payload parsed, for the last two): nothing from an unverified
signature is reported as if it meant something. A verdict deliberately has no truth value:
callers test ``trusted``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Generic, NoReturn, Self, TypeVar

if TYPE_CHECKING:
    from sigpolicy.reasons import Reason
    from sigpolicy.signature.payload import SignedClaims

A = TypeVar("A")


# A plain slotted class: the one-shot ``sigpolicy verify`` must not pay at start-up for
# dataclasses or NamedTuple code generation.
class Verdict(Generic[A]):
    """``authenticated`` is the format's proof of who signed (an OpenPGP or cosign result)."""

    __slots__ = (
        "authenticated",
        "claims",
        "created",
        "digest",
        "identity",
        "key_id",
        "message",
        "reason",
        "signer",
        "trusted",
    )

    def __init__(
        self,
        trusted: bool,
        reason: Reason | None,
        message: str,
        signer: str | None = None,
        key_id: str | None = None,
        identity: str | None = None,
        digest: str | None = None,
        created: int | None = None,
        claims: SignedClaims | None = None,
        authenticated: A | None = None,
    ) -> None:
        self.trusted: Final = trusted
        self.reason: Final = reason
        self.message: Final = message
        self.signer: Final = signer
        self.key_id: Final = key_id
        self.identity: Final = identity
        self.digest: Final = digest
        self.created: Final = created
        self.claims: Final = claims
        self.authenticated: Final = authenticated

    def __bool__(self) -> NoReturn:
        raise TypeError("a verdict has no truth value: test .trusted")

    def rejected(self, reason: Reason, message: str) -> Self:
        """This verdict, not trusted for ``reason``; what was verified is still reported."""
        return type(self)(
            False,
            reason,
            message,
            self.signer,
            self.key_id,
            self.identity,
            self.digest,
            self.created,
            self.claims,
            self.authenticated,
        )
