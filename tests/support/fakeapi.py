"""A local Kubernetes/OpenShift API server for tests: real HTTP, in-memory state.

ARCHITECTURE.md: the cluster client is tested through its real code path (kubeconfig, token
auth, HTTP, JSON, watch streams) against this server on ``127.0.0.1``. It serves what
sigpolicy reads and writes, with the status codes of the reference docs:

- ``/apis/image.openshift.io/v1``: ``images`` (list, ``?watch=true``, get, put, delete,
  post), ``watch/images``, ``imagesignatures`` (post, delete), ``imagestreams`` (list across
  namespaces), ``namespaces/{ns}/imagestreams[/{name}]``, ``imagestreamtags/{stream}:{tag}``,
  ``imagestreamimages/{stream}@{digest}``;
- ``/api/v1/namespaces`` (list, watch) and ``namespaces/{name}``;
  ``/api/v1/namespaces/{ns}/secrets/{name}`` and ``configmaps/{name}``;
- ``/apis/coordination.k8s.io/v1/namespaces/{ns}/leases[/{name}]`` (get, list, post, put,
  delete);
- workloads: ``/api/v1/pods``, ``replicationcontrollers``, ``/apis/apps/v1/deployments``,
  ``replicasets``, ``statefulsets``, ``daemonsets``, ``/apis/batch/v1/jobs``, ``cronjobs``,
  ``/apis/apps.openshift.io/v1/deploymentconfigs`` (list across namespaces or in one, with
  ``limit``/``continue`` pages, watch, get); ``/apis/wgpolicyk8s.io/v1alpha2`` policyreports
  (namespaced) and clusterpolicyreports (get, list, watch, post, put);
- ``/apis/config.openshift.io/v1`` clusterimagepolicies and imagepolicies (namespaced): list
  (across namespaces or in one), watch, get;
- ``/version``, ``/api``, ``/apis`` (discovery).

Errors are ``metav1.Status`` bodies with ``Content-Type: application/json``. Watches are
chunked, newline-delimited ``{"type": ..., "object": ...}`` events that start after the
requested ``resourceVersion`` (all current objects as ADDED when none is given), end after
``timeoutSeconds``, and answer a compacted version with an ERROR event carrying a 410
Status (or an HTTP 410 when :attr:`FakeApiServer.expired_as_http_error` is set).

Test hooks (all thread-safe, usable while a client is running):

- ``server.add(obj, ...)``, ``server.store`` (:class:`FakeStore`: get, mutate, delete,
  compact) to preload and to play a concurrent writer;
- ``server.fail(glob, status=500, times=1)`` and ``server.hang(glob, seconds, times=1)``:
  the next matching requests fail or stall; ``server.stop()`` makes the API unreachable
  (connection refused) and ``server.start()`` brings it back on the same port;
- ``server.after(method, glob, callback, times=1)``: ``callback(store)`` runs once the
  response to a matching request is computed and before it is sent, so a test can change
  an object between a client's read and its write;
- ``server.cut_watches()`` ends every open watch stream (abruptly by default);
- ``server.requests`` counts requests by (verb, path), verb ``WATCH`` for watches;
  ``server.count(verb, glob)`` sums them; ``server.bodies`` keeps every request body;
- ``server.write_kubeconfig(path)`` writes a kubeconfig (token auth) pointing here.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import re
import select
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from tests.support.fakeapi_store import (
    IMAGE_API_VERSION,
    RESOURCES,
    WORKLOAD_PREFIXES,
    ApiStatusError,
    FakeStore,
    JsonObject,
    StoredEvent,
    status_body,
)

__all__ = ["ApiStatusError", "FakeApiServer", "FakeStore", "JsonObject", "serve"]

IMAGE_PREFIX = "/apis/image.openshift.io/v1"
DEFAULT_TOKEN = "sigpolicy-test-token"  # noqa: S105 - a fake server's fake credential

Hook = Callable[[FakeStore], None]


@dataclass
class _Fault:
    method: str | None
    pattern: str
    status: int | None
    hang: float
    remaining: int


@dataclass
class _AfterHook:
    method: str
    pattern: str
    callback: Hook
    remaining: int


@dataclass
class _Response:
    code: int
    body: JsonObject | None = None
    after: list[Hook] = field(default_factory=list)


class FakeApiServer:
    """The fake API on ``http://127.0.0.1:<port>``; state survives :meth:`stop`/:meth:`start`."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.store = FakeStore()
        self.requests: Counter[tuple[str, str]] = Counter()
        self.bodies: list[tuple[str, str, JsonObject]] = []
        self.expired_as_http_error = False
        self.port = 0
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._hooks: list[_AfterHook] = []
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._watch_epoch = 0
        self._abrupt_cut = True
        self._connections: set[socket.socket] = set()
        self._open_watches = 0

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen (again) on the same port, or a free one the first time."""
        if self._httpd is not None:
            return
        self._stopping.clear()
        httpd = _HttpServer(("127.0.0.1", self.port), _Handler, self)
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, args=(0.05,), name="fakeapi", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and drop every open connection: the API is down."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        with self.store.changed:
            self.store.changed.notify_all()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeApiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def write_kubeconfig(self, path: Path, *, namespace: str = "default") -> Path:
        """A kubeconfig with context ``fake`` (current, token auth) and ``fake-bad-token``."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [
                {"name": "tester", "user": {"token": self.token}},
                {"name": "intruder", "user": {"token": "not-" + self.token}},
            ],
            "contexts": [
                {
                    "name": "fake",
                    "context": {"cluster": "fake", "user": "tester", "namespace": namespace},
                },
                {
                    "name": "fake-bad-token",
                    "context": {"cluster": "fake", "user": "intruder", "namespace": namespace},
                },
            ],
            "current-context": "fake",
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return path

    # -- state and hooks --------------------------------------------------------------------

    def add(self, *objects: JsonObject) -> list[JsonObject]:
        """Preload objects (Image, ImageStream, Secret, ConfigMap, Lease); returns them stored."""
        return [self.store.add(obj) for obj in objects]

    def fail(
        self, pattern: str, status: int = 500, *, times: int = 1, method: str | None = None
    ) -> None:
        """The next ``times`` requests whose path matches the glob ``pattern`` get ``status``."""
        with self._lock:
            self._faults.append(_Fault(method, pattern, status, 0.0, times))

    def hang(
        self, pattern: str, seconds: float, *, times: int = 1, method: str | None = None
    ) -> None:
        """The next ``times`` matching requests stall ``seconds`` before being served."""
        with self._lock:
            self._faults.append(_Fault(method, pattern, None, seconds, times))

    def after(self, method: str, pattern: str, callback: Hook, *, times: int = 1) -> None:
        """Run ``callback(store)`` after a matching request's response is computed."""
        with self._lock:
            self._hooks.append(_AfterHook(method, pattern, callback, times))

    def cut_watches(self, *, abrupt: bool = True) -> None:
        """End every open watch: drop the connection, or end the chunked body cleanly."""
        with self.store.changed:
            self._abrupt_cut = abrupt
            self._watch_epoch += 1
            self.store.changed.notify_all()

    def count(self, verb: str, pattern: str = "*") -> int:
        """How many ``verb`` requests (GET, PUT, POST, DELETE, WATCH) matched the glob."""
        with self._lock:
            return sum(
                n
                for (v, path), n in self.requests.items()
                if v == verb and fnmatch.fnmatchcase(path, pattern)
            )

    def open_watches(self) -> int:
        """How many watch streams are being served right now."""
        with self._lock:
            return self._open_watches

    # -- internals used by the handler ------------------------------------------------------

    def _record(self, verb: str, path: str, body: JsonObject | None) -> None:
        with self._lock:
            self.requests[(verb, path)] += 1
            if body is not None:
                self.bodies.append((verb, path, body))

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if (fault.method in (None, method)) and fnmatch.fnmatchcase(path, fault.pattern):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _take_hooks(self, method: str, path: str) -> list[Hook]:
        taken: list[Hook] = []
        with self._lock:
            for hook in list(self._hooks):
                if hook.method == method and fnmatch.fnmatchcase(path, hook.pattern):
                    taken.append(hook.callback)
                    hook.remaining -= 1
                    if hook.remaining <= 0:
                        self._hooks.remove(hook)
        return taken

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _watching(self, delta: int) -> None:
        with self._lock:
            self._open_watches += delta


