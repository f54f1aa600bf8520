"""Serving the webhook app with uvicorn over TLS: the body of ``sigpolicy serve``.

1. TLS files: the given certificate and key, or a self-signed CA and certificate written at
   start (to ``--tls-dir``, or a temporary folder removed at exit).
2. The policy, trust store and source are loaded once before listening: a configuration
   error ends the command (exit 2). A source that cannot be reached yet does not: the
   webhook listens unready and keeps trying (``/readyz`` says why).
3. The socket is bound before uvicorn starts (a port in use is a one-line error, and the
   banner can name the real port when ``--port 0``); then uvicorn serves the app over the
   reloading TLS context until SIGINT or SIGTERM, on uvloop and httptools when installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TextIO

import uvicorn

from sigpolicy.cli.logs import setup_logging
from sigpolicy.cli.serve_cmd import ServeOptions, examples
from sigpolicy.errors import InputError, SourceError
from webhook.app import create_app
from webhook.runtime import load_runtime
from webhook.state import WebhookSettings, WebhookState
from webhook.tls import ReloadingCertificate, write_self_signed

log = logging.getLogger("sigpolicy.webhook")

SAMPLE_REVIEW = "pod-allowed.json"

MAX_CONCURRENCY = 1000


def serve(options: ServeOptions) -> int:
    """Run until interrupted; 0 after a clean shutdown."""
    setup_logging(options.log_level)
    with contextlib.ExitStack() as cleanup:
        cert, key, ca = _tls_files(options, cleanup)  # 1
        tls = ReloadingCertificate(cert, key, interval=options.tls_reload_interval)
        state = WebhookState(
            WebhookSettings(mutate=options.mutate, fail_open=options.admission.fail_open),
            lambda: load_runtime(options, time.time),
        )
        state.metrics.watch_tls(tls)
        with _quiet_sigterm(), contextlib.suppress(KeyboardInterrupt):
            _run(_serve(options, state, tls, ca))
    return 0


@contextlib.contextmanager
def _quiet_sigterm() -> Iterator[None]:
    """uvicorn shuts down gracefully on SIGTERM, then raises the signal again under the
    handler it found: a handler that does nothing lets the command end with status 0."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


async def _serve(
    options: ServeOptions, state: WebhookState, tls: ReloadingCertificate, ca: Path | None
) -> None:
    try:
        await state.load()  # 2
    except SourceError as exc:
        log.warning("listening unready, the source is not reachable yet: %s", exc.diagnostics())
    sock = bind(options.host, options.port)  # 3
    _banner(options, sock, ca, sys.stdout)
    await serve_app(create_app(state), sock, tls)


async def serve_app(
    app: Any,
    sock: socket.socket,
    tls: ReloadingCertificate,
    *,
    started: Callable[[uvicorn.Server], None] | None = None,
) -> None:
    """Serve ``app`` on ``sock`` over ``tls`` until the server is told to exit."""
    config = uvicorn.Config(
        app,
        ssl_context_factory=lambda _config, _default: tls.context,
        http=_http_implementation(),
        ws="none",
        lifespan="on",
        access_log=False,
        log_config=None,
        timeout_keep_alive=30,
        backlog=1024,
        # Connections and requests in flight past this are answered 503 at once: the API
        # server keeps a few keep-alive connections, a flood of clients cannot take memory.
        limit_concurrency=MAX_CONCURRENCY,
    )
    server = uvicorn.Server(config)
    watcher = asyncio.create_task(tls.watch(), name="sigpolicy-tls-reload")
    if started is not None:
        notify = asyncio.create_task(_when_started(server, started))
    try:
        await server.serve(sockets=[sock])
    finally:
        watcher.cancel()
        if started is not None:
            notify.cancel()


async def _when_started(server: uvicorn.Server, started: Callable[[uvicorn.Server], None]) -> None:
    while not server.started:
        await asyncio.sleep(0.01)
    started(server)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.setblocking(False)
    return sock


def _tls_files(
    options: ServeOptions, cleanup: contextlib.ExitStack
) -> tuple[Path, Path, Path | None]:
    if options.tls_cert is not None and options.tls_key is not None:
        return options.tls_cert, options.tls_key, None
    folder = options.tls_dir
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="sigpolicy-tls-"))
        cleanup.callback(shutil.rmtree, folder, ignore_errors=True)
    else:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"--tls-dir {folder}: {exc.strerror}") from None
        if not os.access(folder, os.W_OK):
            raise InputError(f"--tls-dir {folder}: not writable")
    made = write_self_signed(folder, names=options.tls_names)
    return made.cert, made.key, made.ca


def _cluster_or_none(options: ServeOptions) -> str:
    if options.in_cluster:
        return "in-cluster"
    return "none (registry lookups only)" if options.registry is not None else "in-cluster"


def _banner(options: ServeOptions, sock: socket.socket, ca: Path | None, out: TextIO) -> None:
    host, port = sock.getsockname()[:2]
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    if ":" in shown:
        shown = f"[{shown}]"
    url = f"https://{shown}:{port}"
    routes = "POST /validate" + (", POST /mutate" if options.mutate else "")
    lines = [
        f"sigpolicy serve: listening on {url} ({routes}; GET /healthz /readyz /metrics)",
        f"  policy: {options.policy}",
        f"  source: {options.catalog or options.kubeconfig or _cluster_or_none(options)}",
        f"  TLS:    {'self-signed, CA ' + str(ca) if ca else options.tls_cert}",
    ]
    if ca is not None:
        sample = _display(examples() / "reviews" / SAMPLE_REVIEW)
        lines += [
            "try:",
            f"  curl --cacert {ca} -H 'Content-Type: application/json'"
            f" --data-binary @{sample} {url}/validate",
        ]
    out.write("\n".join(lines) + "\n")
    out.flush()


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _http_implementation() -> str:
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


def _run(main: Coroutine[Any, Any, None]) -> None:
    factory = _loop_factory()
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    new_loop: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return new_loop
