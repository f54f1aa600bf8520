"""``sigpolicy serve --registry`` as a process, reviews over real TLS, registries real
(Debian's docker-registry) or scripted (a registry that never answers).

Allowed, denied for each cause the webhook sees, cached (the registry's own access log and
the lookaside server's log count the requests), fail-closed when the registry is down, and
other reviews answered while one registry hangs."""

from __future__ import annotations

import concurrent.futures
import os
import re
import selectors
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.registry_client.hostile import HostileServer, Reply, Seen
from tests.registry_e2e.conftest import World
from tests.support.registry_kit import free_port
from tests.webhook.support import client_context, pod_review

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = (
    "import sys; from sigpolicy.cli.main import run_guarded;"
    " from sigpolicy.cli.serve_cmd import run; sys.exit(run_guarded(lambda: run(sys.argv[1:])))"
)
DEADLINE = "3"


class Webhook:
    def __init__(self, url: str, ca: Path) -> None:
        self.client = httpx2.Client(verify=client_context(ca), base_url=url, timeout=20)

    def review(self, *images: str, namespace: str = "shop") -> dict[str, Any]:
        reply = self.client.post("/validate", json=pod_review(list(images), namespace=namespace))
        assert reply.status_code == 200, reply.text
        response: dict[str, Any] = reply.json()["response"]
        return response

    def metrics(self) -> str:
        return self.client.get("/metrics").text


def _listening(process: subprocess.Popen[bytes]) -> str:
    assert process.stdout is not None
    text = ""
    deadline = time.monotonic() + 30
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while (found := re.search(r"listening on (https://localhost:\d+)", text)) is None:
            left = deadline - time.monotonic()
            assert left > 0 and selector.select(left), f"no banner: {text!r}"
            chunk = os.read(process.stdout.fileno(), 4096)
            assert chunk, f"serve ended: {text!r} {process.stderr and process.stderr.read()!r}"
            text += chunk.decode()
    return found.group(1)


def _silent(seen: Seen, count: int) -> Reply:
    return Reply(200, {}, b"{}", delay=30.0)


@pytest.fixture(scope="module")
def hanging(world: World) -> Iterator[HostileServer]:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(world.ca.server_cert, world.ca.server_key)
    with HostileServer(_silent, tls=tls) as server:
        world.ca.certs_d_for(world.certs_d, server.host)
        yield server


@pytest.fixture(scope="module")
def webhook(
    world: World, hanging: HostileServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Webhook]:
    tls_dir = tmp_path_factory.mktemp("serve-tls")
    argv = [
        "--policy", str(world.policy), "--self-signed", "--tls-dir", str(tls_dir),
        "--port", "0", "--deadline", DEADLINE,
        *world.registry_args("--authfile", str(world.authfile)),
    ]  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        url = _listening(process)
        webhook = Webhook(url, tls_dir / "ca.crt")
        with webhook.client:
            yield webhook
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        assert process.returncode == 0, err.decode()
        assert b"Traceback" not in err
        assert b"e2e-pw" not in err  # no credential in any log line


def test_signed_image_is_allowed(world: World, webhook: Webhook) -> None:
    response = webhook.review(world.signed)
    assert response["allowed"] is True, response


def test_locked_registry_through_the_authfile_is_allowed(world: World, webhook: Webhook) -> None:
    assert webhook.review(world.locked_image)["allowed"] is True


DENIED = [
    ("unsigned", lambda w: w.unsigned, "unsigned", "no signature at any source asked"),
    ("digest-only scope", lambda w: f"{w.open.host}/pinned/app:v1", "resolution-failed",
     "digest-only"),
    ("missing tag", lambda w: f"{w.open.host}/team/app:gone", "resolution-failed", "not found"),
    ("registry down: fail closed", lambda w: f"127.0.0.1:{free_port()}/team/app:v1",
     "source-unavailable", "cannot connect"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "image", "reason", "words"), DENIED, ids=[d[0] for d in DENIED])
def test_denied_with_its_cause(
    world: World, webhook: Webhook, name: str, image: Any, reason: str, words: str
) -> None:
    response = webhook.review(image(world))
    assert response["allowed"] is False
    assert response["status"]["reason"] == reason, response
    assert words in response["status"]["message"]


def test_second_review_asks_no_registry(world: World, webhook: Webhook) -> None:
    image = f"{world.open.host}/team/app@{world.signed_digest}"
    assert webhook.review(image)["allowed"] is True
    registry_before = len(world.open.access_log())
    lookaside_before = len(world.lookaside.requests)
    for _ in range(3):
        assert webhook.review(image)["allowed"] is True
    assert len(world.open.access_log()) == registry_before
    assert len(world.lookaside.requests) == lookaside_before


def test_other_reviews_are_answered_while_a_registry_hangs(
    world: World, webhook: Webhook, hanging: HostileServer
) -> None:
    webhook.review(world.signed)  # warm
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        stuck = pool.submit(webhook.review, f"{hanging.host}/team/app:v1")
        while not hanging.seen:  # the hanging review has reached the registry
            time.sleep(0.01)
        answered = webhook.review(world.signed)
        assert not stuck.done()
        assert answered["allowed"] is True
        response = stuck.result(timeout=30)
    assert response["allowed"] is False
    assert response["status"]["reason"] == "timeout", response


def test_metrics_count_registry_requests_by_host_and_outcome(
    world: World, webhook: Webhook
) -> None:
    webhook.review(world.signed)
    text = webhook.metrics()
    assert re.search(
        rf'sigpolicy_registry_requests_total\{{host="{re.escape(world.open.host)}",outcome="ok"\}} [1-9]',
        text,
    ), text
    assert "e2e-pw" not in text and "alice" not in text
