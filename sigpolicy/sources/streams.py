"""Deriving an ImageStreamTag from its ImageStream and Image, as the API server does.

A catalog folder holds streams and images as ``oc get -o yaml`` prints them; the tag view is
computed the way openshift-apiserver computes it: the newest event of the tag's status
history names the Image, spec-tag annotations are merged into the image's, and the image's
``dockerImageReference`` is the event's, or with a ``Local`` reference policy the stream's
own repository at the image's digest.
"""

from __future__ import annotations

from sigpolicy.api import (
    Image,
    ImageLookupPolicy,
    ImageStream,
    ImageStreamTag,
    ObjectMeta,
)
from sigpolicy.errors import NotFoundError
from sigpolicy.reference.docker import try_parse_reference


def newest_image_name(stream: ImageStream, tag: str) -> tuple[str, str]:
    """(image name, docker image reference) of the tag's newest event; NotFoundError if none."""
    event = stream.newest_event(tag)
    where = f"ImageStreamTag {_stream_name(stream)}:{tag}"
    if event is None:
        raise NotFoundError(f"{where}: the stream has no such tag")
    return event.image, event.docker_image_reference


def image_stream_tag(stream: ImageStream, tag: str, image: Image) -> ImageStreamTag:
    image_name, reference = newest_image_name(stream, tag)
    spec_tag = stream.spec_tag(tag)
    policy = spec_tag.reference_policy if spec_tag is not None else None
    repository = stream.status.docker_image_repository if stream.status is not None else None
    if policy is not None and policy.type == "Local" and repository:
        # The server's ResolveReferenceForTagEvent: pull through the integrated registry.
        reference = f"{repository}@{image_name}"
    annotations = dict(image.metadata.annotations or {}) if image.metadata else {}
    if spec_tag is not None and spec_tag.annotations:
        annotations.update(spec_tag.annotations)
    image_meta = image.metadata or ObjectMeta()
    if annotations:
        image_meta = image_meta.model_copy(update={"annotations": annotations})
    shown = image.model_copy(update={"metadata": image_meta, "docker_image_reference": reference})
    stream_meta = stream.metadata or ObjectMeta()
    lookup = stream.spec.lookup_policy if stream.spec and stream.spec.lookup_policy else None
    return ImageStreamTag(
        metadata=ObjectMeta(
            name=f"{stream_meta.name}:{tag}",
            namespace=stream_meta.namespace,
        ),
        tag=spec_tag,
        generation=stream_meta.generation or 0,
        lookup_policy=lookup or ImageLookupPolicy(local=False),
        image=shown,
    )


def registry_hosts_of(stream: ImageStream) -> list[str]:
    """The registry hosts of the stream's ``status.dockerImageRepository`` and
    ``publicDockerImageRepository``: the integrated registry as this cluster names it."""
    status = stream.status
    if status is None:
        return []
    hosts = []
    for repository in (status.docker_image_repository, status.public_docker_image_repository):
        reference = try_parse_reference(repository or "")
        if reference is not None:
            hosts.append(reference.domain)
    return hosts


def _stream_name(stream: ImageStream) -> str:
    meta = stream.metadata
    if meta is None:
        return "?"
    return f"{meta.namespace}/{meta.name}"
