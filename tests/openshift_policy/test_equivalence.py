"""Each set of ClusterImagePolicy/ImagePolicy objects decides an image exactly as the
policy.json the Machine Config Operator writes for the pod's namespace, written here by hand.

One table: objects, image, namespace, ``dir:`` layout, the hand-written policy.json that CRI-O
would use for that pod, and the expected decision. For every row the objects' translation has
that file's ``default`` and ``docker`` scopes, and both the objects and the file give the
expected decision (with the same reason) on real cosign signatures made with fresh keys.
The rows follow the examples of OpenShift's documentation (public key with
``MatchRepoDigestOrExact``, an ImagePolicy with ``ExactRepository``, ``RemapIdentity`` for a
mirror) and openshift/api's test data (host, wildcard, tag, digest and ``localhost:port``
scopes), plus the precedence OpenShift documents between cluster and namespace objects.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sigpolicy.policy.containers import load_containers_policy
from sigpolicy.policy.decision import Decision
from sigpolicy.policy.engine import Policy
from sigpolicy.policy.load import load_policy
from sigpolicy.policy.openshift_policy import OpenShiftPolicy
from sigpolicy.reasons import Reason
from sigpolicy.reference.docker import parse_reference
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
    write_json,
    write_objects,
)

KEY_A = kit.new_key("p256")
KEY_B = kit.new_key("p256")
PEM = {"A": kit.public_pem(KEY_A), "B": kit.public_pem(KEY_B)}
APP = "registry.example.com/shop/app"
ACCEPT: JsonObject = {"type": "insecureAcceptAnything"}
REJECT: JsonObject = {"type": "reject"}

LAYOUTS: dict[str, list[tuple[kit.PrivateKey, str]]] = {
    "unsigned": [],
    "a-repo": [(KEY_A, APP)],
    "b-repo": [(KEY_B, APP)],
    "a-tag": [(KEY_A, f"{APP}:1.0")],
    "a-and-b-repo": [(KEY_A, APP), (KEY_B, APP)],
    "a-vendor-tag": [(KEY_A, "vendor.example.org/shop/app:1.0")],
    "a-localhost": [(KEY_A, "localhost:1234/namespace/namespace:latest")],
    "b-other-tag": [(KEY_B, "registry.example.com/other:1")],
}


def key(name: str, rekor: str | None = None) -> JsonObject:
    return public_key(PEM[name], None if rekor is None else PEM[rekor])


def signed(name: str, rule: JsonObject | None = None) -> JsonObject:
    """The sigstoreSigned requirement the MCO writes for a PublicKey object."""
    return {
        "type": "sigstoreSigned",
        "keyData": b64(PEM[name]),
        "signedIdentity": rule or {"type": "matchRepoDigestOrExact"},
    }


def node_file(docker: dict[str, list[JsonObject]], default: JsonObject = ACCEPT) -> JsonObject:
    return {"default": [default], "transports": {"docker": docker}}


REPOSITORY_RULE = {"type": "matchRepository"}


@dataclass(frozen=True)
class Case:
    objects: list[JsonObject]
    image: str
    namespace: str | None
    layout: str
    node: JsonObject  # the file CRI-O uses for this pod, by hand
    allowed: bool
    reason: Reason | None = None
    base: JsonObject | None = None  # the cluster's own policy.json, when not the MCO template


DOCS_PUBLIC_KEY = [
    cluster_policy("p1", ["registry.example.com"], key("A"), identity("MatchRepoDigestOrExact"))
]
DOCS_PUBLIC_KEY_FILE = node_file({"registry.example.com": [signed("A")]})
DOCS_EXACT_REPOSITORY = [
    image_policy(
        "shop",
        "p0",
        ["registry.example.com"],
        key("A"),
        identity("ExactRepository", repository=APP),
    )
]
EXACT_RULE = {"type": "exactRepository", "dockerRepository": APP}
TWO_KEYS = [
    cluster_policy("release", ["registry.example.com/shop"], key("A"), identity("MatchRepository")),
    cluster_policy("qa", ["registry.example.com/shop"], key("B"), identity("MatchRepository")),
]
TWO_KEYS_FILE = node_file(
    {"registry.example.com/shop": [signed("B", REPOSITORY_RULE), signed("A", REPOSITORY_RULE)]}
)
NESTED = [
    cluster_policy("shop", ["registry.example.com/shop"], key("A"), identity("MatchRepository")),
    image_policy("shop", "mine", [APP], key("B"), identity("MatchRepository")),
]
NESTED_FILE = node_file({"registry.example.com/shop": [signed("A", REPOSITORY_RULE)]})
TAG_THEN_REPO = [
    cluster_policy("pinned", [f"{APP}:1.0"], key("A"), identity("MatchRepository")),
    image_policy("shop", "mine", [APP], key("B"), identity("MatchRepository")),
]
TAG_THEN_REPO_SHOP_FILE = node_file(
    {f"{APP}:1.0": [signed("A", REPOSITORY_RULE)], APP: [signed("B", REPOSITORY_RULE)]}
)
WIDER_NAMESPACE = [
    cluster_policy("app", [APP], key("A"), identity("MatchRepository")),
    image_policy("shop", "registry", ["registry.example.com"], key("B")),
]
WIDER_SHOP_FILE = node_file(
    {APP: [signed("A", REPOSITORY_RULE)], "registry.example.com": [signed("B")]}
)
WIDER_CLUSTER_FILE = node_file({APP: [signed("A", REPOSITORY_RULE)]})
ALLOWED_REGISTRIES_BASE = node_file(
    {"registry.example.com": [ACCEPT], "quay.io/openshift-release-dev": [ACCEPT]}, REJECT
)
ALLOWED_REGISTRIES_FILE = node_file(
    {"registry.example.com": [signed("A")], "quay.io/openshift-release-dev": [ACCEPT]}, REJECT
)
HAND_WRITTEN_BASE = node_file({"registry.example.com/shop": [signed("B", REPOSITORY_RULE)]})

CASES: dict[str, Case] = {
    # OpenShift docs: a ClusterImagePolicy with a public key and MatchRepoDigestOrExact.
    "docs-public-key-tag-signed-for-tag": Case(DOCS_PUBLIC_KEY, f"{APP}:1.0", None, "a-tag", DOCS_PUBLIC_KEY_FILE, True),
    "docs-public-key-tag-signed-for-repository": Case(DOCS_PUBLIC_KEY, f"{APP}:1.0", None, "a-repo", DOCS_PUBLIC_KEY_FILE, False, Reason.IDENTITY_MISMATCH),
    "docs-public-key-digest-signed-for-a-tag": Case(DOCS_PUBLIC_KEY, f"{APP}@{kit.DIGEST}", None, "a-tag", DOCS_PUBLIC_KEY_FILE, True),
    "docs-public-key-digest-signed-for-repository": Case(DOCS_PUBLIC_KEY, f"{APP}@{kit.DIGEST}", None, "a-repo", DOCS_PUBLIC_KEY_FILE, False, Reason.IDENTITY_MISMATCH),
    "docs-public-key-other-key": Case(DOCS_PUBLIC_KEY, f"{APP}:1.0", "any", "b-repo", DOCS_PUBLIC_KEY_FILE, False, Reason.BAD_SIGNATURE),
    "docs-public-key-unsigned": Case(DOCS_PUBLIC_KEY, f"{APP}:1.0", None, "unsigned", DOCS_PUBLIC_KEY_FILE, False, Reason.UNSIGNED),
    "docs-public-key-out-of-scope": Case(DOCS_PUBLIC_KEY, "quay.io/other/app:1", None, "unsigned", DOCS_PUBLIC_KEY_FILE, True),
    # OpenShift docs: an ImagePolicy with ExactRepository, in namespace shop only.
    "docs-exact-repository-in-its-namespace": Case(DOCS_EXACT_REPOSITORY, f"{APP}:1.0", "shop", "a-repo", node_file({"registry.example.com": [signed("A", EXACT_RULE)]}), True),
    "docs-exact-repository-unsigned-in-its-namespace": Case(DOCS_EXACT_REPOSITORY, f"{APP}:1.0", "shop", "unsigned", node_file({"registry.example.com": [signed("A", EXACT_RULE)]}), False, Reason.UNSIGNED),
    "docs-exact-repository-other-namespace": Case(DOCS_EXACT_REPOSITORY, f"{APP}:1.0", "dev", "unsigned", node_file({}), True),
    "docs-exact-repository-no-namespace": Case(DOCS_EXACT_REPOSITORY, f"{APP}:1.0", None, "unsigned", node_file({}), True),
    # OpenShift docs and openshift/api: RemapIdentity for a mirror of a vendor's repositories.
    "remap-identity-mirror": Case(
        [cluster_policy("mirror", ["registry.example.com/shop"], key("A"), identity("RemapIdentity", prefix="registry.example.com/shop", signedPrefix="vendor.example.org/shop"))],
        f"{APP}:1.0", None, "a-vendor-tag",
        node_file({"registry.example.com/shop": [signed("A", {"type": "remapIdentity", "prefix": "registry.example.com/shop", "signedPrefix": "vendor.example.org/shop"})]}),
        True,
    ),
    "remap-identity-unmapped-signature": Case(
        [cluster_policy("mirror", ["registry.example.com/shop"], key("A"), identity("RemapIdentity", prefix="registry.example.com/shop", signedPrefix="vendor.example.org/shop"))],
        f"{APP}:1.0", None, "a-tag",
        node_file({"registry.example.com/shop": [signed("A", {"type": "remapIdentity", "prefix": "registry.example.com/shop", "signedPrefix": "vendor.example.org/shop"})]}),
        False, Reason.IDENTITY_MISMATCH,
    ),
    # openshift/api test data: scope forms.
    "api-wildcard-scope-signed": Case([cluster_policy("w", ["*.example.com"], key("A"))], f"{APP}:1.0", None, "a-tag", node_file({"*.example.com": [signed("A")]}), True),
    "api-wildcard-scope-unsigned": Case([cluster_policy("w", ["*.example.com"], key("A"))], f"{APP}:1.0", None, "unsigned", node_file({"*.example.com": [signed("A")]}), False, Reason.UNSIGNED),
    "api-wildcard-not-the-bare-domain": Case([cluster_policy("w", ["*.example.com"], key("A"))], "example.com/x:1", None, "unsigned", node_file({"*.example.com": [signed("A")]}), True),
    "api-tag-scope-other-tag": Case([cluster_policy("t", [f"{APP}:1.0"], key("A"))], f"{APP}:2.0", None, "unsigned", node_file({f"{APP}:1.0": [signed("A")]}), True),
    "api-tag-scope-its-tag": Case([cluster_policy("t", [f"{APP}:1.0"], key("A"))], f"{APP}:1.0", None, "unsigned", node_file({f"{APP}:1.0": [signed("A")]}), False, Reason.UNSIGNED),
    "api-digest-scope": Case([cluster_policy("d", [f"{APP}@{kit.DIGEST}"], key("A"), identity("MatchRepository"))], f"{APP}@{kit.DIGEST}", None, "a-repo", node_file({f"{APP}@{kit.DIGEST}": [signed("A", REPOSITORY_RULE)]}), True),
    "api-localhost-port-scope": Case([cluster_policy("l", ["localhost:1234/namespace/namespace"], key("A"))], "localhost:1234/namespace/namespace:latest", None, "a-localhost", node_file({"localhost:1234/namespace/namespace": [signed("A")]}), True),
    "api-localhost-port-scope-unsigned": Case([cluster_policy("l", ["localhost:1234/namespace/namespace"], key("A"))], "localhost:1234/namespace/namespace:latest", None, "unsigned", node_file({"localhost:1234/namespace/namespace": [signed("A")]}), False, Reason.UNSIGNED),
    # Several ClusterImagePolicies on one scope: all their requirements hold.
    "two-policies-one-scope-one-signer": Case(TWO_KEYS, f"{APP}:1.0", None, "a-repo", TWO_KEYS_FILE, False),
    "two-policies-one-scope-both-signers": Case(TWO_KEYS, f"{APP}:1.0", None, "a-and-b-repo", TWO_KEYS_FILE, True),
    # Precedence: an ImagePolicy scope nested in a ClusterImagePolicy scope is ignored.
    "precedence-nested-scope-ignored": Case(NESTED, f"{APP}:1.0", "shop", "a-repo", NESTED_FILE, True),
    "precedence-nested-scope-ignored-its-key-refused": Case(NESTED, f"{APP}:1.0", "shop", "b-repo", NESTED_FILE, False, Reason.BAD_SIGNATURE),
    # ... but a repository scope does not nest in a tag scope: both apply, most specific first.
    "precedence-tag-scope-wins-for-its-tag": Case(TAG_THEN_REPO, f"{APP}:1.0", "shop", "a-repo", TAG_THEN_REPO_SHOP_FILE, True),
    "precedence-namespace-repo-for-other-tags": Case(TAG_THEN_REPO, f"{APP}:2.0", "shop", "b-repo", TAG_THEN_REPO_SHOP_FILE, True),
    "precedence-namespace-repo-not-elsewhere": Case(TAG_THEN_REPO, f"{APP}:2.0", "dev", "unsigned", node_file({f"{APP}:1.0": [signed("A", REPOSITORY_RULE)]}), True),
    # A namespace scope wider than a cluster scope applies around it, in its namespace.
    "precedence-wider-namespace-scope": Case(WIDER_NAMESPACE, "registry.example.com/other:1", "shop", "b-other-tag", WIDER_SHOP_FILE, True),
    "precedence-wider-namespace-scope-unsigned": Case(WIDER_NAMESPACE, "registry.example.com/other:1", "shop", "unsigned", WIDER_SHOP_FILE, False, Reason.UNSIGNED),
    "precedence-wider-cluster-scope-inside": Case(WIDER_NAMESPACE, f"{APP}:1.0", "shop", "b-repo", WIDER_SHOP_FILE, False, Reason.BAD_SIGNATURE),
    "precedence-wider-namespace-scope-elsewhere": Case(WIDER_NAMESPACE, "registry.example.com/other:1", "dev", "unsigned", WIDER_CLUSTER_FILE, True),
    # The cluster's own policy.json: an allowed registry's accept-anything gives way.
    "base-allowed-registry-now-signed": Case(DOCS_PUBLIC_KEY, f"{APP}:1.0", None, "unsigned", ALLOWED_REGISTRIES_FILE, False, Reason.UNSIGNED, ALLOWED_REGISTRIES_BASE),
    "base-allowed-registry-signed": Case(DOCS_PUBLIC_KEY, f"{APP}:1.0", None, "a-tag", ALLOWED_REGISTRIES_FILE, True, None, ALLOWED_REGISTRIES_BASE),
    "base-default-reject-kept": Case(DOCS_PUBLIC_KEY, "docker.io/library/busybox:1", None, "unsigned", ALLOWED_REGISTRIES_FILE, False, None, ALLOWED_REGISTRIES_BASE),
    "base-own-requirement-kept": Case(
        [cluster_policy("shop", ["registry.example.com/shop"], key("A"), identity("MatchRepository"))],
        f"{APP}:1.0", None, "a-repo",
        node_file({"registry.example.com/shop": [signed("B", REPOSITORY_RULE), signed("A", REPOSITORY_RULE)]}),
        False, None, HAND_WRITTEN_BASE,
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("layouts")
    return {name: signed_layout(root / name, signers) for name, signers in LAYOUTS.items()}


def decide(policy: Policy, layout: Path, image: str, namespace: str | None) -> Decision:
    evidence = evidence_from_dir(layout, parse_reference(image), namespace=namespace)
    return asyncio.run(policy.decide(evidence))


def load_objects(tmp_path: Path, case: Case) -> OpenShiftPolicy:
    objects: list[Any] = list(case.objects)
    if case.base is not None:
        objects.append(case.base)
    policy = load_policy(write_objects(tmp_path / "objects.yaml", objects))
    assert isinstance(policy, OpenShiftPolicy)
    return policy


@pytest.mark.parametrize("name", CASES)
def test_objects_decide_as_the_node_file(
    name: str, tmp_path: Path, layouts: dict[str, Path]
) -> None:
    case = CASES[name]
    policy = load_objects(tmp_path, case)
    written = policy.translation.document_for(case.namespace)
    assert written["default"] == case.node["default"]
    assert written["transports"].get("docker", {}) == case.node["transports"]["docker"]
    node = load_containers_policy(case.node, origin="node.json", base=tmp_path)
    ours = decide(policy, layouts[case.layout], case.image, case.namespace)
    theirs = decide(node, layouts[case.layout], case.image, case.namespace)
    assert (ours.allowed, ours.reason) == (theirs.allowed, theirs.reason)
    assert ours.allowed is case.allowed
    if case.reason is not None:
        assert ours.reason == case.reason


def test_the_node_file_loads_from_disk_as_well(tmp_path: Path, layouts: dict[str, Path]) -> None:
    """The hand-written files are real policy.json files (read back through --policy)."""
    node = load_policy(write_json(tmp_path / "policy.json", DOCS_PUBLIC_KEY_FILE))
    assert decide(node, layouts["a-tag"], f"{APP}:1.0", None).allowed


def test_decisions_name_the_objects(tmp_path: Path, layouts: dict[str, Path]) -> None:
    policy = load_objects(tmp_path, CASES["precedence-wider-namespace-scope"])
    decision = decide(policy, layouts["b-other-tag"], "registry.example.com/other:1", "shop")
    assert decision.scope is not None
    assert decision.scope.name == "registry.example.com (ImagePolicy shop/registry; namespace shop)"
