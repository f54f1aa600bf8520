"""Helpers of the audit tests: the generated catalog, the CLI run in process, policies."""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from sigpolicy.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_POLICY = ROOT / "sigpolicy" / "examples" / "policy.yaml"
WORKLOAD_KINDS = {
    "Pod", "ReplicationController", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet",
    "Job", "CronJob", "DeploymentConfig",
}  # fmt: skip


def catalog_script() -> ModuleType:
    """scripts/make_audit_catalog.py, loaded as a module."""
    path = ROOT / "scripts" / "make_audit_catalog.py"
    spec = importlib.util.spec_from_file_location("make_audit_catalog", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_catalog(folder: Path, replicas: int) -> Path:
    catalog_script().write_example(folder, replicas)
    return folder


def catalog_objects(folder: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(folder.iterdir()):
        if path.suffix not in (".yaml", ".json"):
            continue
        for document in yaml.safe_load_all(path.read_text()):
            if document is None:
                continue
            yield from document["items"] if document.get("kind") == "List" else [document]


def example_policy_copy(folder: Path, text: str | None = None) -> Path:
    """The example policy (or ``text``) in ``folder``, beside the trust store it names."""
    examples = ROOT / "sigpolicy" / "examples"
    shutil.copy(examples / "trust.yaml", folder / "trust.yaml")
    if not (folder / "signatures").exists():
        shutil.copytree(examples / "signatures", folder / "signatures")
    path = folder / "policy.yaml"
    path.write_text(text if text is not None else EXAMPLE_POLICY.read_text())
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["audit", *(str(a) for a in args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]
