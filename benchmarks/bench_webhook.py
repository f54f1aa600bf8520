#!/usr/bin/env python3
"""The admission webhook under load: ``sigpolicy serve`` on loopback, called over TLS.

    .venv/bin/python -m benchmarks.bench_webhook [--rate 200] [--seconds 15]
        [--burst 50] [--saturate-seconds 5] [--connections 16] [--source catalog|cluster]

Starts ``sigpolicy serve`` as its own process (the example policy and catalog, plus a
``bench`` scope over a catalog of freshly signed images that nothing has seen yet), with a
self-signed certificate, on 127.0.0.1 and a free port. Then, from this process, over a
bounded pool of TLS keep-alive connections:

1. warm-up: a few hundred reviews, so that the verdicts are cached;
2. open loop: ``--rate`` reviews per second for ``--seconds``, each sent at its scheduled
   time whether or not earlier ones were answered; latency runs from the scheduled time (a
   stalled server shows as latency, not as fewer requests). The reviews cycle through an
   allowed pod, a denied deployment and a warn-mode pod;
3. cold burst: ``--burst`` reviews at once, each for a different signed image never seen
   (the catalog read, two signatures verified per image), all to be answered inside the
   8 s deadline;
4. saturation: closed loop, every connection sending back to back for
   ``--saturate-seconds``: reviews per second.

With ``--source cluster`` the same objects are served by the test suite's fake image API
server (tests/support/fakeapi.py) and ``serve`` reads them through its watch-kept caches, as
in a cluster; the phases start once ``/readyz`` says the watches have synced.

Loopback only; every phase is bounded in count and time. Prints a Markdown table. The
client is a minimal HTTP/1.1 client on asyncio streams, so that its own cost stays small
next to the server's; both share the machine's cores, which is part of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import http.client
import json
import os
import re
import selectors
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support import pgpwriter as w

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "sigpolicy" / "examples"
CHECKOUT = (
    "registry.example.com/shop/checkout"
    "@sha256:b3c238eeade5bf4be20e767324c89d5a1e6a6bb1a2eb0512bf8c977e91fc4bd7"
)
LAUNCH = (
    "import sys; from sigpolicy.cli.main import run_guarded;"
    " from sigpolicy.cli.serve_cmd import run; sys.exit(run_guarded(lambda: run(sys.argv[1:])))"
)
DEADLINE = 8.0


# --- the bench folder: example policy + a scope over freshly signed images -----------------


def build(root: Path, images: int) -> tuple[Path, Path, list[str]]:
    """Copy the examples and add ``images`` signed images; the policy, catalog and refs."""
    folder = root / "examples"
    shutil.copytree(EXAMPLES, folder)
    keys = [w.ed25519_key(), w.rsa_key(3072)]
    (folder / "bench-keys.gpg").write_bytes(b"".join(w.certificate(k) for k in keys))
    trust = yaml.safe_load((folder / "trust.yaml").read_text())
    trust["entries"].append({"name": "bench", "keys": [{"file": "bench-keys.gpg"}]})
    (folder / "trust.yaml").write_text(yaml.safe_dump(trust, sort_keys=False))
    policy = yaml.safe_load((folder / "policy.yaml").read_text())
    policy["scopes"].append(
        {
            "name": "bench",
            "images": ["registry.example.com/bench/**"],
            "require": [{"signedBy": {"trust": ["bench"]}}],
        }
    )
    (folder / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    objects, references = [], []
    for index in range(images):
        digest = "sha256:" + hashlib.sha256(f"bench-image-{index}".encode()).hexdigest()
        repository = f"registry.example.com/bench/app{index}"
        payload = json.dumps(
            {
                "critical": {
                    "identity": {"docker-reference": f"{repository}:v1"},
                    "image": {"docker-manifest-digest": digest},
                    "type": "atomic container signature",
                },
                "optional": {"creator": "bench"},
            }
        ).encode()
        signatures = [
            {
                "metadata": {"name": f"{digest}@{n:032x}"},
                "type": "atomic",
                "content": base64.b64encode(w.message(key, payload)).decode(),
            }
            for n, key in enumerate(keys)
        ]
        objects.append(
            {
                "apiVersion": "image.openshift.io/v1",
                "kind": "Image",
                "metadata": {"name": digest, "resourceVersion": "1"},
                "dockerImageReference": f"{repository}@{digest}",
                "signatures": signatures,
            }
        )
        references.append(f"{repository}@{digest}")
    text = "".join("---\n" + yaml.safe_dump(o, sort_keys=False) for o in objects)
    (folder / "catalog" / "bench.yaml").write_text(text)
    return folder / "policy.yaml", folder / "catalog", references


def review(uid: str, namespace: str, kind: str, images: Sequence[str]) -> bytes:
    containers = [{"name": f"c{n}", "image": image} for n, image in enumerate(images)]
    spec: dict[str, Any] = {"containers": containers}
    if kind == "Deployment":
        obj: dict[str, Any] = {"kind": kind, "spec": {"template": {"spec": spec}}}
        resource = {"group": "apps", "version": "v1", "resource": "deployments"}
    else:
        obj = {"kind": kind, "spec": spec}
        resource = {"group": "", "version": "v1", "resource": "pods"}
    obj["metadata"] = {"name": f"bench-{uid}", "namespace": namespace}
    document = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": resource["group"], "version": "v1", "kind": kind},
            "resource": resource,
            "namespace": namespace,
            "name": obj["metadata"]["name"],
            "operation": "CREATE",
            "object": obj,
        },
    }
    return json.dumps(document).encode()


WARM_MIX = (
    ("shop", "Pod", (CHECKOUT,), True),
    ("shop", "Deployment", (CHECKOUT, "registry.example.com/shop/payments:2.0.1"), False),
    ("shop-staging", "Pod", ("registry.example.com/shop/payments:2.0.1",), True),
)


# --- a small HTTP/1.1 keep-alive client over TLS ------------------------------------------


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        status_line = await self.reader.readuntil(b"\r\n")
        headers = await self.reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length:\s*(\d+)", headers)
        if length is None:
            raise ConnectionError("no Content-Length in the answer")
        payload = await self.reader.readexactly(int(length.group(1)))
        return int(status_line.split()[1]), payload


class Pool:
    def __init__(self, port: int, context: ssl.SSLContext, size: int) -> None:
        self.port, self.context, self.size = port, context, size
        self.idle: asyncio.Queue[Connection] = asyncio.Queue()
        self.opened: list[Connection] = []

    async def open(self) -> None:
        for _ in range(self.size):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", self.port, ssl=self.context, server_hostname="localhost"
            )
            connection = Connection(reader, writer)
            self.opened.append(connection)
            self.idle.put_nowait(connection)

    async def post(self, body: bytes) -> tuple[int, bytes]:
        connection = await self.idle.get()
        try:
            result = await connection.post("/validate", body)
        except BaseException:
            self.idle.put_nowait(await self._replace(connection))
            raise
        self.idle.put_nowait(connection)
        return result

    async def _replace(self, broken: Connection) -> Connection:
        broken.writer.close()
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", self.port, ssl=self.context, server_hostname="localhost"
        )
        return Connection(reader, writer)

    async def close(self) -> None:
        for connection in self.opened:
            connection.writer.close()


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wrong: int = 0
    sent: int = 0

    def row(self, what: str, lost: int) -> str:
        lat = sorted(self.latencies)
        if not lat:
            return f"| {what} | {self.sent} | 0 | - | - | - | {len(self.errors)} | {lost} |"
        p50 = lat[len(lat) // 2] * 1e3
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3
        return (
            f"| {what} | {self.sent} | {len(lat)} | {p50:.2f} | {p99:.2f} | {lat[-1] * 1e3:.2f}"
            f" | {len(self.errors) + self.wrong} | {lost} |"
        )


async def one(pool: Pool, body: bytes, uid: str, allowed: bool, since: float, tally: Tally) -> None:
    try:
        status, payload = await pool.post(body)
    except (OSError, asyncio.IncompleteReadError, ConnectionError) as exc:
        tally.errors.append(f"{type(exc).__name__}: {exc}")
        return
    tally.latencies.append(time.perf_counter() - since)
    answer = json.loads(payload).get("response", {}) if status == 200 else {}
    if answer.get("uid") != uid or answer.get("allowed") is not allowed:
        tally.wrong += 1


async def open_loop(pool: Pool, rate: float, count: int, tag: str) -> tuple[Tally, int]:
    tally = Tally()
    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter() + 0.05
    for n in range(count):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        namespace, kind, images, allowed = WARM_MIX[n % len(WARM_MIX)]
        uid = f"{tag}-{n}"
        body = review(uid, namespace, kind, images)
        tasks.append(asyncio.create_task(one(pool, body, uid, allowed, due, tally)))
        tally.sent += 1
    _, pending = await asyncio.wait(tasks, timeout=DEADLINE + 2) if tasks else (set(), set())
    for task in pending:
        task.cancel()
    return tally, len(pending)


async def burst(pool: Pool, references: Sequence[str]) -> tuple[Tally, int]:
    tally = Tally(sent=len(references))
    since = time.perf_counter()
    tasks = [
        asyncio.create_task(
            one(pool, review(f"cold-{n}", "shop", "Pod", [ref]), f"cold-{n}", True, since, tally)
        )
        for n, ref in enumerate(references)
    ]
    _, pending = await asyncio.wait(tasks, timeout=DEADLINE + 2)
    for task in pending:
        task.cancel()
    return tally, len(pending)


async def saturate(pool: Pool, seconds: float) -> tuple[Tally, float]:
    tally = Tally()
    stop = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        n = 0
        while time.perf_counter() < stop:
            namespace, kind, images, allowed = WARM_MIX[n % len(WARM_MIX)]
            uid = f"sat-{index}-{n}"
            tally.sent += 1
            await one(
                pool, review(uid, namespace, kind, images), uid, allowed, time.perf_counter(), tally
            )
            n += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(pool.size)))
    return tally, len(tally.latencies) / (time.perf_counter() - started)


# --- the server process --------------------------------------------------------------------


def start_server(
    policy: Path, source: list[str], tls_dir: Path
) -> tuple[subprocess.Popen[bytes], int]:
    command = [
        sys.executable, "-c", LAUNCH, "--policy", str(policy), *source,
        "--self-signed", "--tls-dir", str(tls_dir), "--port", "0", "--log-level", "ERROR",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=ROOT)
    assert process.stdout is not None
    text = ""
    deadline = time.monotonic() + 60
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while "listening on" not in text or "\n" not in text:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                process.kill()
                raise SystemExit("sigpolicy serve did not start")
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                raise SystemExit(f"sigpolicy serve ended: {text}")
            text += chunk.decode()
    found = re.search(r"listening on https://localhost:(\d+)", text)
    assert found is not None, text
    return process, int(found.group(1))


def wait_ready(port: int, ca: Path, seconds: float = 60.0) -> None:
    """Until ``/readyz`` answers 200 (a cluster source: its watches have synced)."""
    context = ssl.create_default_context(cafile=str(ca))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=5)
        try:
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.1)
    raise SystemExit("sigpolicy serve did not become ready")


@contextlib.contextmanager
def fake_cluster(catalog: Path, root: Path) -> Iterator[list[str]]:
    """The catalog's objects served by the test suite's fake image API server (list and
    watch, as the webhook's caches use them): the ``serve`` options that reach it."""
    from tests.support.fakeapi import FakeApiServer

    with FakeApiServer() as server:
        for namespace in sorted({entry[0] for entry in WARM_MIX}):
            server.add({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": namespace}})
        for path in sorted(catalog.glob("*.yaml")):
            for document in yaml.safe_load_all(path.read_text()):
                if document:
                    server.add(document)
        yield ["--kubeconfig", str(server.write_kubeconfig(root / "kubeconfig"))]


def audit_workloads(catalog: Path, count: int, interval: str) -> list[str]:
    """``--audit-workloads``: that many Deployments (over count/5 images, one pod each) in the
    catalog, and the ``serve`` options of the background audit."""
    import importlib.util

    path = ROOT / "scripts" / "make_audit_catalog.py"
    spec = importlib.util.spec_from_file_location("make_audit_catalog", path)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.write_scale(catalog / "audit", count, max(1, count // 5), 1, with_examples=False)
    return [] if interval == "0" else ["--audit-interval", interval]


def audit_metrics(port: int, ca: Path) -> str:
    """The background audit's figures from ``/metrics``, for the report."""
    context = ssl.create_default_context(cafile=str(ca))
    connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=5)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    wanted = (
        "sigpolicy_audit_runs_total",
        "sigpolicy_audit_duration_seconds",
        "sigpolicy_audit_workloads",
    )
    return "; ".join(line for line in text.splitlines() if line.startswith(wanted))


async def run(args: argparse.Namespace, port: int, ca: Path, references: list[str]) -> None:
    context = ssl.create_default_context(cafile=str(ca))
    pool = Pool(port, context, args.connections)
    await pool.open()
    try:
        rows = []
        warm, lost = await open_loop(pool, 100, 300, "warmup")
        rows.append(warm.row("warm-up, 100/s", lost))
        tally, lost = await open_loop(pool, args.rate, int(args.rate * args.seconds), "open")
        rows.append(tally.row(f"open loop {args.rate:g}/s for {args.seconds:g} s (warm)", lost))
        cold, cold_lost = await burst(pool, references[: args.burst])
        inside = sum(1 for x in cold.latencies if x < DEADLINE)
        rows.append(cold.row(f"cold burst of {args.burst} new images, at once", cold_lost))
        sat, per_second = await saturate(pool, args.saturate_seconds)
        rows.append(sat.row(f"saturation, {args.connections} connections back to back", 0))
    finally:
        await pool.close()
    python = sys.version.split()[0]
    print(f"Python {python}, {os.cpu_count()} CPUs, server and client on one machine\n")
    print("| phase | sent | answered | p50 ms | p99 ms | max ms | errors | lost |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row)
    print(f"\nsaturation: {per_second:,.0f} reviews/s")
    print(f"cold burst: {inside} of {args.burst} answered inside the {DEADLINE:g} s deadline")
    if tally.errors or cold.errors:
        print("errors: " + "; ".join(sorted(set(tally.errors + cold.errors))[:5]))
    if args.mean:
        print(f"open loop mean {statistics.fmean(tally.latencies) * 1e3:.2f} ms")
    if args.audit_workloads:
        print(f"background audit: {audit_metrics(port, ca) or 'off'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--saturate-seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--mean", action="store_true", help="also print the mean latency")
    parser.add_argument(
        "--audit-workloads",
        type=int,
        default=0,
        metavar="N",
        help="also run the background audit (--audit-interval 10s) over N more workloads"
        " (catalog source; scripts/make_audit_catalog.py --scale N N/5 1)",
    )
    parser.add_argument(
        "--audit-interval",
        default="10s",
        metavar="DURATION",
        help="with --audit-workloads: serve's --audit-interval; 0: the same workloads, no audit",
    )
    parser.add_argument(
        "--source",
        choices=("catalog", "cluster"),
        default="catalog",
        help="the catalog folder, or the same objects behind the tests' fake image API server",
    )
    args = parser.parse_args()
    if not (0 < args.rate <= 2000 and 0 < args.seconds <= 120 and 0 < args.burst <= 500):
        raise SystemExit("bounded: --rate up to 2000, --seconds up to 120, --burst up to 500")
    root = Path(tempfile.mkdtemp(prefix="sigpolicy-bench-webhook-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        print("signing the bench images ...", file=sys.stderr)
        policy, catalog, references = build(root, args.burst)
        with contextlib.ExitStack() as stack:
            source = ["--catalog", str(catalog)]
            if args.source == "cluster":
                source = stack.enter_context(fake_cluster(catalog, root))
            if args.audit_workloads:
                source += audit_workloads(catalog, args.audit_workloads, args.audit_interval)
            process, port = start_server(policy, source, root / "tls")
            wait_ready(port, root / "tls" / "ca.crt")
            print(f"source: {args.source}", file=sys.stderr)
            runner = asyncio.Runner(loop_factory=_loop_factory())
            with runner:
                runner.run(run(args, port, root / "tls" / "ca.crt", references))
            _stop(process)
    finally:
        _stop(process)
        shutil.rmtree(root, ignore_errors=True)


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        if process.poll() is None:
            process.kill()


def _loop_factory() -> Any:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


if __name__ == "__main__":
    main()