@contextlib.contextmanager
def serve() -> Iterator[FakeApiServer]:
    """A started server, stopped on exit (for use outside pytest fixtures)."""
    server = FakeApiServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type[_Handler], fake: FakeApiServer
    ) -> None:
        self.fake = fake
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-response are routine here; stay quiet."""


_NAME = r"(?P<name>[^/]+)"
_NS = r"/namespaces/(?P<ns>[^/]+)"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HttpServer

    # -- plumbing ---------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.fake._track(self.connection, add=False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log lines."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        path = parts.path
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        try:
            body = self._read_body()
        except ValueError:
            self._send(400, status_body(400, "BadRequest", "request body is not JSON"))
            return
        watch = method == "GET" and (query.get("watch") in ("true", "1") or "/watch/" in path)
        fake._record("WATCH" if watch else method, path, body)
        if self.headers.get("Authorization") != f"Bearer {fake.token}":
            self._send(401, status_body(401, "Unauthorized", "Unauthorized"))
            return
        fault = fake._take_fault(method, path)
        if fault is not None:
            if fault.hang and fake._stopping.wait(fault.hang):
                self.close_connection = True
                return
            if fault.status is not None:
                reason = {500: "InternalError", 503: "ServiceUnavailable", 429: "TooManyRequests"}
                self._send(
                    fault.status,
                    status_body(
                        fault.status,
                        reason.get(fault.status, "InternalError"),
                        f"Internal error occurred: injected fault for {path}",
                    ),
                )
                return
        try:
            if watch:
                self._watch(path, query)
                return
            response = self._route(method, path, query, body)
        except ApiStatusError as err:
            response = _Response(err.code, err.body())
        for hook in fake._take_hooks(method, path):
            hook(fake.store)
        self._send(response.code, response.body)

    def _read_body(self) -> JsonObject | None:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        data = json.loads(self.rfile.read(length))
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return data

    def _send(self, code: int, body: JsonObject | None) -> None:
        payload = json.dumps(body if body is not None else {}).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True

    # -- routes -----------------------------------------------------------------------------

    def _route(
        self, method: str, path: str, query: dict[str, str], body: JsonObject | None
    ) -> _Response:
        store = self.server.fake.store
        for verb, pattern, handler in _ROUTES:
            if verb != method:
                continue
            match = pattern.fullmatch(path)
            if match is None:
                continue
            args = {key: unquote(value) for key, value in match.groupdict().items()}
            return handler(store, args, query, body)
        known_path = any(pattern.fullmatch(path) for _, pattern, _ in _ROUTES)
        if known_path:
            return _Response(
                405, status_body(405, "MethodNotAllowed", f"{method} is not supported here")
            )
        return _Response(
            404, status_body(404, "NotFound", "the server could not find the requested resource")
        )

    def _watch(self, path: str, query: dict[str, str]) -> None:
        """A chunked stream of events after ``resourceVersion``, until cut or timed out."""
        fake = self.server.fake
        store = fake.store
        plural, namespace = _watch_target(path)
        if plural is None:
            self._send(
                404,
                status_body(404, "NotFound", "the server could not find the requested resource"),
            )
            return
        requested = query.get("resourceVersion", "")
        if requested and not requested.isdigit():
            self._send(
                400, status_body(400, "BadRequest", f"invalid resourceVersion {requested!r}")
            )
            return
        timeout = float(query.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        with store.changed:
            epoch = fake._watch_epoch
            current = store.resource_version
        expired = requested not in ("", "0") and store.is_expired(int(requested))
        if expired and fake.expired_as_http_error:
            self._send(410, _expired_status(requested, current))
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        fake._watching(+1)
        try:
            if expired:
                self._chunk({"type": "ERROR", "object": _expired_status(requested, current)})
                self._end_chunks()
                return
            if requested in ("", "0"):
                items, since = store.list(plural, namespace)
                for item in items:
                    self._chunk({"type": "ADDED", "object": item})
            else:
                since = int(requested)
            while True:
                events, cut = self._wait_events(plural, namespace, since, epoch, deadline)
                for event in events:
                    self._chunk({"type": event.type, "object": event.object})
                    since = event.resource_version
                if cut == "abrupt":
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if cut == "clean":
                    self._end_chunks()
                    return
        except OSError:
            self.close_connection = True
        finally:
            fake._watching(-1)

    def _wait_events(
        self, plural: str, namespace: str | None, since: int, epoch: int, deadline: float
    ) -> tuple[list[StoredEvent], str | None]:
        fake = self.server.fake
        store = fake.store
        with store.changed:
            while True:
                if fake._stopping.is_set():
                    return [], "abrupt"
                if fake._watch_epoch != epoch:
                    return [], "abrupt" if fake._abrupt_cut else "clean"
                events = store.events_after(plural, namespace, since)
                if events:
                    return events, None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return [], "clean"
                if self._client_gone():
                    return [], "abrupt"
                store.changed.wait(min(remaining, 0.1))

    def _client_gone(self) -> bool:
        """Whether the client closed its end (a watch request sends nothing more)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _chunk(self, event: JsonObject) -> None:
        data = json.dumps(event).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _expired_status(requested: str, current: int) -> JsonObject:
    return status_body(410, "Expired", f"too old resource version: {requested} ({current})")


