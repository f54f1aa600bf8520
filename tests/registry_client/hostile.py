"""A scripted HTTP server on loopback for the registry behaviours the real registry never shows.

Built on the standard library only (``http.server`` in a thread; no httpx2), so the client
under test shares no code with it. A test gives it a ``respond`` function that maps each
request (method, path, headers, how many came before) to a :class:`Reply`; the server records
every request it saw, so tests count round trips instead of timing anything.

A :class:`Reply` body is ``bytes`` (sent with ``Content-Length``) or an iterator of chunks
(sent with chunked transfer encoding, one chunk at a time, for endless or slow bodies);
``delay`` sleeps before the status line (a slow answer); ``stall`` holds the connection after
a body shorter than its declared ``Content-Length``. A client that hangs up ends the
handler quietly.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: Mapping[str, str]  # lowercased names
    peer_port: int = 0  # the client's port: the same one for requests on one connection


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | Iterator[bytes] = b""
    delay: float = 0.0
    #: Seconds to hold the connection open after a ``bytes`` body (one short of its length).
    stall: float = 0.0


Respond = Callable[[Seen, int], Reply]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass  # the test reads ``seen``, not stderr

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        seen = Seen(self.command, self.path, headers, self.client_address[1])
        with self.server.lock:
            count = sum(1 for s in self.server.seen if s.path == seen.path)
            self.server.seen.append(seen)
        reply = self.server.respond(seen, count)
        try:
            if reply.delay:
                time.sleep(reply.delay)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if isinstance(reply.body, bytes):
                if not any(name.lower() == "content-length" for name in reply.headers):
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)
                if reply.stall:
                    self.wfile.flush()
                    time.sleep(reply.stall)
                    self.close_connection = True
            else:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in reply.body:
                    if self.server.stopping.is_set():
                        break
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = _serve  # noqa: N815 - http.server's names


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    respond: Respond
    seen: list[Seen]
    lock: threading.Lock
    stopping: threading.Event


class HostileServer:
    """``with HostileServer(respond) as server: server.host, server.url, server.seen``."""

    def __init__(self, respond: Respond, *, tls: ssl.SSLContext | None = None) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.respond = respond
        self._server.seen = []
        self._server.lock = threading.Lock()
        self._server.stopping = threading.Event()
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def seen(self) -> list[Seen]:
        with self._server.lock:
            return list(self._server.seen)

    def paths(self) -> list[str]:
        return [f"{s.method} {s.path}" for s in self.seen]

    def set_respond(self, respond: Respond) -> None:
        self._server.respond = respond

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
