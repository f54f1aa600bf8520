"""``serve --cluster-image-policies``: the objects read through the fake API server (list, then
watch), the policy rebuilt whole on every change, the last good one kept on a bad object."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from sigpolicy.policy.decision import Decision
from sigpolicy.policy.openshift_policy import OpenShiftPolicy
from sigpolicy.reference.docker import parse_reference
from sigpolicy.sources.cluster import ClusterSource, WatchBackoff
from sigpolicy.sources.config_policies import ClusterPolicyWatcher
from sigpolicy.sources.evidence import evidence_from_dir
from tests.cosign import kit
from tests.openshift_policy.kit import (
    JsonObject,
    b64,
    cluster_policy,
    identity,
    image_policy,
    public_key,
    signed_layout,
)
from tests.support.fakeapi import FakeApiServer

KEY_A = kit.new_key("p256")
KEY_B = kit.new_key("p256")
APP = "registry.example.com/shop/app"
QUAY = "quay.io/shop/app"


def by(key: kit.PrivateKey, name: str = "release") -> JsonObject:
    pem = kit.public_pem(key)
    return cluster_policy(name, ["registry.example.com"], public_key(pem), identity("MatchRepository"))  # fmt: skip


@contextlib.asynccontextmanager
async def running(kubeconfig: Path, tmp_path: Path) -> AsyncIterator[ClusterPolicyWatcher]:
    source = ClusterSource.from_kubeconfig(
        kubeconfig, timeout=2.0, watch_backoff=WatchBackoff(0.02, 0.1)
    )
    watcher = await ClusterPolicyWatcher.open(
        source.api, None, base_dir=tmp_path, backoff=WatchBackoff(0.02, 0.1), watch_seconds=5
    )
    task = asyncio.create_task(watcher.run())
    try:
        yield watcher
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await source.close()


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not condition():
            await asyncio.sleep(0.02)


def built_from(watcher: ClusterPolicyWatcher) -> set[str]:
    """The objects the policy in force was built from."""
    policy = watcher.current(now=0)
    assert isinstance(policy, OpenShiftPolicy)
    return {obj.label for obj in policy.objects}


@pytest.fixture
def layouts(tmp_path: Path) -> dict[str, Path]:
    return {
        "a": signed_layout(tmp_path / "a", [(KEY_A, APP)]),
        "b": signed_layout(tmp_path / "b", [(KEY_B, APP)]),
        "quay-a": signed_layout(tmp_path / "quay-a", [(KEY_A, QUAY)]),
        "quay-b": signed_layout(tmp_path / "quay-b", [(KEY_B, QUAY)]),
    }


async def decide(
    watcher: ClusterPolicyWatcher, layout: Path, namespace: str | None, image: str = APP
) -> Decision:
    evidence = evidence_from_dir(layout, parse_reference(f"{image}:1"), namespace=namespace)
    return await watcher.current(now=0).decide(evidence)


def test_changes_replace_the_policy_whole(
    fake_api: FakeApiServer, kubeconfig: Path, tmp_path: Path, layouts: dict[str, Path]
) -> None:
    fake_api.add(by(KEY_A))

    async def scenario() -> None:
        async with running(kubeconfig, tmp_path) as watcher:
            assert (await decide(watcher, layouts["a"], None)).allowed
            assert not (await decide(watcher, layouts["b"], None)).allowed
            # a namespace's own policy, for a scope the cluster's does not cover
            own = image_policy("shop", "own", ["quay.io/shop"], public_key(kit.public_pem(KEY_B)), identity("MatchRepository"))  # fmt: skip
            fake_api.add(own)
            await until(lambda: watcher.reloads == 1)
            assert (await decide(watcher, layouts["quay-b"], "shop", QUAY)).allowed
            assert not (await decide(watcher, layouts["quay-a"], "shop", QUAY)).allowed
            assert (await decide(watcher, layouts["quay-a"], "dev", QUAY)).allowed
            # the cluster's key changes
            fake_api.store.mutate(
                "clusterimagepolicies", "release",
                lambda o: o["spec"]["policy"].update(by(KEY_B)["spec"]["policy"]),
            )  # fmt: skip
            await until(lambda: watcher.reloads == 2)
            assert (await decide(watcher, layouts["b"], "dev")).allowed
            assert not (await decide(watcher, layouts["a"], "dev")).allowed
            # deleted: the MCO's template, which accepts anything, is all that is left there
            fake_api.store.delete("clusterimagepolicies", "release")
            await until(lambda: watcher.reloads == 3)
            assert (await decide(watcher, layouts["b"], "dev")).allowed
            assert not (await decide(watcher, layouts["quay-a"], "shop", QUAY)).allowed

    asyncio.run(scenario())


def test_a_bad_object_keeps_the_last_good_policy(
    fake_api: FakeApiServer, kubeconfig: Path, tmp_path: Path, layouts: dict[str, Path]
) -> None:
    fake_api.add(by(KEY_A))
    bad = by(KEY_B, "broken")
    bad["spec"]["policy"]["rootOfTrust"]["publicKey"]["keyData"] = b64(b"foo bar")

    async def scenario() -> None:
        async with running(kubeconfig, tmp_path) as watcher:
            fake_api.add(bad)
            await until(lambda: watcher.reload_failures == 1)
            assert watcher.last_error is not None
            assert "clusterimagepolicies/broken: ClusterImagePolicy broken:" in watcher.last_error
            assert "keyData: not a PEM public key" in watcher.last_error
            assert (await decide(watcher, layouts["a"], None)).allowed  # still the good one
            fake_api.store.delete("clusterimagepolicies", "broken")
            await until(lambda: watcher.last_error is None)
            assert watcher.reloads == 1
            assert not (await decide(watcher, layouts["b"], None)).allowed

    asyncio.run(scenario())


def test_cut_streams_and_compaction_are_followed(
    fake_api: FakeApiServer, kubeconfig: Path, tmp_path: Path, layouts: dict[str, Path]
) -> None:
    async def scenario() -> None:
        async with running(kubeconfig, tmp_path) as watcher:
            assert watcher.object_count == 0
            await until(lambda: fake_api.open_watches() == 2)
            fake_api.cut_watches()
            fake_api.add(by(KEY_A))
            await until(lambda: watcher.reloads == 1)
            assert watcher.object_count == 1
            assert not (await decide(watcher, layouts["b"], None)).allowed
            await until(lambda: fake_api.open_watches() == 2)
            fake_api.store.compact()
            fake_api.cut_watches()
            fake_api.add(image_policy("shop", "own", [APP], public_key(kit.public_pem(KEY_B))))
            await until(lambda: "ImagePolicy shop/own" in built_from(watcher))
            assert watcher.object_count == 2

    asyncio.run(scenario())
