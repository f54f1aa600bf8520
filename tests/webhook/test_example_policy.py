"""The webhook over the real Admission, the example policy and the example catalog: what a
cluster admin sees for an allowed pod, a denied deployment, warn and audit scopes."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

from sigpolicy.admission.engine import AdmissionSettings
from sigpolicy.cli.serve_cmd import examples
from tests.webhook.support import (
    CHECKOUT_BY_DIGEST,
    UNSIGNED,
    example_options,
    in_process,
    pod_review,
    response_of,
    sample,
)
from tests.webhook.test_validate import metric
from webhook.runtime import load_runtime
from webhook.state import WebhookSettings, WebhookState


async def _state(policy: Path | None = None, clock: list[float] | None = None) -> WebhookState:
    options = example_options() if policy is None else example_options(policy=policy)
    now = clock or [1_000.0]
    state = WebhookState(WebhookSettings(), lambda: load_runtime(options, lambda: now[0]))
    await state.load()
    return state


async def test_signed_image_is_allowed() -> None:
    state = await _state()
    async with in_process(state) as client:
        response = response_of(
            await client.post("/validate", json=pod_review([CHECKOUT_BY_DIGEST]))
        )
    assert response == {"uid": "uid-1", "allowed": True}


async def test_denial_names_container_image_scope_and_reason() -> None:
    state = await _state()
    async with in_process(state) as client:
        response = response_of(
            await client.post("/validate", json=sample("deployment-denied.json"))
        )
    assert response["uid"] == "a1b2c3d4-0000-4000-8000-00000000d3e9"
    assert response["allowed"] is False
    status = response["status"]
    assert status["code"] == 403
    assert status["reason"] == "unsigned"
    denied = f"container payments (containers) image {UNSIGNED}: scope shop: unsigned"
    assert denied in status["message"]


async def test_warn_scope_admits_with_a_warning() -> None:
    state = await _state()
    async with in_process(state) as client:
        response = response_of(await client.post("/validate", json=sample("pod-warn.json")))
        text = (await client.get("/metrics")).text
    assert response["allowed"] is True
    (warning,) = response["warnings"]
    assert warning.startswith(f"container payments image {UNSIGNED}: would be denied in warn")
    assert "scope shop-staging: unsigned" in warning
    assert metric(text, "sigpolicy_would_deny_total", mode="warn") == 1


async def test_audit_scope_admits_with_an_audit_annotation() -> None:
    state = await _state()
    review = pod_review(["quay.io/team/tool:1"], namespace="sandbox")
    async with in_process(state) as client:
        response = response_of(await client.post("/validate", json=review))
        text = (await client.get("/metrics")).text
    assert response["allowed"] is True
    assert "warnings" not in response
    (annotation,) = response["auditAnnotations"].values()
    assert "c0: quay.io/team/tool:1: scope sandbox: unsigned" in annotation
    assert metric(text, "sigpolicy_would_deny_total", mode="audit") == 1


async def test_verdicts_are_reused_and_counted_as_cache_hits() -> None:
    state = await _state()
    async with in_process(state) as client:
        for uid in ("1", "2", "3"):
            await client.post("/validate", json=pod_review([CHECKOUT_BY_DIGEST], uid=uid))
        text = (await client.get("/metrics")).text
    assert metric(text, "sigpolicy_verification_cache_hits_total") > 0


async def test_policy_edit_is_picked_up_and_a_broken_one_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "examples"
    shutil.copytree(examples(), folder)
    policy = folder / "policy.yaml"
    clock = [1_000.0]
    state = await _state(policy, clock)
    review = pod_review(["docker.io/library/busybox:1"], namespace="default")
    async with in_process(state) as client:
        before = response_of(await client.post("/validate", json=review))
        policy.write_text(policy.read_text().replace("noMatch: deny", "noMatch: allow"))
        clock[0] += 10
        after = response_of(await client.post("/validate", json=review))
        policy.write_text("kind: ImagePolicy\nscopes: [\n")
        clock[0] += 10
        kept = response_of(await client.post("/validate", json=review))
        ready = (await client.get("/readyz")).json()
        text = (await client.get("/metrics")).text
    assert before["allowed"] is False
    assert after["allowed"] is True
    assert kept["allowed"] is True
    assert ready["ready"] is True
    assert ready["policy"]["reloads"] == 1
    assert ready["policy"]["lastError"]
    assert metric(text, "sigpolicy_policy_reloads_total") == 1
    assert metric(text, "sigpolicy_policy_reload_failures_total") == 1


async def test_mutate_pins_an_image_stream_tag_to_its_digest() -> None:
    options = example_options(mutate=True, admission=AdmissionSettings(pin_digests=True))
    state = WebhookState(
        WebhookSettings(mutate=True), lambda: load_runtime(options, lambda: 1_000.0)
    )
    await state.load()
    review = pod_review(["checkout:1.4.2"])  # resolved through the stream's lookupPolicy
    async with in_process(state) as client:
        mutated = response_of(await client.post("/mutate", json=review))
        validated = response_of(await client.post("/validate", json=review))
    assert mutated["allowed"] is True
    assert json.loads(base64.b64decode(mutated["patch"])) == [
        {"op": "replace", "path": "/spec/containers/0/image", "value": CHECKOUT_BY_DIGEST}
    ]
    assert validated == {"uid": "uid-1", "allowed": True}


async def test_mutate_pins_only_in_scopes_that_chose_pinning() -> None:
    options = example_options(mutate=True, admission=AdmissionSettings(pin_digests=True))
    state = WebhookState(
        WebhookSettings(mutate=True), lambda: load_runtime(options, lambda: 1_000.0)
    )
    await state.load()
    # shop-staging (warn mode) has no pinDigests: the same image is decided, not rewritten.
    integrated = "image-registry.openshift-image-registry.svc:5000/shop/checkout:1.4.2"
    review = pod_review([integrated], namespace="shop-staging")
    async with in_process(state) as client:
        mutated = response_of(await client.post("/mutate", json=review))
    assert mutated["allowed"] is True
    assert "patch" not in mutated


async def test_a_pin_patches_the_container_it_is_for() -> None:
    options = example_options(mutate=True, admission=AdmissionSettings(pin_digests=True))
    state = WebhookState(
        WebhookSettings(mutate=True), lambda: load_runtime(options, lambda: 1_000.0)
    )
    await state.load()
    review = pod_review(["checkout:1.4.2"])
    containers = review["request"]["object"]["spec"]["containers"]
    containers.insert(0, {"name": "no-image-yet"})  # a container without an image counts too
    async with in_process(state) as client:
        mutated = response_of(await client.post("/mutate", json=review))
    assert json.loads(base64.b64decode(mutated["patch"])) == [
        {"op": "replace", "path": "/spec/containers/1/image", "value": CHECKOUT_BY_DIGEST}
    ]
