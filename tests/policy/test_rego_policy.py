"""A ``rego`` requirement in a YAML policy: the input document sigpolicy sends to OPA (through
the real client, to a local endpoint speaking OPA's Data API) and what OPA's answer decides."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sigpolicy.policy.decision import Decision
from sigpolicy.policy.load import load_policy
from sigpolicy.resolve.resolver import resolve_evidence
from sigpolicy.sources.catalog import CatalogSource
from sigpolicy.trust.load import load_trust_store
from tests.support.fakeopa import FakeOpaServer

EXAMPLES = Path(__file__).resolve().parents[2] / "sigpolicy" / "examples"


@pytest.fixture
def opa() -> Iterator[FakeOpaServer]:
    with FakeOpaServer() as server:
        yield server


def decide(tmp_path: Path, require: str, namespace: str = "shop") -> Decision:
    folder = tmp_path / "ex"
    if not folder.exists():
        shutil.copytree(EXAMPLES, folder)
    (folder / "p.yaml").write_text(
        "apiVersion: sigpolicy.io/v1alpha1\nkind: ImagePolicy\ntrust: trust.yaml\nscopes:\n"
        f"  - name: shop\n    images: ['registry.example.com/shop/**']\n    require:\n{require}"
    )
    store = load_trust_store(folder / "trust.yaml")
    policy = load_policy(folder / "p.yaml", lambda: store)

    async def run() -> Decision:
        evidence = await resolve_evidence(
            CatalogSource(folder / "catalog"),
            "image-registry.openshift-image-registry.svc:5000/shop/checkout:1.4.2",
            namespace=namespace,
        )
        return await policy.decide(evidence)

    return asyncio.run(run())


def test_server_allows_and_receives_the_verified_signatures(
    opa: FakeOpaServer, tmp_path: Path
) -> None:
    def policy(doc: dict[str, Any]) -> Any:
        entries = {s["trustEntry"] for s in doc["signatures"] if s["trusted"]}
        return {"allow": {"release", "ci"} <= entries, "reason": f"signed by {sorted(entries)}"}

    opa.register("sigpolicy/allow", policy)
    decision = decide(
        tmp_path, f"      - rego: {{server: {{url: '{opa.url}', path: sigpolicy/allow}}}}\n"
    )
    assert decision.allowed, decision.message
    assert "signed by ['ci', 'release']" in decision.message
    sent = opa.inputs("sigpolicy/allow")[0]
    assert sent["namespace"] == "shop"
    assert (
        sent["image"]["reference"]
        == "image-registry.openshift-image-registry.svc:5000/shop/checkout:1.4.2"
    )
    assert sent["image"]["resolvedReference"].startswith(
        "registry.example.com/shop/checkout@sha256:"
    )
    assert sent["image"]["digest"].startswith("sha256:")
    assert len(sent["signatures"]) == 4
    assert {s["reason"] for s in sent["signatures"]} == {
        None,
        "unknown-key",
    }  # identity is Rego's call


def test_server_undefined_denies_with_the_cause(opa: FakeOpaServer, tmp_path: Path) -> None:
    decision = decide(
        tmp_path, f"      - rego: {{server: {{url: '{opa.url}', path: sigpolicy/missing}}}}\n"
    )
    assert not decision.allowed
    assert str(decision.reason) == "policy-denied" and "undefined" in decision.message


def test_server_down_denies(opa: FakeOpaServer, tmp_path: Path) -> None:
    url = opa.url
    opa.stop()
    decision = decide(
        tmp_path, f"      - rego: {{server: {{url: '{url}', path: sigpolicy/allow, timeout: 1}}}}\n"
    )
    assert not decision.allowed and str(decision.reason) == "source-unavailable"


def test_embedded_module(tmp_path: Path) -> None:
    folder = tmp_path / "ex"
    shutil.copytree(EXAMPLES, folder)
    (folder / "p.rego").write_text(
        "package sigpolicy\n\ndefault allow := false\n\n"
        'allow if {\n  some s in input.signatures\n  s.trusted\n  s.trustEntry == "release"\n}\n'
    )
    decision = decide(
        tmp_path, "      - rego: {embedded: {modules: [p.rego], query: data.sigpolicy.allow}}\n"
    )
    assert decision.allowed, decision.message
