"""Real registries on loopback for tests: Debian's ``docker-registry`` over TLS, images pushed
with ``skopeo copy``.

Usage (plain functions and context managers, no fixtures here: wrap them in session-scoped
fixtures of your own conftest, as ``tests/registry_client/conftest.py`` does)::

    from tests.support.registry_kit import TestCA, RegistryServer, ImageBuilder, push_image

    ca = TestCA.create(tmp_dir / "ca")                    # CA + server cert for 127.0.0.1/localhost
    with RegistryServer(tmp_dir / "open", ca) as open_registry, \\
         RegistryServer(tmp_dir / "locked", ca, users={"alice": "s3cret"}) as locked:
        open_registry.host            # "127.0.0.1:PORT" (use it in references and certs.d)
        open_registry.certs_d         # a containers-certs.d(5) dir: <certs_d>/<host>/ca.crt
        layout = ImageBuilder(tmp_dir / "layouts").image("v1")       # an OCI layout, tag "v1"
        digest = push_image(layout, "v1", open_registry, "team/app:v1", format="v2s2")
        digest = push_image(layout, "v1", locked, "team/app:v1", format="oci",
                            creds=("alice", "s3cret"))
        index_layout = ImageBuilder(tmp_dir / "layouts").index("multi")  # an OCI image index
        digest = push_image(index_layout, "multi", open_registry, "team/multi:1", all_images=True)
        open_registry.access_log()    # [AccessLine(method, path, status), ...] as the registry logged

- :class:`TestCA` makes an ECDSA P-256 CA and a server certificate (SAN 127.0.0.1, ::1,
  localhost) with ``cryptography``; :meth:`TestCA.certs_d_for` writes a certs.d tree.
- :class:`RegistryServer` writes a ``config.yml`` (filesystem storage in its own directory,
  TLS with the CA's server cert, optional htpasswd auth with bcrypt hashes made by the
  ``bcrypt`` pip package, a dev dependency), starts ``/usr/bin/docker-registry serve`` on a
  free loopback port, waits until ``GET /v2/`` answers over TLS, and on exit stops it
  (SIGTERM, then SIGKILL). Its stdout (the access log, Apache combined format) and stderr
  (the app log) go to files in its directory; :meth:`RegistryServer.access_log` parses the
  former so tests can count the requests the registry really served.
- ``RegistryServer(..., token=TokenIssuer(...))`` runs the registry's real token auth
  (``auth: token``) against the issuer of ``tests/support/registry_token.py``.
- :class:`ImageBuilder` builds OCI image layouts from a tiny generated layer (a tar with one
  file whose content differs per image, so every image has its own digest).
- :func:`push_image` runs ``skopeo copy`` into the registry (``--dest-cert-dir`` with the CA,
  ``--dest-creds`` when given) and returns the pushed manifest's digest (``--digestfile``).

Each instance uses only loopback; nothing here needs network access.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import http.client
import io
import ipaddress
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import tarfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol

import bcrypt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REGISTRY_BINARY = "/usr/bin/docker-registry"
_START_TIMEOUT = 30.0
_SKOPEO_TIMEOUT = 120.0

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


class RegistryKitError(RuntimeError):
    """The test setup failed (a registry did not start, skopeo refused): a bug in the test."""


# --- certificates ------------------------------------------------------------------------


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class TestCA:
    """A CA made by the test, and a server certificate it issued for loopback names."""

    __test__ = False  # not a test class, despite the name

    directory: Path
    ca_cert: Path
    server_cert: Path
    server_key: Path

    @classmethod
    def create(cls, directory: Path, *, common_name: str = "sigpolicy test CA") -> TestCA:
        directory.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        server_key = ec.generate_private_key(ec.SECP256R1())
        server = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name)
            .public_key(server_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                        x509.IPAddress(ipaddress.ip_address("::1")),
                        x509.DNSName("localhost"),
                    ]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        paths = cls(
            directory=directory,
            ca_cert=directory / "ca.crt",
            server_cert=directory / "server.crt",
            server_key=directory / "server.key",
        )
        paths.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        paths.server_cert.write_bytes(server.public_bytes(serialization.Encoding.PEM))
        paths.server_key.write_bytes(_pem_key(server_key))
        paths.server_key.chmod(0o600)
        return paths

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts only this CA (for readiness probes)."""
        return ssl.create_default_context(cafile=str(self.ca_cert))

    def certs_d_for(self, directory: Path, *hosts: str) -> Path:
        """A containers-certs.d(5) tree: ``<directory>/<host>/ca.crt`` for each host."""
        for host in hosts:
            host_dir = directory / host
            host_dir.mkdir(parents=True, exist_ok=True)
            (host_dir / "ca.crt").write_bytes(self.ca_cert.read_bytes())
        return directory


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --- the registry ------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessLine:
    """One request as the registry's access log records it."""

    method: str
    path: str
    status: int


