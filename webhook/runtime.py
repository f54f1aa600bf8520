"""The policy, trust store and image source a webhook decides with, loaded and kept current.

1. The source: a catalog folder, or the cluster (kubeconfig or the pod's service account)
   read through watch-kept caches of its Images and ImageStreams
   (:mod:`sigpolicy.sources.informer`), whose watches run as a background task.
2. The trust store: ``--trust``, else the policy's own ``trust:``, watched for changes. With
   a cluster source its Secret and ConfigMap keys are read through the source, and a
   background task refreshes it (their changes do not touch the file).
3. The policy, watched for changes; its ``signedBy`` names are served by the newest trust
   store. Each review reads the policy in force once, with the time read once.
4. The :class:`~sigpolicy.admission.engine.Admission` over them, and the background tasks
   (trust refresh, catalog re-reads).
5. With ``--registry``, the registry layer under the source (or alone, with no source).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sigpolicy.admission.engine import Admission
from sigpolicy.cli.options import open_source as open_chosen_source
from sigpolicy.cli.registry_options import open_registry
from sigpolicy.cli.serve_cmd import ServeOptions
from sigpolicy.errors import SigpolicyError
from sigpolicy.policy.load import policy_trust_path, read_policy_document
from sigpolicy.policy.watch import PolicyWatcher
from sigpolicy.resolve.registry_layer import RegistryLayer
from sigpolicy.sources.base import ImageSource
from sigpolicy.sources.catalog import CatalogSource
from sigpolicy.sources.cluster import ClusterSource
from sigpolicy.sources.informer import WatchedSource
from sigpolicy.trust.store import TrustStore
from sigpolicy.trust.watch import TrustStoreWatcher
from webhook.state import BackgroundTask, Runtime

log = logging.getLogger("sigpolicy.webhook")

CATALOG_POLL_SECONDS = 5.0


def open_source(options: ServeOptions) -> ImageSource | None:  # 1
    if options.catalog is None and not options.kubeconfig and not options.in_cluster:
        return None  # --registry alone
    source = open_chosen_source(options)
    if isinstance(source, ClusterSource):
        return WatchedSource(source)
    return source


async def load_runtime(
    options: ServeOptions,
    clock: Callable[[], float],
    *,
    source_factory: Callable[[ServeOptions], ImageSource | None] = open_source,
) -> Runtime:
    source = source_factory(options)
    try:
        return await _load(options, clock, source)
    except BaseException:
        if source is not None:
            await source.close()
        raise


async def _load(
    options: ServeOptions, clock: Callable[[], float], source: ImageSource | None
) -> Runtime:
    if options.cluster_image_policies:  # the policy is the cluster's objects, watched
        from webhook.openshift_runtime import load_cluster_policy_runtime

        return await load_cluster_policy_runtime(options, clock, source)
    _, document = read_policy_document(options.policy)
    trust_path = options.trust or policy_trust_path(options.policy, document)
    background: list[BackgroundTask] = []
    trust: TrustStoreWatcher | None = None
    provider: Callable[[], TrustStore] | None = None
    if trust_path is not None:  # 2
        if source is None or isinstance(source, CatalogSource):
            trust = TrustStoreWatcher.open(trust_path, now=clock())
        else:
            trust = await TrustStoreWatcher.aopen(trust_path, source, now=clock())
            background.append(_refresh_trust(trust, clock))
        watched = trust

        def provider() -> TrustStore:
            return watched.current(now=clock())

    policy = PolicyWatcher(options.policy, provider, now=clock())  # 3

    registry = _open_registry(options, source, trust)  # 5
    admission = Admission(
        lambda: policy.current(now=clock()), source, options.admission, registry=registry
    )  # 4
    if isinstance(source, CatalogSource):
        background.append(_refresh_catalog(source))
    if isinstance(source, WatchedSource):
        background.append(source.run)
    log.info(
        "loaded policy %s, trust store %s, source %s",
        options.policy,
        trust_path or "(none)",
        "(registry only)" if source is None else source.description,
    )
    audit = None
    if options.audit_interval:  # 6
        from webhook.audit_task import start_background_audit

        audit = start_background_audit(options, admission, source, clock, background)
    return Runtime(admission, policy, trust, source, tuple(background), registry, audit)


def _open_registry(
    options: ServeOptions, source: ImageSource | None, trust: TrustStoreWatcher | None
) -> RegistryLayer | None:
    """The registry layer under the source; its caches are cleared when the trust store's
    generation changes (the policy's own changes are seen per review)."""
    if options.registry is None:
        return None
    watched = trust

    def generation() -> str:
        return "" if watched is None else watched.store.generation

    layer = open_registry(options.registry, source, generation=generation)
    log.info(
        "registry lookups on; credentials from %s",
        ", ".join(layer.credentials.describe()) or "nowhere (anonymous)",
    )
    return layer


def _refresh_trust(trust: TrustStoreWatcher, clock: Callable[[], float]) -> BackgroundTask:
    async def refresh() -> None:
        while True:
            await asyncio.sleep(trust.min_interval)
            await trust.refresh(now=clock())

    return refresh


def _refresh_catalog(source: CatalogSource) -> BackgroundTask:
    async def refresh() -> None:
        last_error: str | None = None
        while True:
            await asyncio.sleep(CATALOG_POLL_SECONDS)
            try:
                changed = await asyncio.to_thread(source.refresh)
            except SigpolicyError as exc:
                if exc.diagnostics() != last_error:
                    log.warning("catalog %s not re-read: %s", source.root, exc.diagnostics())
                last_error = exc.diagnostics()
                continue
            last_error = None
            if changed:
                log.info("catalog %s re-read", source.root)

    return refresh
