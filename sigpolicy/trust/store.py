"""The trust store: which keys are trusted, and who each one belongs to (layer 4).

Pure: built from key material already read (see :mod:`sigpolicy.trust.load` for files and
cluster references), immutable once built. Trust rules:

1. Every certificate in an entry's key material is trusted, unless the key item carries a
   ``publicKeyID`` pin: then only the one certificate whose primary key or subkey
   fingerprint ends with the pin is trusted, and a pin that matches none (or several) is a
   configuration error.
2. A certificate belongs to one entry only: the same key in two entries would make its
   issuer and subject ambiguous, so it is a configuration error (``--keyring`` stores carry
   no identity, so there the first file that holds a key owns it).
3. A signature counts only if its signer (the primary fingerprint) is in the store;
   :meth:`TrustStore.signer_entry` names the entry or raises ``unknown-key``.
4. ``generation`` is a digest of the trusted set (entry names, identities and every
   certificate's packets): it changes whenever what is trusted changes, and only then.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from sigpolicy.errors import InputError, PolicyError, VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.backends import Backend, close_verifier, open_verifier
from sigpolicy.signature.message import AuthenticatedMessage, MessageVerifier
from sigpolicy.trust.identity import NO_IDENTITY, Identity, TrustedSigner
from sigpolicy.trust.material import (
    MaterialError,
    TrustedCertificate,
    select_pinned,
    split_certificates,
)

KEYRING_ENTRY_PREFIX = "keyring:"


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    """One key item's bytes. ``where`` locates it (``entries[0].keys[1]``) for messages;
    ``source`` is the field that gave it (``file``, ``data``, ``secretKeyRef``, ...) and
    ``label`` what it named (a path, ``namespace/name[key]``), or None for inline data.
    ``pin`` is the normalized ``publicKeyID`` (uppercase hex, no ``0x``), or None."""

    where: str
    source: str
    label: str | None
    data: bytes
    pin: str | None = None


@dataclass(frozen=True, slots=True)
class EntryMaterial:
    """One trust entry as configured, with its key items' bytes."""

    name: str
    issuer: Identity | None
    subject: Identity | None
    keys: tuple[KeyMaterial, ...]
    where: str = ""


@dataclass(frozen=True, slots=True)
class TrustEntry:
    """One trust entry: a name, who its keys belong to, and their primary fingerprints."""

    name: str
    issuer: Identity | None
    subject: Identity | None
    fingerprints: tuple[str, ...]


@dataclass(slots=True)
class _Owned:
    entry: int
    where: str
    data: bytes