# 127.0.0.1 - - [04/Dec/2026:15:00:00 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "agent"
_ACCESS_RE = re.compile(
    r'^\S+ \S+ \S+ \[[^\]]*\] "(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" (?P<status>\d{3}) '
)


class TokenAuth(Protocol):
    """A token issuer the registry trusts (tests/support/registry_token.py)."""

    def registry_auth_config(self) -> list[str]:
        """The ``auth:`` block's lines of the registry's config.yml, unindented."""
        ...


class RegistryServer:
    """One ``docker-registry`` process on loopback over TLS (see the module docstring)."""

    def __init__(
        self,
        directory: Path,
        ca: TestCA,
        *,
        users: Mapping[str, str] | None = None,
        tls: bool = True,
        token: TokenAuth | None = None,
    ) -> None:
        self.directory = directory
        self.ca = ca
        self.users = dict(users or {})
        self.tls = tls
        self.token = token
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._stdout: io.BufferedWriter | None = None
        self._stderr: io.BufferedWriter | None = None

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: the registry host as references and certs.d name it."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def certs_d(self) -> Path:
        """A containers-certs.d(5) directory that holds this registry's CA."""
        return self.ca.certs_d_for(self.directory / "certs.d", self.host)

    @property
    def skopeo_cert_dir(self) -> Path:
        """A directory with ``ca.crt`` directly in it, as ``skopeo --dest-cert-dir`` reads."""
        path = self.directory / "skopeo-certs"
        path.mkdir(exist_ok=True)
        (path / "ca.crt").write_bytes(self.ca.ca_cert.read_bytes())
        return path

    def _config(self) -> str:
        storage = self.directory / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        lines = [
            "version: 0.1",
            "log:",
            "  level: info",
            "  accesslog:",
            "    disabled: false",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {json.dumps(str(storage))}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
            # Without a secret each start would pick a random one (and log a warning).
            "  secret: sigpolicy-tests",
        ]
        if self.tls:
            lines += [
                "  tls:",
                f"    certificate: {json.dumps(str(self.ca.server_cert))}",
                f"    key: {json.dumps(str(self.ca.server_key))}",
            ]
        if self.token is not None:
            lines += ["auth:", *(f"  {line}" for line in self.token.registry_auth_config())]
        elif self.users:
            htpasswd = self.directory / "htpasswd"
            htpasswd.write_text(
                "".join(
                    f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()}\n"
                    for user, password in self.users.items()
                )
            )
            lines += [
                "auth:",
                "  htpasswd:",
                "    realm: sigpolicy-test",
                f"    path: {json.dumps(str(htpasswd))}",
            ]
        return "\n".join(lines) + "\n"

    def __enter__(self) -> RegistryServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for _attempt in range(3):  # another process may take the free port first
            self.port = free_port()
            config = self.directory / "config.yml"
            config.write_text(self._config())
            self._stdout = (self.directory / "access.log").open("ab")
            self._stderr = (self.directory / "registry.log").open("ab")
            self._process = subprocess.Popen(
                [REGISTRY_BINARY, "serve", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=self._stdout,
                stderr=self._stderr,
                start_new_session=True,
            )
            if self._wait_ready():
                return
            self.stop()
        log = (self.directory / "registry.log").read_text(errors="replace")[-2000:]
        raise RegistryKitError(f"docker-registry did not start in {self.directory}: {log}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            try:
                self.probe("/v2/")
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def probe(self, path: str, *, method: str = "GET") -> tuple[int, dict[str, str]]:
        """One request with the standard library (status, headers): for readiness checks."""
        connection: http.client.HTTPConnection
        if self.tls:
            connection = http.client.HTTPSConnection(
                "127.0.0.1", self.port, context=self.ca.ssl_context(), timeout=5
            )
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}
        finally:
            connection.close()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        for stream in (self._stdout, self._stderr):
            if stream is not None:
                stream.close()
        self._stdout = self._stderr = None

    def access_log(self) -> list[AccessLine]:
        """Every request the registry has logged so far, oldest first."""
        if self._stdout is not None:
            self._stdout.flush()
        path = self.directory / "access.log"
        if not path.exists():
            return []
        found: list[AccessLine] = []
        for line in path.read_text(errors="replace").splitlines():
            match = _ACCESS_RE.match(line)
            if match is not None:
                found.append(AccessLine(match["method"], match["path"], int(match["status"])))
        return found


# --- images --------------------------------------------------------------------------------


def _blob(layout: Path, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (blobs / digest).write_bytes(data)
    return f"sha256:{digest}", len(data)


def _layer(content: bytes) -> tuple[bytes, str]:
    """A gzipped tar with one file; returns (gzip bytes, diff ID of the uncompressed tar)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        info.mtime = 0
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), f"sha256:{hashlib.sha256(tar_bytes).hexdigest()}"


class ImageBuilder:
    """OCI image layouts (``oci:<dir>:<tag>`` for skopeo) of tiny generated images."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _manifest(self, layout: Path, content: bytes, arch: str) -> dict[str, object]:
        layer, diff_id = _layer(content)
        layer_digest, layer_size = _blob(layout, layer)
        config = json.dumps(
            {
                "architecture": arch,
                "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                "config": {},
            }
        ).encode()
        config_digest, config_size = _blob(layout, config)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
                "layers": [
                    {"mediaType": OCI_LAYER_GZIP, "digest": layer_digest, "size": layer_size}
                ],
            }
        ).encode()
        digest, size = _blob(layout, manifest)
        return {
            "mediaType": OCI_MANIFEST,
            "digest": digest,
            "size": size,
            "platform": {"architecture": arch, "os": "linux"},
        }

    def _write_layout(self, layout: Path, tag: str, top: dict[str, object]) -> Path:
        (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        top = dict(top, annotations={"org.opencontainers.image.ref.name": tag})
        index = {"schemaVersion": 2, "manifests": [top]}
        (layout / "index.json").write_text(json.dumps(index))
        return layout

    def image(self, tag: str, *, content: bytes | None = None) -> Path:
        """A layout holding one single-platform image under ``tag``."""
        layout = self.directory / f"image-{tag}"
        layout.mkdir(parents=True, exist_ok=True)
        entry = self._manifest(layout, content or f"image {tag}\n".encode(), "amd64")
        entry.pop("platform")
        return self._write_layout(layout, tag, entry)

    def index(self, tag: str, *, arches: tuple[str, ...] = ("amd64", "arm64")) -> Path:
        """A layout whose ``tag`` is an OCI image index over one image per architecture."""
        layout = self.directory / f"index-{tag}"
        layout.mkdir(parents=True, exist_ok=True)
        manifests = [self._manifest(layout, f"{tag} {arch}\n".encode(), arch) for arch in arches]
        body = json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        ).encode()
        digest, size = _blob(layout, body)
        return self._write_layout(
            layout, tag, {"mediaType": OCI_INDEX, "digest": digest, "size": size}
        )


