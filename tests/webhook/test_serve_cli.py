"""``sigpolicy serve``: its invocation errors, and the embedded default run as a process,
called over HTTPS with the CA it printed, then stopped with SIGTERM."""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from sigpolicy.cli.main import run_guarded
from sigpolicy.cli.serve_cmd import parse_options, run
from tests.webhook.support import CHECKOUT_BY_DIGEST, EXAMPLES, REVIEWS, client_context, pod_review

ROOT = Path(__file__).resolve().parents[2]
POLICY = str(EXAMPLES / "policy.yaml")
CATALOG = str(EXAMPLES / "catalog")
# The command as the sigpolicy entry point runs it (main.py dispatches to run(argv)).
LAUNCH = (
    "import sys; from sigpolicy.cli.main import run_guarded;"
    " from sigpolicy.cli.serve_cmd import run; sys.exit(run_guarded(lambda: run(sys.argv[1:])))"
)

BAD_INVOCATIONS = [
    pytest.param(["--policy", POLICY, "--self-signed"], "--catalog, --kubeconfig", id="no-source"),
    pytest.param(
        ["--policy", POLICY, "--catalog", CATALOG], "--tls-cert and --tls-key, or", id="no-tls"
    ),
    pytest.param(
        ["--example", "--tls-cert", "c.pem"], "--tls-cert and --tls-key go", id="cert-no-key"
    ),
    pytest.param(
        ["--example", "--self-signed", "--tls-cert", "c", "--tls-key", "k"],
        "exclude each other",
        id="both-tls",
    ),
    pytest.param(["--example", "--deadline", "30"], "below 30", id="deadline-too-long"),
    pytest.param(["--example", "--port", "70000"], "not a port", id="bad-port"),
]


@pytest.mark.parametrize(("argv", "says"), BAD_INVOCATIONS)
def test_bad_invocation_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    assert run_guarded(lambda: run(argv)) == 2
    err = capsys.readouterr().err
    assert says in err
    assert err.count("\n") == 1


def test_example_defaults() -> None:
    options = parse_options(["--example"])
    assert options.policy == EXAMPLES / "policy.yaml"
    assert options.catalog == EXAMPLES / "catalog"
    assert (options.host, options.port, options.tls_cert) == ("127.0.0.1", 8443, None)
    assert options.tls_dir is not None and options.tls_dir.name == "sigpolicy-example"
    assert (options.admission.deadline, options.admission.fail_open) == (8.0, False)
    assert options.mutate is options.admission.pin_digests is False


def _serve(*argv: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", LAUNCH, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,  # where the webhook package is, until it is installed with sigpolicy
    )


def _finish(process: subprocess.Popen[bytes]) -> tuple[str, str]:
    out, err = process.communicate(timeout=30)
    return out.decode(), err.decode()


def _banner(process: subprocess.Popen[bytes], seconds: float = 30) -> list[str]:
    """The lines printed up to the curl command, within ``seconds``."""
    assert process.stdout is not None
    text = ""
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while "curl" not in text or not text.endswith("\n"):
            left = deadline - time.monotonic()
            assert left > 0 and selector.select(left), f"no banner: {text!r}"
            chunk = os.read(process.stdout.fileno(), 4096)
            assert chunk, f"serve ended: {text!r}"
            text += chunk.decode()
    return text.splitlines()


def test_broken_policy_stops_serve_before_listening(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("kind: ImagePolicy\nscopes: [\n")
    args = ["--policy", str(policy), "--catalog", CATALOG, "--self-signed", "--port", "0"]
    process = _serve(*args, "--tls-dir", str(tmp_path / "tls"))
    out, err = _finish(process)
    assert process.returncode == 2
    assert out == ""
    assert err.startswith("sigpolicy: error: ") and "Traceback" not in err


def test_port_in_use_is_one_line_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        process = _serve("--example", "--port", port, "--tls-dir", str(tmp_path / "tls"))
        _, err = _finish(process)
    assert process.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in err


def test_example_server_answers_the_printed_curl_and_stops_on_sigterm(tmp_path: Path) -> None:
    tls_dir = tmp_path / "tls"
    process = _serve("--example", "--port", "0", "--tls-dir", str(tls_dir))
    try:
        banner = _banner(process)
        url = re.search(r"listening on (https://localhost:\d+)", banner[0])
        assert url is not None, banner
        assert f"--cacert {tls_dir / 'ca.crt'}" in banner[-1]
        assert "/validate" in banner[-1] and "reviews/pod-allowed.json" in banner[-1]
        context = client_context(tls_dir / "ca.crt")
        with httpx2.Client(verify=context, base_url=url.group(1), timeout=10) as client:
            sample = json.loads((REVIEWS / "pod-allowed.json").read_text())
            printed = client.post("/validate", json=sample).json()
            allowed = client.post("/validate", json=pod_review([CHECKOUT_BY_DIGEST])).json()
            ready = client.get("/readyz")
        assert printed["response"] == {"uid": sample["request"]["uid"], "allowed": True}
        assert allowed["response"] == {"uid": "uid-1", "allowed": True}
        assert ready.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _, err = _finish(process)
    assert process.returncode == 0, err
    assert time.monotonic() - started < 10
    assert "Traceback" not in err


def test_cli_modules_do_not_load_the_web_stack() -> None:
    """``sigpolicy admit`` and ``serve --help`` work without importing FastAPI or uvicorn:
    the CLI reaches the webhook only by name, when ``serve`` runs."""
    code = (
        "import sys, sigpolicy.cli.serve_cmd, sigpolicy.cli.admit_cmd;"
        "print(','.join(m for m in ('webhook', 'fastapi', 'uvicorn', 'prometheus_client')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
