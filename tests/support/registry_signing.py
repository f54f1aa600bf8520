"""Real signatures in a registry, written by ``skopeo copy`` (1.9.3), for the registry source tests.

- Simple signing: ``skopeo copy --sign-by <fingerprint>`` (gpgme through ``GNUPGHOME``) with a
  registries.d that names a ``lookaside-staging: file:///...`` folder: skopeo writes
  ``<folder>/<repo path>@sha256=<hex>/signature-N`` there, which a test then serves over
  HTTP as the ``lookaside:`` of the reading side (:class:`LookasideServer`).
- Sigstore: Debian's skopeo 1.9.3 is built with signing by sigstore keys cut out
  (``--sign-by-sigstore-private-key`` fails with "Debian-local change: sigstore disabled",
  before it even reads the key), but its attachment *writer* is intact. So
  :func:`push_with_signatures` signs as cosign and containers/image do (ECDSA P-256 over
  SHA-256 of the payload, :mod:`tests.cosign.kit`), puts the attachment into a ``dir:``
  copy of the image as containers/image stores one (``0x00 sigstore-json``), and lets
  ``skopeo copy dir:... docker://...`` with ``use-sigstore-attachments: true`` push the
  cosign tag ``sha256-<hex>.sig`` exactly as it would after signing.

Nothing here touches the user's GnuPG home or auth files: skopeo runs with ``HOME`` in the
test's folder, ``GNUPGHOME`` the key's throwaway home, and ``--registries.d`` given.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import secrets
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.support.gpgkit import GeneratedKey
from tests.support.registry_kit import RegistryServer

_SKOPEO_TIMEOUT = 120.0


class SigningError(RuntimeError):
    """skopeo refused to sign or push: a bug in the test setup."""


def write_registries_d(directory: Path, text: str, name: str = "test.yaml") -> Path:
    """A registries.d folder with one file of ``text``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text)
    return directory


def _skopeo(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(
        command, capture_output=True, timeout=_SKOPEO_TIMEOUT, env=env, check=False
    )
    if result.returncode != 0:
        raise SigningError(f"{what} failed: {result.stderr.decode(errors='replace').strip()}")


def _copy_to_registry(
    source: str,
    registry: RegistryServer,
    destination: str,
    registries_d: Path,
    extra: Sequence[str],
    env: dict[str, str],
) -> str:
    digest_file = registry.directory / f"signed-digest-{os.getpid()}-{secrets.token_hex(4)}"
    command = [
        "skopeo",
        "--insecure-policy",
        "--registries.d",
        str(registries_d),
        "copy",
        "--quiet",
        "--digestfile",
        str(digest_file),
        "--dest-cert-dir",
        str(registry.skopeo_cert_dir),
        "--dest-tls-verify=true",
        "--dest-no-creds",
        *extra,
        source,
        f"docker://{registry.host}/{destination}",
    ]
    _skopeo(command, env, f"skopeo copy {source} to {registry.host}/{destination}")
    return digest_file.read_text().strip()


def push_signed(
    layout: Path,
    tag: str,
    registry: RegistryServer,
    destination: str,
    *,
    registries_d: Path,
    gpg_key: GeneratedKey,
    sign_identity: str | None = None,
) -> str:
    """``skopeo copy --sign-by FPR oci:<layout>:<tag> docker://<registry>/<destination>``.

    Returns the digest pushed; the signature goes where ``registries_d`` says (its
    ``lookaside-staging``, for Debian's registry, which has no extension API).
    """
    extra = ["--sign-by", gpg_key.fingerprint]
    if sign_identity is not None:
        extra += ["--sign-identity", sign_identity]
    env = dict(os.environ, HOME=str(registry.directory), GNUPGHOME=str(gpg_key.home))
    return _copy_to_registry(f"oci:{layout}:{tag}", registry, destination, registries_d, extra, env)


def add_signature(
    registry: RegistryServer,
    destination: str,
    *,
    registries_d: Path,
    gpg_key: GeneratedKey,
) -> str:
    """``skopeo copy --sign-by FPR docker://X docker://X``: one more signature, the old kept.

    A copy from a layout replaces the signatures at the destination; a copy from the
    registry itself reads them first (through ``registries_d``'s ``lookaside``) and writes
    them back with the new one appended, as a second signer does.
    """
    extra = [
        "--src-cert-dir",
        str(registry.skopeo_cert_dir),
        "--src-no-creds",
        "--sign-by",
        gpg_key.fingerprint,
    ]
    env = dict(os.environ, HOME=str(registry.directory), GNUPGHOME=str(gpg_key.home))
    source = f"docker://{registry.host}/{destination}"
    return _copy_to_registry(source, registry, destination, registries_d, extra, env)


def push_with_signatures(
    layout: Path,
    tag: str,
    registry: RegistryServer,
    destination: str,
    *,
    registries_d: Path,
    workdir: Path,
    signature_files: Callable[[bytes, str], Sequence[bytes]],
) -> str:
    """Copy the image into ``dir:`` form, add ``signature-N`` files, push it with skopeo.

    ``signature_files(manifest, digest)`` makes the files (envelopes as containers/image
    stores them); skopeo then writes each where ``registries_d`` says: sigstore ones to the
    cosign tag when ``use-sigstore-attachments`` is on, simple ones to the lookaside.
    """
    env = dict(os.environ, HOME=str(registry.directory))
    folder = workdir / f"dir-{secrets.token_hex(4)}"
    _skopeo(
        ["skopeo", "--insecure-policy", "copy", "--quiet", f"oci:{layout}:{tag}", f"dir:{folder}"],
        env,
        f"skopeo copy oci:{layout}:{tag} to dir:",
    )
    manifest = (folder / "manifest.json").read_bytes()
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    for number, data in enumerate(signature_files(manifest, digest), start=1):
        (folder / f"signature-{number}").write_bytes(data)
    pushed = _copy_to_registry(f"dir:{folder}", registry, destination, registries_d, (), env)
    if pushed != digest:
        raise SigningError(f"skopeo pushed {pushed}, not the dir: manifest's {digest}")
    return pushed


class _LoggingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; records each request's path instead of printing it."""

    def __init__(self, *args: Any, log: list[str], **kwargs: Any) -> None:
        self._log = log
        super().__init__(*args, **kwargs)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self._log.append(self.path)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LookasideServer:
    """A static HTTP server on 127.0.0.1 over a folder: a lookaside store as people run it."""

    def __init__(self, folder: Path) -> None:
        self.requests: list[str] = []
        """The paths asked, in order (the server's own log)."""
        handler = functools.partial(_LoggingHandler, directory=str(folder), log=self.requests)
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LookasideServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
