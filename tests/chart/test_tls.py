"""TLS: the CA the chart generates (caBundle, kept across upgrades through `lookup`), and
cert-manager's CA injection.

`helm template` cannot look anything up (nor can a client-side --dry-run): it renders a new
CA every time, which the first test pins down. The reuse logic is tested by rendering a copy
of the chart whose `lookup` call is replaced by a value standing for the Secret the cluster
would return.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509

from tests.chart.support import (
    CHART,
    FULLNAME,
    NAMESPACE,
    Manifest,
    of_kind,
    one,
    parse,
    render,
    template,
)

LOOKUP = 'lookup "v1" "Secret" .Release.Namespace $caSecretName'
SERVICE_NAMES = {
    FULLNAME,
    f"{FULLNAME}.{NAMESPACE}",
    f"{FULLNAME}.{NAMESPACE}.svc",
    f"{FULLNAME}.{NAMESPACE}.svc.cluster.local",
}


def pem(data: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(base64.b64decode(data))


def ca_bundles(manifests: list[Manifest]) -> set[str]:
    return {
        hook["clientConfig"]["caBundle"]
        for m in manifests
        if m["kind"].endswith("WebhookConfiguration")
        for hook in m["webhooks"]
    }


def test_generated_ca_is_the_ca_bundle_and_signs_the_serving_certificate(
    helm: Path, workdir: Path
) -> None:
    manifests = render(helm, "mutating", workdir)
    (bundle,) = ca_bundles(manifests)  # the same CA in both webhook configurations
    ca_secret = one(manifests, "Secret", f"{FULLNAME}-ca")
    serving = one(manifests, "Secret", f"{FULLNAME}-tls")
    assert serving["type"] == ca_secret["type"] == "kubernetes.io/tls"
    assert ca_secret["data"]["tls.crt"] == serving["data"]["ca.crt"] == bundle
    ca, cert = pem(bundle), pem(serving["data"]["tls.crt"])
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) == SERVICE_NAMES
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert 729 <= lifetime.days <= 731


def test_helm_template_cannot_look_up_so_each_render_has_a_new_ca(helm: Path) -> None:
    first, second = (parse(template(helm).stdout) for _ in range(2))
    assert ca_bundles(first) != ca_bundles(second)


def test_the_chart_looks_the_ca_up_before_generating_one() -> None:
    text = (CHART / "templates" / "webhook.yaml").read_text()
    assert text.count(LOOKUP) == 1
    assert text.index(LOOKUP) < text.index("buildCustomCert") < text.index("genCA")


def _chart_with_lookup_result(tmp_path: Path) -> Path:
    """A copy of the chart where the lookup returns .Values.clusterSecret."""
    chart = tmp_path / "sigpolicy"
    shutil.copytree(CHART, chart)
    webhook = chart / "templates" / "webhook.yaml"
    webhook.write_text(webhook.read_text().replace(LOOKUP, "(.Values.clusterSecret)"))
    schema_path = chart / "values.schema.json"
    schema: dict[str, Any] = json.loads(schema_path.read_text())
    schema["properties"]["clusterSecret"] = {"type": "object"}
    schema_path.write_text(json.dumps(schema))
    return chart


def _render_upgrade(helm: Path, tmp_path: Path, cluster_secret: dict[str, Any]) -> list[Manifest]:
    chart = _chart_with_lookup_result(tmp_path)
    values = tmp_path / "cluster.yaml"
    values.write_text(yaml.safe_dump({"clusterSecret": cluster_secret}))
    result = template(helm, f"--values={values}", chart=chart)
    assert result.returncode == 0, result.stderr
    return parse(result.stdout)


def test_an_upgrade_keeps_the_ca_in_the_cluster_and_issues_a_new_certificate(
    helm: Path, workdir: Path, tmp_path: Path
) -> None:
    installed = render(helm, "default", workdir)
    in_cluster = one(installed, "Secret", f"{FULLNAME}-ca")
    upgraded = _render_upgrade(helm, tmp_path, in_cluster)
    assert ca_bundles(upgraded) == ca_bundles(installed)
    assert one(upgraded, "Secret", f"{FULLNAME}-ca")["data"] == in_cluster["data"]
    old = one(installed, "Secret", f"{FULLNAME}-tls")["data"]["tls.crt"]
    new = one(upgraded, "Secret", f"{FULLNAME}-tls")["data"]["tls.crt"]
    assert new != old
    pem(new).verify_directly_issued_by(pem(in_cluster["data"]["tls.crt"]))


def test_without_a_usable_secret_in_the_cluster_a_new_ca_is_generated(
    helm: Path, workdir: Path, tmp_path: Path
) -> None:
    installed = render(helm, "default", workdir)
    half = {"data": {"tls.crt": one(installed, "Secret", f"{FULLNAME}-ca")["data"]["tls.crt"]}}
    for cluster_secret in ({}, half):
        upgraded = _render_upgrade(helm, tmp_path / str(len(cluster_secret)), cluster_secret)
        (bundle,) = ca_bundles(upgraded)
        assert bundle not in ca_bundles(installed)
        pem(
            one(upgraded, "Secret", f"{FULLNAME}-tls")["data"]["tls.crt"]
        ).verify_directly_issued_by(pem(bundle))


def test_cert_manager_injects_the_ca_and_the_chart_generates_none(
    helm: Path, workdir: Path
) -> None:
    manifests = render(helm, "cert-manager", workdir)
    assert not of_kind(manifests, "Secret")
    certificate = one(manifests, "Certificate", f"{FULLNAME}-tls")
    spec = certificate["spec"]
    assert spec["secretName"] == f"{FULLNAME}-tls"
    assert set(spec["dnsNames"]) == SERVICE_NAMES
    assert spec["issuerRef"] == {
        "name": f"{FULLNAME}-ca",
        "kind": "Issuer",
        "group": "cert-manager.io",
    }
    ca = one(manifests, "Certificate", f"{FULLNAME}-ca")["spec"]
    assert ca["isCA"] is True and ca["secretName"] == f"{FULLNAME}-ca"
    issuers = {m["metadata"]["name"]: m["spec"] for m in of_kind(manifests, "Issuer")}
    assert issuers == {
        f"{FULLNAME}-selfsigned": {"selfSigned": {}},
        f"{FULLNAME}-ca": {"ca": {"secretName": f"{FULLNAME}-ca"}},
    }
    configurations = [m for m in manifests if m["kind"].endswith("WebhookConfiguration")]
    assert configurations
    for configuration in configurations:
        annotations = configuration["metadata"]["annotations"]
        assert annotations["cert-manager.io/inject-ca-from"] == f"{NAMESPACE}/{FULLNAME}-tls"
        assert all("caBundle" not in hook["clientConfig"] for hook in configuration["webhooks"])


def test_cert_manager_with_an_issuer_of_ones_own(helm: Path, workdir: Path) -> None:
    manifests = render(helm, "cert-manager-issuer", workdir)
    assert not of_kind(manifests, "Issuer")
    (certificate,) = of_kind(manifests, "Certificate")
    assert certificate["spec"]["issuerRef"] == {
        "name": "corporate-ca",
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }


def test_without_cert_manager_the_configurations_carry_no_injection_annotation(
    helm: Path, workdir: Path
) -> None:
    for manifest in render(helm, "mutating", workdir):
        if manifest["kind"].endswith("WebhookConfiguration"):
            assert "cert-manager.io/inject-ca-from" not in manifest["metadata"].get(
                "annotations", {}
            )
