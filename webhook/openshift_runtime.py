"""The webhook's runtime when the policy is the cluster's ClusterImagePolicy/ImagePolicy
objects (``serve --cluster-image-policies``).

1. The base policy.json (``--base-policy``, else the MCO's template) is read and checked.
2. The objects are listed through the cluster source's connection and built into the first
   policy (:class:`~sigpolicy.sources.config_policies.ClusterPolicyWatcher`).
3. Their watches and the source's caches run as background tasks; each review reads the
   policy in force once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sigpolicy.admission.engine import Admission
from sigpolicy.cli.serve_cmd import ServeOptions
from sigpolicy.errors import InputError, PolicyError
from sigpolicy.policy.containers import looks_like_containers_policy
from sigpolicy.policy.load import read_policy_document
from sigpolicy.policy.openshift_translate import JsonObject
from sigpolicy.sources.base import ImageSource
from sigpolicy.sources.cluster import ClusterSource
from sigpolicy.sources.config_policies import ClusterPolicyWatcher
from sigpolicy.sources.informer import WatchedSource
from webhook.state import BackgroundTask, Runtime


async def load_cluster_policy_runtime(
    options: ServeOptions, clock: Callable[[], float], source: ImageSource | None
) -> Runtime:
    base, base_dir = _base(options.base_policy)  # 1
    inner = source.inner if isinstance(source, WatchedSource) else source
    if not isinstance(inner, ClusterSource):
        raise InputError("--cluster-image-policies needs the cluster as the image source")
    policy = await ClusterPolicyWatcher.open(inner.api, base, base_dir=base_dir)  # 2
    admission = Admission(lambda: policy.current(now=clock()), source, options.admission)
    background: list[BackgroundTask] = [policy.run]  # 3
    if isinstance(source, WatchedSource):
        background.append(source.run)
    return Runtime(admission, policy, None, source, tuple(background))


def _base(path: Path | None) -> tuple[tuple[str, JsonObject] | None, Path]:
    if path is None:
        return None, Path.cwd()
    _, document = read_policy_document(path)
    if not looks_like_containers_policy(document):
        raise PolicyError(f"{path}: --base-policy is a containers-policy.json (the nodes' file)")
    return (str(path), document), path.parent
