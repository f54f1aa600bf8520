"""containers-registries.d(5): where the signatures of a registry's images live.

Read as containers/image reads it (``docker/registries_d.go``), rule by rule:

1. Every file whose name ends in ``.yaml`` in the folder (not ``.yml``, not subfolders'),
   read in name order; a missing folder is an empty configuration. A file is one YAML
   mapping (empty: nothing) with the optional keys ``default-docker`` (a section) and
   ``docker`` (scope -> section). Unknown keys, at the top or in a section, are ignored as
   upstream's non-strict ``yaml.Unmarshal`` ignores them; a duplicate key inside one file
   is an error, as in go-yaml.
2. ``default-docker`` may be defined in one file only, and each ``docker`` scope in one file
   only: a scope defined twice across files is an error naming both files, even when the
   two definitions agree (the man page forbids splitting a scope over files).
3. A section's keys: ``lookaside`` and its old name ``sigstore`` (same meaning), the URL the
   signatures are read from; ``lookaside-staging`` / ``sigstore-staging``, used only for
   writing and so never read here; ``use-sigstore-attachments`` (a boolean). An empty
   string counts as unset, as upstream compares with ``""``.
4. For one image, every key is looked up on its own, through the scopes of
   :func:`sigpolicy.reference.scopes.policy_scopes` (the full reference, the repository,
   each parent namespace, ``host[:port]``, then ``*.`` host wildcards), then
   ``default-docker``: the first scope that *sets the key* wins (``lookaside`` before
   ``sigstore`` inside one section). So a section for ``example.com/ns`` that only turns on
   attachments leaves the lookaside URL of ``example.com`` in force, exactly as
   ``signatureTopLevel`` and ``useSigstoreAttachments`` fall through (the man page's
   "only the most precise scope is used" describes a single-key world).
5. No lookaside anywhere: upstream reads its built-in default folder
   (``/var/lib/containers/sigstore`` for root, ``~/.local/share/containers/sigstore``
   otherwise); :meth:`RegistriesD.load` takes it as ``builtin_lookaside`` (None turns it
   off, for a webhook whose container has no such folder to mean anything).
   ``use-sigstore-attachments`` defaults to false.

Stricter than upstream, on purpose, so a mistake is reported when the file is loaded
rather than when an image happens to use it: a lookaside URL must be ``file:///absolute``
or ``http(s)://host/...`` without query or fragment, and values must have their types
(string URLs, a true/false flag). Errors are :class:`~sigpolicy.errors.InputError`: one
line naming the file, the line when known, and the problem.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import yaml

from sigpolicy.errors import InputError
from sigpolicy.reference.docker import Reference
from sigpolicy.reference.scopes import policy_scopes
from sigpolicy.yamlfile import load_one

__all__ = [
    "BUILTIN_LOOKASIDE",
    "LookasideConfig",
    "LookasideURL",
    "RegistriesD",
    "Section",
]

#: The biggest registries.d file read: configuration, not data.
MAX_FILE_BYTES: Final = 1024 * 1024
#: The most files read from one folder.
MAX_FILES: Final = 1000

_URL_KEYS: Final = ("lookaside", "lookaside-staging", "sigstore", "sigstore-staging")
_FLAG_KEY: Final = "use-sigstore-attachments"


def _builtin_lookaside() -> str:
    """Upstream's ``builtinDefaultLookasideStorageDir``: by effective user."""
    if os.geteuid() == 0:
        return "file:///var/lib/containers/sigstore"
    return Path.home().joinpath(".local/share/containers/sigstore").as_uri()


#: containers/image's built-in lookaside folder for this process's user (rule 5).
BUILTIN_LOOKASIDE: Final = _builtin_lookaside()


