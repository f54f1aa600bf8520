"""ImageStreamImport: a request to import images into a stream, and its result.

``spec`` and ``status`` are both required by the reference (Go writes ``status: {}`` even on
a request).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sigpolicy.api.base import WireModel
from sigpolicy.api.constants import IMAGE_API_VERSION
from sigpolicy.api.image import Image
from sigpolicy.api.meta import KubeObject, LocalObjectReference, ObjectReference, Status
from sigpolicy.api.stream import ImageStream, TagImportPolicy, TagReferencePolicy


class RepositoryImportSpec(WireModel):
    """Import a whole repository (``from.kind`` DockerImage); ``from`` is required."""

    from_: ObjectReference = Field(alias="from")
    import_policy: TagImportPolicy | None = None
    reference_policy: TagReferencePolicy | None = None
    include_manifest: bool | None = None


class ImageImportSpec(WireModel):
    """Import one image (``from.kind`` DockerImage), optionally into tag ``to``."""

    from_: ObjectReference = Field(alias="from")
    to: LocalObjectReference | None = None
    import_policy: TagImportPolicy | None = None
    reference_policy: TagReferencePolicy | None = None
    include_manifest: bool | None = None


class ImageStreamImportSpec(WireModel):
    """What to import; ``import`` (whether to write the result to the stream) is required."""

    import_: bool = Field(alias="import")
    repository: RepositoryImportSpec | None = None
    images: list[ImageImportSpec] | None = None


class ImageImportStatus(WireModel):
    """The result of importing one image; ``status`` is required."""

    status: Status
    image: Image | None = None
    tag: str | None = None
    manifests: list[Image] | None = None


class RepositoryImportStatus(WireModel):
    """The result of importing a repository."""

    status: Status | None = None
    images: list[ImageImportStatus] | None = None
    additional_tags: list[str] | None = None


class ImageStreamImportStatus(WireModel):
    """The result of an import; ``import`` is the stream as updated."""

    import_: ImageStream | None = Field(default=None, alias="import")
    repository: RepositoryImportStatus | None = None
    images: list[ImageImportStatus] | None = None


class ImageStreamImport(KubeObject):
    """A request to import images from a registry into a stream, and its result."""

    api_version: Literal["image.openshift.io/v1"] = IMAGE_API_VERSION
    kind: Literal["ImageStreamImport"] = "ImageStreamImport"
    spec: ImageStreamImportSpec
    status: ImageStreamImportStatus
