"""The one place python-gnupg is imported (STYLE.md 10: quarantine what you wrap).

:class:`IsolatedGnuPG` owns a private, temporary GnuPG home (``mkdtemp``, mode 0700) and
speaks to ``gpg`` only through python-gnupg. Everything it hands back is typed: the
``[GNUPG:]`` status lines python-gnupg splits into keyword and value, the bytes gpg wrote,
and the keys it lists. Nothing here decides trust; :mod:`._gnupg_status` reads the lines
and :mod:`.gnupg_backend` decides.

Isolation, on every call: ``--homedir`` the private home, ``--no-options`` (no gpg.conf),
``--no-autostart`` (no gpg-agent or dirmngr is ever started, so nothing outlives us and a
message encrypted to a passphrase cannot ask for one), ``--disable-dirmngr`` and
``--no-auto-key-retrieve`` (never the network), ``--trust-model always`` (the web of trust
plays no part: the key set *is* the trust decision, and the trustdb is never rewritten).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gnupg

_OPTIONS = (
    "--no-options",
    "--no-autostart",
    "--disable-dirmngr",
    "--no-auto-key-retrieve",
    "--no-auto-key-locate",
    "--trust-model",
    "always",
    "--no-greeting",
)

StatusLine = tuple[str, str]


def _not_an_exit_status(record: logging.LogRecord) -> bool:
    # python-gnupg warns on every non-zero exit, i.e. on every signature gpg rejects; the
    # verdict is reported by the caller, so the warning is only noise in the logs.
    return not str(record.msg).startswith("gpg returned a non-zero error code")


logging.getLogger("gnupg").addFilter(_not_an_exit_status)


class GnuPGUnavailableError(Exception):
    """The gpg program cannot be run at all (missing, not executable)."""


@dataclass(frozen=True, slots=True)
class GpgOutput:
    """What one gpg run produced: exit status, stdout, and its status lines in order."""

    returncode: int
    stdout: bytes
    status: tuple[StatusLine, ...]


@dataclass(frozen=True, slots=True)
class ListedKey:
    """One key (primary or subkey) from ``gpg --list-keys --with-colons``.

    ``validity`` is gpg's letter: ``r`` revoked, ``e`` expired, ``i`` invalid, else usable
    (gpg's revocation flag does not depend on the time, so a listing taken once is exact).
    ``user_id`` is the primary key's first listed user ID (gpg lists the primary one first).
    """

    fingerprint: str
    primary: str
    algorithm: int
    length: int
    curve: str
    created: int
    validity: str
    user_id: str | None
    expires: int | None = None


class _StatusRecorder:
    """A python-gnupg result object that keeps every status line and interprets none.

    python-gnupg builds it as ``result_map[kind](gpg)``, feeds it ``handle_status`` from
    its stderr reader thread, and sets ``data``, ``stderr`` and ``returncode`` on it.
    Recording only (no splitting of values here) means a value that does not have the
    expected shape cannot kill the reader thread and silently drop later lines.
    """

    def __init__(self, gpg: object) -> None:
        self.lines: list[StatusLine] = []
        # Set by python-gnupg once the process has ended.
        self.data: object = b""
        self.stderr: object = ""
        self.returncode: object = None

    def handle_status(self, key: str, value: str) -> None:
        self.lines.append((key, value))

    def output(self) -> GpgOutput:
        data = self.data if isinstance(self.data, bytes) else b""
        returncode = self.returncode if isinstance(self.returncode, int) else -1
        return GpgOutput(returncode, data, tuple(self.lines))


class IsolatedGnuPG:
    """A gpg in a private temporary home, removed by :meth:`close` or the finalizer."""

    def __init__(self, binary: str = "gpg") -> None:
        if shutil.which(binary) is None:
            raise GnuPGUnavailableError(f"{binary} not found")
        home = tempfile.mkdtemp(prefix="sigpolicy-gnupg-")  # mode 0700
        self.home = Path(home)
        self._finalizer = weakref.finalize(self, shutil.rmtree, home, ignore_errors=True)
        try:
            gpg: Any = gnupg.GPG(gpgbinary=binary, gnupghome=home, options=list(_OPTIONS))
        except (OSError, ValueError) as exc:
            self.close()
            raise GnuPGUnavailableError(f"{binary} could not be run ({exc})") from None
        # Latin-1 never fails to decode, so no status line is ever lost to a codec error.
        gpg.encoding = "latin-1"
        gpg.result_map = {**gpg.result_map, "crypt": _StatusRecorder, "import": _StatusRecorder}
        self._gpg = gpg

    def import_keys(self, data: bytes) -> GpgOutput:
        """``gpg --import``: public keys from one key file (binary or armored)."""
        return self._run(lambda: self._gpg.import_keys(data))

    def decrypt(self, blob: bytes, *, now: int) -> GpgOutput:
        """``gpg --decrypt`` of a signed message, evaluated at ``now`` (frozen clock).

        gpg writes the literal data to stdout whether or not the signature is good: the
        caller must trust the output only on the status lines' word.
        """
        extra = ["--faked-system-time", f"{int(now)}!"]
        return self._run(lambda: self._gpg.decrypt(blob, extra_args=extra))

    def list_keys(self) -> list[ListedKey]:
        """Every public key in the home, primaries and subkeys."""
        try:
            listing: Any = self._gpg.list_keys()
        except OSError as exc:
            raise GnuPGUnavailableError(str(exc)) from None
        # python-gnupg keeps each user ID's validity on the listing, keyed by the user ID.
        uid_validity = {
            str(uid): str((fields or {}).get("trust", ""))
            for uid, fields in dict(listing.uid_map or {}).items()
        }
        keys: list[ListedKey] = []
        for entry in listing:
            keys.extend(_listed(entry, uid_validity))
        return keys

    def close(self) -> None:
        self._finalizer()

    def _run(self, call: Callable[[], object]) -> GpgOutput:
        try:
            result = call()
        except OSError as exc:
            raise GnuPGUnavailableError(str(exc)) from None
        if not isinstance(result, _StatusRecorder):  # pragma: no cover - python-gnupg changed
            raise GnuPGUnavailableError("python-gnupg returned an unexpected result")
        return result.output()


def _listed(entry: Any, uid_validity: dict[str, str]) -> list[ListedKey]:
    primary = str(entry.get("fingerprint") or "")
    uids = [str(u) for u in entry.get("uids") or []]
    user_id = next((_utf8(u) for u in uids if uid_validity.get(u) != "r"), None)
    keys = [_key(entry, primary, primary, user_id)]
    subkey_info: dict[str, Any] = dict(entry.get("subkey_info") or {})
    for info in subkey_info.values():
        fingerprint = str(info.get("fingerprint") or "")
        if fingerprint:
            keys.append(_key(info, fingerprint, primary, user_id))
    return keys


def _key(fields: Any, fingerprint: str, primary: str, user_id: str | None) -> ListedKey:
    return ListedKey(
        fingerprint=fingerprint.upper(),
        primary=primary.upper(),
        algorithm=_int(fields.get("algo")),
        length=_int(fields.get("length")),
        curve=str(fields.get("curve") or ""),
        created=_int(fields.get("date")),
        validity=str(fields.get("trust") or ""),
        user_id=user_id,
        expires=_int(fields.get("expires")) if fields.get("expires") else None,
    )


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1


def _utf8(uid: str) -> str:
    # python-gnupg decoded gpg's UTF-8 listing as Latin-1; undo that losslessly.
    try:
        return uid.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return uid
