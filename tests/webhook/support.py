"""Helpers of the webhook tests: reviews, a scripted admission, the app in process, and the
app served by uvicorn over real TLS on loopback in a thread of its own."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx2
import uvicorn
from fastapi import FastAPI

from sigpolicy.admission.engine import Admission, AdmissionSettings
from sigpolicy.admission.model import AdmissionOutcome, ContainerDecision, ReviewRequest
from sigpolicy.cli.serve_cmd import ServeOptions, examples
from sigpolicy.policy.decision import Decision, Mode, ScopeMatch
from sigpolicy.reasons import Reason
from webhook.app import create_app
from webhook.runtime import load_runtime
from webhook.server import bind, serve_app
from webhook.state import Runtime, WebhookSettings, WebhookState
from webhook.tls import ReloadingCertificate

EXAMPLES = examples()
REVIEWS = EXAMPLES / "reviews"
CHECKOUT_DIGEST = "sha256:b3c238eeade5bf4be20e767324c89d5a1e6a6bb1a2eb0512bf8c977e91fc4bd7"
CHECKOUT_BY_DIGEST = f"registry.example.com/shop/checkout@{CHECKOUT_DIGEST}"
UNSIGNED = "registry.example.com/shop/payments:2.0.1"


def sample(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((REVIEWS / name).read_text())
    return document


def pod_review(
    images: Sequence[str],
    *,
    namespace: str = "shop",
    uid: str = "uid-1",
    api_version: str = "admission.k8s.io/v1",
    dry_run: bool = False,
) -> dict[str, Any]:
    review = copy.deepcopy(sample("pod-allowed.json"))
    review["apiVersion"] = api_version
    request = review["request"]
    request.update(uid=uid, namespace=namespace, dryRun=dry_run)
    request["object"]["metadata"]["namespace"] = namespace
    request["object"]["spec"]["containers"] = [
        {"name": f"c{index}", "image": image} for index, image in enumerate(images)
    ]
    return review


def decision(
    image: str, *, allowed: bool, would_allow: bool, mode: Mode = "enforce", scope: str = "shop"
) -> Decision:
    reason = None if would_allow else Reason.UNSIGNED
    message = "" if would_allow else "a signature was required, but the image has none"
    return Decision(
        allowed,
        would_allow,
        mode,
        image,
        "shop",
        ScopeMatch(scope, "registry.example.com/shop/**", "matched"),
        None,
        None,
        reason,
        message,
    )


def allowed_outcome(*, warn: bool = False, audit: bool = False) -> AdmissionOutcome:
    containers = []
    warnings: tuple[str, ...] = ()
    annotations: dict[str, str] = {}
    if warn:
        warnings = ("container c0 image x: would be denied in warn mode",)
        d = decision("x", allowed=True, would_allow=False, mode="warn")
        containers.append(ContainerDecision("containers", "c0", "x", d))
    if audit:
        annotations = {"sigpolicy.io/would-deny": "c1: y: scope sandbox: unsigned"}
        d = decision("y", allowed=True, would_allow=False, mode="audit", scope="sandbox")
        containers.append(ContainerDecision("containers", "c1", "y", d))
    patch = ({"op": "replace", "path": "/spec/containers/0/image", "value": "x@sha256:00"},)
    return AdmissionOutcome(True, 200, None, "", warnings, annotations, patch, tuple(containers))


def denied_outcome() -> AdmissionOutcome:
    message = "container c0 (containers) image x: scope shop: unsigned: no signature"
    return AdmissionOutcome(False, 403, Reason.UNSIGNED, message, (), {}, None, ())


Script = AdmissionOutcome | BaseException | Callable[[ReviewRequest], Awaitable[AdmissionOutcome]]


class FakeAdmission:
    """Answers every review as scripted, and keeps the requests it saw."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.seen: list[ReviewRequest] = []
        self.source_errors = 2

    async def review(self, request: ReviewRequest) -> AdmissionOutcome:
        self.seen.append(request)
        if isinstance(self.script, BaseException):
            raise self.script
        if isinstance(self.script, AdmissionOutcome):
            return self.script
        return await self.script(request)


def fake_state(script: Script, **settings: Any) -> tuple[WebhookState, FakeAdmission]:
    admission = FakeAdmission(script)
    return WebhookState.loaded(Runtime(admission), WebhookSettings(**settings)), admission


def example_options(**changes: Any) -> ServeOptions:
    options = ServeOptions(
        policy=EXAMPLES / "policy.yaml",
        trust=None,
        catalog=EXAMPLES / "catalog",
        kubeconfig=None,
        context=None,
        in_cluster=False,
        host="127.0.0.1",
        port=0,
        tls_cert=None,
        tls_key=None,
        tls_dir=None,
        tls_names=("localhost",),
        tls_reload_interval=0.05,
        admission=AdmissionSettings(),
        mutate=False,
        log_level="INFO",
    )
    return options._replace(**changes)


async def example_state(**changes: Any) -> WebhookState:
    """A state over the real Admission, the example policy and the example catalog."""
    options = example_options(**changes)
    state = WebhookState(
        WebhookSettings(mutate=options.mutate, fail_open=options.admission.fail_open),
        lambda: load_runtime(options, time.time),
    )
    await state.load()
    runtime = state.runtime
    assert runtime is not None and isinstance(runtime.admission, Admission)
    return state


@contextlib.asynccontextmanager
async def in_process(state: WebhookState) -> AsyncIterator[httpx2.AsyncClient]:
    """The app with its lifespan running, called in process over ASGI."""
    app = create_app(state)
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://webhook") as client:
            yield client


def response_of(reply: httpx2.Response) -> Mapping[str, Any]:
    assert reply.status_code == 200, reply.text
    document = reply.json()
    assert document["kind"] == "AdmissionReview"
    body: Mapping[str, Any] = document["response"]
    return body


class ServedApp:
    """``app`` served by uvicorn over ``tls`` on 127.0.0.1, in a thread with its own loop."""

    def __init__(self, app: FastAPI, tls: ReloadingCertificate) -> None:
        self.app = app
        self.tls = tls
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._started = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def __enter__(self) -> ServedApp:
        sock = bind("127.0.0.1", 0)
        self.port = sock.getsockname()[1]

        def started(server: uvicorn.Server) -> None:
            self._server = server
            self._started.set()

        def run() -> None:
            try:
                asyncio.run(serve_app(self.app, sock, self.tls, started=started))
            except BaseException as exc:  # reported by __enter__ or the test
                self.error = exc
                self._started.set()

        self._thread = threading.Thread(target=run, name="webhook-under-test", daemon=True)
        self._thread.start()
        assert self._started.wait(15), "the server did not start"
        assert self.error is None, self.error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(15)

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"


def client_context(*ca_files: Path) -> ssl.SSLContext:
    context = ssl.create_default_context()
    for ca in ca_files:
        context.load_verify_locations(cafile=ca)
    return context


def served_certificate(port: int, context: ssl.SSLContext) -> bytes:
    """The DER certificate a new handshake with the server presents."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


@contextlib.contextmanager
def served(state: WebhookState, tls: ReloadingCertificate) -> Iterator[ServedApp]:
    state.metrics.watch_tls(tls)
    with ServedApp(create_app(state), tls) as server:
        yield server
