"""ImageStreamLayers: the blobs that the images of a stream are made of.

Both maps are required. ``blobs`` maps a blob digest to its size and media type; ``images``
maps an image name to its layers, config blob and (for a manifest list) sub-manifests.
"""

from __future__ import annotations

from typing import Literal

from sigpolicy.api.base import WireModel
from sigpolicy.api.constants import IMAGE_API_VERSION
from sigpolicy.api.meta import KubeObject


class ImageLayerData(WireModel):
    """Size and media type of a blob; both keys are required, ``size`` may be null."""

    size: int | None
    media_type: str


class ImageBlobReferences(WireModel):
    """The blobs of one image; ``imageMissing`` when the Image object was deleted."""

    image_missing: bool | None = None
    layers: list[str] | None = None
    config: str | None = None
    manifests: list[str] | None = None


class ImageStreamLayers(KubeObject):
    """The layer index of a stream (GET ``imagestreams/<name>/layers``)."""

    api_version: Literal["image.openshift.io/v1"] = IMAGE_API_VERSION
    kind: Literal["ImageStreamLayers"] = "ImageStreamLayers"
    blobs: dict[str, ImageLayerData]
    images: dict[str, ImageBlobReferences]
