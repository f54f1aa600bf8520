"""The admission layer's contract with the webhook and the ``admit`` command.

- :func:`parse_review` turns a JSON AdmissionReview (``admission.k8s.io/v1``, ``v1beta1``
  accepted) into a :class:`ReviewRequest`, or raises :class:`MalformedReview` (one line) for a
  review that is not usable: the webhook then answers with a denial carrying a distinct code,
  never a crash.
- ``Admission.review(request)`` decides (see :mod:`.engine`) and returns an
  :class:`AdmissionOutcome`.
- :func:`review_response` builds the full AdmissionReview to send back, echoing the ``uid``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from sigpolicy.errors import InputError
from sigpolicy.policy.decision import Decision
from sigpolicy.reasons import Reason

REVIEW_VERSIONS = ("admission.k8s.io/v1", "admission.k8s.io/v1beta1")
MAX_REVIEW_BYTES = 3 * 1024 * 1024
# HTTP-like codes in AdmissionResponse.status: a denial of the object, or of the request.
CODE_DENIED = 403
CODE_MALFORMED = 400
CODE_TIMEOUT = 504
CODE_UNAVAILABLE = 503


class MalformedReview(InputError):  # noqa: N818 - named for what it is, like Kubernetes' own
    """The AdmissionReview itself is unusable (not the object under review)."""

    def __init__(
        self, message: str, *, uid: str | None = None, api_version: str | None = None
    ) -> None:
        super().__init__(message)
        self.uid = uid
        self.api_version = api_version or REVIEW_VERSIONS[0]


class ReviewRequest(NamedTuple):
    api_version: str
    uid: str
    kind: str
    group: str
    resource: str
    sub_resource: str
    operation: str
    namespace: str | None
    name: str | None
    object: Mapping[str, Any] | None
    old_object: Mapping[str, Any] | None
    dry_run: bool
    username: str = ""


class ContainerDecision(NamedTuple):
    """The decision for one container's image."""

    field: str
    container: str
    image: str
    decision: Decision


class AdmissionOutcome(NamedTuple):
    allowed: bool
    code: int
    reason: Reason | None
    message: str
    warnings: tuple[str, ...]
    audit_annotations: Mapping[str, str]
    patch: tuple[Mapping[str, Any], ...] | None
    containers: tuple[ContainerDecision, ...]
    skipped: str | None = None


def parse_review(body: Any) -> ReviewRequest:
    if not isinstance(body, Mapping):
        raise MalformedReview("the body is not a JSON object")
    api_version = body.get("apiVersion")
    kind = body.get("kind")
    if api_version not in REVIEW_VERSIONS or kind != "AdmissionReview":
        versions = " or ".join(REVIEW_VERSIONS)
        raise MalformedReview(
            f"not an AdmissionReview of {versions}: apiVersion={api_version!r}, kind={kind!r}"
        )
    request = body.get("request")
    if not isinstance(request, Mapping):
        raise MalformedReview("the review has no request", api_version=api_version)
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise MalformedReview("request.uid is missing", api_version=api_version)

    def text(field: str, *, required: bool = True) -> str:
        value = request.get(field)
        if isinstance(value, str):
            return value
        if value is None and not required:
            return ""
        raise MalformedReview(
            f"request.{field} is missing or not a string", uid=uid, api_version=api_version
        )

    kind_obj = request.get("kind")
    resource_obj = request.get("resource")
    if not isinstance(kind_obj, Mapping) or not isinstance(resource_obj, Mapping):
        raise MalformedReview(
            "request.kind and request.resource must be objects", uid=uid, api_version=api_version
        )
    operation = text("operation")
    if operation not in ("CREATE", "UPDATE", "DELETE", "CONNECT"):
        raise MalformedReview(
            f"request.operation {operation!r} is unknown", uid=uid, api_version=api_version
        )
    obj = request.get("object")
    old = request.get("oldObject")
    for name, value in (("object", obj), ("oldObject", old)):
        if value is not None and not isinstance(value, Mapping):
            raise MalformedReview(
                f"request.{name} is not an object", uid=uid, api_version=api_version
            )
    if operation in ("CREATE", "UPDATE") and obj is None:
        raise MalformedReview(
            f"request.object is missing for {operation}", uid=uid, api_version=api_version
        )
    return ReviewRequest(
        api_version=api_version,
        uid=uid,
        kind=str(kind_obj.get("kind", "")),
        group=str(resource_obj.get("group", "")),
        resource=str(resource_obj.get("resource", "")),
        sub_resource=text("subResource", required=False),
        operation=operation,
        namespace=request.get("namespace") or None,
        name=request.get("name") or None,
        object=obj,
        old_object=old,
        dry_run=bool(request.get("dryRun", False)),
        username=_username(request.get("userInfo")),
    )


def review_response(api_version: str, uid: str, outcome: AdmissionOutcome) -> dict[str, Any]:
    """The full AdmissionReview answer (the uid echoed, as the API server requires)."""
    response: dict[str, Any] = {"uid": uid, "allowed": outcome.allowed}
    if not outcome.allowed or outcome.message:
        status: dict[str, Any] = {"code": outcome.code, "message": outcome.message}
        if not outcome.allowed:
            status["reason"] = str(outcome.reason or Reason.POLICY_DENIED)
        response["status"] = status
    if outcome.warnings:
        response["warnings"] = list(outcome.warnings)
    if outcome.audit_annotations:
        response["auditAnnotations"] = dict(outcome.audit_annotations)
    if outcome.patch:
        import base64
        import json

        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(json.dumps(list(outcome.patch)).encode()).decode()
    return {"apiVersion": api_version, "kind": "AdmissionReview", "response": response}


def malformed_response(error: MalformedReview) -> dict[str, Any]:
    """A denial for a review that cannot be used; the uid echoed when it could be read."""
    response: dict[str, Any] = {
        "uid": error.uid or "",
        "allowed": False,
        "status": {
            "code": CODE_MALFORMED,
            "reason": "malformed",
            "message": f"malformed AdmissionReview: {error}",
        },
    }
    return {"apiVersion": error.api_version, "kind": "AdmissionReview", "response": response}


def _username(user_info: Any) -> str:
    if isinstance(user_info, Mapping) and isinstance(user_info.get("username"), str):
        return str(user_info["username"])
    return ""
