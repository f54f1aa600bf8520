"""OpaServerEvaluator against a local endpoint that speaks OPA's Data API.

Each case is named after what it proves. Every way of not getting a ``true`` (or an object
whose ``allow`` is ``true``) denies, with the cause in words and a reason class.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Any

import pytest

from sigpolicy.policy.rego import OpaServerEvaluator, RegoOutcome
from sigpolicy.reasons import Reason
from tests.rego.samples import sample_input, trusted_by
from tests.support.fakeopa import UNDEFINED, FakeOpaServer, Policy

PATH = "sigpolicy/allow"
NOT_A_DECISION = ", not true or an object with a boolean allow"


async def _evaluate(opa: FakeOpaServer, policy: Policy, *, path: str = PATH) -> RegoOutcome:
    opa.register("sigpolicy/allow", policy)
    with OpaServerEvaluator(opa.url, path, timeout=5.0) as evaluator:
        return await evaluator.evaluate(sample_input(trusted_by("release")))


@dataclass(frozen=True)
class DecisionCase:
    name: str
    answer: Any
    allowed: bool
    cause: str

    def policy(self, _input: Any) -> Any:
        return self.answer


DECISIONS = [
    DecisionCase("true-allows", True, True, "data.sigpolicy.allow is true"),
    DecisionCase("false-denies", False, False, "data.sigpolicy.allow is false"),
    DecisionCase(
        "undefined-denies",
        UNDEFINED,
        False,
        "undefined: data.sigpolicy.allow has no value for this input",
    ),
    DecisionCase("null-denies", None, False, "data.sigpolicy.allow is null" + NOT_A_DECISION),
    DecisionCase(
        "string-true-denies", "true", False, "data.sigpolicy.allow is a string" + NOT_A_DECISION
    ),
    DecisionCase("number-denies", 1, False, "data.sigpolicy.allow is a number" + NOT_A_DECISION),
    DecisionCase(
        "array-denies", [True], False, "data.sigpolicy.allow is an array" + NOT_A_DECISION
    ),
    DecisionCase(
        "object-allow-true-gives-its-reason",
        {"allow": True, "reason": "signed by the release key"},
        True,
        "signed by the release key",
    ),
    DecisionCase(
        "object-allow-false-gives-its-reason",
        {"allow": False, "reason": "prod needs two signatures"},
        False,
        "prod needs two signatures",
    ),
    DecisionCase(
        "object-allow-false-gives-its-message",
        {"allow": False, "message": "no release signature"},
        False,
        "no release signature",
    ),
    DecisionCase(
        "object-allow-true-without-reason",
        {"allow": True},
        True,
        "data.sigpolicy.allow.allow is true",
    ),
    DecisionCase(
        "object-without-allow-denies",
        {"reason": "looks fine"},
        False,
        "data.sigpolicy.allow has no allow, not a boolean (looks fine)",
    ),
    DecisionCase(
        "object-allow-string-denies",
        {"allow": "true"},
        False,
        "data.sigpolicy.allow has allow a string, not a boolean",
    ),
    DecisionCase(
        "object-allow-null-denies",
        {"allow": None},
        False,
        "data.sigpolicy.allow has allow null, not a boolean",
    ),
]


@pytest.mark.parametrize("case", DECISIONS, ids=lambda c: c.name)
async def test_decision_value(opa: FakeOpaServer, case: DecisionCase) -> None:
    outcome = await _evaluate(opa, case.policy)

    assert outcome.allowed is case.allowed
    assert outcome.cause == case.cause
    assert outcome.reason is (None if case.allowed else Reason.POLICY_DENIED)
    assert outcome.value == (None if case.answer is UNDEFINED else case.answer)


async def test_policy_decides_on_the_input_it_was_sent(opa: FakeOpaServer) -> None:
    opa.register("sigpolicy/allow", lambda doc: doc["namespace"] != "prod")
    with OpaServerEvaluator(opa.url, PATH) as evaluator:
        shop = await evaluator.evaluate(sample_input(namespace="shop"))
        prod = await evaluator.evaluate(sample_input(namespace="prod"))

    assert shop.allowed
    assert not prod.allowed
    assert prod.cause == "data.sigpolicy.allow is false"


async def test_request_is_a_data_api_post_of_the_input(opa: FakeOpaServer) -> None:
    opa.register("sigpolicy/allow", lambda doc: True)
    document = sample_input(trusted_by("release"))
    with OpaServerEvaluator(opa.url, PATH) as evaluator:
        await evaluator.evaluate(document)

    (request,) = opa.requests
    assert request.method == "POST"
    assert request.path == "/v1/data/sigpolicy/allow"
    assert request.headers["content-type"] == "application/json"
    assert request.body == {"input": document}
    assert "authorization" not in request.headers


@pytest.mark.parametrize(
    "path", ["sigpolicy/allow", "/sigpolicy/allow", "data.sigpolicy.allow", "sigpolicy.allow"]
)
async def test_path_forms_address_the_same_document(opa: FakeOpaServer, path: str) -> None:
    outcome = await _evaluate(opa, lambda doc: True, path=path)

    assert outcome.allowed
    assert [r.path for r in opa.requests] == ["/v1/data/sigpolicy/allow"]


async def test_package_document_is_an_object_with_allow(opa: FakeOpaServer) -> None:
    opa.register("sigpolicy/reason", lambda doc: "namespace shop may run it")
    outcome = await _evaluate(opa, lambda doc: True, path="data.sigpolicy")

    assert outcome.allowed
    assert outcome.value == {"allow": True, "reason": "namespace shop may run it"}
    assert outcome.cause == "namespace shop may run it"


async def test_token_is_sent_as_bearer() -> None:
    with FakeOpaServer(token="s3cret") as opa:  # noqa: S106 - a fake server's fake token
        opa.register("sigpolicy/allow", lambda doc: True)
        with OpaServerEvaluator(opa.url, PATH, token="s3cret") as evaluator:  # noqa: S106
            outcome = await evaluator.evaluate(sample_input())

    assert outcome.allowed
    assert opa.requests[0].headers["authorization"] == "Bearer s3cret"


async def test_missing_token_denies_with_opa_401() -> None:
    with FakeOpaServer(token="s3cret") as opa:  # noqa: S106 - a fake server's fake token
        opa.register("sigpolicy/allow", lambda doc: True)
        with OpaServerEvaluator(opa.url, PATH) as evaluator:
            outcome = await evaluator.evaluate(sample_input())

    assert not outcome.allowed
    assert outcome.reason is Reason.POLICY_DENIED
    assert outcome.cause == "OPA answered HTTP 401 (unauthorized): must authenticate"


# --- the server fails: every failure denies, with the cause ---


async def test_http_500_denies_with_opa_code_and_message(opa: FakeOpaServer) -> None:
    opa.fail(PATH, 500, code="internal_error", message="eval_conflict_error: two outputs")
    outcome = await _evaluate(opa, lambda doc: True)

    assert not outcome.allowed
    assert outcome.reason is Reason.POLICY_DENIED
    assert (
        outcome.cause == "OPA answered HTTP 500 (internal_error): eval_conflict_error: two outputs"
    )
    assert len(opa.requests) == 1  # one decision is one request: no retries


async def test_http_502_with_plain_text_denies_with_the_text(opa: FakeOpaServer) -> None:
    opa.fail(PATH, 502, raw=b"bad gateway\n")
    outcome = await _evaluate(opa, lambda doc: True)

    assert not outcome.allowed
    assert outcome.cause == "OPA answered HTTP 502: bad gateway"


async def test_http_400_for_a_bad_path_denies(opa: FakeOpaServer) -> None:
    opa.fail(PATH, 400, code="invalid_parameter", message="invalid path")
    outcome = await _evaluate(opa, lambda doc: True)

    assert not outcome.allowed
    assert outcome.cause == "OPA answered HTTP 400 (invalid_parameter): invalid path"


async def test_policy_that_raises_is_an_opa_500(opa: FakeOpaServer) -> None:
    outcome = await _evaluate(opa, lambda doc: doc["no-such-key"])

    assert not outcome.allowed
    assert outcome.cause.startswith("OPA answered HTTP 500 (internal_error): KeyError")


async def test_garbage_body_denies(opa: FakeOpaServer) -> None:
    opa.garbage(PATH, b"<html>gateway</html>")
    outcome = await _evaluate(opa, lambda doc: True)

    assert not outcome.allowed
    assert outcome.reason is Reason.POLICY_DENIED
    assert outcome.cause == f"OPA at {opa.url} answered with non-JSON"


async def test_json_that_is_not_a_response_object_denies(opa: FakeOpaServer) -> None:
    opa.garbage(PATH, b"[true]")
    outcome = await _evaluate(opa, lambda doc: True)

    assert not outcome.allowed
    assert outcome.cause == f"OPA at {opa.url} answered list, not a Data API response object"


async def test_hang_beyond_timeout_denies_with_timeout(opa: FakeOpaServer) -> None:
    opa.register("sigpolicy/allow", lambda doc: True)
    opa.hang(PATH)
    with OpaServerEvaluator(opa.url, PATH, timeout=0.2) as evaluator:
        outcome = await evaluator.evaluate(sample_input())
        opa.release()

    assert not outcome.allowed
    assert outcome.reason is Reason.TIMEOUT
    assert outcome.cause.endswith("no answer within 0.2 s")


async def test_next_decision_after_a_timeout_is_answered(opa: FakeOpaServer) -> None:
    opa.register("sigpolicy/allow", lambda doc: True)
    opa.hang(PATH)
    with OpaServerEvaluator(opa.url, PATH, timeout=0.2) as evaluator:
        first = await evaluator.evaluate(sample_input())
        opa.release()
        second = await evaluator.evaluate(sample_input())

    assert first.reason is Reason.TIMEOUT
    assert second.allowed


async def test_connection_refused_denies_as_source_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        with OpaServerEvaluator(f"http://127.0.0.1:{port}", PATH) as evaluator:
            outcome = await evaluator.evaluate(sample_input())

    assert not outcome.allowed
    assert outcome.reason is Reason.SOURCE_UNAVAILABLE
    assert outcome.cause == f"OPA at http://127.0.0.1:{port} is unreachable: connection refused"


async def test_stopped_server_denies_as_source_unavailable(opa: FakeOpaServer) -> None:
    opa.register("sigpolicy/allow", lambda doc: True)
    with OpaServerEvaluator(opa.url, PATH) as evaluator:
        before = await evaluator.evaluate(sample_input())
        opa.stop()
        after = await evaluator.evaluate(sample_input())

    assert before.allowed
    assert not after.allowed
    assert after.reason is Reason.SOURCE_UNAVAILABLE


async def test_input_that_is_not_json_denies_without_asking(opa: FakeOpaServer) -> None:
    opa.register("sigpolicy/allow", lambda doc: True)
    with OpaServerEvaluator(opa.url, PATH) as evaluator:
        outcome = await evaluator.evaluate({"namespace": object()})
        nan = await evaluator.evaluate({"score": float("nan")})

    assert not outcome.allowed
    assert outcome.cause.startswith("the input document is not JSON")
    assert not nan.allowed
    assert opa.requests == []


async def test_closed_evaluator_denies(opa: FakeOpaServer) -> None:
    opa.register("sigpolicy/allow", lambda doc: True)
    evaluator = OpaServerEvaluator(opa.url, PATH)
    evaluator.close()
    outcome = await evaluator.evaluate(sample_input())

    assert not outcome.allowed
    assert outcome.cause == "the Rego evaluator is closed"


async def test_concurrent_decisions_each_get_their_own_answer(opa: FakeOpaServer) -> None:
    opa.register("sigpolicy/allow", lambda doc: doc["namespace"].endswith("-ok"))
    namespaces = [f"team{i}-{'ok' if i % 2 else 'no'}" for i in range(24)]
    with OpaServerEvaluator(opa.url, PATH) as evaluator:
        outcomes = await asyncio.gather(
            *(evaluator.evaluate(sample_input(namespace=ns)) for ns in namespaces)
        )

    assert [o.allowed for o in outcomes] == [ns.endswith("-ok") for ns in namespaces]
    assert sorted(doc["namespace"] for doc in opa.inputs(PATH)) == sorted(namespaces)
