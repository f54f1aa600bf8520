"""The MCO's translation, piece by piece: each root of trust and identity rule as the
requirement it renders (the shapes of the MCO's own tests and OpenShift's documented node
files), scope nesting with runtime-utils' rules, and the per-namespace files."""

from __future__ import annotations

import pytest

from sigpolicy.policy.openshift_objects import parse_policy_object
from sigpolicy.policy.openshift_translate import (
    MCO_TEMPLATE,
    nesting_parent,
    requirement,
    scope_is_nested_inside,
    translate,
)
from tests.cosign import kit
from tests.openshift_policy.kit import (
    JsonObject,
    b64,
    cluster_policy,
    fulcio,
    identity,
    image_policy,
    pki,
    public_key,
)
from tests.support.sigstore_kit import FakeFulcio, FakePKI, FakeRekor, pem

KEY = kit.public_pem(kit.new_key("p256"))
REKOR = FakeRekor()
REKOR_PEM = REKOR.public_pem.encode()
FULCIO = FakeFulcio()
FULCIO_PEM = pem(FULCIO.root.cert).encode()
ORG = FakePKI()
ROOTS = pem(ORG.root.cert).encode()
assert ORG.intermediate is not None
INTERMEDIATES = pem(ORG.intermediate.cert).encode()
MATCH = {"type": "matchRepoDigestOrExact"}

RENDERED: dict[str, tuple[JsonObject, JsonObject | None, JsonObject]] = {
    "public-key": (public_key(KEY), None, {"type": "sigstoreSigned", "keyData": b64(KEY), "signedIdentity": MATCH}),
    "public-key-with-rekor": (
        public_key(KEY, REKOR_PEM), None,
        {"type": "sigstoreSigned", "keyData": b64(KEY), "rekorPublicKeyData": b64(REKOR_PEM), "signedIdentity": MATCH},
    ),
    "fulcio-with-rekor-remap": (
        fulcio(FULCIO_PEM, REKOR_PEM, "https://oidc.example.com", "builder@example.com"),
        identity("RemapIdentity", prefix="registry.example.com", signedPrefix="mirror.example.com"),
        {
            "type": "sigstoreSigned",
            "fulcio": {"caData": b64(FULCIO_PEM), "oidcIssuer": "https://oidc.example.com", "subjectEmail": "builder@example.com"},
            "rekorPublicKeyData": b64(REKOR_PEM),
            "signedIdentity": {"type": "remapIdentity", "prefix": "registry.example.com", "signedPrefix": "mirror.example.com"},
        },
    ),
    "pki-both-subjects-match-repository": (
        pki(ROOTS, INTERMEDIATES, "release@example.com", "build.example.com"),
        identity("MatchRepository"),
        {
            "type": "sigstoreSigned",
            "pki": {"caRootsData": b64(ROOTS), "caIntermediatesData": b64(INTERMEDIATES), "subjectEmail": "release@example.com", "subjectHostname": "build.example.com"},
            "signedIdentity": {"type": "matchRepository"},
        },
    ),
    "pki-hostname-only-exact-repository": (
        pki(ROOTS, None, None, "*.build.example.com"),
        identity("ExactRepository", repository="registry.example.com/shop/app"),
        {
            "type": "sigstoreSigned",
            "pki": {"caRootsData": b64(ROOTS), "subjectHostname": "*.build.example.com"},
            "signedIdentity": {"type": "exactRepository", "dockerRepository": "registry.example.com/shop/app"},
        },
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", RENDERED)
def test_each_root_of_trust_renders_as_the_mco_writes_it(name: str) -> None:
    trust, signed, expected = RENDERED[name]
    parsed = parse_policy_object(
        cluster_policy("p", ["registry.example.com"], trust, signed), origin="t.yaml"
    )
    assert requirement(parsed) == expected


NESTING: dict[str, tuple[str, str, bool]] = {
    "equal": ("registry.example.com/a", "registry.example.com/a", True),
    "repository-in-host": ("registry.example.com/a/b", "registry.example.com", True),
    "repository-in-namespace": ("registry.example.com/a/b", "registry.example.com/a", True),
    "prefix-that-is-not-a-path": ("registry.example.com/ab", "registry.example.com/a", False),
    "host-in-repository": ("registry.example.com", "registry.example.com/a", False),
    "tag-not-in-its-repository": ("registry.example.com/a:1", "registry.example.com/a", False),
    "digest-not-in-its-repository": (f"registry.example.com/a@{kit.DIGEST}", "registry.example.com/a", False),
    "host-in-wildcard": ("registry.example.com", "*.example.com", True),
    "path-in-wildcard": ("registry.example.com/a/b", "*.example.com", True),
    "port-in-wildcard": ("registry.example.com:5000/a", "*.example.com", True),
    "tagged-path-not-in-wildcard": ("registry.example.com/a:1", "*.example.com", False),
    "wildcard-in-wildcard": ("*.sub.example.com", "*.example.com", True),
    "bare-domain-not-in-its-wildcard": ("example.com", "*.example.com", False),
    "other-domain-not-in-wildcard": ("registry.example.org", "*.example.com", False),
    "wildcard-not-in-host": ("*.example.com", "registry.example.com", False),
}  # fmt: skip


@pytest.mark.parametrize("name", NESTING)
def test_scope_nesting_follows_runtime_utils(name: str) -> None:
    sub, sup, nested = NESTING[name]
    assert scope_is_nested_inside(sub, sup) is nested


@pytest.mark.parametrize("name", NESTING)
def test_the_indexed_lookup_agrees_with_the_rule(name: str) -> None:
    sub, sup, nested = NESTING[name]
    others = frozenset({"unrelated.example.net", "*.example.net", "registry.example.com/zzz"})
    assert nesting_parent(sub, others | {sup}) == (sup if nested else None)


def test_namespace_files_inherit_the_cluster_file_and_only_their_own_scopes() -> None:
    objects = [
        parse_policy_object(o, origin="t.yaml")
        for o in (
            cluster_policy("c", ["registry.example.com/shop"], public_key(KEY)),
            image_policy("a", "x", ["quay.io/a", "registry.example.com/shop/app"], public_key(KEY)),
            image_policy("b", "y", ["quay.io/b/c/d/e"], public_key(KEY)),
        )
    ]
    translation = translate(objects)
    assert set(translation.namespaces) == {"a", "b"}
    assert set(translation.cluster["transports"]["docker"]) == {"registry.example.com/shop"}
    assert set(translation.namespaces["a"]["transports"]["docker"]) == {
        "registry.example.com/shop",
        "quay.io/a",
    }
    # atomic cannot express three or more slashes
    assert "quay.io/b/c/d/e" not in translation.namespaces["b"]["transports"]["atomic"]
    assert translation.namespaces["b"]["transports"]["docker-daemon"] == {
        "": [{"type": "insecureAcceptAnything"}]
    }
    assert [c.scope for c in translation.conflicts] == ["registry.example.com/shop/app"]
    assert translation.document_for("c") is translation.cluster
    assert translate([]).cluster == MCO_TEMPLATE