def _watch_target(path: str) -> tuple[str | None, str | None]:
    """(plural, namespace or None for all) of a watch path, legacy ``/watch/`` form included."""
    for prefix in (
        "/apis/image.openshift.io/v1",
        "/api/v1",
        "/apis/coordination.k8s.io/v1",
        *WORKLOAD_PREFIXES.values(),
    ):
        if not path.startswith(prefix + "/"):
            continue
        rest = path[len(prefix) + 1 :].removeprefix("watch/").split("/")
        if len(rest) == 1 and rest[0] in RESOURCES:
            return rest[0], None
        if len(rest) == 3 and rest[0] == "namespaces" and rest[2] in RESOURCES:
            return rest[2], rest[1]
    return None, None


# -- handlers: (store, path args, query, body) -> response ------------------------------------

Handler = Callable[[FakeStore, dict[str, str], dict[str, str], JsonObject | None], _Response]


def _list(plural: str) -> Handler:
    def handle(
        store: FakeStore, args: dict[str, str], query: dict[str, str], body: JsonObject | None
    ) -> _Response:
        info = RESOURCES[plural]
        items, version = store.list(plural, args.get("ns"))
        metadata: JsonObject = {"resourceVersion": str(version)}
        limit = int(query.get("limit") or 0)
        start = int(query.get("continue") or 0)
        if limit:
            if start + limit < len(items):
                metadata["continue"] = str(start + limit)
            items = items[start : start + limit]
        return _Response(
            200,
            {
                "kind": f"{info.kind}List",
                "apiVersion": info.api_version,
                "metadata": metadata,
                "items": items,
            },
        )

    return handle


