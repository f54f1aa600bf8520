"""``sigpolicy serve --cluster-image-policies [--base-policy FILE]``: options, and the runtime
it loads against the fake API server (the policy is the cluster's objects, watched)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from sigpolicy.cli.serve_cmd import parse_options
from sigpolicy.errors import InputError, PolicyError
from sigpolicy.reference.docker import parse_reference
from sigpolicy.sources.config_policies import ClusterPolicyWatcher
from sigpolicy.sources.evidence import evidence_from_dir
from tests.conformance.corpus import CORPUS
from tests.openshift_policy.kit import cluster_policy, identity, public_key, write_json
from tests.support.fakeapi import FakeApiServer
from webhook.runtime import load_runtime

SAMPLE = "192.168.64.2:5000/cosign-signed-single-sample"


def options(*argv: str) -> list[str]:
    return [*argv, "--self-signed"]


def test_option_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="reads the cluster: give --kubeconfig or --in-cluster"):
        parse_options(options("--cluster-image-policies"))
    with pytest.raises(InputError, match="--base-policy goes with --cluster-image-policies"):
        parse_options(options("--policy", "p.yaml", "--catalog", ".", "--base-policy", "b.json"))
    with pytest.raises(SystemExit):  # one policy source at a time
        parse_options(options("--cluster-image-policies", "--policy", "p.yaml"))


def test_the_runtime_decides_with_the_cluster_objects(
    fake_api: FakeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    key = (CORPUS / "cosign.pub").read_bytes()
    fake_api.add(cluster_policy("sample", [SAMPLE], public_key(key), identity("MatchRepository")))
    base = write_json(tmp_path / "policy.json", {"default": [{"type": "reject"}]})
    chosen = parse_options(
        options(
            "--cluster-image-policies", "--kubeconfig", str(kubeconfig), "--base-policy", str(base)
        )
    )

    async def scenario() -> None:
        runtime = await load_runtime(chosen, time.time)
        try:
            assert isinstance(runtime.policy, ClusterPolicyWatcher)
            assert "clusterimagepolicies, imagepolicies" in runtime.details()["policy"]["path"]
            policy = runtime.policy.current(now=time.time())
            for layout, other, allowed in (
                ("dir-img-cosign-valid", SAMPLE, True),
                ("dir-img-cosign-valid", "quay.io/x/y", False),  # the base's default: reject
                ("dir-img-unsigned", SAMPLE, False),
            ):
                evidence = evidence_from_dir(CORPUS / layout, parse_reference(other))
                assert (await policy.decide(evidence)).allowed is allowed, (layout, other)
        finally:
            await runtime.close()

    asyncio.run(scenario())


def test_the_base_policy_is_a_node_policy_json(kubeconfig: Path, tmp_path: Path) -> None:
    yaml_policy = tmp_path / "p.yaml"
    yaml_policy.write_text("apiVersion: sigpolicy.io/v1alpha1\nkind: ImagePolicy\nscopes: []\n")
    chosen = parse_options(
        options(
            "--cluster-image-policies",
            "--kubeconfig",
            str(kubeconfig),
            "--base-policy",
            str(yaml_policy),
        )
    )
    with pytest.raises(PolicyError, match=r"--base-policy is a containers-policy\.json"):
        asyncio.run(load_runtime(chosen, time.time))
