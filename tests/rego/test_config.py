"""Configuring a Rego evaluator: what is accepted, and what is a PolicyError at load."""

from __future__ import annotations

from typing import Any

import pytest

from sigpolicy.errors import PolicyError
from sigpolicy.policy.rego import (
    EmbeddedEvaluator,
    OpaServerEvaluator,
    RegoOutcome,
    rego_evaluator,
)
from tests.support.fakeopa import FakeOpaServer

MODULE = 'package sigpolicy\n\nimport rego.v1\n\nallow if input.namespace == "shop"\n'


@pytest.mark.parametrize(
    ("path", "dotted"),
    [
        ("sigpolicy/allow", "data.sigpolicy.allow"),
        ("/sigpolicy/allow", "data.sigpolicy.allow"),
        ("data.sigpolicy.allow", "data.sigpolicy.allow"),
        ("sigpolicy.allow", "data.sigpolicy.allow"),
        (" kubernetes.admission.images_ok ", "data.kubernetes.admission.images_ok"),
        ("data/allow", "data.data.allow"),
    ],
)
def test_accepted_paths(path: str, dotted: str) -> None:
    with OpaServerEvaluator("http://127.0.0.1:8181", path) as evaluator:
        assert evaluator.ref.dotted == dotted


@pytest.mark.parametrize(
    ("path", "complaint"),
    [
        ("", "names no document"),
        ("data", "names no document"),
        ("/", "names no document"),
        ("sigpolicy/allow.now", "mixes"),
        ("sigpolicy/image-ok", "not a plain identifier"),
        ("sigpolicy//allow", "not a plain identifier"),
        ('data.sigpolicy["allow"]', "not a plain identifier"),
        ("x := data.sigpolicy.allow", "not a query"),
    ],
)
def test_refused_paths(path: str, complaint: str) -> None:
    with pytest.raises(PolicyError, match=complaint):
        OpaServerEvaluator("http://127.0.0.1:8181", path)


@pytest.mark.parametrize(
    ("url", "described"),
    [
        ("http://opa:8181", "OPA at http://opa:8181, data.sigpolicy.allow"),
        ("https://opa.example", "OPA at https://opa.example:443, data.sigpolicy.allow"),
        ("http://opa.example/", "OPA at http://opa.example:80, data.sigpolicy.allow"),
        ("http://[::1]:8181", "OPA at http://[::1]:8181, data.sigpolicy.allow"),
    ],
)
def test_accepted_urls(url: str, described: str) -> None:
    with OpaServerEvaluator(url, "sigpolicy/allow") as evaluator:
        assert evaluator.description == described


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("opa:8181", "must start with http"),
        ("ftp://opa:8181", "must start with http"),
        ("http://", "names no host"),
        ("http://opa:8181/v1/data", "scheme://host\\[:port\\] only"),
        ("http://opa:8181?pretty=true", "scheme://host\\[:port\\] only"),
        ("http://user:pw@opa:8181", "give the token as `token`"),
        ("http://opa:99999", "is not a URL"),
    ],
)
def test_refused_urls(url: str, complaint: str) -> None:
    with pytest.raises(PolicyError, match=complaint):
        OpaServerEvaluator(url, "sigpolicy/allow")


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), float("inf"), True, "2"])
def test_refused_timeouts(timeout: Any) -> None:
    with pytest.raises(PolicyError, match="Rego timeout must be"):
        OpaServerEvaluator("http://opa:8181", "sigpolicy/allow", timeout=timeout)


def test_integer_timeout_is_seconds() -> None:
    with OpaServerEvaluator("http://opa:8181", "sigpolicy/allow", timeout=3) as evaluator:
        assert evaluator.timeout == 3.0


async def test_factory_makes_a_server_evaluator(opa: FakeOpaServer) -> None:
    opa.register("sigpolicy/allow", lambda doc: True)
    evaluator = rego_evaluator("server", url=opa.url, path="sigpolicy/allow", timeout=1.0)
    with evaluator:
        outcome = await evaluator.evaluate({"namespace": "shop"})

    assert isinstance(evaluator, OpaServerEvaluator)
    assert outcome.allowed


async def test_factory_makes_an_embedded_evaluator() -> None:
    evaluator = rego_evaluator("embedded", modules={"p.rego": MODULE}, query="sigpolicy/allow")
    with evaluator:
        outcome = await evaluator.evaluate({"namespace": "shop"})

    assert isinstance(evaluator, EmbeddedEvaluator)
    assert outcome.allowed


@pytest.mark.parametrize(
    ("kind", "settings", "complaint"),
    [
        ("server", {"url": "http://opa:8181"}, "missing a required argument: 'path'"),
        ("server", {"url": "http://opa", "path": "a/b", "retries": 3}, "unexpected keyword"),
        ("embedded", {"modules": {"p.rego": MODULE}}, "missing a required argument: 'query'"),
        ("wasm", {}, "unknown Rego engine 'wasm'"),
    ],
    ids=["server-without-path", "server-unknown-setting", "embedded-without-query", "wasm"],
)
def test_factory_refuses_settings_that_do_not_fit(
    kind: Any, settings: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(PolicyError, match=complaint):
        rego_evaluator(kind, **settings)


def test_outcome_has_no_truth_value() -> None:
    outcome = RegoOutcome(False, "data.sigpolicy.allow is false", False)

    with pytest.raises(TypeError, match=r"test \.allowed"):
        bool(outcome)
