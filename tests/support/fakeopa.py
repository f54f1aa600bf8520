"""A local OPA server for tests: OPA's Data API over real HTTP, policies as Python callables.

ARCHITECTURE.md: the OPA path is tested against a local endpoint that speaks OPA's Data API.
This one does not interpret Rego; a test registers, per document path, a callable that gets
the input document and returns the document's value, or :data:`UNDEFINED`::

    opa.register("sigpolicy/allow", lambda doc: doc["namespace"] != "prod")

What it speaks, as OPA does (REST API reference, "Data API"):

- ``POST /v1/data/<path>`` with a JSON body ``{"input": ...}`` (an empty body or one without
  ``input`` evaluates without input, and the answer then carries OPA's ``warning``) answers
  ``200 {"result": <value>}``, or ``200 {}`` when the document is undefined. A path above
  registered ones answers the object of their values (``sigpolicy`` →
  ``{"allow": ...}``), leaving out undefined ones; a path nothing is registered under is
  undefined.
- ``GET /v1/data/<path>`` evaluates without input.
- A body that is not JSON answers ``400 {"code": "invalid_parameter", "message": ...}``; a
  policy that raises answers ``500 {"code": "internal_error", "message": ...}``.
- With ``token`` set, a request without ``Authorization: Bearer <token>`` answers
  ``401 {"code": "unauthorized", ...}``.
- ``GET /health`` answers ``200 {}``.

Test hooks (thread-safe): :meth:`FakeOpaServer.fail` (an HTTP error with an OPA error body,
or any raw body), :meth:`FakeOpaServer.garbage` (``200`` with a body that is not JSON),
:meth:`FakeOpaServer.hang` (hold the request until released or the server closes),
:meth:`FakeOpaServer.stop` (connection refused from then on), and
:attr:`FakeOpaServer.requests` (every request: method, path, headers, parsed body).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["UNDEFINED", "FakeOpaServer", "OpaRequest", "Policy"]


class _Undefined:
    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Any = _Undefined()
"""What a policy returns for "this document has no value for this input"."""

Policy = Callable[[Any], Any]
_NO_INPUT: Any = None
_DATA_PREFIX = "/v1/data"
_MAX_HANG = 30.0


@dataclass(frozen=True)
class OpaRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    """The parsed JSON body; ``None`` when empty or not JSON (see ``raw``)."""
    raw: bytes

    @property
    def input(self) -> Any:
        return self.body.get("input") if isinstance(self.body, dict) else None


@dataclass
class _Fault:
    status: int
    body: bytes
    content_type: str
    times: int


@dataclass
class _State:
    policies: dict[str, Policy] = field(default_factory=dict)
    faults: dict[str, list[_Fault]] = field(default_factory=dict)
    hangs: dict[str, int] = field(default_factory=dict)
    requests: list[OpaRequest] = field(default_factory=list)


class FakeOpaServer:
    """OPA's Data API on ``127.0.0.1`` at a random port; a context manager."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self._lock = threading.Lock()
        self._state = _State()
        self._released = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self._running = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- what a test sets up ---

    def register(self, path: str, policy: Policy) -> None:
        """``policy(input)`` is the value of ``data.<path>`` (``a/b`` or ``a.b``)."""
        with self._lock:
            self._state.policies[_normal(path)] = policy

    def fail(
        self,
        path: str,
        status: int = 500,
        *,
        code: str = "internal_error",
        message: str = "eval_conflict_error: complete rules must not produce multiple outputs",
        raw: bytes | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` queries of ``path`` answer ``status`` with OPA's error body."""
        body = raw if raw is not None else json.dumps({"code": code, "message": message}).encode()
        content_type = "text/plain" if raw is not None else "application/json"
        self._add_fault(path, _Fault(status, body, content_type, times))

    def garbage(self, path: str, body: bytes = b"<html>gateway</html>", *, times: int = 1) -> None:
        """The next ``times`` queries of ``path`` answer ``200`` with a body that is not JSON."""
        self._add_fault(path, _Fault(200, body, "application/json", times))

    def hang(self, path: str, *, times: int = 1) -> None:
        """The next ``times`` queries of ``path`` get no answer until :meth:`release`."""
        with self._lock:
            self._state.hangs[_normal(path)] = times

    def release(self) -> None:
        self._released.set()

    # --- what a test checks ---

    @property
    def requests(self) -> list[OpaRequest]:
        with self._lock:
            return list(self._state.requests)

    def inputs(self, path: str) -> list[Any]:
        """The input documents of every query of ``path``, in order."""
        wanted = f"{_DATA_PREFIX}/{_normal(path)}"
        return [r.input for r in self.requests if r.path == wanted]

    # --- lifecycle ---

    def stop(self) -> None:
        """Close the listening socket and every open connection, as a process that exits.

        Connections are refused from now on; a kept-alive connection is reset.
        """
        if self._running:
            self._running = False
            self._released.set()
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            with self._lock:
                connections = list(self._connections)
            for connection in connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> FakeOpaServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the handler's side ---

    def _add_fault(self, path: str, fault: _Fault) -> None:
        with self._lock:
            self._state.faults.setdefault(_normal(path), []).append(fault)

    def _opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _record(self, request: OpaRequest) -> None:
        with self._lock:
            self._state.requests.append(request)

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            faults = self._state.faults.get(path)
            if not faults:
                return None
            fault = faults[0]
            fault.times -= 1
            if fault.times <= 0:
                faults.pop(0)
            return fault

    def _take_hang(self, path: str) -> bool:
        with self._lock:
            left = self._state.hangs.get(path, 0)
            if left <= 0:
                return False
            self._state.hangs[path] = left - 1
            return True

    def _wait_released(self) -> None:
        self._released.wait(_MAX_HANG)

    def _evaluate(self, path: str, input_doc: Any) -> Any:
        """The value of ``data.<path>``: a registered policy, or the object of those below."""
        with self._lock:
            policies = dict(self._state.policies)
        if path in policies:
            return policies[path](input_doc)
        prefix = f"{path}/" if path else ""
        below = {p[len(prefix) :]: f for p, f in policies.items() if p.startswith(prefix)}
        if not below:
            return UNDEFINED
        tree: dict[str, Any] = {}
        for rest, policy in sorted(below.items()):
            value = policy(input_doc)
            if value is UNDEFINED:
                continue
            node = tree
            *parents, leaf = rest.split("/")
            for parent in parents:
                node = node.setdefault(parent, {})
            node[leaf] = value
        return tree if tree or not path else UNDEFINED


def _normal(path: str) -> str:
    path = path.strip().strip("/")
    if "/" not in path and "." in path:
        path = path.removeprefix("data.").replace(".", "/")
    return path


def _handler_for(server: FakeOpaServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def setup(self) -> None:
            super().setup()
            server._opened(self.connection)

        def finish(self) -> None:
            server._closed(self.connection)
            super().finish()

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def _serve(self, method: str) -> None:
            path = urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = None
            headers = {k.lower(): v for k, v in self.headers.items()}
            server._record(OpaRequest(method, path, headers, body, raw))

            if path == "/health" and method == "GET":
                self._json(200, {})
                return
            if server.token is not None and headers.get("authorization") != (
                f"Bearer {server.token}"
            ):
                self._error(401, "unauthorized", "must authenticate")
                return
            if not (path == _DATA_PREFIX or path.startswith(f"{_DATA_PREFIX}/")):
                self._error(404, "resource_not_found", f"{path} not found")
                return
            if method not in ("GET", "POST"):
                self._error(405, "method_not_allowed", f"{method} {path}")
                return
            document = path[len(_DATA_PREFIX) :].strip("/")
            if server._take_hang(document):
                server._wait_released()
                self.close_connection = True
                return  # close without an answer
            fault = server._take_fault(document)
            if fault is not None:
                self._send(fault.status, fault.body, fault.content_type)
                return
            self._query(method, document, raw, body)

        def _query(self, method: str, document: str, raw: bytes, body: Any) -> None:
            if method == "POST" and raw and body is None:
                self._error(400, "invalid_parameter", "body contains malformed input document")
                return
            has_input = isinstance(body, dict) and "input" in body
            input_doc = body["input"] if has_input else _NO_INPUT
            try:
                value = server._evaluate(document, input_doc)
            except Exception as exc:  # a policy that raises is OPA's eval error
                self._error(500, "internal_error", f"{type(exc).__name__}: {exc}")
                return
            answer: dict[str, Any] = {} if value is UNDEFINED else {"result": value}
            if method == "POST" and not has_input:
                answer["warning"] = {
                    "code": "api_usage_warning",
                    "message": "'input' key missing from the request",
                }
            self._json(200, answer)

        def _error(self, status: int, code: str, message: str) -> None:
            self._json(status, {"code": code, "message": message})

        def _json(self, status: int, value: Any) -> None:
            self._send(status, json.dumps(value).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
