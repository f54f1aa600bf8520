"""The chart lets the webhook read the image policies only when asked (least privilege)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chart.support import FULLNAME, Variation, _render, find_helm

RULE = {
    "apiGroups": ["config.openshift.io"],
    "resources": ["clusterimagepolicies", "imagepolicies"],
    "verbs": ["get", "list", "watch"],
}
SETTINGS = {"off-by-default": ((), False), "on": (("rbac.clusterImagePolicies=true",), True)}


@pytest.fixture(scope="module")
def helm_tool() -> Path:
    found = find_helm()
    if found is None:  # as tests/chart: a missing helm fails, it does not skip
        pytest.fail("helm not found: run `bash scripts/install-helm`", pytrace=False)
    return found


@pytest.mark.parametrize("name", SETTINGS)
def test_the_rule_follows_the_value(name: str, helm_tool: Path, tmp_path: Path) -> None:
    sets, present = SETTINGS[name]
    manifests = _render(helm_tool, Variation(f"cip-{name}", sets), tmp_path)
    role = next(
        m
        for m in manifests
        if m["kind"] == "ClusterRole" and m["metadata"]["name"] == f"{FULLNAME}-webhook"
    )
    assert (RULE in role["rules"]) is present
