"""TLS for the webhook: a certificate reloaded when its files change, and self-signed ones.

Reload rules (:class:`ReloadingCertificate`):

1. The server's one :class:`ssl.SSLContext` is built from the certificate and key files at
   start; a bad pair there is an error (nothing to fall back to).
2. Every ``interval`` seconds the files' identity (inode, size, modification time; a mounted
   Secret changes by a symlink swap, which changes the inode) is compared with the last seen.
3. Changed: both files are read once, into a private temporary folder, and loaded into a
   fresh context. Only a pair that loads there (the key matches the certificate) is put in
   force, by swapping one reference on the event loop's thread, so no handshake sees half a
   change. Every handshake starts on the server's context, whose SNI callback moves it to
   the context in force: a fresh context per pair, so nothing of an old pair lingers (loading
   an ECDSA pair into a context holding an RSA one would keep both and could serve either).
   Connections already open keep their certificate; new handshakes get the new one.
4. A bad pair (half-written files, a key for another certificate) is logged once, counted
   and kept in ``last_error``; the last good certificate stays in force, and the pair is
   tried again when the files change again.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import logging
import os
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sigpolicy.errors import InputError

log = logging.getLogger("sigpolicy.webhook.tls")

DEFAULT_RELOAD_INTERVAL = 10.0
DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")
CA_FILE = "ca.crt"
CERT_FILE = "tls.crt"
KEY_FILE = "tls.key"

_Stamp = tuple[tuple[int, int, int], tuple[int, int, int]]


class ReloadingCertificate:
    """The server context of one certificate/key pair, reloaded as the files change."""

    def __init__(self, cert: Path, key: Path, *, interval: float = DEFAULT_RELOAD_INTERVAL) -> None:
        self.cert = cert
        self.key = key
        self.interval = interval
        self.context = _server_context()
        self.reloads = 0
        self.reload_failures = 0
        self.last_error: str | None = None
        stamp = self._stamp()
        if stamp is None:
            raise InputError(f"TLS: cannot read {cert} and {key}")
        error = self._load(self.context)
        if error is not None:
            raise InputError(f"TLS: {error}")
        self._in_force = self.context
        self.context.sni_callback = self._choose
        self._seen: _Stamp | str = stamp
        self.not_after = _not_after(cert.read_bytes())

    def check(self) -> bool:
        """One check (rules 2-4); True when a new certificate was put in force."""
        stamp = self._stamp()
        state: _Stamp | str = stamp if stamp is not None else "unreadable"
        if state == self._seen:
            return False
        self._seen = state
        if stamp is None:
            return self._reject(f"cannot read {self.cert} and {self.key}")
        fresh = _server_context()
        error = self._load(fresh)
        if error is not None:
            return self._reject(error)
        self._in_force = fresh
        self.reloads += 1
        self.last_error = None
        self.not_after = _not_after(self.cert.read_bytes())
        log.info("TLS certificate reloaded from %s (valid until %s)", self.cert, self.not_after)
        return True

    async def watch(self) -> None:
        """Check every ``interval`` seconds, until cancelled."""
        while True:
            await asyncio.sleep(self.interval)
            self.check()

    def _stamp(self) -> _Stamp | None:
        try:
            cert, key = self.cert.stat(), self.key.stat()
        except OSError:
            return None
        return (
            (cert.st_ino, cert.st_size, cert.st_mtime_ns),
            (key.st_ino, key.st_size, key.st_mtime_ns),
        )

    def _choose(
        self, connection: ssl.SSLObject, _name: str | None, _context: ssl.SSLContext
    ) -> None:
        if self._in_force is not self.context:
            connection.context = self._in_force

    def _load(self, context: ssl.SSLContext) -> str | None:
        """Load the pair into ``context`` (rule 3); the error, or None."""
        try:
            cert_bytes, key_bytes = self.cert.read_bytes(), self.key.read_bytes()
        except OSError as exc:
            return f"cannot read {exc.filename}: {exc.strerror}"
        with tempfile.TemporaryDirectory(prefix="sigpolicy-tls-") as folder:
            cert_copy, key_copy = Path(folder, "cert.pem"), Path(folder, "key.pem")
            cert_copy.write_bytes(cert_bytes)
            _write_private(key_copy, key_bytes)
            try:
                context.load_cert_chain(cert_copy, key_copy)
            except (ssl.SSLError, OSError) as exc:
                return f"{self.cert} and {self.key} are not a usable pair: {exc}"
        return None

    def _reject(self, message: str) -> bool:
        self.reload_failures += 1
        self.last_error = message
        log.warning("TLS certificate not reloaded, keeping the last good one: %s", message)
        return False


def _server_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _not_after(pem: bytes) -> str:
    try:
        return x509.load_pem_x509_certificate(pem).not_valid_after_utc.isoformat()
    except ValueError:
        return "unknown"


# --- self-signed certificates for the embedded default and tests ------------------------


@dataclass(frozen=True)
class SelfSigned:
    """The files :func:`write_self_signed` made: a CA to trust, the server's pair."""

    ca: Path
    cert: Path
    key: Path


def write_self_signed(
    folder: Path,
    *,
    names: Sequence[str] = DEFAULT_NAMES,
    days: int = 365,
    now: datetime.datetime | None = None,
) -> SelfSigned:
    """A fresh CA and a server certificate for ``names`` (DNS names or IP addresses),
    written to ``folder`` as ``ca.crt``, ``tls.crt`` and ``tls.key`` (mode 0600).

    ECDSA P-256: fast to make at start and to handshake. The CA is what a client (or the
    ``caBundle`` of a webhook configuration) trusts; it signs nothing else.
    """
    if not names:
        raise InputError("a self-signed certificate needs at least one name")
    now = now or datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(minutes=5)
    end = now + datetime.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sigpolicy self-signed CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    files = SelfSigned(folder / CA_FILE, folder / CERT_FILE, folder / KEY_FILE)
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Key first, then certificate: a watcher that sees the new certificate sees its key.
    _write_private(files.key, key_pem)
    files.cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    return files


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` readable by the owner only, replacing ``path`` in one rename."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    temporary.replace(path)
