"""Decisions of the YAML policy over the example catalog (two trusted keys, four signatures):
k-of-n, required entries, issuer constraints, modes, exemptions, noMatch; and the two formats
giving the same decision for equivalent policies."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from sigpolicy.policy.decision import Decision
from sigpolicy.policy.engine import Policy
from sigpolicy.policy.load import load_policy
from sigpolicy.resolve.resolver import resolve_evidence
from sigpolicy.sources.catalog import CatalogSource
from sigpolicy.trust.load import load_trust_store

EXAMPLES = Path(__file__).resolve().parents[2] / "sigpolicy" / "examples"
IMAGE = "image-registry.openshift-image-registry.svc:5000/shop/checkout:1.4.2"
HEADER = "apiVersion: sigpolicy.io/v1alpha1\nkind: ImagePolicy\ntrust: trust.yaml\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    return tmp_path / "ex"


def decide(
    folder: Path, policy_text: str, image: str = IMAGE, namespace: str | None = "shop"
) -> Decision:
    path = folder / "p.yaml"
    path.write_text(policy_text)
    store = load_trust_store(folder / "trust.yaml")
    policy = load_policy(path, lambda: store)

    async def run() -> Decision:
        evidence = await resolve_evidence(
            CatalogSource(folder / "catalog"), image, namespace=namespace
        )
        return await policy.decide(evidence)

    return asyncio.run(run())


def scope(require: str, extra: str = "", images: str = '["registry.example.com/shop/**"]') -> str:
    return (
        HEADER + extra + f"scopes:\n  - name: shop\n    images: {images}\n    require:\n{require}"
    )


CASES = {
    "any-trusted-key": ("      - signedBy: {}\n", "", True, None),
    "only-ci-entry": ("      - signedBy: {trust: [ci]}\n", "", True, None),
    "two-of-two": ("      - signedBy: {threshold: 2}\n", "", True, None),
    "required-release": (
        "      - signedBy: {trust: [ci, release], required: [release]}\n",
        "",
        True,
        None,
    ),
    "issuer-constraint-met": (
        "      - signedBy: {issuer: {organization: Example Corp}}\n",
        "",
        True,
        None,
    ),
    "issuer-constraint-unmet": (
        "      - signedBy: {issuer: {organization: Other Corp}}\n",
        "",
        False,
        "unknown-key",
    ),
    "exact-identity-needs-tag": (
        "      - signedBy: {identity: {type: matchExact}}\n",
        "",
        False,
        "identity-mismatch",
    ),
    "repository-identity": (
        "      - signedBy: {identity: {type: matchRepository}}\n",
        "",
        True,
        None,
    ),
    "exact-repository-elsewhere": (
        "      - signedBy: {identity: {type: exactRepository, dockerRepository: registry.example.com/shop/payments}}\n",
        "",
        True,
        None,
    ),
    "reject": ("      - reject: {}\n", "", False, "policy-denied"),
    "any-of-reject-or-signed": ("      - anyOf: [{reject: {}}, {signedBy: {}}]\n", "", True, None),
    "all-of-signed-and-reject": (
        "      - allOf: [{signedBy: {}}, {reject: {}}]\n",
        "",
        False,
        "policy-denied",
    ),
    "threshold-two-of-three": (
        "      - threshold: {count: 2, of: [{signedBy: {trust: [ci]}}, {signedBy: {trust: [release]}}, {reject: {}}]}\n",
        "",
        True,
        None,
    ),
}


@pytest.mark.parametrize(
    ("require", "extra", "allowed", "reason"), CASES.values(), ids=CASES.keys()
)
def test_requirements(
    folder: Path, require: str, extra: str, allowed: bool, reason: str | None
) -> None:
    decision = decide(folder, scope(require, extra))
    assert decision.would_allow is allowed, decision.message
    assert (str(decision.reason) if decision.reason else None) == reason


def test_k_of_n_counts_distinct_keys_and_says_so(folder: Path) -> None:
    # Only the release entry may count: one key, two needed.
    text = (
        HEADER
        + "scopes:\n  - name: shop\n    images: ['registry.example.com/shop/**']\n    require:\n      - signedBy: {trust: [release, ci], threshold: 2, required: [release]}\n"
    )
    assert decide(folder, text).would_allow
    # Drop the CI key from the trust store: the threshold can no longer be met at all.
    (folder / "trust.yaml").write_text((folder / "trust.yaml").read_text().split("  - name: ci")[0])
    text = (
        HEADER
        + "scopes:\n  - name: shop\n    images: ['registry.example.com/shop/**']\n    require:\n      - signedBy: {threshold: 1}\n"
    )
    decision = decide(folder, text)
    assert decision.would_allow
    assert (
        decision.outcome is not None
        and "1 trusted key(s) signed (release)" in decision.outcome.message
    )


MODES = {
    "enforce-denies": ("enforce", False, False),
    "warn-admits": ("warn", True, False),
    "audit-admits": ("audit", True, False),
}


@pytest.mark.parametrize(("mode", "allowed", "would_allow"), MODES.values(), ids=MODES.keys())
def test_modes(folder: Path, mode: str, allowed: bool, would_allow: bool) -> None:
    decision = decide(folder, scope("      - reject: {}\n", f"mode: {mode}\n"))
    assert (decision.allowed, decision.would_allow, decision.mode) == (allowed, would_allow, mode)
    assert decision.warning is not None


def test_scope_mode_overrides_the_policy_mode(folder: Path) -> None:
    text = (
        HEADER
        + "mode: enforce\nscopes:\n  - name: shop\n    images: ['registry.example.com/shop/**']\n    mode: audit\n    require:\n      - reject: {}\n"
    )
    decision = decide(folder, text)
    assert decision.allowed and decision.mode == "audit"


NO_MATCH = {"deny": (False, False), "warn": (True, False), "allow": (True, True)}


@pytest.mark.parametrize(("setting", "expected"), NO_MATCH.items(), ids=NO_MATCH.keys())
def test_no_match(folder: Path, setting: str, expected: tuple[bool, bool]) -> None:
    text = scope("      - signedBy: {}\n", f"noMatch: {setting}\n", images='["quay.io/**"]')
    decision = decide(folder, text)
    assert (decision.allowed, decision.would_allow) == expected
    assert decision.scope is None


def test_exemption_shows_its_reason(folder: Path) -> None:
    extra = "exemptions:\n  - name: platform\n    reason: verified elsewhere\n    namespaces: [kube-system]\n    images: ['registry.example.com/**']\n"
    decision = decide(folder, scope("      - reject: {}\n", extra), namespace="kube-system")
    assert decision.allowed and decision.exemption is not None
    assert decision.exemption.reason == "verified elsewhere"
    assert "namespaces kube-system" in decision.exemption.why
    assert not decide(folder, scope("      - reject: {}\n", extra), namespace="shop").allowed


def test_both_formats_agree(folder: Path, tmp_path: Path) -> None:
    keys = str(folder / "signatures" / "trusted-keys.asc")
    containers = {
        "default": [{"type": "reject"}],
        "transports": {
            "docker": {
                "registry.example.com/shop": [
                    {"type": "signedBy", "keyType": "GPGKeys", "keyPath": keys}
                ]
            }
        },
    }
    (folder / "c.json").write_text(json.dumps(containers))
    yaml_policy = scope("      - signedBy: {}\n", images='["registry.example.com/shop"]')
    for image in (IMAGE, "registry.example.com/other/app:1"):
        store = load_trust_store(folder / "trust.yaml")
        ours = decide(folder, yaml_policy, image=image)
        theirs_policy = load_policy(folder / "c.json")

        async def run(image: str = image, theirs_policy: Policy = theirs_policy) -> Decision:
            evidence = await resolve_evidence(
                CatalogSource(folder / "catalog"), image, namespace="shop"
            )
            return await theirs_policy.decide(evidence)

        theirs = asyncio.run(run())
        assert ours.would_allow == theirs.would_allow, image
        store.close()