def push_image(
    layout: Path,
    tag: str,
    registry: RegistryServer,
    destination: str,
    *,
    format: Literal["oci", "v2s2", "v2s1"] | None = None,
    creds: tuple[str, str] | None = None,
    all_images: bool = False,
) -> str:
    """``skopeo copy oci:<layout>:<tag> docker://<registry>/<destination>``; the digest pushed.

    ``format`` None keeps the source's manifest type (OCI for these layouts); ``all_images``
    copies a whole index (``--all``) instead of one platform's image.
    """
    digest_file = registry.directory / f"digest-{os.getpid()}-{time.monotonic_ns()}"
    command = [
        "skopeo",
        "--insecure-policy",
        "copy",
        "--quiet",
        "--digestfile",
        str(digest_file),
    ]
    if registry.tls:
        command += ["--dest-cert-dir", str(registry.skopeo_cert_dir), "--dest-tls-verify=true"]
    else:
        command += ["--dest-tls-verify=false"]
    if creds is not None:
        command += ["--dest-creds", f"{creds[0]}:{creds[1]}"]
    else:
        command += ["--dest-no-creds"]
    if format is not None:
        command += ["--format", format]
    if all_images:
        command += ["--all"]
    command += [f"oci:{layout}:{tag}", f"docker://{registry.host}/{destination}"]
    env = dict(os.environ, HOME=str(registry.directory))  # no user auth.json is read
    result = subprocess.run(
        command, capture_output=True, timeout=_SKOPEO_TIMEOUT, env=env, check=False
    )
    if result.returncode != 0:
        raise RegistryKitError(
            f"skopeo copy to {registry.host}/{destination} failed:"
            f" {result.stderr.decode(errors='replace').strip()}"
        )
    return digest_file.read_text().strip()
