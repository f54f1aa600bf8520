"""Choosing an OpenPGP backend: the native verifier, or GnuPG behind its adapter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sigpolicy.signature.message import MessageVerifier

Backend = Literal["native", "gnupg"]
BACKENDS: tuple[Backend, ...] = ("native", "gnupg")


def open_verifier(
    backend: Backend, key_files: Sequence[tuple[str, bytes]], *, allow_sha1: bool = True
) -> MessageVerifier:
    """A verifier trusting exactly the keys of ``key_files`` (``(name, content)`` pairs).

    Raises InputError when a file is not a usable keyring. The GnuPG verifier owns a
    temporary GnuPG home: close it with :func:`close_verifier` when done.
    """
    if backend == "gnupg":
        # Imported here so that the native path never loads python-gnupg.
        from sigpolicy.signature.gnupg_backend import GnuPGVerifier

        return GnuPGVerifier([data for _, data in key_files])
    from sigpolicy.signature.openpgp.keyring import Keyring
    from sigpolicy.signature.openpgp.verifier import NativeVerifier

    return NativeVerifier(Keyring.from_files(key_files, allow_sha1=allow_sha1))


def close_verifier(verifier: MessageVerifier) -> None:
    close = getattr(verifier, "close", None)
    if callable(close):
        close()
