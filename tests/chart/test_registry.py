"""The chart's registry values: serve's --registry options, the registries.d and CA files
mounted where the options point, and RBAC on Secrets only when registry credentials need it."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from sigpolicy.cli.record_cmd import build_parser as record_parser
from sigpolicy.cli.serve_cmd import build_parser as serve_parser
from tests.chart.support import FULLNAME, Manifest, parse, render, template

kubernetes_validate: Any = importlib.import_module("kubernetes_validate")

CA = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"
REGISTRIES_D = "default-docker:\n  lookaside: https://sigs.example.com\n"
VALUES = {
    "registry": {
        "enabled": True,
        "registriesD": {"default.yaml": REGISTRIES_D},
        "caCertificates": {"registry.example.com:5000": CA, "quay.io": CA},
        "pullSecret": "openshift-config/pull-secret",
        "cache": {"signaturesTTL": 600, "tagTTL": 10, "negativeTTL": 2},
    }
}


@pytest.fixture(scope="module")
def manifests(helm: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Manifest]:
    values = tmp_path_factory.mktemp("registry-chart") / "values.yaml"
    values.write_text(yaml.safe_dump(VALUES))
    result = template(helm, f"--values={values}")
    assert result.returncode == 0, result.stderr
    return parse(result.stdout)


def _webhook(manifests: list[Manifest]) -> Manifest:
    return next(
        m for m in manifests if m["kind"] == "Deployment" and m["metadata"]["name"] == FULLNAME
    )


def test_every_object_validates(manifests: list[Manifest]) -> None:
    for manifest in manifests:
        if manifest["apiVersion"].startswith(("cert-manager.io", "monitoring.coreos.com")):
            continue
        kubernetes_validate.validate(manifest, "1.30.0", strict=True)


def test_serve_gets_the_registry_options(manifests: list[Manifest]) -> None:
    args = _webhook(manifests)["spec"]["template"]["spec"]["containers"][0]["args"]
    parsed = serve_parser().parse_args(args[1:])
    assert parsed.registry
    assert parsed.registries_d == "/etc/sigpolicy/registries.d"
    assert parsed.cert_dir == "/etc/sigpolicy/certs.d"
    assert parsed.pull_secret == "openshift-config/pull-secret"  # noqa: S105 - a name
    assert not parsed.pod_pull_secrets
    cache = (parsed.registry_cache_ttl, parsed.registry_tag_ttl, parsed.registry_negative_ttl)
    assert cache == (600, 10, 2)


def test_files_land_where_the_options_point(manifests: list[Manifest]) -> None:
    """The kubelet's view: each mount's ConfigMap items written under the mount path."""
    pod = _webhook(manifests)["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    config_map = next(m for m in manifests if m["metadata"]["name"] == f"{FULLNAME}-registries")
    files = {}
    for volume in pod["volumes"]:
        if volume["name"] in ("registries-d", "registry-certs"):
            assert volume["configMap"]["name"] == config_map["metadata"]["name"]
            for item in volume["configMap"]["items"]:
                files[f"{mounts[volume['name']]}/{item['path']}"] = config_map["data"][item["key"]]
    assert files == {
        "/etc/sigpolicy/registries.d/default.yaml": REGISTRIES_D,
        "/etc/sigpolicy/certs.d/registry.example.com:5000/ca.crt": CA,
        "/etc/sigpolicy/certs.d/quay.io/ca.crt": CA,
    }


def _rules(manifests: list[Manifest]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    return {
        (m["kind"], m["metadata"].get("namespace", ""), m["metadata"]["name"]): m["rules"]
        for m in manifests
        if m["kind"] in ("Role", "ClusterRole")
    }


def test_the_webhooks_pull_secret_is_readable_by_name_only(manifests: list[Manifest]) -> None:
    rules = _rules(manifests)
    assert rules[("Role", "openshift-config", f"{FULLNAME}-trust-keys")] == [
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["pull-secret"],
         "verbs": ["get"]}
    ]  # fmt: skip
    cluster = rules[("ClusterRole", "", f"{FULLNAME}-webhook")]
    assert not any("secrets" in rule["resources"] for rule in cluster)


def test_pod_pull_secrets_grant_get_on_secrets_and_service_accounts(
    helm: Path, workdir: Path
) -> None:
    cluster = _rules(render(helm, "registry", workdir))[("ClusterRole", "", f"{FULLNAME}-webhook")]
    assert {"apiGroups": [""], "resources": ["secrets", "serviceaccounts"], "verbs": ["get"]} in (
        cluster
    )


def test_registry_off_by_default_reads_no_secret(helm: Path, workdir: Path) -> None:
    manifests = render(helm, "default", workdir)
    args = _webhook(manifests)["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--registry" not in args
    assert not any(m["metadata"]["name"] == f"{FULLNAME}-registries" for m in manifests)
    for rules in _rules(manifests).values():
        assert not any("secrets" in rule["resources"] for rule in rules)


@pytest.fixture(scope="module")
def with_import(helm: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Manifest]:
    values = tmp_path_factory.mktemp("registry-import") / "values.yaml"
    trust = {"apiVersion": "sigpolicy.io/v1alpha1", "kind": "TrustStore", "entries": []}
    recorder = {"enabled": True, "importSignatures": True}
    registry = {key: VALUES["registry"][key] for key in ("registriesD", "caCertificates")}
    registry["pullSecret"] = "openshift-config/pull-secret"
    values.write_text(
        yaml.safe_dump(
            {"registry": registry, "recorder": recorder, "trustStore": {"content": trust}}
        )
    )
    result = template(helm, f"--values={values}")
    assert result.returncode == 0, result.stderr
    return parse(result.stdout)


def test_the_recorder_imports_with_the_registry_files(with_import: list[Manifest]) -> None:
    recorder = next(
        m for m in with_import
        if m["kind"] == "Deployment" and m["metadata"]["name"] == f"{FULLNAME}-recorder"
    )  # fmt: skip
    pod = recorder["spec"]["template"]["spec"]
    parsed = record_parser().parse_args(pod["containers"][0]["args"][1:])
    assert parsed.import_signatures
    assert parsed.registries_d == "/etc/sigpolicy/registries.d"
    assert parsed.cert_dir == "/etc/sigpolicy/certs.d"
    mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert {"/etc/sigpolicy/registries.d", "/etc/sigpolicy/certs.d"} <= mounts
    rules = _rules(with_import)[("ClusterRole", "", f"{FULLNAME}-recorder")]
    assert {"apiGroups": ["image.openshift.io"], "resources": ["imagesignatures"],
            "verbs": ["create"]} in rules  # fmt: skip
    # The webhook itself does no registry lookups here: no --registry, no mounts.
    webhook = _webhook(with_import)["spec"]["template"]["spec"]["containers"][0]
    assert "--registry" not in webhook["args"]


def test_recorder_creates_no_signature_without_import(helm: Path, workdir: Path) -> None:
    rules = _rules(render(helm, "recorder", workdir))[("ClusterRole", "", f"{FULLNAME}-recorder")]
    assert not any("imagesignatures" in rule["resources"] for rule in rules)
