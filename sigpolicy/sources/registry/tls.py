"""Registry client options, and the TLS context for each registry host.

TLS rules (containers-certs.d(5)):

1. Certificates are always verified, against the system CAs (OpenSSL's default paths) plus
   every ``*.crt`` in ``<cert_dir>/<host[:port]>/`` as an extra CA.
2. ``*.cert`` files there are client certificates, each with the ``*.key`` of the same base
   name; a ``.cert`` without its ``.key`` (or a ``.key`` without its ``.cert``) is an error,
   as in containers/image.
3. ``cert_dir`` None means ``/etc/containers/certs.d`` when that directory exists.
4. Plain HTTP, without TLS, only for a ``host[:port]`` listed in ``insecure_hosts``; nothing
   else turns verification off.

A certificate file that cannot be loaded raises :class:`~sigpolicy.errors.InputError`
naming the file: it is the administrator's configuration that is wrong.
"""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sigpolicy.errors import InputError

DEFAULT_CERT_DIR: Final = Path("/etc/containers/certs.d")
MIB: Final = 1024 * 1024


@dataclass(frozen=True)
class RegistryOptions:
    """How the registry client connects, and the bounds it keeps on what it reads."""

    #: containers-certs.d(5) directory; None = ``/etc/containers/certs.d`` if it exists.
    cert_dir: Path | None = None
    #: ``host[:port]`` names reached over plain HTTP (and so without TLS verification).
    insecure_hosts: frozenset[str] = frozenset()
    max_manifest_bytes: int = 4 * MIB
    #: Cap of a blob (signature payloads, cosign layers) unless the call gives its own.
    max_blob_bytes: int = 4 * MIB
    #: Cap of JSON answers: token responses, referrers indexes, the signature extension API.
    max_json_bytes: int = 4 * MIB
    max_redirects: int = 3
    per_host_concurrency: int = 8
    connect_timeout: float = 2.0

    def __post_init__(self) -> None:
        for name in ("max_manifest_bytes", "max_blob_bytes", "max_json_bytes"):
            if getattr(self, name) <= 0:
                raise InputError(f"registry option {name} must be positive")
        if self.max_redirects < 0:
            raise InputError("registry option max_redirects must not be negative")
        if self.per_host_concurrency < 1:
            raise InputError("registry option per_host_concurrency must be at least 1")
        if not self.connect_timeout > 0:
            raise InputError("registry option connect_timeout must be positive")

    def effective_cert_dir(self) -> Path | None:
        """Rule 3."""
        if self.cert_dir is not None:
            return self.cert_dir
        return DEFAULT_CERT_DIR if DEFAULT_CERT_DIR.is_dir() else None

    def is_insecure(self, host: str) -> bool:
        """Rule 4: ``host`` is ``host[:port]`` as a reference names it."""
        return host in self.insecure_hosts


def _verifying_context() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@functools.cache
def _system_context() -> ssl.SSLContext:
    """Rule 1 without extra files: one per process, since loading the system CAs takes tens
    of milliseconds and the context is never changed after."""
    return _verifying_context()


def ssl_context_for(host: str, cert_dir: Path | None) -> ssl.SSLContext:
    """The verifying client context for ``host`` (``host[:port]``), rules 1 and 2."""
    host_dir = cert_dir / host if cert_dir is not None else None
    if host_dir is None or not host_dir.is_dir():
        return _system_context()
    context = _verifying_context()
    try:
        files = sorted(host_dir.iterdir())
    except OSError as exc:
        raise InputError(f"certs.d {host_dir}: cannot list: {exc.strerror or exc}") from None
    names = {path.name for path in files}
    for path in files:
        if path.suffix == ".crt":
            _load(context, path, None)
        elif path.suffix == ".cert":
            key = path.with_suffix(".key")
            if key.name not in names:
                raise InputError(f"certs.d {path}: client certificate without {key.name}")
            _load(context, path, key)
        elif path.suffix == ".key" and path.with_suffix(".cert").name not in names:
            raise InputError(f"certs.d {path}: client key without {path.with_suffix('.cert').name}")
    return context


def _load(context: ssl.SSLContext, path: Path, key: Path | None) -> None:
    """A CA file (``key`` None) or a client certificate and its key, into ``context``."""
    try:
        if key is None:
            context.load_verify_locations(cafile=str(path))
        else:
            context.load_cert_chain(str(path), str(key))
    except (ssl.SSLError, OSError, ValueError) as exc:
        detail = " ".join(str(getattr(exc, "reason", None) or exc).split())
        raise InputError(f"certs.d {path}: cannot load: {detail}") from None
