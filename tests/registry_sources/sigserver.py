"""A small registry on loopback (TLS from the tests' CA) for the two APIs Debian's
docker-registry 2.8 lacks, implemented as their specifications say:

- the signature extension API, as the OpenShift integrated registry serves it
  (``pkg/dockerregistry/server/signaturedispatcher.go``): every answer carries
  ``X-Registry-Supports-Signatures: 1`` when enabled; ``GET
  /extensions/v2/<repo>/signatures/<digest>`` returns ``{"signatures": [{"schemaVersion":
  2, "name", "type", "content": base64}]}`` for an image the repository has, 404 with a
  ``MANIFEST_UNKNOWN`` error for one it does not;
- OCI distribution-spec 1.1 referrers: ``GET /v2/<repo>/referrers/<digest>`` answers an OCI
  image index (``application/vnd.oci.image.index.v1+json``) of the manifests whose
  ``subject`` is that digest, even when empty (never 404 for a registry that has the API);
  each descriptor carries the manifest's ``artifactType`` (else its config's media type)
  and annotations; ``?artifactType=`` filters and the answer then says so in
  ``OCI-Filters-Applied: artifactType`` (a registry may also ignore the filter: set
  ``apply_filter=False``). With ``referrers=False`` the endpoint is 404, as on 2.8.

Manifests (``HEAD``/``GET`` by tag or digest, with ``Docker-Content-Digest`` and the media
type as ``Content-Type``) and blobs are served from memory. Every request is logged in
:attr:`SignatureRegistry.requests`; :attr:`SignatureRegistry.fail` makes paths answer 500, and
:attr:`SignatureRegistry.files` serves plain files (a lookaside store over HTTPS).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import re
import ssl
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.registry_kit import TestCA

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_PATH = re.compile(r"^/v2/(?P<name>.+)/(?P<kind>manifests|blobs|referrers)/(?P<ref>[^/]+)$")
_EXTENSION = re.compile(r"^/extensions/v2/(?P<name>.+)/signatures/(?P<digest>[^/]+)$")


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class _Repository:
    manifests: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # digest -> (type, body)
    tags: dict[str, str] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    signatures: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Descriptors listed as referrers without a manifest behind them (a registry whose
    # index is out of step with its storage).
    dangling: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class SignatureRegistry:
    """See the module docstring."""

    def __init__(
        self,
        ca: TestCA,
        *,
        extension: bool = True,
        referrers: bool = True,
        apply_filter: bool = True,
    ) -> None:
        self.extension = extension
        self.referrers = referrers
        self.apply_filter = apply_filter
        self.repositories: dict[str, _Repository] = {}
        self.requests: list[tuple[str, str]] = []
        self.fail: set[str] = set()
        #: Plain files served at their path (a lookaside store over HTTPS).
        self.files: dict[str, bytes] = {}
        self._lock = threading.Lock()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(ca.server_cert), str(ca.server_key))
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                owner._handle(self, "GET")

            def do_HEAD(self) -> None:
                owner._handle(self, "HEAD")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> SignatureRegistry:
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

    # --- content ---

    def repository(self, name: str) -> _Repository:
        return self.repositories.setdefault(name, _Repository())

    def add_blob(self, name: str, data: bytes) -> str:
        digest = sha256(data)
        self.repository(name).blobs[digest] = data
        return digest

    def add_manifest(
        self,
        name: str,
        document: dict[str, Any] | bytes,
        *,
        media_type: str = OCI_MANIFEST,
        tag: str | None = None,
    ) -> str:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        digest = sha256(body)
        repository = self.repository(name)
        repository.manifests[digest] = (media_type, body)
        if tag is not None:
            repository.tags[tag] = digest
        return digest

    def add_extension_signature(
        self,
        name: str,
        digest: str,
        content: bytes,
        *,
        signature_name: str | None = None,
        type_: str = "atomic",
        schema_version: int = 2,
    ) -> None:
        entries = self.repository(name).signatures.setdefault(digest, [])
        entries.append(
            {
                "schemaVersion": schema_version,
                "name": signature_name or f"{digest}@{hashlib.md5(content).hexdigest()}",
                "type": type_,
                "content": base64.b64encode(content).decode(),
            }
        )

    # --- serving ---

    def _handle(self, handler: http.server.BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        with self._lock:
            self.requests.append((method, handler.path))
        if parts.path in self.fail:
            self._send(handler, method, 500, {"errors": [{"code": "UNKNOWN", "message": "boom"}]})
            return
        if parts.path in self.files:
            self._send_raw(
                handler, method, 200, self.files[parts.path], "application/octet-stream", {}
            )
            return
        if parts.path == "/v2/":
            self._send(handler, method, 200, {})
            return
        extension = _EXTENSION.match(parts.path)
        if extension is not None and self.extension:
            repository = self.repositories.get(extension["name"])
            digest = extension["digest"]
            if repository is None or digest not in repository.manifests:
                self._send(handler, method, 404, _error("MANIFEST_UNKNOWN", "manifest unknown"))
                return
            self._send(handler, method, 200, {"signatures": repository.signatures.get(digest, [])})
            return
        match = _PATH.match(parts.path)
        if match is None:
            self._send(handler, method, 404, _error("NAME_UNKNOWN", "not found"))
            return
        repository = self.repositories.get(match["name"], _Repository())
        kind, ref = match["kind"], match["ref"]
        if kind == "manifests":
            digest = repository.tags.get(ref, ref)
            if digest not in repository.manifests:
                self._send(handler, method, 404, _error("MANIFEST_UNKNOWN", "manifest unknown"))
                return
            media_type, body = repository.manifests[digest]
            self._send_raw(
                handler, method, 200, body, media_type, {"Docker-Content-Digest": digest}
            )
        elif kind == "blobs":
            if ref not in repository.blobs:
                self._send(handler, method, 404, _error("BLOB_UNKNOWN", "blob unknown"))
                return
            self._send_raw(
                handler,
                method,
                200,
                repository.blobs[ref],
                "application/octet-stream",
                {"Docker-Content-Digest": ref},
            )
        else:
            if not self.referrers:
                self._send(handler, method, 404, _error("UNSUPPORTED", "not found"))
                return
            wanted = parse_qs(parts.query).get("artifactType", [None])[0]
            descriptors = [d for d in self._referrers(repository, ref)]
            headers = {}
            if wanted is not None and self.apply_filter:
                descriptors = [d for d in descriptors if d.get("artifactType") == wanted]
                headers["OCI-Filters-Applied"] = "artifactType"
            index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}
            self._send_raw(handler, method, 200, json.dumps(index).encode(), OCI_INDEX, headers)

    def _referrers(self, repository: _Repository, digest: str) -> list[dict[str, Any]]:
        found = []
        for manifest_digest, (media_type, body) in repository.manifests.items():
            try:
                document = json.loads(body)
            except ValueError:
                continue
            subject = document.get("subject") if isinstance(document, dict) else None
            if not isinstance(subject, dict) or subject.get("digest") != digest:
                continue
            descriptor: dict[str, Any] = {
                "mediaType": media_type,
                "digest": manifest_digest,
                "size": len(body),
                "artifactType": document.get("artifactType")
                or document.get("config", {}).get("mediaType"),
            }
            if document.get("annotations"):
                descriptor["annotations"] = document["annotations"]
            found.append(descriptor)
        return found + repository.dangling.get(digest, [])

    def _send(
        self, handler: http.server.BaseHTTPRequestHandler, method: str, status: int, document: Any
    ) -> None:
        self._send_raw(
            handler, method, status, json.dumps(document).encode(), "application/json", {}
        )

    def _send_raw(
        self,
        handler: http.server.BaseHTTPRequestHandler,
        method: str,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str],
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Docker-Distribution-API-Version", "registry/2.0")
        if self.extension:
            handler.send_header("X-Registry-Supports-Signatures", "1")
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        if method != "HEAD":
            handler.wfile.write(body)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message, "detail": None}]}
