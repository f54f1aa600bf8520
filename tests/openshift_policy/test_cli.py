"""``--policy`` with ClusterImagePolicy/ImagePolicy files and folders, through the command:
the conformance corpus's cosign images with ``check-image --dir``, ``policy explain`` showing
the node's file, ``policy check`` naming ignored scopes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sigpolicy.cli.main import main
from tests.conformance.corpus import CORPUS
from tests.openshift_policy.kit import (
    cluster_policy,
    identity,
    image_policy,
    public_key,
    write_json,
    write_objects,
)

SAMPLE = "192.168.64.2:5000/cosign-signed-single-sample"
COSIGN = (CORPUS / "cosign.pub").read_bytes()
COSIGN2 = (CORPUS / "cosign2.pub").read_bytes()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


# (layout, key of the ClusterImagePolicy, matchPolicy) -> exit status of check-image
CORPUS_CASES: dict[str, tuple[str, bytes, str, int]] = {
    "valid-match-repository": ("dir-img-cosign-valid", COSIGN, "MatchRepository", 0),
    "valid-default-identity-needs-a-tag": ("dir-img-cosign-valid", COSIGN, "MatchRepoDigestOrExact", 1),
    "valid-other-key": ("dir-img-cosign-valid", COSIGN2, "MatchRepository", 1),
    "two-signatures": ("dir-img-cosign-valid-2", COSIGN, "MatchRepository", 0),
    "mixed-one-good": ("dir-img-cosign-mixed", COSIGN, "MatchRepository", 0),
    "modified-manifest": ("dir-img-cosign-modified-manifest", COSIGN, "MatchRepository", 1),
    "other-attachment": ("dir-img-cosign-other-attachment", COSIGN, "MatchRepository", 1),
}  # fmt: skip


@pytest.mark.parametrize("name", CORPUS_CASES)
def test_corpus_images_through_check_image(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layout, key, match, expected = CORPUS_CASES[name]
    policy = write_objects(
        tmp_path / "cip.yaml",
        [cluster_policy("sample", ["192.168.64.2:5000"], public_key(key), identity(match))],
    )
    code, _, err = run(
        capsys, "check-image", SAMPLE, "--policy", str(policy), "--dir", str(CORPUS / layout)
    )
    assert (code, err) == (expected, "")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A cluster's objects as files: YAML, JSON, a kind: List, the node's own policy.json."""
    root = tmp_path / "policies"
    root.mkdir()
    write_objects(
        root / "cluster.yaml",
        [cluster_policy("sample", ["192.168.64.2:5000"], public_key(COSIGN), identity("MatchRepository"))],
    )  # fmt: skip
    items = [
        image_policy("shop", "wide", ["quay.io/shop"], public_key(COSIGN2)),
        image_policy("shop", "nested", [f"{SAMPLE}/x"], public_key(COSIGN2)),
    ]
    write_json(root / "shop.json", {"apiVersion": "v1", "kind": "List", "items": items})
    write_json(
        root / "policy.json",
        {"default": [{"type": "reject"}], "transports": {"docker": {"quay.io": [{"type": "insecureAcceptAnything"}]}}},
    )  # fmt: skip
    (root / "README.txt").write_text("not read\n")
    (root / ".hidden.yaml").write_text("not: read\n")
    return root


def test_a_folder_with_the_node_policy(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "policy", "check", str(folder))
    assert code == 0
    assert "valid ClusterImagePolicy/ImagePolicy policy" in out
    assert "ImagePolicy shop/nested: scope '192.168.64.2:5000/cosign-signed-single-sample/x'" in err
    unsigned = str(CORPUS / "dir-img-unsigned")
    checks = {
        # the base's default reject stays for what no scope covers
        ("docker.io/library/busybox:1", None): 1,
        # the base's allowed registry, outside the namespace's scope
        ("quay.io/other/app:1", "shop"): 0,
        # the namespace's scope inside it, for that namespace only
        ("quay.io/shop/app:1", "shop"): 1,
        ("quay.io/shop/app:1", "dev"): 0,
    }
    for (image, namespace), expected in checks.items():
        extra = ["--namespace", namespace] if namespace else []
        code, _, _ = run(capsys, "check-image", image, "--policy", str(folder), "--dir", unsigned, *extra)  # fmt: skip
        assert (image, namespace, code) == (image, namespace, expected)


def test_explain_shows_the_file_of_the_pods_namespace(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unsigned = str(CORPUS / "dir-img-unsigned")
    argv = ["policy", "explain", "quay.io/shop/app:1", "--policy", str(folder), "--dir", unsigned]
    code, out, _ = run(capsys, *argv, "--namespace", "shop")
    assert code == 1
    head, _, rest = out.partition("\n")
    assert head == "/etc/crio/policies/shop.json, as the MCO writes it (pods of shop):"
    document = json.loads(rest[: rest.index("\n}\n") + 2])
    assert set(document["transports"]["docker"]) == {"quay.io", "192.168.64.2:5000", "quay.io/shop"}
    assert "quay.io/shop (ImagePolicy shop/wide; namespace shop)" in out
    code, out, _ = run(capsys, *argv, "--namespace", "dev")
    assert code == 0
    assert out.startswith(
        "/etc/containers/policy.json, as the MCO writes it (namespaces shop have their own file):"
    )