class TrustStore:
    """An immutable set of trusted keys with their identities.

    Build it with :meth:`build` (configured entries) or :meth:`from_keyrings` (``--keyring``
    files), which check the trust rules; load a trust file with
    :func:`sigpolicy.trust.load.load_trust_store`. The constructor takes their result as is.
    """

    __slots__ = (
        "_by_fingerprint",
        "_entries",
        "_fingerprints",
        "_generation",
        "_key_files",
        "_lock",
        "_verifiers",
    )

    def __init__(
        self, entries: Sequence[TrustEntry], key_files: Sequence[tuple[str, bytes]]
    ) -> None:
        self._entries = tuple(entries)
        self._key_files = tuple(key_files)
        self._by_fingerprint = {fpr: entry for entry in self._entries for fpr in entry.fingerprints}
        self._fingerprints = frozenset(self._by_fingerprint)
        self._generation = _generation(self._entries, self._key_files)
        # The one mutable part: verifiers are built on first use, once per backend.
        self._verifiers: dict[Backend, MessageVerifier] = {}
        self._lock = threading.Lock()

    @classmethod
    def build(cls, entries: Sequence[EntryMaterial], *, origin: str) -> TrustStore:
        """A store from configured entries; raises PolicyError ``<origin>: <where>: <why>``."""
        try:
            return cls._assemble(entries, shared_keys_allowed=False)
        except _ConfigError as exc:
            raise PolicyError(f"{origin}: {exc}") from None

    @classmethod
    def from_keyrings(cls, files: Sequence[tuple[str, bytes]]) -> TrustStore:
        """The ``--keyring`` shorthand: one unnamed entry per ``(name, content)`` key file.

        Entries are named ``keyring:<name>`` (``#2``, ``#3``... added to a repeated name) and
        carry no issuer or subject. Raises InputError for a file that is not a keyring.
        """
        if not files:
            raise InputError("no keyring given")
        entries: list[EntryMaterial] = []
        used: set[str] = set()
        for name, data in files:
            entry_name = _unique(KEYRING_ENTRY_PREFIX + name, used)
            key = KeyMaterial(where=name, source="", label=None, data=data)
            entries.append(EntryMaterial(entry_name, None, None, (key,), where=name))
        try:
            return cls._assemble(entries, shared_keys_allowed=True)
        except _ConfigError as exc:
            raise InputError(str(exc)) from None

    @classmethod
    def _assemble(
        cls, entries: Sequence[EntryMaterial], *, shared_keys_allowed: bool
    ) -> TrustStore:
        _check_names(entries)
        owned: dict[str, _Owned] = {}
        per_entry: list[list[str]] = [[] for _ in entries]
        for index, entry in enumerate(entries):
            for key in entry.keys:
                for cert in _certificates(key):
                    first = owned.get(cert.fingerprint)
                    if first is None:
                        owned[cert.fingerprint] = _Owned(index, key.where, cert.data)
                        per_entry[index].append(cert.fingerprint)
                        continue
                    if first.entry != index and not shared_keys_allowed:
                        raise _ConfigError(
                            f"{key.where}: key {cert.fingerprint} is already in entry "
                            f'"{entries[first.entry].name}" ({first.where}); '
                            "a key belongs to one entry only"
                        )
                    # Copies merge, so that a revocation in either copy applies.
                    first.data += cert.data
        trust_entries = [
            TrustEntry(entry.name, entry.issuer, entry.subject, tuple(per_entry[index]))
            for index, entry in enumerate(entries)
        ]
        key_files = [
            (f"{entries[item.entry].name}/{fpr}", item.data) for fpr, item in owned.items()
        ]
        return cls(trust_entries, key_files)

    @property
    def entries(self) -> tuple[TrustEntry, ...]:
        return self._entries

    @property
    def fingerprints(self) -> frozenset[str]:
        """Primary fingerprints (uppercase hex) of every trusted certificate."""
        return self._fingerprints

    @property
    def generation(self) -> str:
        """16 hex digits that change exactly when the trusted set changes (a cache key)."""
        return self._generation

    def entry(self, name: str) -> TrustEntry:
        """The entry called ``name``; raises KeyError."""
        for entry in self._entries:
            if entry.name == name:
                return entry
        raise KeyError(name)

    def entry_for(self, fingerprint: str) -> TrustEntry | None:
        """The entry trusting the certificate with this primary fingerprint, if any."""
        return self._by_fingerprint.get(fingerprint.upper())

    def verifier(self, backend: Backend = "native") -> MessageVerifier:
        """A verifier over exactly this store's certificates, built once per backend."""
        with self._lock:
            verifier = self._verifiers.get(backend)
            if verifier is None:
                verifier = open_verifier(backend, self._key_files)
                self._verifiers[backend] = verifier
            return verifier

    def signer_entry(self, message: AuthenticatedMessage) -> TrustedSigner:
        """Who signed ``message``, according to this store (rule 3).

        The subject is the entry's, or else the signing certificate's primary user ID as
        ``common_name``. Raises VerificationError ``unknown-key`` when the signer is not
        in this store (for example, verified by a verifier of an older store).
        """
        entry = self._by_fingerprint.get(message.signer.upper())
        if entry is None:
            raise VerificationError(
                Reason.UNKNOWN_KEY, f"signer {message.signer} is not in the trust store"
            )
        subject = entry.subject
        if subject is None:
            subject = NO_IDENTITY if message.user_id is None else Identity(None, message.user_id)
        return TrustedSigner(
            entry=entry.name,
            issuer=entry.issuer or NO_IDENTITY,
            subject=subject,
            fingerprint=message.signer.upper(),
            signing_key=message.signing_key.upper(),
            public_key_id=message.key_id,
        )

    def close(self) -> None:
        """Release the verifiers' resources (the GnuPG backend's home). Idempotent."""
        with self._lock:
            verifiers = list(self._verifiers.values())
            self._verifiers.clear()
        for verifier in verifiers:
            close_verifier(verifier)

    def __repr__(self) -> str:
        names = ", ".join(entry.name for entry in self._entries)
        return f"TrustStore(generation={self._generation}, entries=[{names}])"


class _ConfigError(Exception):
    """A located configuration problem; the public constructors choose the error class."""


def _check_names(entries: Sequence[EntryMaterial]) -> None:
    seen: dict[str, EntryMaterial] = {}
    for entry in entries:
        first = seen.setdefault(entry.name, entry)
        if first is not entry:
            raise _ConfigError(
                f'{entry.where}.name: duplicate entry name "{entry.name}" (also {first.where})'
            )


def _certificates(key: KeyMaterial) -> tuple[TrustedCertificate, ...]:
    try:
        found = split_certificates(key.data)
    except MaterialError as exc:
        where = f"{key.where}.{key.source}" if key.source else key.where
        label = f"{key.label}: " if key.label else ""
        raise _ConfigError(f"{where}: {label}{exc}") from None
    try:
        return select_pinned(found, key.pin)
    except MaterialError as exc:
        raise _ConfigError(f"{key.where}.publicKeyID: {exc}") from None


def _unique(name: str, used: set[str]) -> str:
    candidate, number = name, 1
    while candidate in used:
        number += 1
        candidate = f"{name}#{number}"
    used.add(candidate)
    return candidate


def _generation(entries: Sequence[TrustEntry], key_files: Sequence[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()

    def feed(value: str | bytes | None) -> None:
        # Length-prefixed, so that no two different sets serialize alike.
        raw = (
            b"\x00"
            if value is None
            else b"\x01" + (value.encode() if isinstance(value, str) else value)
        )
        digest.update(len(raw).to_bytes(8, "big") + raw)

    for entry in entries:
        feed(entry.name)
        for identity in (entry.issuer, entry.subject):
            feed(None if identity is None else identity.organization)
            feed(None if identity is None else identity.common_name)
    for name, data in sorted(key_files):
        feed(name)
        feed(data)
    return digest.hexdigest()[:16]
