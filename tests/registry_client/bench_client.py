"""Registry client round trips on loopback, beside ``skopeo inspect`` (not a test: run it).

    .venv/bin/python -m tests.registry_client.bench_client

Starts Debian's docker-registry over TLS (tests/support/registry_kit.py), pushes one OCI image,
then times tag resolution (HEAD) plus the manifest by digest (GET, digest recomputed):
with a new client each time (new TLS context and connection), with one client (kept
connection), and the same over the standard library's http.client (the floor), and
``skopeo inspect --raw`` of the tag (a process each time). Prints p50/p99 in ms.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import subprocess
import tempfile
import time
from pathlib import Path

from sigpolicy.reference.docker import Reference, parse_reference
from sigpolicy.sources.registry import CredentialSet, RegistryClient, RegistryOptions
from tests.support.registry_kit import ImageBuilder, RegistryServer, TestCA, push_image

_ACCEPT = "application/vnd.oci.image.manifest.v1+json"


def _ms(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def _line(label: str, samples: list[float]) -> str:
    return f"{label:<58} p50 {_ms(samples, 0.5):6.2f} ms  p99 {_ms(samples, 0.99):6.2f} ms  (n={len(samples)})"


async def _one(client: RegistryClient, reference: Reference) -> float:
    start = time.perf_counter()
    none = CredentialSet()
    digest = await client.resolve_tag(
        reference, "v1", credentials=none, deadline=time.monotonic() + 10
    )
    await client.get_manifest(
        reference, str(digest), credentials=none, deadline=time.monotonic() + 10
    )
    return time.perf_counter() - start


async def _client_runs(reference: Reference, certs: Path) -> tuple[list[float], list[float]]:
    cold = []
    for _ in range(50):
        client = RegistryClient(RegistryOptions(cert_dir=certs))
        cold.append(await _one(client, reference))
        await client.aclose()
    client = RegistryClient(RegistryOptions(cert_dir=certs))
    await _one(client, reference)
    warm = [await _one(client, reference) for _ in range(300)]
    await client.aclose()
    return cold, warm


def main() -> None:
    directory = Path(tempfile.mkdtemp(prefix="bench-registry-"))
    ca = TestCA.create(directory / "ca")
    with RegistryServer(directory / "registry", ca) as registry:
        digest = push_image(
            ImageBuilder(directory / "layouts").image("v1"), "v1", registry, "team/app:v1"
        )
        reference = parse_reference(f"{registry.host}/team/app")
        cold, warm = asyncio.run(
            _client_runs(reference, ca.certs_d_for(directory / "certs.d", registry.host))
        )
        floor = []
        connection = http.client.HTTPSConnection(
            "127.0.0.1", registry.port, context=ca.ssl_context()
        )
        for _ in range(300):
            start = time.perf_counter()
            for method, path in (
                ("HEAD", "/v2/team/app/manifests/v1"),
                ("GET", f"/v2/team/app/manifests/{digest}"),
            ):
                connection.request(method, path, headers={"Accept": _ACCEPT})
                connection.getresponse().read()
            floor.append(time.perf_counter() - start)
        connection.close()
        skopeo = []
        environment = dict(os.environ, HOME=str(directory))
        for _ in range(10):
            start = time.perf_counter()
            subprocess.run(
                [
                    "skopeo",
                    "inspect",
                    "--raw",
                    "--cert-dir",
                    str(registry.skopeo_cert_dir),
                    f"docker://{registry.host}/team/app:v1",
                ],
                check=True,
                capture_output=True,
                env=environment,
            )
            skopeo.append(time.perf_counter() - start)
    print(_line("new client each time: HEAD tag + GET manifest by digest", cold))
    print(_line("one client, kept connection: HEAD tag + GET by digest", warm))
    print(_line("stdlib http.client, kept connection: HEAD + GET", floor))
    print(_line("skopeo inspect --raw (a process, tag only)", skopeo))


if __name__ == "__main__":
    main()
