"""values.schema.json refuses what it should (through helm lint and helm template), covers
every value of values.yaml, and the chart's README documents every value; the policy and
trust store the chart mounts load with sigpolicy's own loaders."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sigpolicy.policy.load import load_policy
from sigpolicy.trust.load import load_trust_store
from tests.chart.support import CHART, Manifest, container, deployment, lint, one, render, template

VALUES: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
SCHEMA: dict[str, Any] = json.loads((CHART / "values.schema.json").read_text())
README = (CHART / "README.md").read_text()

REJECTED = [
    pytest.param("webhook.bogus=1", "bogus", id="unknown-nested-value"),
    pytest.param("bogus=1", "bogus", id="unknown-top-level-value"),
    pytest.param("webhook.failurePolicy=Sometimes", "failurePolicy", id="bad-failure-policy"),
    pytest.param("webhook.timeoutSeconds=31", "timeoutSeconds", id="timeout-above-30"),
    pytest.param("webhook.timeoutSeconds=0", "timeoutSeconds", id="timeout-zero"),
    pytest.param("replicaCount=0", "replicaCount", id="no-replicas"),
    pytest.param("podAntiAffinity=maybe", "podAntiAffinity", id="bad-anti-affinity"),
    pytest.param("image.digest=latest", "digest", id="bad-digest"),
    pytest.param("recorder.backend=openssl", "backend", id="bad-backend"),
    pytest.param("rbac.trustKeyRefs[0].kind=Pod", "kind", id="bad-key-ref-kind"),
]


@pytest.mark.parametrize(("setting", "named"), REJECTED)
def test_schema_rejects(helm: Path, setting: str, named: str) -> None:
    for result in (lint(helm, f"--set={setting}"), template(helm, f"--set={setting}")):
        assert result.returncode != 0
        assert named in result.stdout + result.stderr


def test_keys_are_given_one_way_only(helm: Path) -> None:
    result = template(helm, "--set=keys.inline.a=b", "--set=keys.existingSecret=mine")
    assert result.returncode != 0 and "exclude each other" in result.stderr


def test_the_recorder_needs_a_trust_store(helm: Path) -> None:
    result = template(helm, "--set=recorder.enabled=true")
    assert result.returncode != 0 and "trustStore.content" in result.stderr


@pytest.mark.parametrize(
    ("timeout", "deadline"), [(10, 8), (7, 5), (3, 1), (2, 1), (1, 1), (30, 28)]
)
def test_deadline_is_two_seconds_below_the_timeout_and_at_least_one(
    helm: Path, timeout: int, deadline: int
) -> None:
    result = template(
        helm, f"--set=webhook.timeoutSeconds={timeout}", "--show-only=templates/deployment.yaml"
    )
    assert result.returncode == 0, result.stderr
    args = yaml.safe_load(result.stdout)["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--deadline={deadline}" in args


def leaves(
    values: dict[str, Any], schema: dict[str, Any], path: str = ""
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each value of values.yaml with its schema, down to objects the schema leaves open."""
    properties = schema.get("properties", {})
    for key, value in values.items():
        dotted = f"{path}.{key}" if path else key
        assert key in properties, f"{dotted} is in values.yaml but not in values.schema.json"
        node = resolve(properties[key])
        if isinstance(value, dict) and node.get("additionalProperties") is False:
            yield from leaves(value, node, dotted)
        else:
            yield dotted, node


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    resolved: dict[str, Any] = SCHEMA["definitions"][ref.rpartition("/")[2]]
    return resolved


def test_schema_is_closed_and_covers_every_value() -> None:
    found = dict(leaves(VALUES, SCHEMA))
    assert len(found) > 90
    closed = [SCHEMA] + [
        resolve(node) for _, node in _schema_objects(SCHEMA) if "properties" in resolve(node)
    ]
    assert all(node["additionalProperties"] is False for node in closed)


def _schema_objects(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for key, child in node.get("properties", {}).items():
        dotted = f"{path}.{key}" if path else key
        yield dotted, child
        yield from _schema_objects(resolve(child), dotted)


def test_every_schema_value_is_in_values_yaml() -> None:
    for dotted, _ in _schema_objects(SCHEMA):
        if dotted == "global":  # given by a parent chart, never by this one
            continue
        node: Any = VALUES
        for part in dotted.split("."):
            assert isinstance(node, dict) and part in node, (
                f"{dotted} has no default in values.yaml"
            )
            node = node[part]


def test_readme_documents_every_value() -> None:
    documented = set(re.findall(r"^\| `([^`]+)` \|", README, flags=re.MULTILINE))
    for dotted, _ in leaves(VALUES, SCHEMA):
        parts = dotted.split(".")
        # The value itself, its group as `group.*`, or a whole object such as `resources`.
        names = {".".join(parts[:n]) for n in range(1, len(parts) + 1)}
        names.add(".".join(parts[:-1]) + ".*")
        assert names & documented, f"README lacks {dotted}"


def _pod_files(manifests: list[Manifest], component: str, root: Path) -> dict[str, Path]:
    """The webhook pod's configuration volumes written under root, as the kubelet would."""
    pod = deployment(manifests, component)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in container(manifests, component)["volumeMounts"]:
        volume = volumes[mount["name"]]
        target = root / mount["mountPath"].lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        if "configMap" in volume:
            source = one(manifests, "ConfigMap", volume["configMap"]["name"])
            for name, text in source["data"].items():
                (target / name).write_text(
                    text.replace("/etc/sigpolicy/", f"{root}/etc/sigpolicy/")
                )
        elif "secret" in volume and volume["secret"]["secretName"].endswith("-keys"):
            source = one(manifests, "Secret", volume["secret"]["secretName"])
            for name, data in source["data"].items():
                (target / name).write_bytes(base64.b64decode(data))
    return {
        "policy": root / "etc/sigpolicy/config/policy.yaml",
        "trust": root / "etc/sigpolicy/config/trust.yaml",
    }


def test_the_default_placeholder_policy_loads_and_needs_no_trust_store(
    helm: Path, workdir: Path, tmp_path: Path
) -> None:
    manifests = render(helm, "default", workdir)
    files = _pod_files(manifests, "webhook", tmp_path)
    assert not files["trust"].exists()
    policy = load_policy(files["policy"])
    assert policy is not None


@pytest.mark.parametrize("component", ["webhook", "recorder"])
def test_the_mounted_policy_trust_store_and_keys_load(
    helm: Path, workdir: Path, tmp_path: Path, component: str
) -> None:
    manifests = render(helm, "recorder", workdir)
    files = _pod_files(manifests, component, tmp_path)
    store = load_trust_store(files["trust"])
    assert sorted(entry.name for entry in store.entries) == ["ci", "release"]
    assert load_policy(files["policy"], lambda: store) is not None
