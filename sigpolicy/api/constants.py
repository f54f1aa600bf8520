"""Fixed strings of the image API: versions, condition types, policy values.

Model fields that hold these values stay plain ``str``: the cluster owns the format and a value
this code has never seen (a new condition type, a new import mode) must survive a
read-modify-write. These enums exist so that code compares against a named constant rather
than a string literal; a ``StrEnum`` member compares equal to its value.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

IMAGE_API_VERSION: Final = "image.openshift.io/v1"
"""``apiVersion`` of every kind of the image API."""

CORE_API_VERSION: Final = "v1"
"""``apiVersion`` of core kinds (Secret, SecretList, the generic List)."""


class SignatureConditionType(StrEnum):
    """Condition types of an ImageSignature.

    Upstream declares these only in openshift-apiserver's internal API. ``Trusted`` and
    ``ForImage`` are the pair that ``oc adm verify-image-signature`` writes; ``Expired`` and
    ``Revoked`` are declared but nothing upstream writes or reads them.
    """

    TRUSTED = "Trusted"
    FOR_IMAGE = "ForImage"
    EXPIRED = "Expired"
    REVOKED = "Revoked"


class ConditionStatus(StrEnum):
    """The status of a Kubernetes condition."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class SignatureType(StrEnum):
    """Values of ``ImageSignature.type`` in use.

    containers/image writes and reads only ``atomic``; the registry and the signature import
    controller write the API constant ``AtomicImageV1``. Both name the same format.
    """

    ATOMIC = "atomic"
    ATOMIC_IMAGE_V1 = "AtomicImageV1"


class TagReferencePolicyType(StrEnum):
    """``TagReference.referencePolicy.type``."""

    SOURCE = "Source"
    LOCAL = "Local"


class ImportMode(StrEnum):
    """``TagImportPolicy.importMode``."""

    LEGACY = "Legacy"
    PRESERVE_ORIGINAL = "PreserveOriginal"


class ReferenceKind(StrEnum):
    """``from.kind`` values of a spec tag."""

    DOCKER_IMAGE = "DockerImage"
    IMAGE_STREAM_TAG = "ImageStreamTag"
    IMAGE_STREAM_IMAGE = "ImageStreamImage"


class TagEventConditionType(StrEnum):
    """``TagEventCondition.type``; upstream defines only ``ImportSuccess``."""

    IMPORT_SUCCESS = "ImportSuccess"
