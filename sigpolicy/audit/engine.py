"""Deciding every image use of an audit, exactly as the admission webhook decides on CREATE.

1. Each :class:`~sigpolicy.audit.inventory.ImageUse` is decided by
   :meth:`sigpolicy.admission.engine.Admission.review`, on a CREATE review of the object the
   image was taken from (its name, namespace, labels and annotations, and its pod template's
   annotations) reduced to one container with that image: the same resolution (image
   streams, the namespace's labels, the ``resolve-names`` annotation), the same policy, the
   same error handling and deadline as a live review.
2. Each distinct (image, namespace, ``resolve-names`` annotation) is decided once and the
   decision shared by every use with that key, so an audit's cost follows the number of
   distinct images per namespace, not the number of pods. A policy with a Rego requirement
   sees the workload itself (kind, name, labels, annotations): its key also holds the owner
   and the object's labels and annotations.
3. Decisions run in batches (``batch`` at a time, concurrently), with a yield to the event
   loop after each, so a background audit shares the loop with live reviews.
4. Each finding's result is the PolicyReport vocabulary: ``pass`` (the policy allows it),
   ``fail`` (the webhook would deny it), ``warn`` (allowed only because its scope is in
   ``warn`` or ``audit`` mode), ``skip`` (an exemption applies).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

from sigpolicy.admission.engine import Admission
from sigpolicy.admission.model import ReviewRequest
from sigpolicy.audit.inventory import ImageUse
from sigpolicy.policy.decision import Decision
from sigpolicy.policy.engine import Policy, failed_before_policy
from sigpolicy.policy.rego_requirement import RegoRequirement
from sigpolicy.reasons import Reason
from sigpolicy.resolve.resolver import RESOLVE_NAMES_ANNOTATION

__all__ = ["AuditRun", "Finding", "Result", "decide_uses", "release", "result_of", "sees_workloads"]

Result = Literal["pass", "fail", "warn", "skip"]
RESULTS: tuple[Result, ...] = ("pass", "fail", "warn", "skip")
DEFAULT_BATCH = 64
STEP = 256  # uses keyed (or findings made) between two yields
Progress = Callable[[int, int], None]


class Finding(NamedTuple):
    use: ImageUse
    decision: Decision
    result: Result


class AuditRun(NamedTuple):
    findings: list[Finding]
    decisions: int  # distinct decisions made (step 2)


def result_of(decision: Decision) -> Result:  # 4
    if decision.exemption is not None:
        return "skip"
    if decision.would_allow:
        return "pass"
    return "warn" if decision.allowed else "fail"


def sees_workloads(policy: Policy) -> bool:
    """Whether a decision of ``policy`` can depend on the workload beyond its namespace."""
    pending: list[Any] = [scope.requirement for scope in policy.index.scopes]
    if policy.default is not None:
        pending.append(policy.default)
    while pending:
        requirement = pending.pop()
        if isinstance(requirement, RegoRequirement):
            return True
        pending.extend(getattr(requirement, "children", ()))
    return False


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _template(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        return None
    template = spec.get("template")
    if isinstance(template, Mapping):
        return template
    job = spec.get("jobTemplate")
    inner = job.get("spec") if isinstance(job, Mapping) else None
    template = inner.get("template") if isinstance(inner, Mapping) else None
    return template if isinstance(template, Mapping) else None


def _annotations(obj: Mapping[str, Any]) -> dict[str, str]:
    template = _template(obj) if obj.get("kind") != "Pod" else None
    merged: dict[str, str] = {}
    for meta in (_meta(obj), _meta(template or {})):
        annotations = meta.get("annotations")
        if isinstance(annotations, Mapping):
            merged.update({str(k): str(v) for k, v in annotations.items()})
    return merged


def _key(use: ImageUse, with_workload: bool) -> tuple[Any, ...]:  # 2
    annotations = _annotations(use.source)
    key: tuple[Any, ...] = (
        use.image,
        use.owner.namespace,
        annotations.get(RESOLVE_NAMES_ANNOTATION),
    )
    if with_workload:
        labels = _meta(use.source).get("labels")
        key += (
            use.owner,
            tuple(sorted(annotations.items())),
            tuple(sorted((labels or {}).items())) if isinstance(labels, Mapping) else (),
        )
    return key


def review_of(use: ImageUse) -> ReviewRequest:
    """The CREATE review of step 1: the source object with one container, ``use.image``."""
    obj = use.source
    meta = _meta(obj)
    metadata = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if k in meta}
    name = use.containers[0].partition("/")[2] if use.containers else "audit"
    pod = {"containers": [{"name": name, "image": use.image}]}
    kind = str(obj.get("kind") or "Pod")
    spec: dict[str, Any]
    if kind == "Pod":
        spec = pod
    else:
        template = _template(obj) or {}
        shaped = {"metadata": _meta(template), "spec": pod}
        outer = obj.get("spec")
        if isinstance(outer, Mapping) and isinstance(outer.get("template"), Mapping):
            spec = {"template": shaped}
        else:
            spec = {"jobTemplate": {"spec": {"template": shaped}}}
    review_object = {
        "apiVersion": obj.get("apiVersion"),
        "kind": kind,
        "metadata": metadata,
        "spec": spec,
    }
    return ReviewRequest(
        api_version="admission.k8s.io/v1",
        uid="sigpolicy-audit",
        kind=kind,
        group="",
        resource="",
        sub_resource="",
        operation="CREATE",
        namespace=use.owner.namespace or None,
        name=use.owner.name,
        object=review_object,
        old_object=None,
        dry_run=True,
    )


async def _decide(admission: Admission, use: ImageUse) -> Decision:  # 1
    outcome = await admission.review(review_of(use))
    if outcome.containers:
        return outcome.containers[0].decision
    # No container decision: the review ran out of time (whatever fail-open says, the audit
    # could not tell).
    return failed_before_policy(
        use.image,
        use.owner.namespace or None,
        outcome.reason or Reason.TIMEOUT,
        outcome.message or "no decision",
    )


async def decide_uses(
    admission: Admission,
    uses: Sequence[ImageUse],
    *,
    policy: Policy,
    batch: int = DEFAULT_BATCH,
    pause: float = 0.0,
    progress: Progress | None = None,
) -> AuditRun:
    """A finding per use, in the order of ``uses`` (steps 1-4)."""
    with_workload = sees_workloads(policy)
    keys = []
    for index, use in enumerate(uses):
        if index % STEP == STEP - 1:
            await asyncio.sleep(pause)
        keys.append(_key(use, with_workload))
    first: dict[tuple[Any, ...], ImageUse] = {}
    for key, use in zip(keys, uses, strict=True):
        first.setdefault(key, use)
    pending = list(first.items())
    decided: dict[tuple[Any, ...], Decision] = {}
    total = len(pending)
    for start in range(0, total, batch):  # 3
        chunk = pending[start : start + batch]
        results = await asyncio.gather(*(_decide(admission, use) for _, use in chunk))
        decided.update(zip((key for key, _ in chunk), results, strict=True))
        if progress is not None:
            progress(len(decided), total)
        await asyncio.sleep(pause)
    findings = []
    for index, (key, use) in enumerate(zip(keys, uses, strict=True)):
        if index % STEP == STEP - 1:
            await asyncio.sleep(pause)
        findings.append(Finding(use, decided[key], result_of(decided[key])))
    await release(keys, pause)
    await release(pending, pause)
    return AuditRun(findings, total)


async def release(items: list[Any], pause: float, step: int = STEP) -> None:
    """Empty ``items`` a step at a time: freeing 10,000 entries at once is milliseconds of
    the event loop too."""
    while items:
        del items[-step:]
        await asyncio.sleep(pause)
