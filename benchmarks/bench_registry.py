#!/usr/bin/env python3
"""Reviews of images looked up at a registry, side by side with skopeo, on loopback.

    .venv/bin/python -m benchmarks.bench_registry [--images 1000] [--cold 40]
        [--skopeo 10] [--rate 200] [--seconds 5] [--parallel 16]

Starts Debian's ``docker-registry`` over TLS (a CA made here) and a static HTTP lookaside
server, pushes one image with ``skopeo copy`` and ``--images`` more manifests of it (one
annotation differs, so each has its own digest) under tags ``t0``, ``t1``, ..., each with a
simple signature in the lookaside (an Ed25519 key made in memory). Then, in this process,
through the webhook's own decision path (:class:`~sigpolicy.admission.engine.Admission`
with the registry layer; no HTTP server in front):

1. cold: ``--cold`` reviews one after another, each of a never-seen tag (tag -> digest,
   manifest, lookaside signatures, verification). Our own time is the review's time minus
   the time spent waiting for the registry and lookaside (the union of the intervals of the
   client's requests, measured around them);
2. skopeo on the same images: ``skopeo inspect`` and ``skopeo copy --policy`` (signature
   checked against the same key and lookaside), ``--skopeo`` of each, one process each;
3. warm: ``--rate`` reviews per second for ``--seconds`` of one already seen image, open
   loop, latency from the scheduled time;
4. fan-out: all ``--images`` reviewed cold, ``--parallel`` at a time, through a fresh layer;
   the registry's access log and the lookaside server's log must show every tag resolved
   once, every manifest and signature fetched once: none repeated, none lost.

Loopback only, bounded in count and time (a couple of minutes at the defaults). Prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NamedTuple

import httpx2

from sigpolicy.admission.engine import Admission, AdmissionSettings
from sigpolicy.admission.model import parse_review
from sigpolicy.cli.policy_loading import load_policy_and_trust
from sigpolicy.cli.registry_options import RegistryChoice, open_registry
from sigpolicy.resolve.registry_layer import RegistryLayer
from tests.support import pgpwriter as w
from tests.support.registry_kit import ImageBuilder, RegistryServer, TestCA, push_image

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


class _Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as lookaside servers (nginx, S3) run

    def __init__(self, *args: Any, log: list[str], **kwargs: Any) -> None:
        self._log = log
        super().__init__(*args, **kwargs)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self._log.append(self.path)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    request_queue_size = 256  # the default 5 drops SYNs under fan-out (1 s retransmits)
    daemon_threads = True


class LookasideServer:
    """A static keep-alive HTTP server over the lookaside folder, in a process of its own
    (in this one it would share the GIL with the client under test); it appends each path
    it serves to a log file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.log = folder.parent / "lookaside.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def __enter__(self) -> LookasideServer:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.bench_registry", "--serve-lookaside",
             str(self.folder), str(self.log)],
            stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parents[1],
        )  # fmt: skip
        assert self._process.stdout is not None
        self.port = int(self._process.stdout.readline())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)


def serve_lookaside(folder: str, log: str) -> None:
    """The lookaside server process: prints its port, serves until terminated."""
    with open(log, "a", buffering=1) as out:
        paths: Any = _Lines(out)
        handler = functools.partial(_Handler, directory=folder, log=paths)
        server = _Server(("127.0.0.1", 0), handler)
        print(server.server_address[1], flush=True)
        server.serve_forever()


class _Lines:
    def __init__(self, out: Any) -> None:
        self.out = out
        self.lock = threading.Lock()

    def append(self, line: str) -> None:
        with self.lock:
            self.out.write(line + "\n")


class World(NamedTuple):
    registry: RegistryServer
    lookaside: LookasideServer
    root: Path
    policy: Path
    registries_d: Path
    certs_d: Path
    key_file: Path
    tags: list[str]


