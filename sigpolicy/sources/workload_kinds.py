"""The pod-bearing kinds the admission webhook checks, as the API serves them.

The chart registers the webhook for exactly these (``charts/sigpolicy/templates/_helpers.tpl``,
``sigpolicy.webhookRules``); the audit lists them, and the background audit watches them.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["WORKLOAD_KINDS", "WorkloadKind"]


class WorkloadKind(NamedTuple):
    group: str
    version: str
    kind: str
    plural: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


WORKLOAD_KINDS: tuple[WorkloadKind, ...] = (
    WorkloadKind("", "v1", "Pod", "pods"),
    WorkloadKind("", "v1", "ReplicationController", "replicationcontrollers"),
    WorkloadKind("apps", "v1", "Deployment", "deployments"),
    WorkloadKind("apps", "v1", "ReplicaSet", "replicasets"),
    WorkloadKind("apps", "v1", "StatefulSet", "statefulsets"),
    WorkloadKind("apps", "v1", "DaemonSet", "daemonsets"),
    WorkloadKind("batch", "v1", "Job", "jobs"),
    WorkloadKind("batch", "v1", "CronJob", "cronjobs"),
    WorkloadKind("apps.openshift.io", "v1", "DeploymentConfig", "deploymentconfigs"),
)
