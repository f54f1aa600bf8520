"""Every top-level kind by its ``kind`` string, and the generic ``kind: List``.

A catalog folder or ``oc get -o yaml`` output holds one object per document or a ``List`` of
mixed kinds; :data:`KINDS` is the dispatch table the loader uses for both.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Tag

from sigpolicy.api.base import TypedObject
from sigpolicy.api.constants import CORE_API_VERSION
from sigpolicy.api.image import Image, ImageList, ImageStreamImage
from sigpolicy.api.imports import ImageStreamImport
from sigpolicy.api.layers import ImageStreamLayers
from sigpolicy.api.meta import KubeList
from sigpolicy.api.secret import Secret, SecretList
from sigpolicy.api.signature import ImageSignature
from sigpolicy.api.stream import ImageStream, ImageStreamList
from sigpolicy.api.tag import (
    ImageStreamMapping,
    ImageStreamTag,
    ImageStreamTagList,
    ImageTag,
    ImageTagList,
)

ListItem = (
    Image
    | ImageSignature
    | ImageStream
    | ImageStreamImage
    | ImageStreamImport
    | ImageStreamLayers
    | ImageStreamMapping
    | ImageStreamTag
    | ImageTag
    | Secret
    | ImageList
    | ImageStreamList
    | ImageStreamTagList
    | ImageTagList
    | SecretList
)
"""A kind that may appear as an item of a ``kind: List``."""

_ITEM_CLASSES: tuple[type[ListItem], ...] = (
    Image,
    ImageSignature,
    ImageStream,
    ImageStreamImage,
    ImageStreamImport,
    ImageStreamLayers,
    ImageStreamMapping,
    ImageStreamTag,
    ImageTag,
    Secret,
    ImageList,
    ImageStreamList,
    ImageStreamTagList,
    ImageTagList,
    SecretList,
)


def _kind_of(value: Any) -> str | None:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if isinstance(kind, str) else None


def _default_kind(cls: type[TypedObject]) -> str:
    # Every kind class declares its kind as a Literal default.
    return str(cls.model_fields["kind"].default)


_TaggedItem = Annotated[
    Annotated[Image, Tag("Image")]
    | Annotated[ImageSignature, Tag("ImageSignature")]
    | Annotated[ImageStream, Tag("ImageStream")]
    | Annotated[ImageStreamImage, Tag("ImageStreamImage")]
    | Annotated[ImageStreamImport, Tag("ImageStreamImport")]
    | Annotated[ImageStreamLayers, Tag("ImageStreamLayers")]
    | Annotated[ImageStreamMapping, Tag("ImageStreamMapping")]
    | Annotated[ImageStreamTag, Tag("ImageStreamTag")]
    | Annotated[ImageTag, Tag("ImageTag")]
    | Annotated[Secret, Tag("Secret")]
    | Annotated[ImageList, Tag("ImageList")]
    | Annotated[ImageStreamList, Tag("ImageStreamList")]
    | Annotated[ImageStreamTagList, Tag("ImageStreamTagList")]
    | Annotated[ImageTagList, Tag("ImageTagList")]
    | Annotated[SecretList, Tag("SecretList")],
    Discriminator(
        _kind_of,
        custom_error_type="unsupported_kind",
        custom_error_message="kind missing or not an image API kind",
    ),
]


class ObjectList(KubeList):
    """The generic ``kind: List`` (apiVersion ``v1``) that ``oc get`` prints for mixed kinds.

    Each item must state its ``kind``; a nested generic List is not accepted.
    """

    api_version: Literal["v1"] = CORE_API_VERSION
    kind: Literal["List"] = "List"
    items: list[_TaggedItem]


ApiObject = ListItem | ObjectList
"""Any top-level object :func:`~sigpolicy.api.load.parse_object` returns."""

KINDS: dict[str, type[ApiObject]] = {
    _default_kind(cls): cls for cls in (*_ITEM_CLASSES, ObjectList)
}
"""Top-level model class by ``kind``."""
