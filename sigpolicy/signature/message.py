"""What every OpenPGP backend returns: an authenticated message, or a raised VerificationError.

Both backends (the native verifier and GnuPG) implement :class:`MessageVerifier`; the
rest of sigpolicy never knows which one it talks to. A backend authenticates the blob and
returns the signed bytes untouched: parsing the payload is the caller's next step, taken
only once this object exists (nothing from a signature is believed before it is verified).
"""

from __future__ import annotations

from typing import Final, Protocol


# Plain classes, not dataclasses or NamedTuples: generating their code at import would slow
# down the start-up of the one-shot ``sigpolicy verify``. ``Final`` keeps fields read-only.
class AuthenticatedMessage:
    """The result of a signature that verified with a trusted key.

    ``signer`` is the primary key's fingerprint (uppercase hex), also when a signing subkey
    made the signature: containers/image and OpenShift identify keys by their primary.
    ``key_id`` is the 64-bit ID of the key that actually signed, as ``0x`` + 16 lowercase hex,
    the form of an ImageSignature's ``issuedTo.publicKeyID``.
    """

    __slots__ = ("created", "key_id", "payload", "signer", "signing_key", "user_id", "valid_until")

    def __init__(
        self,
        payload: bytes,
        signer: str,
        signing_key: str,
        key_id: str,
        created: int,
        user_id: str | None = None,
        valid_until: int | None = None,
    ) -> None:
        self.payload: Final = payload
        self.signer: Final = signer
        self.signing_key: Final = signing_key
        self.key_id: Final = key_id
        self.created: Final = created
        self.user_id: Final = user_id
        # When the signature or the key that made it expires (None: never); a verdict kept
        # for later use must not outlive it.
        self.valid_until: Final = valid_until


class MessageVerifier(Protocol):
    """Verifies an OpenPGP signed message against a fixed set of trusted keys."""

    @property
    def fingerprints(self) -> frozenset[str]:
        """Primary fingerprints of every usable key in the set (uppercase hex)."""
        ...

    def verify_message(self, blob: bytes, *, now: int) -> AuthenticatedMessage:
        """Authenticate ``blob`` at time ``now`` (Unix seconds).

        Raises :class:`sigpolicy.errors.VerificationError` with one reason class when the
        blob is not a signed message by a trusted, valid key.
        """
        ...


def earliest(*times: int | None) -> int | None:
    """The earliest of the given expiry times; None when none is set."""
    known = [t for t in times if t is not None]
    return min(known) if known else None
