"""Registry credentials from the cluster: the pod's imagePullSecrets, then its service
account's, read through the image API client (the fake API server) and sent to the real
htpasswd registry; the webhook's own --pull-secret after them."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from sigpolicy.cli.main import main
from tests.registry_e2e.conftest import PASSWORD, USER, World
from tests.support.fakeapi import FakeApiServer


def pull_secret(namespace: str, name: str, host: str, password: str) -> dict[str, Any]:
    token = base64.b64encode(f"{USER}:{password}".encode()).decode()
    config = json.dumps({"auths": {host: {"auth": token}}}).encode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": base64.b64encode(config).decode()},
    }


def service_account(namespace: str, name: str, *secrets: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace},
        "imagePullSecrets": [{"name": s} for s in secrets],
    }


def review(tmp_path: Path, image: str, **spec: Any) -> Path:
    path = tmp_path / "review.json"
    path.write_text(json.dumps({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "u", "operation": "CREATE", "namespace": "shop",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "userInfo": {"username": "alice"},
            "object": {"kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
                       "spec": {**spec, "containers": [{"name": "c", "image": image}]}},
        },
    }))  # fmt: skip
    return path


CASES = [
    ("the pod's own pull secret", {"imagePullSecrets": [{"name": "mine"}]}, (), 0),
    ("its service account's", {"serviceAccountName": "builder"}, (), 0),
    ("the default service account's", {}, (), 0),
    ("the pod's wrong password comes first and is refused",
     {"imagePullSecrets": [{"name": "wrong"}], "serviceAccountName": "builder"}, (), 1),
    ("none: anonymous is refused", {"serviceAccountName": "nobody"}, (), 1),
    ("the webhook's own, when the pod has none", {"serviceAccountName": "nobody"},
     ("--pull-secret", "openshift-config/pull-secret"), 0),
]  # fmt: skip


@pytest.mark.parametrize(("name", "spec", "extra", "code"), CASES, ids=[c[0] for c in CASES])
def test_credentials_of_the_pod_reach_the_registry(
    world: World,
    fake_api: FakeApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    spec: dict[str, Any],
    extra: tuple[str, ...],
    code: int,
) -> None:
    host = world.locked.host
    fake_api.add(
        pull_secret("shop", "mine", host, PASSWORD),
        pull_secret("shop", "wrong", host, "not-the-password"),
        pull_secret("shop", "sa-pull", host, PASSWORD),
        pull_secret("openshift-config", "pull-secret", host, PASSWORD),
        service_account("shop", "builder", "sa-pull"),
        service_account("shop", "default", "sa-pull"),
        service_account("shop", "nobody"),
    )
    argv = [
        "admit", str(review(tmp_path, world.locked_image, **spec)), "--policy", str(world.policy),
        "--kubeconfig", str(kubeconfig), "--pod-pull-secrets", *world.registry_args(*extra),
    ]  # fmt: skip
    assert main(argv) == code
    out, err = capsys.readouterr()
    response = json.loads(out)["response"]
    if code:
        assert "secret shop/wrong" in response["status"]["message"] or (
            "anonymous" in response["status"]["message"]
        )
    for text in (out, err):
        assert PASSWORD not in text and "not-the-password" not in text


async def test_the_webhooks_watched_source_reads_pull_secrets_through(
    world: World, fake_api: FakeApiServer, kubeconfig: Path
) -> None:
    """serve's cluster source is the watch-kept cache; Secrets and ServiceAccounts are not
    cached there but read through from the API server."""
    from sigpolicy.resolve.pull_credentials import PullContext, PullCredentials
    from sigpolicy.sources.cluster import ClusterSource
    from sigpolicy.sources.informer import WatchedSource

    host = world.locked.host
    fake_api.add(
        pull_secret("shop", "sa-pull", host, PASSWORD),
        service_account("shop", "builder", "sa-pull"),
    )
    source = WatchedSource(ClusterSource.from_kubeconfig(kubeconfig))
    try:
        credentials = await PullCredentials(source).for_pull(PullContext("shop", (), "builder"))
    finally:
        await source.close()
    found = credentials.lookup(f"{host}/shop/app")
    assert found is not None and found.origin.startswith("secret shop/sa-pull")
    assert fake_api.count("GET", "/api/v1/namespaces/shop/serviceaccounts/builder") == 1