@dataclass(frozen=True, slots=True)
class LookasideURL:
    """A parsed lookaside base URL: ``file`` with a local path, or ``http``/``https``."""

    url: str
    scheme: str
    #: The local folder for ``file`` (percent-decoded), else the URL's path.
    path: str

    @classmethod
    def parse(cls, url: str, where: str) -> LookasideURL:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if parts.query or parts.fragment:
            raise InputError(f"{where}: lookaside URL {url!r} must not have a query or fragment")
        if scheme == "file":
            if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
                raise InputError(f"{where}: lookaside URL {url!r} must be file:///absolute/path")
            return cls(url, scheme, unquote(parts.path))
        if scheme in ("http", "https"):
            if not parts.hostname:
                raise InputError(f"{where}: lookaside URL {url!r} has no host")
            return cls(url, scheme, parts.path)
        raise InputError(
            f"{where}: lookaside URL {url!r}: unsupported scheme (file, http or https)"
        )

    def __str__(self) -> str:
        return self.url


@dataclass(frozen=True, slots=True)
class Section:
    """One configuration section (rule 3), with the file and line it came from."""

    where: str
    lookaside: LookasideURL | None = None
    sigstore: LookasideURL | None = None
    lookaside_staging: str | None = None
    sigstore_staging: str | None = None
    use_sigstore_attachments: bool | None = None

    @property
    def read_url(self) -> LookasideURL | None:
        """The URL signatures are read from: ``lookaside``, else ``sigstore`` (staging never)."""
        return self.lookaside if self.lookaside is not None else self.sigstore


@dataclass(frozen=True, slots=True)
class LookasideConfig:
    """What registries.d says for one image (rule 4), and which scope said it."""

    lookaside: LookasideURL | None
    use_sigstore_attachments: bool
    #: ``docker scope 'example.com' (file.yaml line 3)``, ``default-docker (...)``,
    #: ``built-in default``, or None when there is no lookaside.
    lookaside_from: str | None = None
    attachments_from: str | None = None


@dataclass(frozen=True, slots=True)
class RegistriesD:
    """A merged registries.d folder; build it with :meth:`load` (or directly, in tests)."""

    default_docker: Section | None = None
    docker: Mapping[str, Section] = field(default_factory=dict)
    builtin_lookaside: LookasideURL | None = None
    source: str = "registries.d"

    @classmethod
    def load(
        cls, directory: Path, *, builtin_lookaside: str | None = BUILTIN_LOOKASIDE
    ) -> RegistriesD:
        """Read every ``*.yaml`` of ``directory`` (rules 1-3); raise InputError."""
        builtin = (
            LookasideURL.parse(builtin_lookaside, "built-in lookaside")
            if builtin_lookaside
            else None
        )
        try:
            names = sorted(entry for entry in os.listdir(directory) if entry.endswith(".yaml"))
        except FileNotFoundError:
            return cls(builtin_lookaside=builtin, source=str(directory))
        except OSError as exc:
            raise InputError(
                f"{directory}: cannot read the registries.d folder ({_why(exc)})"
            ) from None
        if len(names) > MAX_FILES:
            raise InputError(f"{directory}: more than {MAX_FILES} registries.d files")
        default: Section | None = None
        docker: dict[str, Section] = {}
        for name in names:
            path = directory / name
            file_default, file_docker = _read_file(path)
            if file_default is not None:
                if default is not None:
                    raise InputError(
                        f'{file_default.where}: "default-docker" is also defined in {default.where}'
                    )
                default = file_default
            for scope, section in file_docker.items():
                if scope in docker:
                    raise InputError(
                        f"{section.where}: docker scope {scope!r} is also defined in"
                        f" {docker[scope].where}"
                    )
                docker[scope] = section
        return cls(default, docker, builtin, str(directory))

    def for_reference(self, ref: Reference) -> LookasideConfig:
        """The configuration for ``ref`` (rules 4 and 5)."""
        scopes = policy_scopes(ref)
        lookaside: LookasideURL | None = None
        lookaside_from: str | None = None
        flag: bool | None = None
        flag_from: str | None = None
        candidates = [
            (f"docker scope {scope!r}", self.docker[scope])
            for scope in scopes
            if scope in self.docker
        ]
        if self.default_docker is not None:
            candidates.append(("default-docker", self.default_docker))
        for label, section in candidates:
            if lookaside is None and section.read_url is not None:
                lookaside, lookaside_from = section.read_url, f"{label} ({section.where})"
            if flag is None and section.use_sigstore_attachments is not None:
                flag = section.use_sigstore_attachments
                flag_from = f"{label} ({section.where})"
        if lookaside is None and self.builtin_lookaside is not None:
            lookaside, lookaside_from = self.builtin_lookaside, "built-in default"
        return LookasideConfig(lookaside, bool(flag), lookaside_from, flag_from)


