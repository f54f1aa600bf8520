"""A folder of objects (a mounted ConfigMap) reloads as a policy file does: a changed file
replaces the policy whole, a broken one keeps the last good policy and says why."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sigpolicy.policy.watch import PolicyWatcher
from sigpolicy.reference.docker import parse_reference
from sigpolicy.sources.evidence import evidence_from_dir
from tests.conformance.corpus import CORPUS
from tests.openshift_policy.kit import b64, cluster_policy, identity, public_key, write_objects

SAMPLE = "192.168.64.2:5000/cosign-signed-single-sample"


def allowed(watcher: PolicyWatcher, now: float) -> bool:
    evidence = evidence_from_dir(CORPUS / "dir-img-cosign-valid", parse_reference(SAMPLE))
    return asyncio.run(watcher.current(now=now).decide(evidence)).allowed


def test_a_folder_reloads_whole_and_keeps_the_last_good(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    good, other = (CORPUS / "cosign.pub").read_bytes(), (CORPUS / "cosign2.pub").read_bytes()
    file = folder / "sample.yaml"

    def write(key_data: bytes) -> None:
        obj = cluster_policy("s", [SAMPLE], public_key(good), identity("MatchRepository"))
        obj["spec"]["policy"]["rootOfTrust"]["publicKey"]["keyData"] = b64(key_data)
        write_objects(file, [obj])

    write(good)
    watcher = PolicyWatcher(folder, None, now=0.0)
    assert allowed(watcher, 0.0)
    write(other)
    assert not allowed(watcher, 3.0)
    assert watcher.reloads == 1
    write(b"not a key")
    assert not allowed(watcher, 6.0)  # the last good policy: cosign2.pub's
    assert watcher.reload_failures == 1
    assert watcher.last_error is not None
    assert "sample.yaml:1: ClusterImagePolicy s: spec.policy.rootOfTrust.publicKey.keyData" in (
        watcher.last_error
    )
    write(good)
    assert allowed(watcher, 9.0)
    assert watcher.last_error is None
