"""The chart tests need the real helm: ``bash scripts/install-helm`` puts it in .tools/bin.
Without it every test here fails (not skips), saying so: CI installs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chart.support import find_helm


@pytest.fixture(scope="session")
def helm() -> Path:
    found = find_helm()
    if found is None:
        pytest.fail(
            "helm not found (.tools/bin/helm, $HELM or PATH): run `bash scripts/install-helm`",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where values files of the variations are written, once per session."""
    return tmp_path_factory.mktemp("chart")
