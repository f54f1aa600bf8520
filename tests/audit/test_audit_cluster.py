"""``sigpolicy audit --kubeconfig``: the same workloads behind the fake API server, listed in
pages, give the same findings as from the catalog folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.audit.support import (
    EXAMPLE_POLICY,
    WORKLOAD_KINDS,
    catalog_objects,
    json_lines,
    make_catalog,
    run_cli,
)
from tests.support.fakeapi import FakeApiServer

PAGE = 500  # the page size the cluster source asks for
EXTRA_PODS = PAGE + 120  # bare pods, so pods take two pages


def _bare_pods() -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"batch-{i:04d}", "namespace": "team-a", "uid": f"u-{i}"},
            "spec": {
                "containers": [{"name": "c", "image": f"registry.example.com/team-a/b:{i % 7}"}]
            },
        }
        for i in range(EXTRA_PODS)
    ]


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    folder = make_catalog(tmp_path / "catalog", replicas=3)
    (folder / "zz-bare-pods.yaml").write_text(yaml.safe_dump_all(_bare_pods()))
    return folder


def _load(server: FakeApiServer, folder: Path) -> int:
    count = 0
    for obj in catalog_objects(folder):
        if obj["kind"] in (*WORKLOAD_KINDS, "Namespace", "Image", "ImageStream"):
            obj = {k: v for k, v in obj.items() if k != "status" or obj["kind"] != "Pod"}
            server.add(obj)
            count += obj["kind"] in WORKLOAD_KINDS
    return count


def _keys(findings: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (f["namespace"], f["kind"], f["name"], f["image"], f["result"], f["scope"], f["reason"])
        for f in findings
    ]


def test_cluster_audit_matches_the_catalog_audit(
    fake_api: FakeApiServer, kubeconfig: Path, catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _load(fake_api, catalog)
    code, out, _ = run_cli(
        capsys, "--policy", EXAMPLE_POLICY, "--kubeconfig", kubeconfig, "--output", "json",
        "--quiet",
    )  # fmt: skip
    from_cluster = json_lines(out)
    catalog_code, catalog_out, _ = run_cli(
        capsys, "--policy", EXAMPLE_POLICY, "--catalog", catalog, "--output", "json", "--quiet"
    )
    assert code == catalog_code == 1
    assert _keys(from_cluster) == _keys(json_lines(catalog_out))
    assert sum(f["name"].startswith("batch-") for f in from_cluster) == EXTRA_PODS
    # Pods came in pages; every kind was listed once across namespaces.
    assert fake_api.count("GET", "/api/v1/pods") == 2
    for path in (
        "/apis/apps/v1/deployments", "/apis/apps/v1/replicasets", "/apis/apps/v1/statefulsets",
        "/apis/apps/v1/daemonsets", "/apis/batch/v1/jobs", "/apis/batch/v1/cronjobs",
        "/api/v1/replicationcontrollers", "/apis/apps.openshift.io/v1/deploymentconfigs",
    ):  # fmt: skip
        assert fake_api.count("GET", path) == 1, path


def test_namespaces_are_listed_one_by_one(
    fake_api: FakeApiServer, kubeconfig: Path, catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _load(fake_api, catalog)
    code, out, _ = run_cli(
        capsys, "--policy", EXAMPLE_POLICY, "--kubeconfig", kubeconfig, "--namespace", "shop",
        "--output", "json", "--quiet",
    )  # fmt: skip
    assert code == 1
    assert {f["namespace"] for f in json_lines(out)} == {"shop"}
    assert fake_api.count("GET", "/api/v1/pods") == 0
    assert fake_api.count("GET", "/api/v1/namespaces/shop/pods") == 1


def test_a_cluster_without_deploymentconfigs_is_audited_without_them(
    fake_api: FakeApiServer, kubeconfig: Path, catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _load(fake_api, catalog)
    fake_api.fail("/apis/apps.openshift.io/v1/deploymentconfigs", status=404)
    code, out, _ = run_cli(
        capsys, "--policy", EXAMPLE_POLICY, "--kubeconfig", kubeconfig, "--output", "json",
        "--quiet",
    )  # fmt: skip
    kinds = {f["kind"] for f in json_lines(out)}
    assert "DeploymentConfig" not in kinds
    # Its ReplicationControllers now stand on their own.
    assert "ReplicationController" in kinds
    assert code == 1
