"""Rendering charts/sigpolicy with the real helm, and reading what it rendered.

helm comes from ``scripts/install-helm`` (``.tools/bin/helm``), or ``$HELM``, or ``PATH``.
Renders are cached per variation: every test of one variation reads the same manifests.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "sigpolicy"
RELEASE = "sigpolicy"
NAMESPACE = "sigpolicy-system"
FULLNAME = "sigpolicy"  # the release name contains the chart name
# The version rendered for unless a variation says otherwise: matchConditions are GA here.
KUBE_VERSION = "1.30.0"

Manifest = dict[str, Any]

TRUST_STORE = """\
apiVersion: sigpolicy.io/v1alpha1
kind: TrustStore
entries:
  - name: release
    issuer: {organization: Example Corp}
    keys:
      - file: /etc/sigpolicy/keys/trusted-keys.asc
        publicKeyID: "0x2DA4F0DE1BCC8F5B"
  - name: ci
    keys:
      - file: /etc/sigpolicy/keys/trusted-keys.asc
        publicKeyID: "0xAB82AC14EF1A7125"
"""

POLICY = """\
# A policy given as text keeps its comments.
apiVersion: sigpolicy.io/v1alpha1
kind: ImagePolicy
mode: warn
noMatch: deny
scopes:
  - name: shop
    images: ["registry.example.com/shop/**"]
    require:
      - signedBy: {trust: [release, ci], threshold: 2}
"""


def trusted_keys() -> str:
    return (ROOT / "sigpolicy" / "examples" / "signatures" / "trusted-keys.asc").read_text()


def keys_values(path: Path) -> Path:
    """A values file with the example policy as text, a trust store and its keys inline."""
    values = {
        "policy": {"content": POLICY},
        "trustStore": {"content": TRUST_STORE},
        "keys": {"inline": {"trusted-keys.asc": trusted_keys()}},
    }
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return path


@dataclass(frozen=True)
class Variation:
    """One way of installing the chart: ``--set`` values, a values file, a cluster version."""

    name: str
    sets: tuple[str, ...] = ()
    with_keys: bool = False
    kube_version: str = KUBE_VERSION

    def args(self, workdir: Path) -> list[str]:
        args = [f"--set={item}" for item in self.sets]
        if self.with_keys:
            args.append(f"--values={keys_values(workdir / f'{self.name}-keys.yaml')}")
        return args


EVERYTHING = (
    "recorder.enabled=true",
    "webhook.mutating.enabled=true",
    "webhook.failOpen=true",
    "serviceMonitor.enabled=true",
    "networkPolicy.enabled=true",
    "priorityClass.create=true",
    "server.registryHosts={image-registry.openshift-image-registry.svc:5000}",
    "server.checkOwnedPods=true",
    "rbac.trustKeyRefs[0].kind=Secret",
    "rbac.trustKeyRefs[0].namespace=keys",
    "rbac.trustKeyRefs[0].name=release-keys",
    "rbac.trustKeyRefs[1].kind=ConfigMap",
    "rbac.trustKeyRefs[1].name=ci-keys",
    "registry.enabled=true",
    "registry.pullSecret=openshift-config/pull-secret",
    "recorder.importSignatures=true",
)

VARIATIONS = {
    v.name: v
    for v in (
        Variation("default"),
        Variation("cert-manager", ("certManager.enabled=true",)),
        Variation(
            "cert-manager-issuer",
            (
                "certManager.enabled=true",
                "certManager.issuerRef.name=corporate-ca",
                "certManager.issuerRef.kind=ClusterIssuer",
            ),
        ),
        Variation("recorder", ("recorder.enabled=true",), with_keys=True),
        Variation("failure-ignore", ("webhook.failurePolicy=Ignore",)),
        Variation("timeout-7", ("webhook.timeoutSeconds=7",)),
        Variation("replicas-3", ("replicaCount=3",)),
        Variation("mutating", ("webhook.mutating.enabled=true",)),
        Variation(
            "registry",
            (
                "registry.enabled=true",
                "registry.podPullSecrets=true",
                "registry.pullSecret=openshift-config/pull-secret",
                "registry.insecureRegistries={10.0.0.1:5000}",
            ),
        ),
        Variation("everything", EVERYTHING, with_keys=True),
        Variation("everything-cert-manager", (*EVERYTHING, "certManager.enabled=true"), True),
        # The oldest schemas kubernetes-validate bundles; no matchConditions before 1.28.
        Variation("kubernetes-1.25", (), kube_version="1.25.0"),
    )
}


def find_helm() -> Path | None:
    candidates = [os.environ.get("HELM", ""), str(ROOT / ".tools" / "bin" / "helm")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    found = shutil.which("helm")
    return Path(found) if found else None


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_helm(helm: Path, *args: str) -> Result:
    """helm with these arguments, its configuration and cache kept under .tools/helm-home."""
    home = ROOT / ".tools" / "helm-home"
    done = subprocess.run(
        [str(helm), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        },
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def template(
    helm: Path, *args: str, chart: Path = CHART, kube_version: str = KUBE_VERSION
) -> Result:
    return run_helm(
        helm,
        "template",
        RELEASE,
        str(chart),
        f"--namespace={NAMESPACE}",
        f"--kube-version={kube_version}",
        *args,
    )


def lint(helm: Path, *args: str, chart: Path = CHART) -> Result:
    return run_helm(helm, "lint", str(chart), f"--namespace={NAMESPACE}", *args)


def parse(text: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


@functools.cache
def _render(helm: Path, variation: Variation, workdir: Path) -> tuple[Manifest, ...]:
    result = template(helm, *variation.args(workdir), kube_version=variation.kube_version)
    if result.returncode != 0:
        raise AssertionError(f"helm template ({variation.name}) failed:\n{result.stderr}")
    return tuple(parse(result.stdout))


def render(helm: Path, name: str, workdir: Path) -> list[Manifest]:
    return list(_render(helm, VARIATIONS[name], workdir))


def of_kind(manifests: Sequence[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def one(manifests: Sequence[Manifest], kind: str, name: str | None = None) -> Manifest:
    found = [m for m in of_kind(manifests, kind) if name is None or m["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def deployment(manifests: Sequence[Manifest], component: str = "webhook") -> Manifest:
    found = [
        m
        for m in of_kind(manifests, "Deployment")
        if m["metadata"]["labels"]["app.kubernetes.io/component"] == component
    ]
    assert len(found) == 1, f"expected one {component} Deployment, found {len(found)}"
    return found[0]


def container(manifests: Sequence[Manifest], component: str = "webhook") -> Manifest:
    containers = deployment(manifests, component)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: Manifest = containers[0]
    return result


def flags(args: Sequence[str]) -> dict[str, str]:
    """``--name=value`` and ``--name`` arguments as a mapping (the latter to "")."""
    out: dict[str, str] = {}
    for arg in args:
        if arg.startswith("--"):
            name, _, value = arg.partition("=")
            out[name] = value
    return out


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, value) in a nested document, containers included."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")