def _get(plural: str) -> Handler:
    def handle(
        store: FakeStore, args: dict[str, str], query: dict[str, str], body: JsonObject | None
    ) -> _Response:
        return _Response(200, store.get(plural, args["name"], args.get("ns", "")))

    return handle


def _create(plural: str) -> Handler:
    def handle(
        store: FakeStore, args: dict[str, str], query: dict[str, str], body: JsonObject | None
    ) -> _Response:
        _check_kind(plural, body)
        assert body is not None
        return _Response(201, store.create(plural, body, args.get("ns", "")))

    return handle


def _replace(plural: str) -> Handler:
    def handle(
        store: FakeStore, args: dict[str, str], query: dict[str, str], body: JsonObject | None
    ) -> _Response:
        _check_kind(plural, body)
        assert body is not None
        return _Response(200, store.replace(plural, args["name"], body, args.get("ns", "")))

    return handle


def _delete(plural: str) -> Handler:
    def handle(
        store: FakeStore, args: dict[str, str], query: dict[str, str], body: JsonObject | None
    ) -> _Response:
        store.delete(plural, args["name"], args.get("ns", ""))
        return _Response(200, _success(plural, args["name"]))

    return handle


def _create_signature(
    store: FakeStore, args: dict[str, str], query: dict[str, str], body: JsonObject | None
) -> _Response:
    if body is None or body.get("kind", "ImageSignature") != "ImageSignature":
        raise ApiStatusError(400, "BadRequest", "the body must be an ImageSignature")
    return _Response(201, store.create_signature(body))


