"""``sigpolicy audit --output policyreport`` against the wgpolicyk8s.io/v1alpha2 schema (a
rendition of the CRDs' openAPIV3Schema in tests/audit/data)."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # kubernetes-validate (dev) brings it
import pytest

from tests.audit.support import EXAMPLE_POLICY, json_lines, make_catalog, run_cli

SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "policyreport-v1alpha2.schema.json").read_text()
)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_catalog(tmp_path_factory.mktemp("report-catalog"), replicas=2)


@pytest.fixture(scope="module")
def reports(catalog: Path) -> list[dict[str, Any]]:
    from sigpolicy.cli.main import main

    target = catalog.parent / "reports.json"
    code = main([
        "audit", "--policy", str(EXAMPLE_POLICY), "--catalog", str(catalog),
        "--output", "policyreport", "--output-file", str(target), "--quiet",
    ])  # fmt: skip
    assert code == 1
    document = json.loads(target.read_text())
    assert (document["apiVersion"], document["kind"]) == ("v1", "List")
    items: list[dict[str, Any]] = document["items"]
    return items


def test_the_schema_itself_is_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_every_report_validates(reports: list[dict[str, Any]]) -> None:
    for report in reports:
        errors = [e.message for e in VALIDATOR.iter_errors(report)]
        assert errors == [], report["metadata"]


def test_one_policy_report_per_namespace_and_one_cluster_report(
    reports: list[dict[str, Any]], catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kinds = Counter(r["kind"] for r in reports)
    _, out, _ = run_cli(
        capsys, "--policy", EXAMPLE_POLICY, "--catalog", catalog, "--output", "json", "--quiet"
    )
    findings = json_lines(out)
    namespaces = {f["namespace"] for f in findings}
    assert kinds == {"PolicyReport": len(namespaces), "ClusterPolicyReport": 1}
    by_namespace = {r["metadata"].get("namespace"): r for r in reports}
    for namespace in namespaces:
        report = by_namespace[namespace]
        mine = [f for f in findings if f["namespace"] == namespace]
        assert len(report["results"]) == len(mine)
        assert report["summary"] == {
            "pass": sum(f["result"] == "pass" for f in mine),
            "fail": sum(f["result"] == "fail" for f in mine),
            "warn": sum(f["result"] == "warn" for f in mine),
            "error": 0,
            "skip": sum(f["result"] == "skip" for f in mine),
        }
        for result, finding in zip(report["results"], mine, strict=True):
            assert result["source"] == "sigpolicy"
            assert result["result"] == finding["result"]
            assert result["resources"][0]["name"] == finding["name"]
            assert result["properties"]["image"] == finding["image"]
    cluster = by_namespace[None]
    assert sum(cluster["summary"].values()) == len(findings)
    worst = {r["resources"][0]["name"]: r["result"] for r in cluster["results"]}
    assert worst["shop"] == "fail" and worst["kube-system"] == "skip"


def _broken(report: dict[str, Any], change: str) -> dict[str, Any]:
    bad = copy.deepcopy(report)
    result = bad["results"][0]
    if change == "result":
        result["result"] = "denied"
    elif change == "property":
        result["properties"]["replicas"] = 3
    elif change == "unknown-field":
        result["image"] = "x"
    elif change == "no-namespace":
        del bad["metadata"]["namespace"]
    elif change == "severity":
        result["severity"] = "critical"
    return bad


@pytest.mark.parametrize(
    "change", ["result", "property", "unknown-field", "no-namespace", "severity"]
)
def test_the_schema_refuses_what_the_crd_would_not_keep(
    reports: list[dict[str, Any]], change: str
) -> None:
    report = next(r for r in reports if r["kind"] == "PolicyReport")
    assert not VALIDATOR.is_valid(_broken(report, change))
