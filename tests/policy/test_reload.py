"""Reloading: a changed policy takes effect; a broken one is rejected whole and reported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sigpolicy.policy.watch import PolicyWatcher
from sigpolicy.trust.load import load_trust_store

EXAMPLES = Path(__file__).resolve().parents[2] / "sigpolicy" / "examples"


def test_reload_keeps_the_last_good_policy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    path = tmp_path / "ex" / "policy.yaml"
    store = load_trust_store(tmp_path / "ex" / "trust.yaml")
    watcher = PolicyWatcher(path, lambda: store, now=0.0, min_interval=1.0)
    first = watcher.policy
    assert len(first.index.scopes) == 3
    path.write_text(path.read_text().replace("mode: enforce", "mode: warn", 1))
    assert watcher.current(now=0.5) is first  # not due yet
    second = watcher.current(now=1.5)
    assert second is not first and second.mode == "warn" and watcher.reloads == 1
    path.write_text("scopes: [\n")
    assert watcher.current(now=3.0) is second
    assert watcher.reload_failures == 1 and watcher.last_error is not None
    assert "keeping the last good policy" in caplog.text
    assert watcher.current(now=5.0) is second and watcher.reload_failures == 1  # counted once
    path.write_text((EXAMPLES / "policy.yaml").read_text())
    assert watcher.current(now=7.0).mode == "enforce" and watcher.last_error is None
