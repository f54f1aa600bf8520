"""Section ``images`` of the conformance corpus: whole ``dir:`` images judged by a
containers-policy.json requirement, through ``check-image --dir`` and through the library."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from sigpolicy.cli.main import main
from sigpolicy.policy.load import load_policy
from sigpolicy.reference.docker import parse_reference
from sigpolicy.sources.evidence import evidence_from_dir
from tests.conformance.corpus import CORPUS, case_id, expectations

CASES: list[dict[str, Any]] = expectations()["images"]


def policy_file(tmp_path: Path, requirement: dict[str, Any]) -> Path:
    absolute = dict(requirement)
    for field in ("keyPath",):
        if field in absolute:
            absolute[field] = str(CORPUS / absolute[field])
    if "keyPaths" in absolute:
        absolute["keyPaths"] = [str(CORPUS / p) for p in absolute["keyPaths"]]
    policy = {"default": [{"type": "reject"}], "transports": {"docker": {"": [absolute]}}}
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy))
    return path


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_library(case: dict[str, Any], tmp_path: Path) -> None:
    policy = load_policy(policy_file(tmp_path, case["requirement"]))
    evidence = evidence_from_dir(CORPUS / case["dir"], parse_reference(case["reference"]))
    decision = asyncio.run(policy.decide(evidence))
    assert decision.allowed is (case["expect"] == "allowed"), decision.message
    if "reason" in case:
        assert str(decision.reason) == case["reason"]
    if "accepted_signatures" in case:
        assert decision.outcome is not None
        accepted = [f for f in decision.outcome.signatures if f.accepted]
        assert len(accepted) == case["accepted_signatures"]


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_cli(case: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "check-image",
        case["reference"],
        "--policy",
        str(policy_file(tmp_path, case["requirement"])),
    ]
    argv += ["--dir", str(CORPUS / case["dir"]), "--output", "json"]
    status = main(argv)
    record = json.loads(capsys.readouterr().out)
    assert status == (0 if case["expect"] == "allowed" else 1)
    assert record["allowed"] is (case["expect"] == "allowed")
    if "reason" in case:
        assert record["reason"] == case["reason"]


def test_corpus_policy_json_parses() -> None:
    policy = load_policy(CORPUS / "policy.json")
    assert policy.format_name == "containers-policy.json"