def build(root: Path, ca: TestCA, registry: RegistryServer, lookaside: LookasideServer,
          count: int) -> World:  # fmt: skip
    """Push the images and write their signatures (module docstring)."""
    key = w.ed25519_key()
    layout = ImageBuilder(root / "layouts").image("base", content=b"bench")
    push_image(layout, "base", registry, "bench/app:base", format="oci")
    context = ca.ssl_context()
    base_url = registry.url
    with httpx2.Client(verify=context, base_url=base_url, timeout=30) as client:
        base = client.get("/v2/bench/app/manifests/base", headers={"Accept": OCI_MANIFEST})
        base.raise_for_status()
        document = json.loads(base.content)
        tags = []
        for index in range(count):
            tag = f"t{index}"
            body = json.dumps({**document, "annotations": {"bench": str(index)}}).encode()
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
            put = client.put(
                f"/v2/bench/app/manifests/{tag}",
                content=body,
                headers={"Content-Type": OCI_MANIFEST},
            )
            put.raise_for_status()
            payload = json.dumps({
                "critical": {
                    "identity": {"docker-reference": f"{registry.host}/bench/app:{tag}"},
                    "image": {"docker-manifest-digest": digest},
                    "type": "atomic container signature",
                },
                "optional": {"creator": "bench"},
            }).encode()  # fmt: skip
            folder = root / "lookaside" / f"bench/app@{digest.replace(':', '=')}"
            folder.mkdir(parents=True)
            (folder / "signature-1").write_bytes(w.message(key, payload))
            tags.append(tag)
    key_file = root / "bench-key.gpg"
    key_file.write_bytes(w.certificate(key))
    (root / "trust.yaml").write_text(
        "apiVersion: sigpolicy.io/v1alpha1\nkind: TrustStore\nentries:\n"
        f"  - name: bench\n    keys:\n      - file: {key_file}\n"
    )
    policy = root / "policy.yaml"
    policy.write_text(
        "apiVersion: sigpolicy.io/v1alpha1\nkind: ImagePolicy\ntrust: trust.yaml\nscopes:\n"
        '  - name: bench\n    images: ["127.0.0.1:*/**"]\n'
        "    require:\n      - signedBy: {trust: [bench]}\n"
    )
    registries_d = root / "registries.d"
    registries_d.mkdir()
    (registries_d / "bench.yaml").write_text(f"default-docker:\n  lookaside: {lookaside.url}\n")
    certs_d = ca.certs_d_for(root / "certs.d", registry.host)
    return World(registry, lookaside, root, policy, registries_d, certs_d, key_file, tags)


# --- measuring the registry's share of a review ----------------------------------------------


class Waits:
    """Intervals spent awaiting the registry client (requests overlap: their union counts)."""

    def __init__(self) -> None:
        self.intervals: list[tuple[float, float]] = []

    def wrap(self, call: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await call(*args, **kwargs)
            finally:
                self.intervals.append((start, time.perf_counter()))

        return timed

    def take(self) -> float:
        total, end = 0.0, float("-inf")
        for start, stop in sorted(self.intervals):
            if stop <= end:
                continue
            total += stop - max(start, end)
            end = stop
        self.intervals.clear()
        return total


def layer_for(world: World, waits: Waits | None = None) -> RegistryLayer:
    choice = RegistryChoice(registries_d=world.registries_d, cert_dir=world.certs_d)
    layer = open_registry(choice, None)
    if waits is not None:
        client: Any = layer.client
        finder: Any = layer.finder
        client.resolve_tag = waits.wrap(client.resolve_tag)
        client.get_manifest = waits.wrap(client.get_manifest)
        finder.find = waits.wrap(finder.find)
    return layer


def review_of(image: str, uid: str) -> Any:
    return parse_review({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": uid, "operation": "CREATE", "namespace": "bench",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "userInfo": {"username": "bench"},
            "object": {"kind": "Pod", "metadata": {"name": uid, "namespace": "bench"},
                       "spec": {"containers": [{"name": "c", "image": image}]}},
        },
    })  # fmt: skip


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# --- the phases ---------------------------------------------------------------------------------


