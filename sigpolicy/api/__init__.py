"""Typed models of the OpenShift image API (``image.openshift.io/v1``) and its rules.

Layer 1 of ARCHITECTURE.md: imports only pydantic, the standard library and
:mod:`sigpolicy.errors`. Models keep unknown fields and round-trip exactly
(:meth:`WireModel.to_json_dict`); :func:`parse_object` turns a parsed document into a model
and reports invalid input as :class:`~sigpolicy.errors.InputError`;
:func:`validate_image_signature` states OpenShift's ImageSignature rules.
"""

from sigpolicy.api.base import TypedObject, WireModel
from sigpolicy.api.constants import (
    CORE_API_VERSION,
    IMAGE_API_VERSION,
    ConditionStatus,
    ImportMode,
    ReferenceKind,
    SignatureConditionType,
    SignatureType,
    TagEventConditionType,
    TagReferencePolicyType,
)
from sigpolicy.api.fields import Base64Bytes, Timestamp, format_timestamp, parse_timestamp
from sigpolicy.api.image import (
    Image,
    ImageLayer,
    ImageList,
    ImageManifest,
    ImageStreamImage,
)
from sigpolicy.api.imports import (
    ImageImportSpec,
    ImageImportStatus,
    ImageStreamImport,
    ImageStreamImportSpec,
    ImageStreamImportStatus,
    RepositoryImportSpec,
    RepositoryImportStatus,
)
from sigpolicy.api.kinds import KINDS, ApiObject, ListItem, ObjectList
from sigpolicy.api.layers import ImageBlobReferences, ImageLayerData, ImageStreamLayers
from sigpolicy.api.load import parse_as, parse_object
from sigpolicy.api.meta import (
    KubeList,
    KubeObject,
    ListMeta,
    LocalObjectReference,
    ObjectMeta,
    ObjectReference,
    OwnerReference,
    Status,
)
from sigpolicy.api.namespace import Namespace
from sigpolicy.api.secret import Secret, SecretList
from sigpolicy.api.signature import (
    ImageSignature,
    SignatureCondition,
    SignatureIssuer,
    SignatureSubject,
    split_signature_name,
)
from sigpolicy.api.stream import (
    ImageLookupPolicy,
    ImageStream,
    ImageStreamList,
    ImageStreamSpec,
    ImageStreamStatus,
    NamedTagEventList,
    TagEvent,
    TagEventCondition,
    TagImportPolicy,
    TagReference,
    TagReferencePolicy,
)
from sigpolicy.api.tag import (
    ImageStreamMapping,
    ImageStreamTag,
    ImageStreamTagList,
    ImageTag,
    ImageTagList,
)
from sigpolicy.api.validation import (
    require_valid_image,
    require_valid_image_signature,
    validate_image,
    validate_image_signature,
)

__all__ = [
    "CORE_API_VERSION",
    "IMAGE_API_VERSION",
    "KINDS",
    "ApiObject",
    "Base64Bytes",
    "ConditionStatus",
    "Image",
    "ImageBlobReferences",
    "ImageImportSpec",
    "ImageImportStatus",
    "ImageLayer",
    "ImageLayerData",
    "ImageList",
    "ImageLookupPolicy",
    "ImageManifest",
    "ImageSignature",
    "ImageStream",
    "ImageStreamImage",
    "ImageStreamImport",
    "ImageStreamImportSpec",
    "ImageStreamImportStatus",
    "ImageStreamLayers",
    "ImageStreamList",
    "ImageStreamMapping",
    "ImageStreamSpec",
    "ImageStreamStatus",
    "ImageStreamTag",
    "ImageStreamTagList",
    "ImageTag",
    "ImageTagList",
    "ImportMode",
    "KubeList",
    "KubeObject",
    "ListItem",
    "ListMeta",
    "LocalObjectReference",
    "NamedTagEventList",
    "Namespace",
    "ObjectList",
    "ObjectMeta",
    "ObjectReference",
    "OwnerReference",
    "ReferenceKind",
    "RepositoryImportSpec",
    "RepositoryImportStatus",
    "Secret",
    "SecretList",
    "SignatureCondition",
    "SignatureConditionType",
    "SignatureIssuer",
    "SignatureSubject",
    "SignatureType",
    "Status",
    "TagEvent",
    "TagEventCondition",
    "TagEventConditionType",
    "TagImportPolicy",
    "TagReference",
    "TagReferencePolicy",
    "TagReferencePolicyType",
    "Timestamp",
    "TypedObject",
    "WireModel",
    "format_timestamp",
    "parse_as",
    "parse_object",
    "parse_timestamp",
    "require_valid_image",
    "require_valid_image_signature",
    "split_signature_name",
    "validate_image",
    "validate_image_signature",
]
