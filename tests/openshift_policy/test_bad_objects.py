"""A ClusterImagePolicy or ImagePolicy the cluster would refuse, or one that cannot verify
anything, is refused: exit status 2 and one line naming the file, the object and the field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sigpolicy.cli.main import main
from tests.cosign import kit
from tests.openshift_policy.kit import b64, cluster_policy, image_policy, public_key, write_objects

KEY = kit.public_pem(kit.new_key("p256"))
Change = Callable[[dict[str, Any]], None]


def base() -> dict[str, Any]:
    return cluster_policy("p1", ["registry.example.com"], public_key(KEY))


def root(o: dict[str, Any]) -> dict[str, Any]:
    return o["spec"]["policy"]["rootOfTrust"]  # type: ignore[no-any-return]


def set_scope(value: Any) -> Change:
    return lambda o: o["spec"].__setitem__("scopes", value)


BAD: dict[str, tuple[Change, str]] = {
    "no-name": (lambda o: o["metadata"].pop("name"), "ClusterImagePolicy: metadata.name: required"),
    "no-spec": (lambda o: o.pop("spec"), "ClusterImagePolicy p1: spec: required"),
    "no-scopes": (set_scope([]), "spec.scopes: expected a non-empty list"),
    "short-name-scope": (set_scope(["busybox"]), "spec.scopes[0]: 'busybox': needs a fully qualified registry host"),
    "wildcard-in-path": (set_scope(["*.example.com/test"]), "spec.scopes[0]: '*.example.com/test': a wildcard is only"),
    "short-digest": (set_scope(["example.com/ns/name@sha256:12dsdf"]), "spec.scopes[0]: 'example.com/ns/name@sha256:12dsdf': not a valid image scope"),
    "duplicate-scope": (set_scope(["example.com", "example.com"]), "spec.scopes[1]: 'example.com' is listed twice"),
    "too-many-scopes": (set_scope([f"r{i}.example.com" for i in range(257)]), "spec.scopes: more than 256 scopes"),
    "unknown-policy-type": (lambda o: root(o).__setitem__("policyType", "Keyless"), "rootOfTrust.policyType: 'Keyless': expected PublicKey"),
    "public-key-missing": (lambda o: root(o).pop("publicKey"), "rootOfTrust.publicKey: required when policyType is PublicKey"),
    "fulcio-member-with-public-key": (lambda o: root(o).__setitem__("fulcioCAWithRekor", {}), "rootOfTrust.fulcioCAWithRekor: forbidden when policyType is PublicKey"),
    "key-not-base64": (lambda o: root(o)["publicKey"].__setitem__("keyData", "not base64!"), "rootOfTrust.publicKey.keyData: not valid base64"),
    "key-not-pem": (lambda o: root(o)["publicKey"].__setitem__("keyData", b64(b"foo bar")), "rootOfTrust.publicKey.keyData: not a PEM public key"),
    "rekor-key-not-pem": (lambda o: root(o)["publicKey"].__setitem__("rekorKeyData", b64(b"x")), "rootOfTrust.publicKey.rekorKeyData: not a PEM public key"),
    "fulcio-without-rekor": (
        lambda o: o["spec"]["policy"].__setitem__("rootOfTrust", {"policyType": "FulcioCAWithRekor", "fulcioCAWithRekor": {"fulcioCAData": b64(b"x")}}),
        "fulcioCAWithRekor.fulcioCAData: not PEM certificates",
    ),
    "pki-without-subject": (
        lambda o: o["spec"]["policy"].__setitem__("rootOfTrust", {"policyType": "PKI", "pki": {"caRootsData": b64(b"x")}}),
        "rootOfTrust.pki.caRootsData: not PEM certificates",
    ),
    "exact-repository-missing": (
        lambda o: o["spec"]["policy"].__setitem__("signedIdentity", {"matchPolicy": "ExactRepository"}),
        "signedIdentity.exactRepository: required when matchPolicy is ExactRepository",
    ),
    "exact-repository-with-tag": (
        lambda o: o["spec"]["policy"].__setitem__("signedIdentity", {"matchPolicy": "ExactRepository", "exactRepository": {"repository": "example.com/ns/name:latest"}}),
        "exactRepository.repository: 'example.com/ns/name:latest': expected a repository",
    ),
    "remap-prefix-with-tag": (
        lambda o: o["spec"]["policy"].__setitem__("signedIdentity", {"matchPolicy": "RemapIdentity", "remapIdentity": {"prefix": "example.com/ns:latest", "signedPrefix": "example.com/ns"}}),
        "remapIdentity.prefix: 'example.com/ns:latest': expected a repository",
    ),
    "unknown-match-policy": (
        lambda o: o["spec"]["policy"].__setitem__("signedIdentity", {"matchPolicy": "MatchExact"}),
        "signedIdentity.matchPolicy: 'MatchExact': expected one of",
    ),
}  # fmt: skip


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.parametrize("name", BAD)
def test_a_bad_object_is_one_line_and_exit_2(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change, message = BAD[name]
    obj = copy.deepcopy(base())
    change(obj)
    path = write_objects(tmp_path / "p.yaml", [obj])
    code, err = run(capsys, "policy", "check", str(path))
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"{path}: ")
    assert message in err


OTHER: dict[str, tuple[list[Any], str]] = {
    "image-policy-without-namespace": (
        [{**image_policy("x", "p0", ["example.com"], public_key(KEY)), "metadata": {"name": "p0"}}],
        "ImagePolicy p0: metadata.namespace: required",
    ),
    "same-object-twice": ([base(), base()], "ClusterImagePolicy p1 is also in"),
    "two-base-policies": ([base(), {"default": [{"type": "reject"}]}, {"default": [{"type": "reject"}]}], "a second containers-policy.json"),
    "another-kind-among-them": ([base(), {"apiVersion": "v1", "kind": "ConfigMap"}], "neither a ClusterImagePolicy/ImagePolicy"),
    "bad-base-policy": ([base(), {"default": []}], "an empty list of requirements is not allowed"),
}  # fmt: skip


@pytest.mark.parametrize("name", OTHER)
def test_bad_sets_of_objects(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    objects, message = OTHER[name]
    path = write_objects(tmp_path / "p.yaml", objects)
    code, err = run(capsys, "policy", "check", str(path))
    assert (code, err.count("\n")) == (2, 1)
    assert message in err


def test_an_empty_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "policy", "check", str(tmp_path))
    assert code == 2
    assert "no ClusterImagePolicy or ImagePolicy objects in the folder" in err
