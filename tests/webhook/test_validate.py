"""The webhook's answers, in process over ASGI, with a scripted admission: what the app does
with a decision, a bad review, a bad moment (not ready, internal error), and what it counts."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sigpolicy.admission.model import AdmissionOutcome, ReviewRequest
from sigpolicy.errors import SourceError
from tests.webhook.support import (
    FakeAdmission,
    allowed_outcome,
    denied_outcome,
    fake_state,
    in_process,
    pod_review,
    response_of,
)
from webhook.state import Runtime, WebhookSettings, WebhookState


def metric(exposition: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def test_allowed_review_is_a_full_review_echoing_the_uid() -> None:
    state, admission = fake_state(allowed_outcome())
    async with in_process(state) as client:
        reply = await client.post("/validate", json=pod_review(["x"], uid="allowed-uid"))
    assert reply.json()["apiVersion"] == "admission.k8s.io/v1"
    assert response_of(reply) == {"uid": "allowed-uid", "allowed": True}
    assert admission.seen[0].namespace == "shop"


async def test_denied_review_carries_code_reason_and_message() -> None:
    state, _ = fake_state(denied_outcome())
    async with in_process(state) as client:
        response = response_of(await client.post("/validate", json=pod_review(["x"])))
    assert response["allowed"] is False
    assert response["status"] == {
        "code": 403,
        "reason": "unsigned",
        "message": "container c0 (containers) image x: scope shop: unsigned: no signature",
    }


async def test_v1beta1_review_is_answered_as_v1beta1() -> None:
    state, _ = fake_state(allowed_outcome())
    review = pod_review(["x"], api_version="admission.k8s.io/v1beta1", uid="beta")
    async with in_process(state) as client:
        reply = await client.post("/validate", json=review)
    assert reply.json()["apiVersion"] == "admission.k8s.io/v1beta1"
    assert response_of(reply)["uid"] == "beta"


def _without(path: tuple[str, ...]) -> bytes:
    review: Any = pod_review(["x"], uid="kept-uid")
    target = review
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return json.dumps(review).encode()


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


MALFORMED = [
    pytest.param(b"", "", "the body is not JSON", id="empty-body"),
    pytest.param(b"{not json", "", "the body is not JSON", id="not-json"),
    pytest.param(b"\xff\xfe\x00", "", "the body is not JSON", id="not-utf8"),
    pytest.param(b"[1, 2]", "", "not a JSON object", id="json-array"),
    pytest.param(_nested(100_000), "", "the body is not JSON", id="deeply-nested"),
    pytest.param(
        json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "Pod"}).encode(),
        "",
        "not an AdmissionReview",
        id="wrong-kind",
    ),
    pytest.param(
        json.dumps({"apiVersion": "admission.k8s.io/v2", "kind": "AdmissionReview"}).encode(),
        "",
        "not an AdmissionReview",
        id="unknown-version",
    ),
    pytest.param(_without(("request",)), "", "no request", id="no-request"),
    pytest.param(_without(("request", "uid")), "", "request.uid is missing", id="missing-uid"),
    pytest.param(
        _without(("request", "object")), "kept-uid", "request.object is missing", id="no-object"
    ),
    pytest.param(
        _without(("request", "operation")), "kept-uid", "request.operation", id="no-operation"
    ),
]


@pytest.mark.parametrize(("body", "uid", "says"), MALFORMED)
async def test_malformed_review_is_denied_with_code_400(body: bytes, uid: str, says: str) -> None:
    state, admission = fake_state(allowed_outcome())
    async with in_process(state) as client:
        reply = await client.post("/validate", content=body)
        exposition = (await client.get("/metrics")).text
    response = response_of(reply)
    assert response["uid"] == uid
    assert response["allowed"] is False
    assert response["status"]["code"] == 400
    assert response["status"]["reason"] == "malformed"
    assert says in response["status"]["message"]
    assert admission.seen == []
    assert metric(exposition, "sigpolicy_malformed_reviews_total") == 1
    labels = {"decision": "denied", "reason": "malformed"}
    assert metric(exposition, "sigpolicy_reviews_total", **labels) == 1


async def test_oversize_body_is_malformed_whether_declared_or_streamed() -> None:
    state, admission = fake_state(allowed_outcome(), max_review_bytes=2048)
    big = json.dumps(pod_review(["x" * 4096])).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 512):
            yield big[start : start + 512]

    async with in_process(state) as client:
        declared = response_of(await client.post("/validate", content=big))
        streamed = response_of(await client.post("/validate", content=chunks()))
        fits = response_of(await client.post("/validate", json=pod_review(["x"])))
    for response in (declared, streamed):
        assert response["status"]["code"] == 400
        assert "larger than 2048 bytes" in response["status"]["message"]
    assert fits["allowed"] is True
    assert len(admission.seen) == 1


async def test_a_body_that_trickles_in_is_cut_off() -> None:
    state, admission = fake_state(allowed_outcome(), body_seconds=0.2)
    body = json.dumps(pod_review(["x"])).encode()

    async def slowly() -> AsyncIterator[bytes]:
        yield body[:10]
        await asyncio.sleep(5)
        yield body[10:]

    async with in_process(state) as client:
        response = response_of(await client.post("/validate", content=slowly()))
    assert response["status"]["code"] == 400
    assert "did not arrive within 0.2 s" in response["status"]["message"]
    assert admission.seen == []


async def test_readyz_is_503_until_loaded_and_reviews_meanwhile_are_denied() -> None:
    release = asyncio.Event()
    admission = FakeAdmission(allowed_outcome())

    async def loader() -> Runtime:
        await release.wait()
        return Runtime(admission)

    state = WebhookState(WebhookSettings(), loader)
    async with in_process(state) as client:
        before = await client.get("/readyz")
        early = response_of(await client.post("/validate", json=pod_review(["x"], uid="early")))
        release.set()
        for _ in range(100):
            if state.ready:
                break
            await asyncio.sleep(0.01)
        after = await client.get("/readyz")
        late = response_of(await client.post("/validate", json=pod_review(["x"], uid="late")))
        health = await client.get("/healthz")
    assert before.status_code == 503
    assert before.json()["ready"] is False
    assert early["uid"] == "early"
    assert early["allowed"] is False
    assert early["status"]["code"] == 503
    assert early["status"]["reason"] == "not-ready"
    assert after.status_code == 200
    assert after.json() == {"ready": True, "source": None}
    assert late == {"uid": "late", "allowed": True}
    assert health.status_code == 200


async def test_readyz_reports_the_load_error_while_retrying() -> None:
    async def loader() -> Runtime:
        raise SourceError("cluster https://api.example:6443: connection refused")

    state = WebhookState(WebhookSettings(fail_open=True), loader)
    async with in_process(state) as client:
        for _ in range(100):
            if state.load_error is not None:
                break
            await asyncio.sleep(0.01)
        ready = await client.get("/readyz")
        admitted = response_of(await client.post("/validate", json=pod_review(["x"])))
    assert ready.status_code == 503
    assert "connection refused" in ready.json()["lastError"]
    assert admitted["allowed"] is True
    assert "fail-open" in admitted["warnings"][0]
    assert "connection refused" in admitted["status"]["message"]


@pytest.mark.parametrize("fail_open", [False, True], ids=["fail-closed", "fail-open"])
async def test_internal_error_is_an_answer_not_a_crash(fail_open: bool) -> None:
    state, admission = fake_state(RuntimeError("boom"), fail_open=fail_open)
    async with in_process(state) as client:
        first = response_of(await client.post("/validate", json=pod_review(["x"], uid="a")))
        admission.script = allowed_outcome()
        second = response_of(await client.post("/validate", json=pod_review(["x"], uid="b")))
        exposition = (await client.get("/metrics")).text
    assert first["uid"] == "a"
    assert first["allowed"] is fail_open
    assert first["status"]["code"] == 500
    assert "RuntimeError: boom" in first["status"]["message"]
    if fail_open:
        assert "admitted (fail-open)" in first["warnings"][0]
    else:
        assert first["status"]["reason"] == "internal-error"
    assert second == {"uid": "b", "allowed": True}
    decision = "allowed" if fail_open else "denied"
    labels = {"decision": decision, "reason": "internal-error", "kind": "Pod"}
    assert metric(exposition, "sigpolicy_reviews_total", **labels) == 1


async def test_warn_and_audit_admit_with_warnings_and_audit_annotations() -> None:
    state, _ = fake_state(allowed_outcome(warn=True, audit=True))
    async with in_process(state) as client:
        response = response_of(await client.post("/validate", json=pod_review(["x", "y"])))
        exposition = (await client.get("/metrics")).text
    assert response["allowed"] is True
    assert response["warnings"] == ["container c0 image x: would be denied in warn mode"]
    assert response["auditAnnotations"] == {
        "sigpolicy.io/would-deny": "c1: y: scope sandbox: unsigned"
    }
    assert metric(exposition, "sigpolicy_would_deny_total", mode="warn") == 1
    assert metric(exposition, "sigpolicy_would_deny_total", mode="audit") == 1


async def test_validate_never_patches_and_mutate_is_off_by_default() -> None:
    state, _ = fake_state(allowed_outcome())
    async with in_process(state) as client:
        validated = response_of(await client.post("/validate", json=pod_review(["x"])))
        mutate = await client.post("/mutate", json=pod_review(["x"]))
    assert "patch" not in validated
    assert mutate.status_code == 404


async def test_mutate_sends_the_digest_pins_as_a_json_patch() -> None:
    state, _ = fake_state(allowed_outcome(), mutate=True)
    async with in_process(state) as client:
        response = response_of(await client.post("/mutate", json=pod_review(["x"])))
    assert response["patchType"] == "JSONPatch"
    assert json.loads(base64.b64decode(response["patch"])) == [
        {"op": "replace", "path": "/spec/containers/0/image", "value": "x@sha256:00"}
    ]


async def test_dry_run_review_is_decided_the_same_and_passed_on() -> None:
    state, admission = fake_state(allowed_outcome())
    async with in_process(state) as client:
        response = response_of(await client.post("/validate", json=pod_review(["x"], dry_run=True)))
    assert response["allowed"] is True
    assert admission.seen[0].dry_run is True


async def test_metrics_count_reviews_by_decision_kind_and_reason() -> None:
    outcomes = iter([allowed_outcome(), denied_outcome(), denied_outcome()])

    async def script(_: ReviewRequest) -> AdmissionOutcome:
        return next(outcomes)

    state, _ = fake_state(script)
    async with in_process(state) as client:
        for uid in ("1", "2", "3"):
            await client.post("/validate", json=pod_review(["x"], uid=uid))
        await client.post("/validate", content=b"nope")
        reply = await client.get("/metrics")
    text = reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    pod = {"kind": "Pod"}
    assert metric(text, "sigpolicy_reviews_total", decision="allowed", reason="none", **pod) == 1
    assert metric(text, "sigpolicy_reviews_total", decision="denied", reason="unsigned", **pod) == 2
    assert metric(text, "sigpolicy_malformed_reviews_total") == 1
    assert metric(text, "sigpolicy_review_seconds_count") == 4
    assert metric(text, "sigpolicy_ready") == 1
    assert metric(text, "sigpolicy_source_errors_total") == 2  # read from the admission


async def test_two_apps_do_not_share_counters() -> None:
    first, _ = fake_state(allowed_outcome())
    second, _ = fake_state(allowed_outcome())
    async with in_process(first) as client:
        await client.post("/validate", json=pod_review(["x"]))
    async with in_process(second) as client:
        text = (await client.get("/metrics")).text
    assert metric(text, "sigpolicy_review_seconds_count") == 0


async def test_concurrent_reviews_each_get_their_own_answer() -> None:
    async def script(request: ReviewRequest) -> AdmissionOutcome:
        await asyncio.sleep(0.001 * (hash(request.uid) % 5))
        allowed = int(request.uid) % 2 == 0
        return allowed_outcome() if allowed else denied_outcome()

    state, _ = fake_state(script)
    async with in_process(state) as client:
        replies = await asyncio.gather(
            *(client.post("/validate", json=pod_review(["x"], uid=str(n))) for n in range(40))
        )
    for n, reply in enumerate(replies):
        response = response_of(reply)
        assert response["uid"] == str(n)
        assert response["allowed"] is (n % 2 == 0)