def _delete_signature(
    store: FakeStore, args: dict[str, str], query: dict[str, str], body: JsonObject | None
) -> _Response:
    store.delete_signature(args["name"])
    return _Response(200, _success("imagesignatures", args["name"]))


def _image_stream_tag(
    store: FakeStore, args: dict[str, str], query: dict[str, str], body: JsonObject | None
) -> _Response:
    return _Response(200, store.image_stream_tag(args["ns"], args["name"]))


def _image_stream_image(
    store: FakeStore, args: dict[str, str], query: dict[str, str], body: JsonObject | None
) -> _Response:
    return _Response(200, store.image_stream_image(args["ns"], args["name"]))


def _static(body: JsonObject) -> Handler:
    def handle(
        store: FakeStore, args: dict[str, str], query: dict[str, str], request: JsonObject | None
    ) -> _Response:
        return _Response(200, body)

    return handle


def _check_kind(plural: str, body: JsonObject | None) -> None:
    kind = RESOURCES[plural].kind
    if body is None or body.get("kind", kind) != kind:
        raise ApiStatusError(400, "BadRequest", f"the body must be a {kind}")


def _success(plural: str, name: str) -> JsonObject:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": name, "kind": plural},
    }


def _compile(
    table: list[tuple[str, str, Handler]],
) -> list[tuple[str, re.Pattern[str], Handler]]:
    return [(verb, re.compile(pattern), handler) for verb, pattern, handler in table]


_IMAGE_RESOURCES = [
    {
        "name": "images",
        "namespaced": False,
        "kind": "Image",
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
    },
    {
        "name": "imagesignatures",
        "namespaced": False,
        "kind": "ImageSignature",
        "verbs": ["create", "delete"],
    },
    {
        "name": "imagestreams",
        "namespaced": True,
        "kind": "ImageStream",
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
    },
    {
        "name": "imagestreamtags",
        "namespaced": True,
        "kind": "ImageStreamTag",
        "verbs": ["create", "delete", "get", "list", "patch", "update"],
    },
    {"name": "imagestreamimages", "namespaced": True, "kind": "ImageStreamImage", "verbs": ["get"]},
]

