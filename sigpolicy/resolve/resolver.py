"""Resolving a pod's image reference through image streams, as OpenShift's ImagePolicy plugin
does (SEMANTICS.md §6), to the evidence a decision needs.

1. ``name@sha256:...``: the Image of that digest. Not found: when the name is on the
   integrated registry the reference cannot be resolved (``resolution-failed``); otherwise the
   image was never imported and is judged by its own reference.
2. ``<integrated registry host>/<namespace>/<stream>:<tag>`` (the configured hosts, plus the
   hosts of the streams' ``status.dockerImageRepository`` / ``publicDockerImageRepository``):
   the ImageStreamTag ``<namespace>/<stream>:<tag>``; missing is ``resolution-failed``.
3. A bare one-segment name (``mysql``, ``mysql:8``): the ImageStreamTag of the pod's namespace,
   when that stream's ``spec.lookupPolicy.local`` is true or the workload is annotated
   ``alpha.image.policy.openshift.io/resolve-names: "*"``; a missing tag of such a stream is
   ``resolution-failed``. With the annotation any name resolves so, through the stream named
   by its last path segment (``quay.io/team/mysql:8`` -> ``<namespace>/mysql:8``).
   Otherwise the reference is judged as written, normalized.
4. The tag defaults to ``latest``.

When resolution succeeds, scopes and identity rules apply to the Image's
``dockerImageReference`` (its source, bound by the digest) and its signatures are the Image's.
The pull spec to pin (mutation) honours ``referencePolicy: Local``:
``<status.dockerImageRepository>@<digest>``.

Concurrent lookups of one object share one round trip. Over a source that reads from its
own watch-kept caches (the webhook's cluster source, :mod:`sigpolicy.sources.informer`)
nothing more is cached, so a retag shows as soon as the watch reports it; over any other
source lookups are cached for ``ttl`` seconds (failures for ``negative_ttl``), bounded in
size, and a retag shows within the TTL.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple

from sigpolicy.api import Image, ImageStream, ImageStreamTag
from sigpolicy.errors import InputError, NotFoundError, SourceError, VerificationError
from sigpolicy.policy.engine import Policy
from sigpolicy.policy.evidence import ImageEvidence, VerificationCache, Workload
from sigpolicy.reasons import Reason
from sigpolicy.reference.digest import parse_digest
from sigpolicy.reference.docker import Reference, parse_reference, try_parse_reference
from sigpolicy.resolve.pull_credentials import PullContext
from sigpolicy.resolve.registry_layer import DEFAULT_DEADLINE, RegistryLayer
from sigpolicy.sources.base import (
    ImageSource,
    NamespaceLabelsSource,
    RegistryHostsSource,
    WatchedImageSource,
)
from sigpolicy.sources.bundle_files import bundles_in_signatures
from sigpolicy.sources.lookups import SharedLookups
from sigpolicy.verify.checks import KnownDigest

RESOLVE_NAMES_ANNOTATION = "alpha.image.policy.openshift.io/resolve-names"
SIMPLE_TYPES = frozenset({"atomic", "AtomicImageV1"})
_BARE_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[\w][\w.-]{0,127})?$")


class Resolution(NamedTuple):
    evidence: ImageEvidence
    pull_spec: str | None


class ResolutionFailedError(VerificationError):
    def __init__(self, message: str) -> None:
        super().__init__(Reason.RESOLUTION_FAILED, message)


class Resolver:
    def __init__(
        self,
        source: ImageSource | None,
        *,
        registry_hosts: tuple[str, ...] = ("image-registry.openshift-image-registry.svc:5000",),
        ttl: float = 30.0,
        negative_ttl: float = 5.0,
        verification_cache: VerificationCache | None = None,
        registry: RegistryLayer | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.registry = registry
        self.registry_hosts = frozenset(registry_hosts)
        self.clock = clock
        self.verification_cache = verification_cache
        # A watched source answers from memory and shares its own cold lookups: a layer
        # here would only add a task per lookup and delay retags.
        self._cache: SharedLookups | None = SharedLookups(ttl, negative_ttl)
        if isinstance(source, WatchedImageSource):
            self._cache = None

    async def _lookup(self, key: tuple[str, ...], fetch: Callable[[], Awaitable[Any]]) -> Any:
        if self._cache is None:
            return await fetch()
        return await self._cache.get(key, fetch, self.clock())

    def _registry_hosts(self) -> frozenset[str]:
        """The configured hosts and those the source's streams name (§6 rule 2)."""
        if isinstance(self.source, RegistryHostsSource):
            return self.registry_hosts | self.source.registry_hosts()
        return self.registry_hosts

    async def resolve(
        self,
        image: str,
        *,
        namespace: str | None,
        annotations: Mapping[str, str] | None = None,
        workload: Workload | None = None,
        now: int,
        policy: Policy | None = None,
        pull: PullContext | None = None,
        deadline: float | None = None,
    ) -> Resolution:
        """Evidence for ``image`` as written in a pod.

        A reference the image API has no claim on is looked up at its registry when a
        registry layer and the ``policy`` are given (:mod:`.registry_layer`), with ``pull``'s
        credentials, until ``deadline`` (of ``clock``).

        Raises ResolutionFailedError (or a VerificationError of the registry's failure), or
        SourceError when the image API cannot be reached.
        """
        try:
            reference = parse_reference(image)
        except InputError as exc:
            raise ResolutionFailedError(
                f"{image!r} is not a valid image reference: {exc}"
            ) from None
        found = await self._find(image, reference, namespace, annotations or {})
        labels = await self._namespace_labels(namespace)
        if found is None and self.registry is not None and policy is not None:
            plan = policy.lookup_plan(reference, namespace, labels)
            if plan.needed:
                answer = await self.registry.look_up(
                    reference, plan, pull=pull,
                    deadline=self.clock() + DEFAULT_DEADLINE if deadline is None else deadline,
                    policy_generation=str(id(policy)),
                )  # fmt: skip
                evidence = ImageEvidence(
                    reference, KnownDigest(answer.digest), answer.simple_signatures,
                    answer.sigstore_signatures, namespace=namespace, namespace_labels=labels,
                    workload=workload, now=now, cache=self.verification_cache,
                    sources_asked=answer.sources_asked,
                )  # fmt: skip
                pinned = f"{reference.repository}@{answer.digest}" if answer.tag_resolved else None
                return Resolution(evidence, pinned)
        if found is None:
            evidence = ImageEvidence(
                reference, None, (), (), namespace=namespace, namespace_labels=labels,
                workload=workload, now=now, cache=self.verification_cache,
            )  # fmt: skip
            return Resolution(evidence, None)
        resolved_image, pull_spec = found
        evidence = self._evidence(reference, resolved_image, namespace, labels, workload, now)
        return Resolution(evidence, pull_spec)

    async def _namespace_labels(self, namespace: str | None) -> Mapping[str, str] | None:
        """For a scope's ``namespaceSelector``; None (never matches) when not known."""
        source = self.source
        if namespace is None or not isinstance(source, NamespaceLabelsSource):
            return None
        labels: Mapping[str, str] | None = await self._lookup(
            ("namespace", namespace), lambda: source.namespace_labels(namespace)
        )
        return labels

    def _evidence(
        self,
        written: Reference,
        image: Image,
        namespace: str | None,
        labels: Mapping[str, str] | None,
        workload: Workload | None,
        now: int,
    ) -> ImageEvidence:
        name = image.metadata.name if image.metadata else None
        if not name:
            raise ResolutionFailedError(
                f"{written}: the image API returned an Image without a name"
            )
        digest = parse_digest(name)
        source = try_parse_reference(image.docker_image_reference or "")
        if source is None:
            source = written.name_only()
        resolved = source.name_only().with_digest(digest)
        signatures = tuple(
            (s.name or f"signature-{i}", s.content)
            for i, s in enumerate(image.signatures or (), start=1)
            if s.type in SIMPLE_TYPES
        )
        bundles = bundles_in_signatures(
            (s.name or f"signature-{i}", s.type, s.content)
            for i, s in enumerate(image.signatures or (), start=1)
        )
        return ImageEvidence(
            resolved, KnownDigest(digest), signatures, (), namespace=namespace,
            namespace_labels=labels, workload=workload, resolved_from=str(written), now=now,
            cache=self.verification_cache, sigstore_bundles=tuple(bundles),
        )  # fmt: skip

    async def _find(
        self,
        written: str,
        reference: Reference,
        namespace: str | None,
        annotations: Mapping[str, str],
    ) -> tuple[Image, str | None] | None:
        if self.source is None:
            return None
        registry_hosts = self._registry_hosts()
        if reference.digest is not None:
            try:
                image = await self._get_image(str(reference.digest))
            except NotFoundError:
                if reference.domain in registry_hosts:
                    raise ResolutionFailedError(f"{written}: no Image {reference.digest}") from None
                return None
            return image, None
        tag = reference.tag or "latest"
        if reference.domain in registry_hosts:
            parts = reference.path.split("/")
            if len(parts) != 2:
                raise ResolutionFailedError(
                    f"{written}: an integrated registry name is <namespace>/<stream>"
                )
            return await self._stream_tag(written, parts[0], parts[1], tag, required=True)
        wants_local = annotations.get(RESOLVE_NAMES_ANNOTATION) == "*"
        if namespace is not None and (wants_local or _BARE_NAME.match(written)):
            # The annotation makes any name local, as OpenShift's plugin does: the stream is
            # the name's last path segment, in the pod's namespace.
            stream_name = reference.path.rsplit("/", 1)[-1]
            try:
                stream = await self._get_stream(namespace, stream_name)
            except NotFoundError:
                return None
            local = (
                stream.spec is not None
                and stream.spec.lookup_policy is not None
                and stream.spec.lookup_policy.local
            )
            if local or wants_local:
                return await self._stream_tag(written, namespace, stream_name, tag, required=True)
        return None

    async def _stream_tag(
        self, written: str, namespace: str, stream: str, tag: str, *, required: bool
    ) -> tuple[Image, str | None] | None:
        try:
            found: ImageStreamTag = await self._lookup(
                ("istag", namespace, stream, tag),
                lambda: self._source().get_image_stream_tag(namespace, f"{stream}:{tag}"),
            )
        except NotFoundError:
            if required:
                raise ResolutionFailedError(
                    f"{written}: ImageStreamTag {namespace}/{stream}:{tag} not found"
                ) from None
            return None
        image = found.image
        name = image.metadata.name if image.metadata else None
        # The tag's view of the image has its dockerImageReference rewritten by the reference
        # policy (and some servers leave out the signatures): scopes and identity apply to the
        # Image's own source, so read the Image.
        if name:
            with contextlib.suppress(NotFoundError):
                image = await self._get_image(name)
        return image, await self._pull_spec(namespace, stream, found)

    async def _pull_spec(self, namespace: str, stream: str, tag: ImageStreamTag) -> str | None:
        name = tag.image.metadata.name if tag.image.metadata else None
        if name is None:
            return None
        policy = (
            tag.tag.reference_policy.type
            if tag.tag is not None and tag.tag.reference_policy
            else "Source"
        )
        if policy == "Local":
            try:
                stream_obj = await self._get_stream(namespace, stream)
            except NotFoundError:
                return None
            if stream_obj.status is not None and stream_obj.status.docker_image_repository:
                return f"{stream_obj.status.docker_image_repository}@{name}"
        source = try_parse_reference(tag.image.docker_image_reference or "")
        return None if source is None else f"{source.repository}@{name}"

    async def _get_image(self, name: str) -> Image:
        image: Image = await self._lookup(("image", name), lambda: self._source().get_image(name))
        return image

    async def _get_stream(self, namespace: str, name: str) -> ImageStream:
        stream: ImageStream = await self._lookup(
            ("stream", namespace, name), lambda: self._source().get_image_stream(namespace, name)
        )
        return stream

    def _source(self) -> ImageSource:
        if self.source is None:
            raise SourceError("no image source is configured")
        return self.source


async def resolve_evidence(
    source: ImageSource | None, image: str, *, namespace: str | None = None
) -> ImageEvidence:
    """One-off resolution (CLI, tests): a fresh resolver, no caches kept."""
    resolution = await Resolver(source).resolve(image, namespace=namespace, now=int(time.time()))
    return resolution.evidence
