"""The webhook pod as rendered, run here: its ConfigMap and TLS Secret written out as the
kubelet mounts them, `sigpolicy serve` started with the container's own arguments (only the
cluster swapped for the example catalog, and the address for loopback), then called over
TLS as the API server calls it: trusting only caBundle, by the Service's DNS name."""

from __future__ import annotations

import base64
import http.client
import json
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sigpolicy.cli.serve_cmd import examples
from tests.chart.support import (
    FULLNAME,
    NAMESPACE,
    ROOT,
    Manifest,
    container,
    deployment,
    one,
    render,
)

LAUNCH = (
    "import sys; from sigpolicy.cli.main import run_guarded;"
    " from sigpolicy.cli.serve_cmd import run; sys.exit(run_guarded(lambda: run(sys.argv[1:])))"
)
SERVICE_NAME = f"{FULLNAME}.{NAMESPACE}.svc"


def mount(manifests: list[Manifest], root: Path) -> None:
    """Every ConfigMap and Secret volume of the webhook pod, written under root."""
    pod = deployment(manifests)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    for item in container(manifests)["volumeMounts"]:
        volume = volumes[item["name"]]
        target = root / item["mountPath"].lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        if "configMap" in volume:
            for name, text in one(manifests, "ConfigMap", volume["configMap"]["name"])[
                "data"
            ].items():
                (target / name).write_text(text)
        elif "secret" in volume:
            secret = one(manifests, "Secret", volume["secret"]["secretName"])
            for name, data in secret["data"].items():
                (target / name).write_bytes(base64.b64decode(data))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def local_args(args: list[str], root: Path, port: int) -> list[str]:
    swapped = {
        "--in-cluster": f"--catalog={examples() / 'catalog'}",
        "--host=0.0.0.0": "--host=127.0.0.1",
        "--port=8443": f"--port={port}",
    }
    return [
        swapped.get(arg, arg.replace("=/etc/sigpolicy/", f"={root}/etc/sigpolicy/")) for arg in args
    ]


class ApiServerClient:
    """HTTPS to 127.0.0.1:port, trusting caBundle only and checking the Service's name."""

    def __init__(self, port: int, ca_bundle: str) -> None:
        self.port = port
        self.context = ssl.create_default_context(cadata=base64.b64decode(ca_bundle).decode())

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        connection.sock = self.context.wrap_socket(raw, server_hostname=SERVICE_NAME)
        try:
            payload = None if body is None else json.dumps(body)
            headers = {"Content-Type": "application/json"} if body is not None else {}
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
            return response.status, json.loads(text) if text else None
        finally:
            connection.close()


@pytest.fixture(scope="module")
def served(
    helm: Path, workdir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServerClient]:
    tmp_path = tmp_path_factory.mktemp("pod")
    manifests = render(helm, "default", workdir)
    mount(manifests, tmp_path)
    (configuration,) = [m for m in manifests if m["kind"] == "ValidatingWebhookConfiguration"]
    ca_bundle = configuration["webhooks"][0]["clientConfig"]["caBundle"]
    port = free_port()
    args = container(manifests)["args"]
    assert args[0] == "serve"
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, *local_args(args[1:], tmp_path, port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    client = ApiServerClient(port, ca_bundle)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[1].decode()
            try:
                if client.request("GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "not ready within 30 s"
            time.sleep(0.2)
        yield client
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        assert process.returncode == 0, err.decode()


def test_probes_answer_over_the_charts_tls(served: ApiServerClient) -> None:
    assert served.request("GET", "/healthz")[0] == 200
    assert served.request("GET", "/readyz")[0] == 200


def test_the_placeholder_policy_admits_with_an_audit_note(served: ApiServerClient) -> None:
    review = json.loads((examples() / "reviews" / "deployment-denied.json").read_text())
    status, answer = served.request("POST", "/validate", review)
    assert status == 200
    response = answer["response"]
    assert response["allowed"] is True
    assert response["uid"] == review["request"]["uid"]
    assert response.get("auditAnnotations"), response


def test_a_client_trusting_another_ca_is_refused_by_tls(served: ApiServerClient) -> None:
    stranger = ssl.create_default_context()  # the system CAs, not the chart's
    raw = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    with pytest.raises(ssl.SSLCertVerificationError):
        stranger.wrap_socket(raw, server_hostname=SERVICE_NAME)
    raw.close()
