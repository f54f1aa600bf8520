"""helm lint and helm template for the defaults and each variation, and every rendered object
validated offline against the Kubernetes JSON schemas (kubernetes-validate bundles them)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from tests.chart.support import VARIATIONS, Manifest, lint, render

# kubernetes-validate ships no type information; it is used through this one handle.
kubernetes_validate: Any = importlib.import_module("kubernetes_validate")

# Custom resources have no schema among Kubernetes' own: cert-manager's Issuer and
# Certificate and the Prometheus Operator's ServiceMonitor are checked by the assertions of
# test_safety.py instead.
CUSTOM_RESOURCE_GROUPS = {"cert-manager.io", "monitoring.coreos.com"}
# The newest schemas bundled: what renders for an older cluster must stay valid on a newer one.
LATEST = kubernetes_validate.latest_version()

NAMES = sorted(VARIATIONS)


@pytest.mark.parametrize("name", NAMES)
def test_helm_lint_passes(helm: Path, workdir: Path, name: str) -> None:
    variation = VARIATIONS[name]
    result = lint(helm, "--strict", *variation.args(workdir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("name", NAMES)
def test_helm_template_renders(helm: Path, workdir: Path, name: str) -> None:
    manifests = render(helm, name, workdir)
    kinds = {m["kind"] for m in manifests}
    assert {"Deployment", "Service", "ValidatingWebhookConfiguration", "ConfigMap"} <= kinds
    for manifest in manifests:
        assert manifest.get("apiVersion") and manifest["metadata"].get("name")


def _group(manifest: Manifest) -> str:
    api_version: str = manifest["apiVersion"]
    return api_version.rpartition("/")[0]


@pytest.mark.parametrize("name", NAMES)
def test_every_object_validates_against_the_kubernetes_schemas(
    helm: Path, workdir: Path, name: str
) -> None:
    variation = VARIATIONS[name]
    checked = 0
    for manifest in render(helm, name, workdir):
        if _group(manifest) in CUSTOM_RESOURCE_GROUPS:
            continue
        for version in dict.fromkeys([variation.kube_version, LATEST]):
            # strict: the schemas refuse unknown fields, so a misspelt field fails here.
            try:
                kubernetes_validate.validate(manifest, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(
                    f"{manifest['kind']}/{manifest['metadata']['name']} is invalid for"
                    f" Kubernetes {version} at {list(error.path)}: {error.message}"
                )
        checked += 1
    assert checked >= 8


def test_custom_resources_are_the_only_ones_skipped(helm: Path, workdir: Path) -> None:
    skipped = {
        (m["apiVersion"], m["kind"])
        for name in NAMES
        for m in render(helm, name, workdir)
        if _group(m) in CUSTOM_RESOURCE_GROUPS
    }
    assert skipped == {
        ("cert-manager.io/v1", "Issuer"),
        ("cert-manager.io/v1", "Certificate"),
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
    }


def test_the_validator_really_refuses_a_broken_object(helm: Path, workdir: Path) -> None:
    """The schemas are there, offline, and strict: a misspelt field is refused."""
    webhook = next(
        m for m in render(helm, "default", workdir) if m["kind"] == "ValidatingWebhookConfiguration"
    )
    broken = {**webhook, "webhooks": [{**webhook["webhooks"][0], "failurPolicy": "Fail"}]}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, LATEST, strict=True)