async def cold(world: World, count: int) -> dict[str, float]:
    waits = Waits()
    layer = layer_for(world, waits)
    policy, _ = load_policy_and_trust(world.policy, None)
    admission = Admission(lambda: policy, None, AdmissionSettings(), registry=layer)
    totals, own = [], []
    try:
        # The first review opens the TLS connection; it is not "a never-seen image" cost.
        await admission.review(review_of(f"{world.registry.host}/bench/app:base", "warm"))
        waits.take()
        for index, tag in enumerate(world.tags[:count]):
            start = time.perf_counter()
            outcome = await admission.review(
                review_of(f"{world.registry.host}/bench/app:{tag}", f"c{index}")
            )
            elapsed = time.perf_counter() - start
            assert outcome.allowed, outcome.message
            waited = waits.take()
            totals.append(elapsed)
            own.append(elapsed - waited)
    finally:
        await layer.aclose()
    return {
        "total_p50": statistics.median(totals) * 1000,
        "own_p50": statistics.median(own) * 1000,
        "own_p99": percentile(own, 0.99) * 1000,
        "registry_p50": statistics.median(t - o for t, o in zip(totals, own, strict=True)) * 1000,
    }


def skopeo(world: World, count: int) -> dict[str, float]:
    env = dict(os.environ, HOME=str(world.root))
    policy = world.root / "containers-policy.json"
    policy.write_text(json.dumps({
        "default": [{"type": "reject"}],
        "transports": {"docker": {"": [{"type": "signedBy", "keyType": "GPGKeys",
                                         "keyPath": str(world.key_file)}]}},
    }))  # fmt: skip
    cert_dir = world.registry.skopeo_cert_dir
    inspect, copy = [], []
    for index, tag in enumerate(world.tags[-count:]):
        image = f"docker://{world.registry.host}/bench/app:{tag}"
        start = time.perf_counter()
        subprocess.run(
            ["skopeo", "inspect", "--raw", "--cert-dir", str(cert_dir), image],
            check=True, capture_output=True, env=env,
        )  # fmt: skip
        inspect.append(time.perf_counter() - start)
        target = world.root / f"copy-{index}"
        start = time.perf_counter()
        subprocess.run(
            ["skopeo", "--policy", str(policy), "--registries.d", str(world.registries_d),
             "copy", "--quiet", "--src-cert-dir", str(cert_dir), image, f"dir:{target}"],
            check=True, capture_output=True, env=env,
        )  # fmt: skip
        copy.append(time.perf_counter() - start)
    return {
        "inspect_p50": statistics.median(inspect) * 1000,
        "copy_p50": statistics.median(copy) * 1000,
    }


async def warm(world: World, rate: int, seconds: float) -> dict[str, float]:
    layer = layer_for(world)
    policy, _ = load_policy_and_trust(world.policy, None)
    admission = Admission(lambda: policy, None, AdmissionSettings(), registry=layer)
    image = f"{world.registry.host}/bench/app:{world.tags[0]}"
    latencies: list[float] = []
    try:
        for _ in range(50):
            await admission.review(review_of(image, "w"))
        loop = asyncio.get_running_loop()
        begin = loop.time() + 0.05

        async def one(at: float, uid: str) -> None:
            await asyncio.sleep(max(0.0, at - loop.time()))
            outcome = await admission.review(review_of(image, uid))
            assert outcome.allowed
            latencies.append(loop.time() - at)

        total = int(rate * seconds)
        await asyncio.gather(*(one(begin + n / rate, f"w{n}") for n in range(total)))
    finally:
        await layer.aclose()
    return {
        "p50": statistics.median(latencies) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "count": len(latencies),
    }


