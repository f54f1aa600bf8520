"""A Docker token-auth issuer for Debian's docker-registry, so its real token authentication
(``auth: token:``) runs in tests.

Usage::

    from tests.support.registry_kit import RegistryServer, TestCA
    from tests.support.registry_token import TokenIssuer

    ca = TestCA.create(tmp / "ca")
    with TokenIssuer(tmp / "issuer", ca, users={"bob": "pw"}) as issuer, \\
         RegistryServer(tmp / "tokened", ca, token=issuer) as registry:
        issuer.host          # "127.0.0.1:PORT" of the realm: put it in certs.d too
        issuer.requests      # [(account or None, scopes asked), ...] as the issuer saw them

The issuer follows the token spec of distribution (docs/spec/auth/token.md, jwt.md): ``GET
/token?service=...&scope=repository:NAME:ACTIONS`` over HTTPS (the CA's server certificate),
optional Basic credentials; a wrong password gets 401; an authenticated user gets every
action asked for; anonymous callers get ``pull`` only on repositories in ``public``. The
answer is ``{"token", "access_token", "expires_in", "issued_at"}``; the token is an ES256 JWT
whose ``x5c`` header carries the signing certificate, which the registry trusts through its
``rootcertbundle`` (a self-signed certificate in the bundle verifies as a root in Go).
Standard library HTTP only (no httpx2), in a thread, on loopback.
"""

from __future__ import annotations

import base64
import datetime
import json
import secrets
import ssl
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from tests.support.registry_kit import TestCA

SERVICE = "sigpolicy-test-registry"
ISSUER = "sigpolicy-test-issuer"
_LIFETIME = 300


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class _Handler(BaseHTTPRequestHandler):
    server: _IssuerServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
        accepted, account = self._account()
        self.server.issuer.record(account if accepted else "<refused>", scopes)
        if not accepted:
            self._send(
                401,
                b'{"errors": [{"code": "UNAUTHORIZED"}]}',
                {"WWW-Authenticate": 'Basic realm="issuer"'},
            )
            return
        token = self.server.issuer.token(account, scopes)
        body = json.dumps(
            {
                "token": token,
                "access_token": token,
                "expires_in": _LIFETIME,
                "issued_at": datetime.datetime.now(datetime.UTC).isoformat(),
            }
        ).encode()
        self._send(200, body, {"Content-Type": "application/json"})

    def _account(self) -> tuple[bool, str | None]:
        """(accepted, user name or None for anonymous)."""
        header = self.headers.get("Authorization")
        if header is None:
            return True, None
        scheme, _, encoded = header.partition(" ")
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False, None
        expected = self.server.issuer.users.get(user)
        if scheme != "Basic" or expected is None or not secrets.compare_digest(expected, password):
            return False, None
        return True, user

    def _send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _IssuerServer(ThreadingHTTPServer):
    daemon_threads = True
    issuer: TokenIssuer


class TokenIssuer:
    """See the module docstring."""

    def __init__(
        self,
        directory: Path,
        ca: TestCA,
        *,
        users: Mapping[str, str],
        public: frozenset[str] = frozenset(),
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.users = dict(users)
        self.public = public
        self.requests: list[tuple[str | None, list[str]]] = []
        self._lock = threading.Lock()
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sigpolicy test token signer")])
        now = datetime.datetime.now(datetime.UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(self._key, hashes.SHA256())
        )
        self.bundle = directory / "token-signer.crt"
        self.bundle.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(ca.server_cert, ca.server_key)
        self._server = _IssuerServer(("127.0.0.1", 0), _Handler)
        self._server.issuer = self
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def realm(self) -> str:
        return f"https://{self.host}/token"

    def registry_auth_config(self) -> list[str]:
        return [
            "token:",
            f"  realm: {self.realm}",
            f"  service: {SERVICE}",
            f"  issuer: {ISSUER}",
            f"  rootcertbundle: {json.dumps(str(self.bundle))}",
        ]

    def record(self, account: str | None, scopes: list[str]) -> None:
        with self._lock:
            self.requests.append((account, scopes))

    def token(self, account: str | None, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind != "repository" or not name:
                continue
            granted = (
                actions.split(",")
                if account is not None
                else (["pull"] if name in self.public and "pull" in actions.split(",") else [])
            )
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        header = {
            "typ": "JWT",
            "alg": "ES256",
            "x5c": [base64.b64encode(self._cert.public_bytes(serialization.Encoding.DER)).decode()],
        }
        claims = {
            "iss": ISSUER,
            "sub": account or "",
            "aud": SERVICE,
            "exp": now + _LIFETIME,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        r, s = decode_dss_signature(
            self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        )
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def __enter__(self) -> TokenIssuer:
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
