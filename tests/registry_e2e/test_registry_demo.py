"""``scripts/registry-demo``: the README's registry demo really gives the two decisions it
promises. The script runs into a temporary folder on a free port; the commands it prints are
run through the CLI, and the registry it started is stopped afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sigpolicy.cli.main import main
from tests.support.registry_kit import free_port

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "registry-demo"


@dataclass(frozen=True)
class Demo:
    folder: Path
    host: str
    stdout: str

    def printed_command(self, tag: str) -> list[str]:
        """The ``check-image`` command the script printed for ``demo/app:<tag>``."""
        image = f"{self.host}/demo/app:{tag}"
        for line in self.stdout.splitlines():
            words = shlex.split(line)
            if words[:3] == [".venv/bin/sigpolicy", "check-image", image]:
                return words[1:]
        raise AssertionError(f"no check-image command for {image} in:\n{self.stdout}")


def _stop(folder: Path) -> None:
    pid_file = folder / "registry.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("registry-demo") / "demo"
    port = free_port()
    try:
        done = subprocess.run(
            [str(SCRIPT), "--port", str(port), str(folder)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        yield Demo(folder, f"127.0.0.1:{port}", done.stdout)
    finally:
        _stop(folder)


@pytest.mark.parametrize(
    ("tag", "code", "reason", "says"),
    [
        pytest.param("signed", 0, None, "", id="signed-is-allowed"),
        pytest.param(
            "unsigned", 1, "unsigned", "no signature at any source asked: lookaside file://",
            id="unsigned-is-denied-naming-the-lookaside",
        ),
    ],
)  # fmt: skip
def test_printed_command_decides(
    demo: Demo,
    capsys: pytest.CaptureFixture[str],
    tag: str,
    code: int,
    reason: str | None,
    says: str,
) -> None:
    got = main([*demo.printed_command(tag), "--output", "json"])
    decision = json.loads(capsys.readouterr().out)
    assert (got, decision["reason"]) == (code, reason), decision["message"]
    assert says in (decision["message"] or "")
    if reason is not None:
        assert str(demo.folder / "lookaside") in decision["message"]


def test_stop_command_and_pid_file_name_the_running_registry(demo: Demo) -> None:
    pid = int((demo.folder / "registry.pid").read_text())
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert cmdline[:2] == [b"docker-registry", b"serve"]
    assert f"kill $(cat {demo.folder}/registry.pid)" in demo.stdout


def test_rerun_replaces_the_registry_it_started(demo: Demo) -> None:
    old = int((demo.folder / "registry.pid").read_text())
    port = demo.host.rsplit(":", 1)[1]
    done = subprocess.run(
        [str(SCRIPT), "--port", port, str(demo.folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    new = int((demo.folder / "registry.pid").read_text())
    assert new != old
    assert _stopped(old)


def _stopped(pid: int) -> bool:
    """Gone, or exited and waiting to be reaped by whoever adopted it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        pytest.param(["--port", "abc"], "--port abc: not a port number", id="bad-port"),
        pytest.param(["--color"], "unknown option --color", id="unknown-option"),
    ],
)
def test_bad_arguments_are_one_line_and_non_zero(argv: list[str], says: str) -> None:
    done = subprocess.run(
        [str(SCRIPT), *argv], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("registry-demo: "), done.stderr
    assert says in lines[0]


def test_a_folder_it_did_not_make_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "precious").write_text("keep me")
    done = subprocess.run(
        [str(SCRIPT), "--port", str(free_port()), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    assert "was not made by registry-demo" in done.stderr
    assert (tmp_path / "precious").read_text() == "keep me"
    assert not (tmp_path / "registry.pid").exists()
