"""ImageStream and everything nested in it: spec tags, status tag histories, policies.

``status.tags[].items`` is newest first; the first item is what the tag points to now.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from sigpolicy.api.base import WireModel
from sigpolicy.api.constants import IMAGE_API_VERSION
from sigpolicy.api.fields import Timestamp, parse_timestamp
from sigpolicy.api.meta import KubeList, KubeObject, ObjectReference


class ImageLookupPolicy(WireModel):
    """Whether short names in the namespace resolve through this stream; ``local`` is required."""

    local: bool


class TagImportPolicy(WireModel):
    """How the images of a tag are imported."""

    insecure: bool | None = None
    scheduled: bool | None = None
    import_mode: str | None = None


class TagReferencePolicy(WireModel):
    """How pull specs of the tag are generated: ``Source`` or ``Local``; ``type`` is required."""

    type: str


class TagReference(WireModel):
    """A spec tag: what the tag should track; ``name`` is required.

    ``annotations`` and ``generation`` have no ``omitempty`` in Go, so they often come as null.
    """

    name: str
    annotations: dict[str, str] | None = None
    from_: ObjectReference | None = Field(default=None, alias="from")
    reference: bool | None = None
    generation: int | None = None
    import_policy: TagImportPolicy | None = None
    reference_policy: TagReferencePolicy | None = None


class ImageStreamSpec(WireModel):
    """The desired state of a stream."""

    lookup_policy: ImageLookupPolicy | None = None
    docker_image_repository: str | None = None
    tags: list[TagReference] | None = None


class TagEvent(WireModel):
    """One entry of a tag's history; all four fields are required."""

    created: Timestamp
    docker_image_reference: str
    image: str
    generation: int
    platforms: list[str] | None = None

    @property
    def created_at(self) -> datetime:
        """``created`` parsed."""
        return parse_timestamp(self.created)


class TagEventCondition(WireModel):
    """A condition of a tag (only ``ImportSuccess`` exists); type, status, generation required."""

    type: str
    status: str
    last_transition_time: Timestamp | None = None
    reason: str | None = None
    message: str | None = None
    generation: int


class NamedTagEventList(WireModel):
    """The history of one tag, newest first; ``tag`` and ``items`` are required."""

    tag: str
    items: list[TagEvent] | None
    conditions: list[TagEventCondition] | None = None

    @property
    def newest(self) -> TagEvent | None:
        """The event the tag points to now, or ``None`` for an empty history."""
        return self.items[0] if self.items else None


class ImageStreamStatus(WireModel):
    """The observed state of a stream; ``dockerImageRepository`` is required (may be empty)."""

    docker_image_repository: str
    public_docker_image_repository: str | None = None
    tags: list[NamedTagEventList] | None = None


class ImageStream(KubeObject):
    """A namespaced mapping of tags to images."""

    api_version: Literal["image.openshift.io/v1"] = IMAGE_API_VERSION
    kind: Literal["ImageStream"] = "ImageStream"
    spec: ImageStreamSpec | None = None
    status: ImageStreamStatus | None = None

    def spec_tag(self, name: str) -> TagReference | None:
        """The spec tag called ``name``, or ``None``."""
        tags = self.spec.tags if self.spec is not None else None
        for tag in tags or ():
            if tag.name == name:
                return tag
        return None

    def status_tag(self, tag: str) -> NamedTagEventList | None:
        """The history of ``tag``, or ``None`` when the tag was never imported or pushed."""
        tags = self.status.tags if self.status is not None else None
        for history in tags or ():
            if history.tag == tag:
                return history
        return None

    def newest_event(self, tag: str) -> TagEvent | None:
        """The event ``tag`` points to now, or ``None``."""
        history = self.status_tag(tag)
        return None if history is None else history.newest


class ImageStreamList(KubeList):
    """A list of ImageStreams."""

    api_version: Literal["image.openshift.io/v1"] = IMAGE_API_VERSION
    kind: Literal["ImageStreamList"] = "ImageStreamList"
    items: list[ImageStream]
