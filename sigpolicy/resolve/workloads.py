"""The container images of a pod-bearing object.

Pods (containers, initContainers, ephemeralContainers), and any object with a pod template
at ``spec.template`` (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,
ReplicationController, DeploymentConfig, ...) or ``spec.jobTemplate.spec.template``
(CronJob). Objects are plain dicts as the API server sends them: a workload kind this code
has never heard of is still handled by where its pod template lives.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")


class ContainerImage(NamedTuple):
    field: str
    container: str
    image: str
    position: int = 0  # in the pod spec's list ``field`` (containers without an image count)


def pod_spec(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod spec of ``obj``, or None when it carries none."""
    kind = obj.get("kind")
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        return None
    if kind == "Pod":
        return spec
    template = spec.get("template")
    if isinstance(template, Mapping) and isinstance(template.get("spec"), Mapping):
        return template["spec"]  # type: ignore[no-any-return]
    job = spec.get("jobTemplate")
    if isinstance(job, Mapping):
        inner = job.get("spec")
        if isinstance(inner, Mapping):
            template = inner.get("template")
            if isinstance(template, Mapping) and isinstance(template.get("spec"), Mapping):
                return template["spec"]  # type: ignore[no-any-return]
    return None


def container_images(spec: Mapping[str, Any]) -> list[ContainerImage]:
    out = []
    for field in CONTAINER_FIELDS:
        for index, container in enumerate(spec.get(field) or ()):
            if isinstance(container, Mapping) and isinstance(container.get("image"), str):
                name = str(container.get("name", ""))
                out.append(ContainerImage(field, name, container["image"], index))
    return out
