"""``sigpolicy audit`` on the catalog made by scripts/make_audit_catalog.py."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sigpolicy.admission.engine import Admission, AdmissionSettings
from sigpolicy.admission.model import ReviewRequest
from sigpolicy.cli.policy_loading import load_policy_and_trust
from sigpolicy.resolve.workloads import container_images, pod_spec
from sigpolicy.sources.catalog import CatalogSource
from tests.audit.support import (
    EXAMPLE_POLICY,
    WORKLOAD_KINDS,
    catalog_objects,
    json_lines,
    make_catalog,
    run_cli,
)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_catalog(tmp_path_factory.mktemp("audit-catalog"), replicas=10)


def _controller_owner(obj: dict[str, Any], present: set[tuple[str, str, str]]) -> bool:
    meta = obj["metadata"]
    return any(
        ref.get("controller") and (meta["namespace"], ref["kind"], ref["name"]) in present
        for ref in meta.get("ownerReferences") or ()
    )


def test_the_catalog_holds_several_hundred_workloads_of_every_kind(catalog: Path) -> None:
    kinds = Counter(o["kind"] for o in catalog_objects(catalog) if o["kind"] in WORKLOAD_KINDS)
    assert set(kinds) == WORKLOAD_KINDS
    assert sum(kinds.values()) >= 300
    namespaces = {
        o["metadata"]["namespace"] for o in catalog_objects(catalog) if o["kind"] == "Pod"
    }
    assert len(namespaces) >= 5


def test_every_kind_is_counted_once_per_owner(
    catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        capsys, "--policy", EXAMPLE_POLICY, "--catalog", catalog, "--output", "json", "--quiet"
    )
    assert code == 1
    findings = json_lines(out)
    objects = [o for o in catalog_objects(catalog) if o["kind"] in WORKLOAD_KINDS]
    present = {(o["metadata"]["namespace"], o["kind"], o["metadata"]["name"]) for o in objects}
    owners = [o for o in objects if not _controller_owner(o, present)]
    # Each top-level object, and only those, is a workload; each of its images once.
    expected = {
        (o["metadata"]["namespace"], o["kind"], o["metadata"]["name"], c.image)
        for o in owners
        for c in container_images(pod_spec(o) or {})
    }
    keys = [(f["namespace"], f["kind"], f["name"], f["image"]) for f in findings]
    assert len(keys) == len(set(keys))
    assert set(keys) == expected
    # The Deployment's previous ReplicaSet still runs its first image: still the Deployment's.
    web = {f["image"] for f in findings if (f["namespace"], f["name"]) == ("shop", "web")}
    assert web == {c.image for o in owners if o["metadata"]["name"] == "web"
                   and o["metadata"]["namespace"] == "shop" for c in container_images(pod_spec(o) or {})}  # fmt: skip
    counted = {f["kind"] for f in findings}
    assert {"Pod", "Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job"} <= counted
    assert "ReplicaSet" not in counted  # every ReplicaSet here has its Deployment


def _webhook_decision(
    admission: Admission, owner: dict[str, Any], image: str
) -> tuple[bool, bool, str | None, str | None]:
    request = ReviewRequest(
        "admission.k8s.io/v1", "u", owner["kind"], "", "", "", "CREATE",
        owner["metadata"]["namespace"], owner["metadata"]["name"], owner, None, False,
    )  # fmt: skip
    outcome = asyncio.run(admission.review(request))
    decision = next(c.decision for c in outcome.containers if c.image == image)
    scope = decision.scope.name if decision.scope else None
    return decision.allowed, decision.would_allow, scope, decision.reason


def test_each_finding_is_what_the_webhook_decides_on_create(
    catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run_cli(
        capsys, "--policy", EXAMPLE_POLICY, "--catalog", catalog, "--output", "json", "--quiet"
    )
    findings = json_lines(out)
    policy, trust = load_policy_and_trust(EXAMPLE_POLICY, None)
    admission = Admission(lambda: policy, CatalogSource(catalog), AdmissionSettings())
    by_name = {
        (o["metadata"]["namespace"], o["kind"], o["metadata"]["name"]): o
        for o in catalog_objects(catalog)
        if o["kind"] in WORKLOAD_KINDS
    }
    for finding in findings:
        owner = by_name[(finding["namespace"], finding["kind"], finding["name"])]
        expected = _webhook_decision(admission, owner, finding["image"])
        got = (finding["allowed"], finding["wouldAllow"], finding["scope"], finding["reason"])
        assert got == expected, finding
    assert trust is not None
    trust.close()
    # Every result class of the example policy shows up.
    assert {f["result"] for f in findings} == {"pass", "fail", "warn", "skip"}


def test_decisions_are_flat_in_the_number_of_pods(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = {}
    for replicas in (1, 12):
        folder = make_catalog(tmp_path / f"r{replicas}", replicas=replicas)
        code, out, _ = run_cli(capsys, "--policy", EXAMPLE_POLICY, "--catalog", folder, "--quiet")
        lines = out.splitlines()
        runs[replicas] = (code, lines[1], lines[2:])
    assert runs[1][0] == runs[12][0] == 1
    # Same workloads, images, image uses and decisions; the same table.
    assert runs[1][1] == runs[12][1]
    assert runs[1][2] == runs[12][2]
    counts = dict(part.split(": ") for part in runs[1][1].split("   "))
    images_by_namespace = {
        (o["metadata"]["namespace"], c.image)
        for o in catalog_objects(tmp_path / "r1")
        if o["kind"] in WORKLOAD_KINDS
        for c in container_images(pod_spec(o) or {})
    }
    assert int(counts["decisions"]) == len(images_by_namespace)


def test_text_table_is_sorted_by_namespace_and_owner(
    catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "--policy", EXAMPLE_POLICY, "--catalog", catalog, "--all")
    assert code == 1
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("NAMESPACE"))
    rows = [line.split() for line in lines[header + 1 :]]
    keys = [(row[0], row[1], row[2]) for row in rows]
    assert keys == sorted(keys)
    assert {row[3] for row in rows} == {"pass", "fail", "warn", "skip"}
    assert "would be denied" in out and "by reason class and scope" in out
    assert "decisions" in err  # progress went to stderr, not into the report


def test_without_all_only_denied_and_warned_rows(
    catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run_cli(capsys, "--policy", EXAMPLE_POLICY, "--catalog", catalog, "--quiet")
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("NAMESPACE"))
    assert {line.split()[3] for line in lines[header + 1 :]} == {"fail", "warn"}


def test_namespace_option_limits_the_audit(
    catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        capsys, "--policy", EXAMPLE_POLICY, "--catalog", catalog,
        "--namespace", "shop-staging", "--namespace", "kube-system", "--output", "json", "--quiet",
    )  # fmt: skip
    findings = json_lines(out)
    assert {f["namespace"] for f in findings} == {"shop-staging", "kube-system"}
    # shop-staging only warns and kube-system is exempt: nothing would be denied.
    assert code == 0
    assert {f["result"] for f in findings} == {"pass", "warn", "skip"}


@pytest.mark.parametrize(
    ("flags", "expected"),
    [((), 0), (("--fail-on-warn",), 1)],
    ids=["warn-only-passes", "fail-on-warn"],
)
def test_warnings_fail_only_when_asked(
    catalog: Path, capsys: pytest.CaptureFixture[str], flags: tuple[str, ...], expected: int
) -> None:
    code, _, _ = run_cli(
        capsys, "--policy", EXAMPLE_POLICY, "--catalog", catalog, "--namespace", "sandbox",
        "--quiet", *flags,
    )  # fmt: skip
    assert code == expected


def test_output_file_gets_the_report(
    catalog: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "report.jsonl"
    code, out, _ = run_cli(
        capsys, "--policy", EXAMPLE_POLICY, "--catalog", catalog, "--output", "json",
        "--output-file", target, "--quiet",
    )  # fmt: skip
    assert code == 1 and out == ""
    assert all(json.loads(line)["result"] for line in target.read_text().splitlines())
