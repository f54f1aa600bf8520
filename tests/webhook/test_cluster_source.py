"""The webhook over a cluster source: the example catalog's objects served by the fake image
API server, reached through the real client and the watch-kept caches."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from tests.sources_cluster import objects
from tests.support.fakeapi import FakeApiServer
from tests.webhook.support import (
    CHECKOUT_DIGEST,
    EXAMPLES,
    example_state,
    in_process,
    pod_review,
    response_of,
)

INTEGRATED = "image-registry.openshift-image-registry.svc:5000/shop/checkout:1.4.2"


@pytest.fixture
def cluster(fake_api: FakeApiServer) -> FakeApiServer:
    fake_api.add({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "shop"}})
    for path in sorted((EXAMPLES / "catalog").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                fake_api.add(document)
    return fake_api


async def until(condition: Callable[[], Any]) -> None:
    async with asyncio.timeout(5):
        while not await condition():
            await asyncio.sleep(0.02)


async def validate(client: httpx2.AsyncClient, *images: str) -> Any:
    return response_of(await client.post("/validate", json=pod_review(images)))


async def ready(client: httpx2.AsyncClient) -> bool:
    return (await client.get("/readyz")).status_code == 200


def retag_to_unsigned(cluster: FakeApiServer) -> str:
    unsigned = objects.image("unsigned-build")
    unsigned["dockerImageReference"] = (
        f"registry.example.com/shop/checkout@{unsigned['metadata']['name']}"
    )
    cluster.add(unsigned)

    def change(stream: dict[str, Any]) -> None:
        for history in stream["status"]["tags"]:
            if history["tag"] == "1.4.2":
                newest = copy.deepcopy(history["items"][0])
                newest.update(image=unsigned["metadata"]["name"])
                newest["dockerImageReference"] = unsigned["dockerImageReference"]
                history["items"].insert(0, newest)

    cluster.store.mutate("imagestreams", "checkout", change, "shop")
    return str(unsigned["metadata"]["name"])


async def test_ready_once_synced_then_reviews_cost_no_requests(
    cluster: FakeApiServer, kubeconfig: Path
) -> None:
    state = await example_state(catalog=None, kubeconfig=kubeconfig)
    async with in_process(state) as client:
        await until(lambda: ready(client))
        details = (await client.get("/readyz")).json()
        assert details["sourceSynced"] is True
        before = cluster.count("GET")
        answer = await validate(client, INTEGRATED)
        again = await validate(client, INTEGRATED)
        assert cluster.count("GET") == before
        metrics = (await client.get("/metrics")).text
    assert answer["allowed"] is True and again["allowed"] is True
    assert 'sigpolicy_source_cached_objects{kind="images"} 1.0' in metrics
    assert "sigpolicy_ready 1.0" in metrics


async def test_a_retag_to_an_unsigned_image_is_denied_as_soon_as_the_watch_reports_it(
    cluster: FakeApiServer, kubeconfig: Path
) -> None:
    state = await example_state(catalog=None, kubeconfig=kubeconfig)
    async with in_process(state) as client:
        await until(lambda: ready(client))
        assert (await validate(client, INTEGRATED))["allowed"] is True
        unsigned = retag_to_unsigned(cluster)

        async def denied() -> bool:
            return (await validate(client, INTEGRATED))["allowed"] is False

        await until(denied)  # well inside the 30 s a lookup TTL would have taken
        answer = await validate(client, INTEGRATED)
    assert answer["status"]["reason"] == "unsigned", answer["status"]["message"]
    assert (
        f"(resolved to registry.example.com/shop/checkout@{unsigned})"
        in answer["status"]["message"]
    )


async def test_with_the_api_server_down_cached_images_are_still_decided(
    cluster: FakeApiServer, kubeconfig: Path
) -> None:
    state = await example_state(catalog=None, kubeconfig=kubeconfig)
    async with in_process(state) as client:
        await until(lambda: ready(client))
        cluster.fail("*", 503, times=1_000_000)
        cluster.cut_watches()
        by_digest = (
            f"image-registry.openshift-image-registry.svc:5000/shop/checkout@{CHECKOUT_DIGEST}"
        )
        good = await validate(client, INTEGRATED, by_digest)
        missing = await validate(client, INTEGRATED.replace("1.4.2", "9.9.9"))
    assert good["allowed"] is True
    assert missing["allowed"] is False
    assert missing["status"]["reason"] == "resolution-failed"


async def test_before_the_first_sync_reviews_are_decided_by_cold_lookups(
    cluster: FakeApiServer, kubeconfig: Path
) -> None:
    cluster.hang("/apis/image.openshift.io/v1/imagestreams", 3.0, times=3, method="GET")
    state = await example_state(catalog=None, kubeconfig=kubeconfig)
    async with in_process(state) as client:
        assert not await ready(client)
        assert (await client.get("/readyz")).json()["sourceSynced"] is False
        answer = await validate(client, INTEGRATED)
        await until(lambda: ready(client))
    assert answer["allowed"] is True
    assert (
        cluster.count("GET", "/apis/image.openshift.io/v1/namespaces/shop/imagestreamtags/*") >= 1
    )


SELECTOR_POLICY = """\
apiVersion: sigpolicy.io/v1alpha1
kind: ImagePolicy
trust: {trust}
scopes:
  - name: frozen
    images: ["registry.example.com/shop/**"]
    namespaceSelector: {{matchLabels: {{freeze: "true"}}}}
    require: [{{reject: {{}}}}]
  - name: shop
    images: ["registry.example.com/shop/**"]
    require: [{{signedBy: {{trust: [release]}}}}]
"""


async def test_a_namespace_selector_follows_the_namespace_labels(
    cluster: FakeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(SELECTOR_POLICY.format(trust=EXAMPLES / "trust.yaml"))
    state = await example_state(catalog=None, kubeconfig=kubeconfig, policy=policy)
    async with in_process(state) as client:
        await until(lambda: ready(client))
        assert (await validate(client, INTEGRATED))["allowed"] is True
        cluster.store.mutate(
            "namespaces", "shop", lambda obj: obj["metadata"].update(labels={"freeze": "true"})
        )

        async def denied() -> bool:
            return (await validate(client, INTEGRATED))["allowed"] is False

        await until(denied)
        answer = await validate(client, INTEGRATED)
    assert "scope frozen" in answer["status"]["message"]
