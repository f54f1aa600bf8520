"""The chart's background audit: ``audit.interval`` turns on serve's --audit-interval with a
Lease, and only then the RBAC to list and watch workloads and write PolicyReports."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from sigpolicy.cli.serve_cmd import parse_options
from sigpolicy.sources.workload_kinds import WORKLOAD_KINDS
from tests.chart.support import FULLNAME, NAMESPACE, Manifest, lint, parse, template

kubernetes_validate: Any = importlib.import_module("kubernetes_validate")


def _render(helm: Path, *sets: str) -> list[Manifest]:
    result = template(helm, *(f"--set={s}" for s in sets))
    assert result.returncode == 0, result.stderr
    return parse(result.stdout)


@pytest.fixture(scope="module")
def audited(helm: Path) -> list[Manifest]:
    return _render(helm, "audit.interval=10m")


@pytest.fixture(scope="module")
def plain(helm: Path) -> list[Manifest]:
    return _render(helm)


def _webhook_args(manifests: list[Manifest]) -> list[str]:
    deployment = next(
        m for m in manifests if m["kind"] == "Deployment" and m["metadata"]["name"] == FULLNAME
    )
    args: list[str] = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    return args


def _rules(manifests: list[Manifest], kind: str, name: str) -> list[dict[str, Any]]:
    found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    return [rule for m in found for rule in m.get("rules") or ()]


def _granted(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_every_object_validates(audited: list[Manifest]) -> None:
    for manifest in audited:
        if manifest["apiVersion"].startswith(("cert-manager.io", "monitoring.coreos.com")):
            continue
        kubernetes_validate.validate(manifest, "1.30.0", strict=True)


def test_serve_gets_the_audit_options(audited: list[Manifest]) -> None:
    options = parse_options(_webhook_args(audited)[1:])
    assert options.audit_interval == 600
    assert options.audit_lease == f"{NAMESPACE}/{FULLNAME}-audit"


def test_off_by_default(plain: list[Manifest]) -> None:
    options = parse_options(_webhook_args(plain)[1:])
    assert options.audit_interval is None and options.audit_lease is None
    granted = _granted(_rules(plain, "ClusterRole", f"{FULLNAME}-webhook"))
    assert not {g for g in granted if g[1] in ("pods", "policyreports", "deployments")}
    assert not [m for m in plain if m["metadata"]["name"] == f"{FULLNAME}-audit"]


def test_the_webhook_may_list_and_watch_every_kind_it_audits(audited: list[Manifest]) -> None:
    granted = _granted(_rules(audited, "ClusterRole", f"{FULLNAME}-webhook"))
    for kind in WORKLOAD_KINDS:
        for verb in ("list", "watch"):
            assert (kind.group, kind.plural, verb) in granted, (kind.plural, verb)
        assert (kind.group, kind.plural, "get") not in granted  # nothing it does not use
    for resource in ("policyreports", "clusterpolicyreports"):
        for verb in ("get", "list", "create", "update", "patch"):
            assert ("wgpolicyk8s.io", resource, verb) in granted
        assert ("wgpolicyk8s.io", resource, "delete") not in granted
    assert all(
        "*" not in str(rule) for rule in _rules(audited, "ClusterRole", f"{FULLNAME}-webhook")
    )


def test_the_lease_role_names_its_one_lease(audited: list[Manifest]) -> None:
    rules = _rules(audited, "Role", f"{FULLNAME}-audit")
    assert {"create"} == {v for r in rules if "resourceNames" not in r for v in r["verbs"]}
    named = [r for r in rules if "resourceNames" in r]
    assert named == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": [f"{FULLNAME}-audit"],
            "verbs": ["get", "update"],
        }
    ]
    binding = next(
        m
        for m in audited
        if m["kind"] == "RoleBinding" and m["metadata"]["name"] == f"{FULLNAME}-audit"
    )
    assert binding["subjects"][0]["name"] == FULLNAME


def test_a_lease_name_of_ones_own(helm: Path) -> None:
    manifests = _render(helm, "audit.interval=1h", "audit.leaseName=audit-writer")
    assert parse_options(_webhook_args(manifests)[1:]).audit_lease == f"{NAMESPACE}/audit-writer"


@pytest.mark.parametrize("interval", ["ten minutes", "10x", "-5m"])
def test_a_bad_interval_is_refused(helm: Path, interval: str) -> None:
    for result in (
        lint(helm, f"--set=audit.interval={interval}"),
        template(helm, f"--set=audit.interval={interval}"),
    ):
        assert result.returncode != 0
        assert "interval" in result.stdout + result.stderr
