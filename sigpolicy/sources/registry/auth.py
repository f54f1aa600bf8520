"""Registry credentials from docker config documents, looked up as containers/image does.

Accepted documents (containers-auth.json(5)):

- ``{"auths": {KEY: ENTRY, ...}}``: containers-auth.json, ``~/.docker/config.json`` and a
  Kubernetes ``kubernetes.io/dockerconfigjson`` Secret's ``.dockerconfigjson``;
- ``{KEY: ENTRY, ...}``: the legacy ``.dockercfg`` (a ``kubernetes.io/dockercfg`` Secret).

An ENTRY is ``{"auth": base64("user:password")}``, ``{"username": ..., "password": ...}`` or
``{"identitytoken": ...}`` (an OAuth2 refresh token, exchanged at the token realm); other
members (``email``, ...) are ignored, and so are ``credHelpers`` / ``credsStore``: a webhook
runs no credential helpers. An entry with no credential at all is skipped, as upstream does.

Keys are normalised like containers/image ``normalizeAuthFileKey``: a key written with a
scheme (``https://index.docker.io/v1/``, as ``docker login`` writes them) or any key of the
legacy format keeps only its host; every docker.io alias (``index.docker.io``,
``registry-1.docker.io``) is ``docker.io``.

Lookup (:meth:`CredentialSet.lookup`) takes a repository ``host/ns/repo`` and tries
``host/ns/repo``, ``host/ns``, ``host`` in that order in each document, documents in order:
the first document with a match wins (containers-auth.json(5), "most specific first").

A malformed document raises :class:`~sigpolicy.errors.InputError`, one line naming the
document's origin and the key, never echoing a value.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigpolicy.errors import InputError

_DOCKER_HUB = "docker.io"
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
# A docker config bigger than this is not a docker config (a pull secret is a few KiB).
_MAX_DOCUMENT_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Credential:
    """A username and password (or an identity token) for one registry, and where it came from.

    ``origin`` is a human label ("authfile /root/auth.json, entry quay.io/shop") used in
    errors; the secret fields never appear in ``repr`` or any message.
    """

    username: str = field(repr=False)
    password: str = field(repr=False)
    origin: str
    #: An OAuth2 refresh token (docker config ``identitytoken``), used instead of the password.
    identity_token: str | None = field(default=None, repr=False)


def normalize_key(key: str, *, legacy: bool = False) -> str:
    """An auth file key as containers/image compares it (see the module docstring)."""
    stripped = key.removeprefix("http://").removeprefix("https://")
    if legacy or stripped != key:
        stripped = stripped.partition("/")[0]
    stripped = stripped.rstrip("/")
    host, slash, rest = stripped.partition("/")
    if host in _DOCKER_HUB_ALIASES:
        host = _DOCKER_HUB
    return host + slash + rest


def _candidate_keys(repository: str) -> Iterator[str]:
    """``host/ns/repo``, ``host/ns``, ``host``: most specific first."""
    normalized = normalize_key(repository)
    parts = normalized.split("/")
    for end in range(len(parts), 0, -1):
        yield "/".join(parts[:end])


class CredentialSet:
    """An ordered list of docker config documents; immutable."""

    __slots__ = ("_documents",)

    def __init__(self, documents: tuple[Mapping[str, Credential], ...] = ()) -> None:
        self._documents = documents

    def __repr__(self) -> str:
        return f"CredentialSet({len(self._documents)} documents)"

    @classmethod
    def empty(cls) -> CredentialSet:
        """No credentials: every request is anonymous."""
        return cls()

    @classmethod
    def from_docker_config(cls, data: bytes, origin: str) -> CredentialSet:
        """One document (``auths`` form or legacy ``.dockercfg``); ``origin`` labels it."""
        if len(data) > _MAX_DOCUMENT_BYTES:
            raise InputError(f"{origin}: larger than {_MAX_DOCUMENT_BYTES} bytes")
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            # The position only: the message of a JSON error can quote the secret's text.
            where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
            raise InputError(f"{origin}: not valid JSON{where}") from None
        if not isinstance(document, dict):
            raise InputError(f"{origin}: not a JSON object")
        legacy = "auths" not in document
        entries: Any = document if legacy else document["auths"]
        if not isinstance(entries, dict):
            raise InputError(f"{origin}: 'auths' is not a JSON object")
        if legacy:
            # Docker config keys that are not registries; a legacy file has none of them.
            entries = {
                k: v
                for k, v in entries.items()
                if k not in ("credHelpers", "credsStore", "HttpHeaders", "psFormat")
            }
        credentials: dict[str, Credential] = {}
        for key, entry in entries.items():
            normalized = normalize_key(key, legacy=legacy)
            if not normalized:
                raise InputError(f"{origin}: an empty registry key")
            credential = _entry(entry, f"{origin}, entry {normalized}", origin, key)
            # The first of two keys that normalise alike wins, as upstream's map walk does not
            # promise any order; first-in-file is at least predictable.
            if credential is not None and normalized not in credentials:
                credentials[normalized] = credential
        return cls((credentials,))

    @classmethod
    def from_authfile(cls, path: Path) -> CredentialSet:
        """A containers-auth.json(5) file (or docker ``config.json``)."""
        origin = f"authfile {path}"
        try:
            with path.open("rb") as handle:
                data = handle.read(_MAX_DOCUMENT_BYTES + 1)
        except OSError as exc:
            raise InputError(f"{origin}: cannot read: {exc.strerror or exc}") from None
        return cls.from_docker_config(data, origin)

    def merged(self, *later: CredentialSet) -> CredentialSet:
        """This set's documents, then those of ``later``: the first document that matches wins."""
        documents = self._documents
        for other in later:
            documents += other._documents
        return CredentialSet(documents)

    def lookup(self, repository: str) -> Credential | None:
        """The credential for ``repository`` (``host/path``, or a bare host), or ``None``."""
        keys = list(_candidate_keys(repository))
        for document in self._documents:
            for key in keys:
                credential = document.get(key)
                if credential is not None:
                    return credential
        return None

    def __len__(self) -> int:
        return len(self._documents)


def _entry(entry: object, label: str, origin: str, key: str) -> Credential | None:
    where = f"{origin}: entry {key!r}"
    if not isinstance(entry, dict):
        raise InputError(f"{where}: not a JSON object")
    auth = entry.get("auth")
    identity_token = entry.get("identitytoken")
    username = entry.get("username")
    password = entry.get("password")
    for name, value in (
        ("auth", auth),
        ("identitytoken", identity_token),
        ("username", username),
        ("password", password),
    ):
        if value is not None and not isinstance(value, str):
            raise InputError(f"{where}: {name!r} is not a string")
    if auth:
        try:
            decoded = base64.b64decode(auth, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise InputError(f"{where}: 'auth' is not base64 of user:password") from None
        user, colon, secret = decoded.partition(":")
        if not colon:
            raise InputError(f"{where}: 'auth' is not base64 of user:password")
        username, password = user, secret
    if identity_token:
        return Credential(username or "", "", label, identity_token=identity_token)
    if username or password:
        return Credential(username or "", password or "", label)
    return None
