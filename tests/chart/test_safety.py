"""The safety defaults of the chart, read from what helm renders: availability, pod security,
the webhook configuration, least-privilege RBAC and the configuration mounts."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigpolicy.cli.record_cmd import build_parser as record_parser
from sigpolicy.cli.serve_cmd import build_parser as serve_parser
from tests.chart.support import (
    FULLNAME,
    NAMESPACE,
    VARIATIONS,
    Manifest,
    container,
    deployment,
    flags,
    of_kind,
    one,
    render,
    walk,
)

WEBHOOK_KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
# Every pod-bearing kind the webhook decides, as (API group, resource).
POD_BEARING = {
    ("", "pods"),
    ("", "pods/ephemeralcontainers"),
    ("", "replicationcontrollers"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("apps.openshift.io", "deploymentconfigs"),
}


def webhooks(manifests: list[Manifest]) -> list[Manifest]:
    return [hook for m in manifests if m["kind"] in WEBHOOK_KINDS for hook in m["webhooks"]]


# -- availability -------------------------------------------------------------------------


def test_two_replicas_by_default_and_three_when_asked(helm: Path, workdir: Path) -> None:
    assert deployment(render(helm, "default", workdir))["spec"]["replicas"] == 2
    assert deployment(render(helm, "replicas-3", workdir))["spec"]["replicas"] == 3


def test_rollouts_never_go_below_the_wanted_replicas(helm: Path, workdir: Path) -> None:
    strategy = deployment(render(helm, "default", workdir))["spec"]["strategy"]
    assert strategy == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }


def test_pod_disruption_budget_covers_the_webhook_pods(helm: Path, workdir: Path) -> None:
    manifests = render(helm, "default", workdir)
    budget = one(manifests, "PodDisruptionBudget")
    assert budget["spec"]["maxUnavailable"] == 1
    pod_labels = deployment(manifests)["spec"]["template"]["metadata"]["labels"]
    selector = budget["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    assert selector == deployment(manifests)["spec"]["selector"]["matchLabels"]


def test_pods_spread_over_nodes_by_anti_affinity(helm: Path, workdir: Path) -> None:
    manifests = render(helm, "default", workdir)
    pod = deployment(manifests)["spec"]["template"]
    preferred = pod["spec"]["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"
    ]
    term = preferred[0]["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()


def test_priority_class_is_optional(helm: Path, workdir: Path) -> None:
    default = render(helm, "default", workdir)
    assert "priorityClassName" not in deployment(default)["spec"]["template"]["spec"]
    assert not of_kind(default, "PriorityClass")
    everything = render(helm, "everything", workdir)
    created = one(everything, "PriorityClass")
    assert created["value"] == 1000000 and created["globalDefault"] is False
    for component in ("webhook", "recorder"):
        spec = deployment(everything, component)["spec"]["template"]["spec"]
        assert spec["priorityClassName"] == created["metadata"]["name"]


# -- pod security -------------------------------------------------------------------------


@pytest.mark.parametrize("component", ["webhook", "recorder"])
def test_pods_run_restricted(helm: Path, workdir: Path, component: str) -> None:
    manifests = render(helm, "recorder", workdir)
    pod = deployment(manifests, component)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "hostNetwork" not in pod and "hostPID" not in pod
    security = container(manifests, component)["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "privileged" not in security and "runAsUser" not in security  # OpenShift assigns it


def test_probes_on_readyz_and_healthz_over_https(helm: Path, workdir: Path) -> None:
    webhook = container(render(helm, "default", workdir))
    assert webhook["readinessProbe"]["httpGet"] == {
        "path": "/readyz",
        "port": "https",
        "scheme": "HTTPS",
    }
    assert webhook["livenessProbe"]["httpGet"] == {
        "path": "/healthz",
        "port": "https",
        "scheme": "HTTPS",
    }
    assert webhook["ports"] == [{"name": "https", "containerPort": 8443, "protocol": "TCP"}]


@pytest.mark.parametrize("component", ["webhook", "recorder"])
def test_resources_have_requests_and_limits(helm: Path, workdir: Path, component: str) -> None:
    resources = container(render(helm, "recorder", workdir), component)["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert set(resources["limits"]) == {"cpu", "memory"}


# -- the webhook configuration ------------------------------------------------------------


@pytest.mark.parametrize(("name", "policy"), [("default", "Fail"), ("failure-ignore", "Ignore")])
def test_failure_policy(helm: Path, workdir: Path, name: str, policy: str) -> None:
    hooks = webhooks(render(helm, name, workdir))
    assert hooks and all(hook["failurePolicy"] == policy for hook in hooks)


@pytest.mark.parametrize(
    ("name", "timeout", "deadline"), [("default", 10, "8"), ("timeout-7", 7, "5")]
)
def test_timeout_and_the_servers_deadline_follow_it(
    helm: Path, workdir: Path, name: str, timeout: int, deadline: str
) -> None:
    manifests = render(helm, name, workdir)
    assert all(hook["timeoutSeconds"] == timeout for hook in webhooks(manifests))
    assert flags(container(manifests)["args"])["--deadline"] == deadline


def test_no_side_effects_and_v1_reviews_only(helm: Path, workdir: Path) -> None:
    hooks = webhooks(render(helm, "mutating", workdir))
    assert len(hooks) == 2
    for hook in hooks:
        assert hook["sideEffects"] == "None"
        assert hook["admissionReviewVersions"] == ["v1"]


@pytest.mark.parametrize("name", ["default", "mutating", "kubernetes-1.25"])
def test_rules_cover_every_pod_bearing_kind(helm: Path, workdir: Path, name: str) -> None:
    for hook in webhooks(render(helm, name, workdir)):
        covered = set()
        for rule in hook["rules"]:
            assert sorted(rule["operations"]) == ["CREATE", "UPDATE"]
            assert rule["apiVersions"] == ["v1"]
            assert rule["scope"] == "Namespaced"
            covered |= {
                (group, resource) for group in rule["apiGroups"] for resource in rule["resources"]
            }
        assert covered == POD_BEARING


def test_namespace_selector_leaves_out_the_release_namespace_kube_system_and_openshift(
    helm: Path, workdir: Path
) -> None:
    for hook in webhooks(render(helm, "mutating", workdir)):
        expressions = hook["namespaceSelector"]["matchExpressions"]
        by_name = [e for e in expressions if e["key"] == "kubernetes.io/metadata.name"]
        assert len(by_name) == 1 and by_name[0]["operator"] == "NotIn"
        assert set(by_name[0]["values"]) == {NAMESPACE, "kube-system"}
        # A label selector cannot match a prefix: openshift-* is a CEL matchCondition.
        assert hook["matchConditions"] == [
            {
                "name": "not-in-excluded-namespace-prefix",
                "expression": '!(request.namespace.startsWith("openshift-"))',
            }
        ]


def test_before_kubernetes_1_28_no_match_conditions_are_rendered(helm: Path, workdir: Path) -> None:
    for hook in webhooks(render(helm, "kubernetes-1.25", workdir)):
        assert "matchConditions" not in hook
        assert NAMESPACE in hook["namespaceSelector"]["matchExpressions"][0]["values"]


def test_webhooks_call_the_service_on_the_right_paths(helm: Path, workdir: Path) -> None:
    manifests = render(helm, "mutating", workdir)
    service = one(manifests, "Service")
    assert service["spec"]["ports"] == [
        {"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"] == deployment(manifests)["spec"]["selector"]["matchLabels"]
    paths = {}
    for manifest in manifests:
        if manifest["kind"] in WEBHOOK_KINDS:
            (hook,) = manifest["webhooks"]
            target = hook["clientConfig"]["service"]
            assert (target["name"], target["namespace"], target["port"]) == (
                FULLNAME,
                NAMESPACE,
                443,
            )
            paths[manifest["kind"]] = target["path"]
    assert paths == {
        "ValidatingWebhookConfiguration": "/validate",
        "MutatingWebhookConfiguration": "/mutate",
    }
    assert "--mutate" in flags(container(manifests)["args"])


def test_mutating_webhook_is_off_by_default(helm: Path, workdir: Path) -> None:
    manifests = render(helm, "default", workdir)
    assert not of_kind(manifests, "MutatingWebhookConfiguration")
    assert "--mutate" not in flags(container(manifests)["args"])
    assert "--fail-open" not in flags(container(manifests)["args"])


# -- RBAC ---------------------------------------------------------------------------------


def rules_of(manifests: list[Manifest]) -> dict[tuple[str, str], list[Manifest]]:
    return {
        (m["kind"], m["metadata"]["name"]): m["rules"]
        for m in manifests
        if m["kind"] in ("Role", "ClusterRole")
    }


def test_rbac_has_no_wildcard_anywhere(helm: Path, workdir: Path) -> None:
    for name in VARIATIONS:
        for manifest in render(helm, name, workdir):
            if manifest["kind"] not in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"):
                continue
            for path, value in walk(manifest):
                assert not (isinstance(value, str) and "*" in value), f"{name}: {path} = {value}"
            for rule in manifest.get("rules", []):
                assert "nonResourceURLs" not in rule


def test_webhook_reads_the_image_api_and_namespaces_and_nothing_else(
    helm: Path, workdir: Path
) -> None:
    assert rules_of(render(helm, "default", workdir)) == {
        ("ClusterRole", f"{FULLNAME}-webhook"): [
            {
                "apiGroups": ["image.openshift.io"],
                "resources": ["imagestreams", "imagestreamtags", "images"],
                "verbs": ["get", "list", "watch"],
            },
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]},
        ]
    }


def test_recorder_is_off_by_default(helm: Path, workdir: Path) -> None:
    manifests = render(helm, "default", workdir)
    assert [m for m in manifests if "recorder" in m["metadata"]["name"]] == []
    assert len(of_kind(manifests, "Deployment")) == 1


def test_recorder_rbac_only_when_on(helm: Path, workdir: Path) -> None:
    rules = rules_of(render(helm, "recorder", workdir))
    assert rules[("ClusterRole", f"{FULLNAME}-recorder")] == [
        {
            "apiGroups": ["image.openshift.io"],
            "resources": ["images"],
            "verbs": ["get", "list", "watch", "update"],
        }
    ]
    assert rules[("Role", f"{FULLNAME}-recorder")] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": [f"{FULLNAME}-recorder"],
            "verbs": ["get", "update"],
        },
    ]
    assert len(rules) == 3


def test_trust_key_references_are_readable_by_name_only(helm: Path, workdir: Path) -> None:
    manifests = render(helm, "everything", workdir)
    roles = {
        m["metadata"]["namespace"]: m
        for m in of_kind(manifests, "Role")
        if m["metadata"]["name"] == f"{FULLNAME}-trust-keys"
    }
    assert roles["keys"]["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["release-keys"],
            "verbs": ["get"],
        }
    ]
    assert roles[NAMESPACE]["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["ci-keys"],
            "verbs": ["get"],
        }
    ]


def test_bindings_name_existing_roles_and_service_accounts(helm: Path, workdir: Path) -> None:
    for name in VARIATIONS:
        manifests = render(helm, name, workdir)
        accounts = {m["metadata"]["name"] for m in of_kind(manifests, "ServiceAccount")}
        roles = {
            (m["kind"], m["metadata"].get("namespace"), m["metadata"]["name"])
            for m in manifests
            if m["kind"] in ("Role", "ClusterRole")
        }
        for binding in manifests:
            if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
                continue
            ref = binding["roleRef"]
            namespace = binding["metadata"].get("namespace") if ref["kind"] == "Role" else None
            assert (ref["kind"], namespace, ref["name"]) in roles, binding["metadata"]["name"]
            for subject in binding["subjects"]:
                assert subject["kind"] == "ServiceAccount" and subject["namespace"] == NAMESPACE
                assert subject["name"] in accounts
        for component in ("webhook", "recorder"):
            if component == "webhook" or "recorder.enabled=true" in VARIATIONS[name].sets:
                pod = deployment(manifests, component)["spec"]["template"]["spec"]
                assert pod["serviceAccountName"] in accounts


# -- configuration and the command lines --------------------------------------------------


def test_policy_and_keys_are_mounted_whole_and_reload_without_restart(
    helm: Path, workdir: Path
) -> None:
    manifests = render(helm, "recorder", workdir)
    config = one(manifests, "ConfigMap")
    assert set(config["data"]) == {"policy.yaml", "trust.yaml"}
    assert "# A policy given as text keeps its comments." in config["data"]["policy.yaml"]
    keys = one(manifests, "Secret", f"{FULLNAME}-keys")
    assert set(keys["data"]) == {"trusted-keys.asc"}
    for component in ("webhook", "recorder"):
        pod = deployment(manifests, component)["spec"]["template"]
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        assert volumes["config"]["configMap"]["name"] == config["metadata"]["name"]
        assert volumes["keys"]["secret"]["secretName"] == keys["metadata"]["name"]
        mounts = {m["mountPath"]: m for m in container(manifests, component)["volumeMounts"]}
        assert mounts["/etc/sigpolicy/config"]["name"] == "config"
        assert mounts["/etc/sigpolicy/keys"]["name"] == "keys"
        # subPath mounts are never updated by the kubelet; checksum annotations would restart.
        assert all("subPath" not in m for m in mounts.values())
        annotations = pod["metadata"].get("annotations", {})
        assert not [a for a in annotations if a.startswith("checksum/")]


def test_serve_arguments_parse_with_the_real_command(helm: Path, workdir: Path) -> None:
    for name in ("default", "recorder", "everything", "timeout-7"):
        webhook = container(render(helm, name, workdir))
        assert webhook["args"][0] == "serve"
        args = serve_parser().parse_args(webhook["args"][1:])
        assert args.in_cluster and args.port == 8443
        assert args.host == "0.0.0.0"  # noqa: S104 - a pod listens on its own interfaces
        assert args.policy == "/etc/sigpolicy/config/policy.yaml"
        assert (args.tls_cert, args.tls_key) == (
            "/etc/sigpolicy/tls/tls.crt",
            "/etc/sigpolicy/tls/tls.key",
        )
        with_trust = VARIATIONS[name].with_keys
        assert args.trust == ("/etc/sigpolicy/config/trust.yaml" if with_trust else None)
    everything = serve_parser().parse_args(
        container(render(helm, "everything", workdir))["args"][1:]
    )
    assert everything.fail_open and everything.mutate and everything.check_owned_pods
    assert everything.registry_host == ["image-registry.openshift-image-registry.svc:5000"]


def test_record_arguments_parse_with_the_real_command(helm: Path, workdir: Path) -> None:
    recorder = container(render(helm, "recorder", workdir), "recorder")
    assert recorder["args"][0] == "record"
    args = record_parser().parse_args(recorder["args"][1:])
    assert args.in_cluster and args.trust == "/etc/sigpolicy/config/trust.yaml"
    assert args.lease == f"{NAMESPACE}/{FULLNAME}-recorder"
    assert (args.stale_after, args.resync_every) == (86400, 600)


def test_the_tls_mount_is_the_serving_secret(helm: Path, workdir: Path) -> None:
    for name in ("default", "cert-manager"):
        manifests = render(helm, name, workdir)
        volumes = {
            v["name"]: v for v in deployment(manifests)["spec"]["template"]["spec"]["volumes"]
        }
        assert volumes["tls"]["secret"]["secretName"] == f"{FULLNAME}-tls"
        mounts = {m["name"]: m for m in container(manifests)["volumeMounts"]}
        assert mounts["tls"]["mountPath"] == "/etc/sigpolicy/tls" and mounts["tls"]["readOnly"]


def test_optional_service_monitor_and_network_policies(helm: Path, workdir: Path) -> None:
    default = render(helm, "default", workdir)
    assert not of_kind(default, "ServiceMonitor") and not of_kind(default, "NetworkPolicy")
    manifests = render(helm, "everything", workdir)
    monitor = one(manifests, "ServiceMonitor")
    (endpoint,) = monitor["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["path"], endpoint["scheme"]) == (
        "https",
        "/metrics",
        "https",
    )
    assert endpoint["tlsConfig"]["ca"]["secret"] == {"name": f"{FULLNAME}-tls", "key": "ca.crt"}
    assert "insecureSkipVerify" not in endpoint["tlsConfig"]
    policies = {m["metadata"]["name"]: m["spec"] for m in of_kind(manifests, "NetworkPolicy")}
    webhook, recorder = policies[FULLNAME], policies[f"{FULLNAME}-recorder"]
    assert webhook["ingress"] == [{"ports": [{"protocol": "TCP", "port": "https"}]}]
    assert "ingress" not in recorder and recorder["policyTypes"] == ["Ingress", "Egress"]
