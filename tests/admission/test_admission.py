"""Real AdmissionReview documents for every pod-bearing kind and operation, decided against the
example policy and catalog (two trusted signatures on registry.example.com/shop/checkout)."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest

from sigpolicy.admission.engine import Admission, AdmissionSettings
from sigpolicy.admission.model import MalformedReview, parse_review, review_response
from sigpolicy.policy.load import load_policy
from sigpolicy.sources.catalog import CatalogSource
from sigpolicy.trust.load import load_trust_store

EXAMPLES = Path(__file__).resolve().parents[2] / "sigpolicy" / "examples"
GOOD = "image-registry.openshift-image-registry.svc:5000/shop/checkout:1.4.2"
EXTERNAL_TAG = "registry.example.com/shop/checkout:1.4.2"
GOOD_DIGEST = "registry.example.com/shop/checkout@sha256:b3c238eeade5bf4be20e767324c89d5a1e6a6bb1a2eb0512bf8c977e91fc4bd7"
INTEGRATED = "image-registry.openshift-image-registry.svc:5000/shop/checkout:1.4.2"
BAD = "registry.example.com/shop/payments:2.0"
POD_SPEC = {"containers": [{"name": "app", "image": GOOD}]}


def admission(**settings: Any) -> Admission:
    store = load_trust_store(EXAMPLES / "trust.yaml")
    policy = load_policy(EXAMPLES / "policy.yaml", lambda: store)
    return Admission(
        lambda: policy, CatalogSource(EXAMPLES / "catalog"), AdmissionSettings(**settings)
    )


def review(
    obj: dict[str, Any] | None,
    *,
    operation: str = "CREATE",
    old: dict[str, Any] | None = None,
    namespace: str = "shop",
    sub_resource: str | None = None,
    version: str = "v1",
    user: str = "admin",
) -> dict[str, Any]:
    kind = (obj or old or {}).get("kind", "Pod")
    request: dict[str, Any] = {
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "kind": {"group": "", "version": "v1", "kind": kind},
        "resource": {"group": "", "version": "v1", "resource": kind.lower() + "s"},
        "operation": operation,
        "namespace": namespace,
        "name": "x",
        "object": obj,
        "oldObject": old,
        "dryRun": False,
        "userInfo": {"username": user},
    }
    if sub_resource:
        request["subResource"] = sub_resource
    return {
        "apiVersion": f"admission.k8s.io/{version}",
        "kind": "AdmissionReview",
        "request": request,
    }


def pod(
    *images: str, init: tuple[str, ...] = (), ephemeral: tuple[str, ...] = (), owned: bool = False
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]
    }
    if init:
        spec["initContainers"] = [{"name": f"i{i}", "image": image} for i, image in enumerate(init)]
    if ephemeral:
        spec["ephemeralContainers"] = [
            {"name": f"e{i}", "image": image} for i, image in enumerate(ephemeral)
        ]
    meta: dict[str, Any] = {"name": "x", "namespace": "shop"}
    if owned:
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "rs",
                "uid": "u",
                "controller": True,
            }
        ]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def templated(kind: str, image: str, api_version: str = "apps/v1") -> dict[str, Any]:
    template = {
        "metadata": {"labels": {"app": "x"}},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }
    spec: dict[str, Any] = {"template": template}
    if kind == "CronJob":
        spec = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "x", "namespace": "shop"},
        "spec": spec,
    }


def decide(body: dict[str, Any], **settings: Any) -> Any:
    return asyncio.run(admission(**settings).review(parse_review(body)))


KINDS = {
    kind: (templated(kind, image, api), allowed)
    for kind, api in (
        ("Deployment", "apps/v1"),
        ("ReplicaSet", "apps/v1"),
        ("StatefulSet", "apps/v1"),
        ("DaemonSet", "apps/v1"),
        ("Job", "batch/v1"),
        ("CronJob", "batch/v1"),
        ("ReplicationController", "v1"),
        ("DeploymentConfig", "apps.openshift.io/v1"),
        ("SomeFutureWorkload", "example.com/v1"),
    )
    for image, allowed in ((GOOD, True),)
} | {
    f"{kind}-bad": (templated(kind, BAD), False)
    for kind in ("Deployment", "CronJob", "DeploymentConfig")
}


@pytest.mark.parametrize(("obj", "allowed"), KINDS.values(), ids=KINDS.keys())
def test_every_pod_bearing_kind(obj: dict[str, Any], allowed: bool) -> None:
    assert decide(review(obj)).allowed is allowed


CASES = {
    "pod-good": (review(pod(GOOD)), True, None),
    "pod-by-digest": (review(pod(GOOD_DIGEST)), True, None),
    "pod-integrated-registry": (review(pod(INTEGRATED)), True, None),
    "pod-external-tag-is-bound-to-nothing": (review(pod(EXTERNAL_TAG)), False, "unsigned"),
    "pod-missing-tag-of-served-stream": (
        review(pod(INTEGRATED.replace("1.4.2", "9.9"))),
        False,
        "resolution-failed",
    ),
    "pod-one-bad-of-several": (review(pod(GOOD, BAD)), False, "unsigned"),
    "pod-bad-init-container": (review(pod(GOOD, init=(BAD,))), False, "unsigned"),
    "pod-bad-ephemeral-container": (review(pod(GOOD, ephemeral=(BAD,))), False, "unsigned"),
    "pod-no-scope": (review(pod("quay.io/someone/tool:1")), False, "policy-denied"),
    "pod-exempt-namespace": (review(pod(BAD), namespace="kube-system"), True, None),
    "pod-warn-namespace": (review(pod(BAD), namespace="shop-staging"), True, None),
    "delete-allowed": (review(None, operation="DELETE", old=pod(BAD)), True, None),
    "connect-allowed": (review(pod(BAD), operation="CONNECT"), True, None),
    "update-changing-no-image": (review(pod(BAD), operation="UPDATE", old=pod(BAD)), True, None),
    "update-changing-an-image": (
        review(pod(BAD), operation="UPDATE", old=pod(GOOD)),
        False,
        "unsigned",
    ),
    "owned-pod-created-by-a-controller-skipped": (
        review(
            pod(BAD, owned=True), user="system:serviceaccount:kube-system:replicaset-controller"
        ),
        True,
        None,
    ),
    "owned-pod-created-by-a-user-checked": (
        review(pod(BAD, owned=True)),
        False,
        "unsigned",
    ),
    "owned-pod-image-changed-checked": (
        review(
            pod(BAD, owned=True),
            operation="UPDATE",
            old=pod(GOOD, owned=True),
            user="system:serviceaccount:kube-system:replicaset-controller",
        ),
        False,
        "unsigned",
    ),
    "ephemeral-subresource-checked-on-owned-pod": (
        review(
            pod(GOOD, ephemeral=(BAD,), owned=True),
            operation="UPDATE",
            old=pod(GOOD, owned=True),
            sub_resource="ephemeralcontainers",
        ),
        False,
        "unsigned",
    ),
    "not-a-workload": (
        review({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}),
        True,
        None,
    ),
}


@pytest.mark.parametrize(("body", "allowed", "reason"), CASES.values(), ids=CASES.keys())
def test_reviews(body: dict[str, Any], allowed: bool, reason: str | None) -> None:
    outcome = decide(body)
    assert outcome.allowed is allowed, outcome.message
    assert (str(outcome.reason) if outcome.reason else None) == reason


def test_denial_names_container_image_scope_reason() -> None:
    outcome = decide(review(pod(GOOD, BAD)))
    assert outcome.message.startswith(
        f"container c1 (containers) image {BAD}: scope shop: unsigned:"
    )
    response = review_response("admission.k8s.io/v1", "uid-1", outcome)
    assert response["response"]["status"] == {
        "code": 403,
        "message": outcome.message,
        "reason": "unsigned",
    }


def test_warn_mode_admits_with_warnings() -> None:
    outcome = decide(review(pod(BAD), namespace="shop-staging"))
    assert (
        outcome.allowed
        and outcome.warnings
        and "would be denied in warn mode" in outcome.warnings[0]
    )


def test_pinning_digests_patches_resolved_images() -> None:
    outcome = decide(review(pod(INTEGRATED, GOOD_DIGEST)), pin_digests=True)
    assert outcome.allowed
    assert outcome.patch == (
        {"op": "replace", "path": "/spec/containers/0/image", "value": GOOD_DIGEST},
    )


def test_deadline_denies_or_admits_when_fail_open() -> None:
    slow = admission(deadline=0.001)

    async def slow_policy(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(1)

    slow.resolver.resolve = slow_policy  # type: ignore[method-assign]
    outcome = asyncio.run(slow.review(parse_review(review(pod(GOOD)))))
    assert (outcome.allowed, str(outcome.reason), outcome.code) == (False, "timeout", 504)
    open_ = admission(deadline=0.001, fail_open=True)
    open_.resolver.resolve = slow_policy  # type: ignore[method-assign]
    assert asyncio.run(open_.review(parse_review(review(pod(GOOD))))).allowed


def test_verification_results_are_cached_between_reviews() -> None:
    shared = admission()
    asyncio.run(shared.review(parse_review(review(pod(GOOD)))))
    hits = shared.verification_cache.hits
    asyncio.run(shared.review(parse_review(review(pod(GOOD)))))
    assert shared.verification_cache.hits > hits


def test_v1beta1_is_accepted() -> None:
    body = review(pod(GOOD), version="v1beta1")
    assert parse_review(body).api_version == "admission.k8s.io/v1beta1"


MALFORMED = {
    "not-an-object": ([], "not a JSON object"),
    "wrong-kind": ({"apiVersion": "admission.k8s.io/v1", "kind": "Pod"}, "not an AdmissionReview"),
    "no-request": ({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}, "no request"),
    "no-uid": (review(pod(GOOD)) | {"request": {"operation": "CREATE"}}, "uid is missing"),
    "object-missing-on-create": (review(None), "object is missing"),
}


@pytest.mark.parametrize(("body", "message"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_reviews(body: Any, message: str) -> None:
    with pytest.raises(MalformedReview, match=message):
        parse_review(copy.deepcopy(body))


@pytest.mark.parametrize(
    ("annotated", "allowed"), [(True, True), (False, False)], ids=["annotated", "not-annotated"]
)
def test_resolve_names_annotation_makes_any_name_local(annotated: bool, allowed: bool) -> None:
    """OpenShift's plugin: with the annotation, quay.io/other/checkout:1.4.2 is the pod
    namespace's ImageStreamTag checkout:1.4.2 (here signed); without it, the name as written
    (which no scope covers)."""
    obj = templated("Deployment", "quay.io/other/checkout:1.4.2")
    if annotated:
        obj["metadata"]["annotations"] = {"alpha.image.policy.openshift.io/resolve-names": "*"}
    outcome = decide(review(obj))
    assert outcome.allowed is allowed, outcome.message