# --- reading one file ---


def _read_file(path: Path) -> tuple[Section | None, dict[str, Section]]:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        # Removed between the listing and the open: upstream skips it as an expected race.
        return None, {}
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({_why(exc)})") from None
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{path}: over the {MAX_FILE_BYTES}-byte limit of a registries.d file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    document = load_one(text, where=str(path))  # syntax and duplicate keys, with their line
    if document is None:
        return None, {}
    lines = _key_lines(text)
    if not isinstance(document, dict):
        raise InputError(f"{path}: a registries.d file must be a YAML mapping")
    default: Section | None = None
    raw_default = document.get("default-docker")
    if raw_default is not None:  # null is "not set", as upstream's *registryNamespace
        default = _section(raw_default, f"{path}", lines.get(("default-docker",)), "default-docker")
    docker: dict[str, Section] = {}
    raw_docker = document.get("docker")
    if raw_docker is not None:
        if not isinstance(raw_docker, dict):
            where = _where(path, lines.get(("docker",)))
            raise InputError(f'{where}: "docker" must be a mapping of scopes')
        for scope, raw in raw_docker.items():
            if not isinstance(scope, str):
                where = _where(path, lines.get(("docker",)))
                raise InputError(f"{where}: docker scope {scope!r} is not a string")
            docker[scope] = _section(
                raw, str(path), lines.get(("docker", scope)), f"docker scope {scope!r}"
            )
    return default, docker


def _section(raw: Any, path: str, line: int | None, what: str) -> Section:
    where = _where(path, line)
    if raw is None:
        # An empty section is defined (it counts for duplicates) and sets nothing.
        return Section(where)
    if not isinstance(raw, dict):
        raise InputError(f"{where}: {what} must be a mapping")
    values: dict[str, Any] = {}
    for key in _URL_KEYS:
        value = raw.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise InputError(f"{where}: {what}: {key} must be a string URL")
        values[key] = value
    flag = raw.get(_FLAG_KEY)
    if flag is not None and not isinstance(flag, bool):
        raise InputError(f"{where}: {what}: {_FLAG_KEY} must be true or false")
    label = f"{where}: {what}"
    return Section(
        where,
        lookaside=_url(values.get("lookaside"), label),
        sigstore=_url(values.get("sigstore"), label),
        lookaside_staging=values.get("lookaside-staging"),
        sigstore_staging=values.get("sigstore-staging"),
        use_sigstore_attachments=flag,
    )


def _url(value: str | None, where: str) -> LookasideURL | None:
    return None if value is None else LookasideURL.parse(value, where)


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """1-based lines of the keys ``default-docker``, ``docker`` and each docker scope."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:  # pragma: no cover - load_one has parsed the same text
        return {}
    lines: dict[tuple[str, ...], int] = {}
    if not isinstance(root, yaml.MappingNode):
        return lines
    for key, value in root.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        lines[(key.value,)] = key.start_mark.line + 1
        if key.value == "docker" and isinstance(value, yaml.MappingNode):
            for scope, _ in value.value:
                if isinstance(scope, yaml.ScalarNode):
                    lines[("docker", scope.value)] = scope.start_mark.line + 1
    return lines


def _where(path: Path | str, line: int | None) -> str:
    return f"{path} line {line}" if line is not None else str(path)


def _why(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__