async def fan_out(world: World, parallel: int) -> dict[str, Any]:
    layer = layer_for(world)
    policy, _ = load_policy_and_trust(world.policy, None)
    admission = Admission(lambda: policy, None, AdmissionSettings(), registry=layer)
    registry_before = len(world.registry.access_log())
    lookaside_before = len(world.lookaside.requests)
    gate = asyncio.Semaphore(parallel)
    allowed = 0

    async def one(tag: str) -> None:
        nonlocal allowed
        async with gate:
            outcome = await admission.review(
                review_of(f"{world.registry.host}/bench/app:{tag}", tag)
            )
        allowed += outcome.allowed

    start, cpu = time.perf_counter(), time.process_time()
    try:
        await asyncio.gather(*(one(tag) for tag in world.tags))
    finally:
        await layer.aclose()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    lines = world.registry.access_log()[registry_before:]
    requests = Counter(f"{line.method} {line.path}" for line in lines if line.path != "/v2/")
    lookaside = Counter(world.lookaside.requests[lookaside_before:])
    heads = {f"HEAD /v2/bench/app/manifests/{tag}" for tag in world.tags}
    repeated = [k for k, n in (requests + lookaside).items() if n > 1]
    missing = heads - set(requests)
    manifests = sum(1 for k in requests if k.startswith("GET /v2/bench/app/manifests/sha256:"))
    return {
        "images": len(world.tags),
        "allowed": allowed,
        "seconds": elapsed,
        "per_second": len(world.tags) / elapsed,
        "cpu_ms_per_image": cpu / len(world.tags) * 1000,
        "registry_requests": sum(requests.values()),
        "lookaside_requests": sum(lookaside.values()),
        "manifests": manifests,
        "repeated": len(repeated),
        "lost": len(missing) + (len(world.tags) - manifests),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve-lookaside"]:
        serve_lookaside(argv[1], argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--cold", type=int, default=40)
    parser.add_argument("--skopeo", type=int, default=10)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--parallel", type=int, default=16)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp:
        root = Path(tmp)
        ca = TestCA.create(root / "ca")
        (root / "lookaside").mkdir()
        with (
            RegistryServer(root / "registry", ca) as registry,
            LookasideServer(root / "lookaside") as lookaside,
        ):
            started = time.perf_counter()
            world = build(root, ca, registry, lookaside, args.images + args.cold)
            took = time.perf_counter() - started
            print(f"set up {len(world.tags)} signed images in {took:.1f} s", file=sys.stderr)
            cold_tags = world._replace(tags=world.tags[: args.cold])
            fan_tags = world._replace(tags=world.tags[args.cold :])
            c = asyncio.run(cold(cold_tags, args.cold))
            s = skopeo(fan_tags, args.skopeo)
            h = asyncio.run(warm(cold_tags, args.rate, args.seconds))
            f = asyncio.run(fan_out(fan_tags, args.parallel))
    rows = [
        ("measurement", "sigpolicy", "skopeo"),
        ("---", "---", "---"),
        (
            f"cold review, never-seen tag (p50 of {args.cold})",
            f"{c['total_p50']:.1f} ms (registry and lookaside waits {c['registry_p50']:.1f} ms)",
            f"inspect {s['inspect_p50']:.0f} ms, copy --policy {s['copy_p50']:.0f} ms",
        ),
        (
            "our own time in a cold review (p50 / p99)",
            f"{c['own_p50']:.2f} / {c['own_p99']:.2f} ms",
            "",
        ),
        (
            f"warm review at {args.rate}/s for {args.seconds:g} s (p50 / p99 of {h['count']:.0f})",
            f"{h['p50']:.2f} / {h['p99']:.2f} ms",
            "",
        ),
        (
            f"{f['images']} distinct images cold, {args.parallel} at a time",
            f"{f['seconds']:.1f} s ({f['per_second']:.0f}/s; {f['cpu_ms_per_image']:.1f} ms of"
            f" this process's CPU per image), {f['allowed']} allowed",
            "",
        ),
        (
            "registry requests (but /v2/) / lookaside requests",
            f"{f['registry_requests']} / {f['lookaside_requests']}: {f['repeated']} repeated,"
            f" {f['lost']} lost",
            "",
        ),
    ]
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0 if f["repeated"] == 0 and f["lost"] == 0 and f["allowed"] == f["images"] else 1


if __name__ == "__main__":
    sys.exit(main())
