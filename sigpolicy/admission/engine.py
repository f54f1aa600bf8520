"""Deciding an AdmissionReview.

For one request, in order:

1. DELETE and CONNECT are allowed; so is an object without a pod spec.
2. A Pod owned by a controller is allowed without work (its template was checked when the
   controller was admitted, as OpenShift's ImagePolicy plugin does), unless it gains
   ephemeral containers (``pods/ephemeralcontainers``), which are always checked.
3. An UPDATE that changes no image is allowed without work (``skip_unchanged``).
4. Every container image (containers, initContainers, ephemeralContainers), deduplicated, is
   resolved (:mod:`sigpolicy.resolve.resolver`) and decided by the policy, concurrently,
   under one internal deadline. The policy in force is read once per request.
5. The request is allowed when every image is. A denial names each denied container, its
   image, the scope, the reason class and the key or identity involved; ``warn`` decisions
   add warnings and ``audit`` decisions audit annotations ("would deny"). A resolution or
   source failure denies that image (fail closed); the deadline denies the request with
   ``timeout``, or admits it when the admin chose fail-open.
6. With digest pinning on, allowed images that resolved to a digest are rewritten by a JSON
   patch (for ``/mutate``).

Nothing here is shared between concurrent requests except the caches of verdicts and
lookups, whose values are immutable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from sigpolicy.admission.model import (
    CODE_DENIED,
    CODE_TIMEOUT,
    AdmissionOutcome,
    ContainerDecision,
    ReviewRequest,
)
from sigpolicy.errors import SigpolicyError, SourceError, VerificationError
from sigpolicy.policy.decision import Decision
from sigpolicy.policy.engine import Policy, failed_before_policy
from sigpolicy.policy.evidence import VerificationCache, Workload
from sigpolicy.reasons import Reason
from sigpolicy.resolve.pull_credentials import PullContext
from sigpolicy.resolve.registry_layer import RegistryLayer
from sigpolicy.resolve.resolver import Resolution, Resolver
from sigpolicy.resolve.workloads import CONTAINER_FIELDS, ContainerImage, container_images
from sigpolicy.sources.base import ImageSource

DEFAULT_REGISTRY_HOSTS = ("image-registry.openshift-image-registry.svc:5000",)
AUDIT_KEY = "sigpolicy.io/would-deny"
# The part of the deadline a registry may use; the rest is for deciding and answering.
REGISTRY_SHARE = 0.9


class AdmissionSettings(NamedTuple):
    deadline: float = 8.0
    fail_open: bool = False
    skip_unchanged: bool = True
    registry_hosts: tuple[str, ...] = DEFAULT_REGISTRY_HOSTS
    pin_digests: bool = False
    check_owned_pods: bool = False


class _Located(NamedTuple):
    spec: Mapping[str, Any]
    path: str  # JSON pointer of the pod spec within the object


class Admission:
    def __init__(
        self,
        policy: Callable[[], Policy],
        source: ImageSource | None,
        settings: AdmissionSettings | None = None,
        *,
        verification_cache: VerificationCache | None = None,
        registry: RegistryLayer | None = None,
    ) -> None:
        self.policy = policy
        self.registry = registry
        self.source = source
        self.settings = settings or AdmissionSettings()
        self.verification_cache = verification_cache or VerificationCache()
        self.resolver = Resolver(
            source,
            registry_hosts=self.settings.registry_hosts,
            verification_cache=self.verification_cache,
            registry=registry,
        )
        self.source_errors = 0

    async def review(self, request: ReviewRequest) -> AdmissionOutcome:
        if request.operation in ("DELETE", "CONNECT"):  # 1
            return _allowed(f"{request.operation} is not checked", skipped="operation")
        obj = request.object or {}
        located = _pod_spec(obj)
        if located is None:
            return _allowed("no pod template", skipped="no-pod-spec")
        images = container_images(located.spec)
        ephemeral_only = request.sub_resource == "ephemeralcontainers"
        if ephemeral_only:
            images = [c for c in images if c.field == "ephemeralContainers"]
        elif (
            not self.settings.check_owned_pods
            and request.operation == "CREATE"
            and _owned_pod(obj)
            and _controller_user(request.username)
        ):  # 2
            return _allowed("a pod of a controller whose template was checked", skipped="owned-pod")
        if (
            request.operation == "UPDATE" and self.settings.skip_unchanged and not ephemeral_only
        ):  # 3
            old = _pod_spec(request.old_object or {})
            if old is not None and _image_set(container_images(old.spec)) == _image_set(images):
                return _allowed("the update changes no image", skipped="unchanged")
        if not images:
            return _allowed("no container images", skipped="no-images")
        try:  # 4
            async with asyncio.timeout(self.settings.deadline):
                decisions = await self._decide_all(request, obj, images, located.spec)
        except TimeoutError:
            message = f"no decision within the {self.settings.deadline:g} s deadline"
            if self.settings.fail_open:
                return AdmissionOutcome(
                    True,
                    200,
                    Reason.TIMEOUT,
                    message,
                    (f"sigpolicy: {message}; admitted (fail-open)",),
                    {},
                    None,
                    (),
                )
            return AdmissionOutcome(False, CODE_TIMEOUT, Reason.TIMEOUT, message, (), {}, None, ())
        return self._outcome(decisions, located)  # 5, 6

    async def _decide_all(
        self,
        request: ReviewRequest,
        obj: Mapping[str, Any],
        images: list[ContainerImage],
        pod_spec: Mapping[str, Any],
    ) -> list[tuple[ContainerImage, Decision, Resolution | None]]:
        policy = self.policy()
        # A registry must answer before the review's own deadline, so that a slow one gives
        # this image a denial that says so, not the whole request a bare timeout.
        deadline = self.resolver.clock() + self.settings.deadline * REGISTRY_SHARE
        pull = _pull_context(request.namespace, pod_spec)
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
        assert isinstance(meta, Mapping)  # noqa: S101 - just checked
        annotations = _strings(meta.get("annotations"))
        template_meta = _template_annotations(obj)
        workload_base = (
            str(obj.get("kind", request.kind)),
            str(meta.get("name") or request.name or ""),
            request.namespace,
            _strings(meta.get("labels")),
            {**annotations, **template_meta},
        )
        now = int(time.time())
        unique = {c.image for c in images}
        results = await asyncio.gather(
            *(
                self._decide_one(
                    image, policy, request.namespace, workload_base, now, pull, deadline
                )
                for image in unique
            )
        )
        by_image = dict(zip(unique, results, strict=True))
        return [(c, *by_image[c.image]) for c in images]

    async def _decide_one(
        self,
        image: str,
        policy: Policy,
        namespace: str | None,
        workload: tuple[str, str, str | None, dict[str, str], dict[str, str]],
        now: int,
        pull: PullContext | None,
        deadline: float,
    ) -> tuple[Decision, Resolution | None]:
        kind, name, ns, labels, annotations = workload
        try:
            resolution = await self.resolver.resolve(
                image,
                namespace=namespace,
                annotations=annotations,
                workload=Workload(kind, name, ns, None, labels, annotations),
                now=now,
                policy=policy,
                pull=pull,
                deadline=deadline,
            )
        except VerificationError as exc:
            return failed_before_policy(image, namespace, exc.reason, exc.message), None
        except SourceError as exc:
            self.source_errors += 1
            return failed_before_policy(
                image, namespace, Reason.SOURCE_UNAVAILABLE, exc.diagnostics()
            ), None
        except SigpolicyError as exc:
            return failed_before_policy(
                image, namespace, Reason.RESOLUTION_FAILED, exc.diagnostics()
            ), None
        decision = await policy.decide(resolution.evidence)
        return decision, resolution

    def _outcome(
        self,
        decisions: list[tuple[ContainerImage, Decision, Resolution | None]],
        located: _Located,
    ) -> AdmissionOutcome:
        containers = tuple(
            ContainerDecision(c.field, c.container, c.image, d) for c, d, _ in decisions
        )
        denied = [(c, d, r) for c, d, r in decisions if not d.allowed]
        warnings = tuple(
            f"container {c.container} image {_image(c, d, r)}: would be denied in {d.mode} mode: "
            f"{_why(d)}"
            for c, d, r in decisions
            if d.allowed and not d.would_allow and d.mode == "warn"
        )
        audit = [
            f"{c.container}: {_image(c, d, r)}: {_why(d)}"
            for c, d, r in decisions
            if d.allowed and not d.would_allow and d.mode == "audit"
        ]
        audit_annotations = {AUDIT_KEY: "; ".join(audit)} if audit else {}
        if denied:
            message = "; ".join(
                f"container {c.container} ({c.field}) image {_image(c, d, r)}: {_why(d)}"
                for c, d, r in denied
            )
            reason = denied[0][1].reason or Reason.POLICY_DENIED
            return AdmissionOutcome(
                False, CODE_DENIED, reason, message, warnings, audit_annotations, None, containers
            )
        patch = self._pins(decisions, located) if self.settings.pin_digests else None
        return AdmissionOutcome(True, 200, None, "", warnings, audit_annotations, patch, containers)

    def _pins(
        self, decisions: list[tuple[ContainerImage, Decision, Resolution | None]], located: _Located
    ) -> tuple[Mapping[str, Any], ...] | None:
        ops = []
        for container, decision, resolution in decisions:
            if decision.scope is None or not decision.scope.pin_digests:
                continue  # pinning is chosen per scope: GitOps tools fight rewritten images
            pinned = resolution.pull_spec if resolution is not None else None
            if (
                pinned is None
                and resolution is not None
                and resolution.evidence.reference.digest is not None
                and resolution.evidence.resolved_from
            ):
                pinned = str(resolution.evidence.reference)
            if pinned and pinned != container.image:
                ops.append(
                    {
                        "op": "replace",
                        "path": f"{located.path}/{container.field}/{container.position}/image",
                        "value": pinned,
                    }
                )
        return tuple(ops) or None


def _image(container: ContainerImage, decision: Decision, resolution: Resolution | None) -> str:
    """The image as written, and what the image API resolved it to."""
    if resolution is not None and resolution.evidence.resolved_from and decision.image:
        return f"{container.image} (resolved to {decision.image})"
    return container.image


def _why(decision: Decision) -> str:
    scope = f"scope {decision.scope.name}" if decision.scope else "no scope"
    return f"{scope}: {decision.reason}: {decision.message}"


def _allowed(message: str, *, skipped: str) -> AdmissionOutcome:
    return AdmissionOutcome(True, 200, None, message, (), {}, None, (), skipped)


def _pod_spec(obj: Mapping[str, Any]) -> _Located | None:
    kind = obj.get("kind")
    spec = obj.get("spec")
    if kind == "EphemeralContainers" and isinstance(obj.get("ephemeralContainers"), list):
        return _Located({"ephemeralContainers": obj["ephemeralContainers"]}, "")
    if not isinstance(spec, Mapping):
        return None
    if kind == "Pod":
        return _Located(spec, "/spec")
    template = spec.get("template")
    if isinstance(template, Mapping) and isinstance(template.get("spec"), Mapping):
        return _Located(template["spec"], "/spec/template/spec")
    job = spec.get("jobTemplate")
    if isinstance(job, Mapping) and isinstance(job.get("spec"), Mapping):
        inner = job["spec"].get("template")
        if isinstance(inner, Mapping) and isinstance(inner.get("spec"), Mapping):
            return _Located(inner["spec"], "/spec/jobTemplate/spec/template/spec")
    return None


# Who creates pods from checked templates: the built-in controllers (kube-controller-manager,
# as itself or through its per-controller service accounts) and OpenShift's (openshift-infra).
# An ownerReference alone proves nothing: anyone who may create a pod can write one.
_CONTROLLER_ACCOUNTS = (
    "system:serviceaccount:kube-system:",
    "system:serviceaccount:openshift-infra:",
)


def _controller_user(username: str) -> bool:
    return username == "system:kube-controller-manager" or username.startswith(_CONTROLLER_ACCOUNTS)


def _owned_pod(obj: Mapping[str, Any]) -> bool:
    if obj.get("kind") != "Pod":
        return False
    meta = obj.get("metadata")
    owners = meta.get("ownerReferences") if isinstance(meta, Mapping) else None
    return any(isinstance(o, Mapping) and o.get("controller") is True for o in owners or ())


def _pull_context(namespace: str | None, spec: Mapping[str, Any]) -> PullContext | None:
    """The pod's pull secrets and service account, for registry credentials."""
    if namespace is None:
        return None
    refs = spec.get("imagePullSecrets")
    secrets = tuple(
        str(ref["name"])
        for ref in (refs if isinstance(refs, list) else ())
        if isinstance(ref, Mapping) and isinstance(ref.get("name"), str) and ref["name"]
    )
    account = spec.get("serviceAccountName") or spec.get("serviceAccount")
    return PullContext(namespace, secrets, account if isinstance(account, str) else "default")


def _image_set(images: list[ContainerImage]) -> set[tuple[str, str, str]]:
    return {(c.field, c.container, c.image) for c in images}


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def _template_annotations(obj: Mapping[str, Any]) -> dict[str, str]:
    spec = obj.get("spec")
    template = spec.get("template") if isinstance(spec, Mapping) else None
    meta = template.get("metadata") if isinstance(template, Mapping) else None
    return _strings(meta.get("annotations")) if isinstance(meta, Mapping) else {}


__all__ = ["CONTAINER_FIELDS", "Admission", "AdmissionSettings"]
