"""Tag views of a stream (ImageStreamTag, ImageTag) and ImageStreamMapping.

ImageStreamTag and ImageTag are named ``<stream>:<tag>``. Their nullable parts (``tag``;
``spec``, ``status``, ``image``) are required keys whose value may be ``null``: Go writes them
without ``omitempty``.
"""

from __future__ import annotations

from typing import Literal

from sigpolicy.api.constants import IMAGE_API_VERSION
from sigpolicy.api.image import Image
from sigpolicy.api.meta import KubeList, KubeObject
from sigpolicy.api.stream import (
    ImageLookupPolicy,
    NamedTagEventList,
    TagEventCondition,
    TagReference,
)


class ImageStreamTag(KubeObject):
    """The image a tag points to now.

    The server builds ``image`` from the newest tag event: spec-tag annotations merged into
    ``image.metadata.annotations``, ``dockerImageManifest`` and ``dockerImageConfig`` blanked,
    ``dockerImageReference`` rewritten by the tag's reference policy.
    """

    api_version: Literal["image.openshift.io/v1"] = IMAGE_API_VERSION
    kind: Literal["ImageStreamTag"] = "ImageStreamTag"
    tag: TagReference | None
    generation: int
    lookup_policy: ImageLookupPolicy
    conditions: list[TagEventCondition] | None = None
    image: Image


class ImageTag(KubeObject):
    """The full view of one tag: spec, status history and current image (not set in lists)."""

    api_version: Literal["image.openshift.io/v1"] = IMAGE_API_VERSION
    kind: Literal["ImageTag"] = "ImageTag"
    spec: TagReference | None
    status: NamedTagEventList | None
    image: Image | None


class ImageStreamMapping(KubeObject):
    """Creates an Image and records it under ``tag`` of the stream named by its metadata."""

    api_version: Literal["image.openshift.io/v1"] = IMAGE_API_VERSION
    kind: Literal["ImageStreamMapping"] = "ImageStreamMapping"
    image: Image
    tag: str


class ImageStreamTagList(KubeList):
    """A list of ImageStreamTags."""

    api_version: Literal["image.openshift.io/v1"] = IMAGE_API_VERSION
    kind: Literal["ImageStreamTagList"] = "ImageStreamTagList"
    items: list[ImageStreamTag]


class ImageTagList(KubeList):
    """A list of ImageTags (their ``image`` is not populated)."""

    api_version: Literal["image.openshift.io/v1"] = IMAGE_API_VERSION
    kind: Literal["ImageTagList"] = "ImageTagList"
    items: list[ImageTag]