_ROUTES = _compile(
    [
        (
            "GET",
            "/version",
            _static(
                {
                    "major": "1",
                    "minor": "31",
                    "gitVersion": "v1.31.0-fake",
                    "platform": "linux/amd64",
                }
            ),
        ),
        ("GET", "/api", _static({"kind": "APIVersions", "versions": ["v1"]})),
        (
            "GET",
            "/apis",
            _static(
                {
                    "kind": "APIGroupList",
                    "apiVersion": "v1",
                    "groups": [
                        {
                            "name": group,
                            "versions": [{"groupVersion": f"{group}/v1", "version": "v1"}],
                            "preferredVersion": {"groupVersion": f"{group}/v1", "version": "v1"},
                        }
                        for group in ("image.openshift.io", "coordination.k8s.io")
                    ],
                }
            ),
        ),
        (
            "GET",
            IMAGE_PREFIX,
            _static(
                {
                    "kind": "APIResourceList",
                    "apiVersion": "v1",
                    "groupVersion": IMAGE_API_VERSION,
                    "resources": _IMAGE_RESOURCES,
                }
            ),
        ),
        ("GET", IMAGE_PREFIX + "/images", _list("images")),
        ("POST", IMAGE_PREFIX + "/images", _create("images")),
        ("GET", IMAGE_PREFIX + "/images/" + _NAME, _get("images")),
        ("PUT", IMAGE_PREFIX + "/images/" + _NAME, _replace("images")),
        ("DELETE", IMAGE_PREFIX + "/images/" + _NAME, _delete("images")),
        ("POST", IMAGE_PREFIX + "/imagesignatures", _create_signature),
        ("DELETE", IMAGE_PREFIX + "/imagesignatures/" + _NAME, _delete_signature),
        ("GET", IMAGE_PREFIX + "/imagestreams", _list("imagestreams")),
        ("GET", IMAGE_PREFIX + _NS + "/imagestreams", _list("imagestreams")),
        ("GET", IMAGE_PREFIX + _NS + "/imagestreams/" + _NAME, _get("imagestreams")),
        ("GET", IMAGE_PREFIX + _NS + "/imagestreamtags/" + _NAME, _image_stream_tag),
        ("GET", IMAGE_PREFIX + _NS + "/imagestreamimages/" + _NAME, _image_stream_image),
        ("GET", "/api/v1/namespaces", _list("namespaces")),
        ("GET", "/api/v1/namespaces/" + _NAME, _get("namespaces")),
        ("GET", "/api/v1" + _NS + "/secrets/" + _NAME, _get("secrets")),
        ("GET", "/api/v1" + _NS + "/serviceaccounts/" + _NAME, _get("serviceaccounts")),
        ("GET", "/api/v1" + _NS + "/configmaps/" + _NAME, _get("configmaps")),
        ("GET", "/apis/coordination.k8s.io/v1" + _NS + "/leases", _list("leases")),
        ("POST", "/apis/coordination.k8s.io/v1" + _NS + "/leases", _create("leases")),
        ("GET", "/apis/coordination.k8s.io/v1" + _NS + "/leases/" + _NAME, _get("leases")),
        ("PUT", "/apis/coordination.k8s.io/v1" + _NS + "/leases/" + _NAME, _replace("leases")),
        ("DELETE", "/apis/coordination.k8s.io/v1" + _NS + "/leases/" + _NAME, _delete("leases")),
    ]
)


def _workload_routes() -> list[tuple[str, str, Handler]]:
    """Workloads (core, apps, batch, apps.openshift.io: list in pages across namespaces or
    in one, get) and policy reports (also create and replace), for the audit."""
    table: list[tuple[str, str, Handler]] = []
    for plural, info in RESOURCES.items():
        if plural in ("pods", "replicationcontrollers"):
            prefix = "/api/v1"
        elif info.group in WORKLOAD_PREFIXES:
            prefix = WORKLOAD_PREFIXES[info.group]
        else:
            continue
        if not info.namespaced:
            table += [
                ("GET", f"{prefix}/{plural}", _list(plural)),
                ("POST", f"{prefix}/{plural}", _create(plural)),
                ("GET", f"{prefix}/{plural}/" + _NAME, _get(plural)),
                ("PUT", f"{prefix}/{plural}/" + _NAME, _replace(plural)),
            ]
            continue
        table += [
            ("GET", f"{prefix}/{plural}", _list(plural)),
            ("GET", f"{prefix}{_NS}/{plural}", _list(plural)),
            ("GET", f"{prefix}{_NS}/{plural}/" + _NAME, _get(plural)),
        ]
        if info.group == "wgpolicyk8s.io":
            table += [
                ("POST", f"{prefix}{_NS}/{plural}", _create(plural)),
                ("PUT", f"{prefix}{_NS}/{plural}/" + _NAME, _replace(plural)),
                ("DELETE", f"{prefix}{_NS}/{plural}/" + _NAME, _delete(plural)),
            ]
    return table


_ROUTES += _compile(_workload_routes())
