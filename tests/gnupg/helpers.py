"""Running one scenario through a backend and reducing the outcome to compare it."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.gnupg_backend import GnuPGVerifier
from sigpolicy.signature.message import AuthenticatedMessage, MessageVerifier
from sigpolicy.signature.openpgp.keyring import Keyring
from sigpolicy.signature.openpgp.verifier import NativeVerifier

Outcome = AuthenticatedMessage | Reason


def outcome(verifier: MessageVerifier, blob: bytes, *, now: int | None = None) -> Outcome:
    """The authenticated message, or the reason class it was refused with."""
    try:
        return verifier.verify_message(blob, now=int(time.time()) if now is None else now)
    except VerificationError as exc:
        return exc.reason


def with_gnupg(keyring: Sequence[bytes], blob: bytes, *, now: int | None = None) -> Outcome:
    with GnuPGVerifier(keyring) as verifier:
        return outcome(verifier, blob, now=now)


def with_native(keyring: Sequence[bytes], blob: bytes, *, now: int | None = None) -> Outcome:
    files = [(f"key file {index}", data) for index, data in enumerate(keyring, start=1)]
    return outcome(NativeVerifier(Keyring.from_files(files)), blob, now=now)


def reason_of(result: Outcome) -> Reason | None:
    return result if isinstance(result, Reason) else None
