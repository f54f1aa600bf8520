"""Image, its layers and sub-manifests, ImageStreamImage and ImageList.

An Image is cluster-scoped and named by its manifest digest. ``dockerImageMetadata`` is a raw
object (the container config, labels under ``Config.Labels``); ``dockerImageManifest`` and
``dockerImageConfig`` are raw JSON kept as the strings the server stored, because digests are
computed over exact bytes.
"""

from __future__ import annotations

from typing import Any, Literal

from sigpolicy.api.base import WireModel
from sigpolicy.api.constants import IMAGE_API_VERSION
from sigpolicy.api.fields import Base64Bytes
from sigpolicy.api.meta import KubeList, KubeObject
from sigpolicy.api.signature import ImageSignature


class ImageLayer(WireModel):
    """One layer of an image; all three fields are required."""

    name: str
    size: int
    media_type: str


class ImageManifest(WireModel):
    """A sub-manifest of a manifest list; ``digest`` names a regular Image."""

    digest: str
    media_type: str
    manifest_size: int
    architecture: str
    os: str
    variant: str | None = None


class Image(KubeObject):
    """An immutable container image and its metadata at a point in time."""

    api_version: Literal["image.openshift.io/v1"] = IMAGE_API_VERSION
    kind: Literal["Image"] = "Image"
    docker_image_reference: str | None = None
    docker_image_metadata: dict[str, Any] | None = None
    docker_image_metadata_version: str | None = None
    docker_image_manifest: str | None = None
    docker_image_layers: list[ImageLayer] | None = None
    signatures: list[ImageSignature] | None = None
    docker_image_signatures: list[Base64Bytes] | None = None
    docker_image_manifest_media_type: str | None = None
    docker_image_config: str | None = None
    docker_image_manifests: list[ImageManifest] | None = None

    def signature_named(self, name: str) -> ImageSignature | None:
        """The signature whose ``metadata.name`` is ``name`` (the merge key), or ``None``."""
        for signature in self.signatures or ():
            if signature.name == name:
                return signature
        return None


class ImageStreamImage(KubeObject):
    """An Image read through a stream, named ``<stream>@<digest>``; ``image`` is required."""

    api_version: Literal["image.openshift.io/v1"] = IMAGE_API_VERSION
    kind: Literal["ImageStreamImage"] = "ImageStreamImage"
    image: Image


class ImageList(KubeList):
    """A list of Images."""

    api_version: Literal["image.openshift.io/v1"] = IMAGE_API_VERSION
    kind: Literal["ImageList"] = "ImageList"
    items: list[Image]
