"""ImageSignature and its parts (``image.openshift.io/v1``).

An ImageSignature is named ``<imageName>@<signatureName>`` and lives inside
``Image.signatures``; the API offers only create and delete for it. ``type`` and ``content``
are what the producer wrote; conditions and the parsed fields (``imageIdentity``,
``signedClaims``, ``created``, ``issuedBy``, ``issuedTo``) are what a verifier recorded.
OpenShift's rules for these objects are in :mod:`sigpolicy.api.validation`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from sigpolicy.api.base import WireModel
from sigpolicy.api.constants import IMAGE_API_VERSION
from sigpolicy.api.fields import Base64Bytes, Timestamp, parse_timestamp
from sigpolicy.api.meta import KubeObject

_NEVER = datetime.min.replace(tzinfo=UTC)


class SignatureCondition(WireModel):
    """One observation about a signature; ``type`` and ``status`` are required.

    ``status`` is kept as any string so that an object with a value this code does not know
    still loads; :func:`~sigpolicy.api.validation.validate_image_signature` reports it.
    """

    type: str
    status: str
    # Go writes a zero metav1.Time as null, so both times may be present and null.
    last_probe_time: Timestamp | None = None
    last_transition_time: Timestamp | None = None
    reason: str | None = None
    message: str | None = None

    @property
    def last_probe_at(self) -> datetime | None:
        """``lastProbeTime`` parsed, or ``None`` when unset."""
        return None if self.last_probe_time is None else parse_timestamp(self.last_probe_time)

    @property
    def last_transition_at(self) -> datetime | None:
        """``lastTransitionTime`` parsed, or ``None`` when unset."""
        if self.last_transition_time is None:
            return None
        return parse_timestamp(self.last_transition_time)


class SignatureIssuer(WireModel):
    """Who issued the signing key or certificate."""

    organization: str | None = None
    common_name: str | None = None


class SignatureSubject(WireModel):
    """Who signed; ``publicKeyID`` is required (at least the 64 lowest bits of the fingerprint)."""

    organization: str | None = None
    common_name: str | None = None
    public_key_id: str = Field(alias="publicKeyID")


class ImageSignature(KubeObject):
    """A signature of an Image: an opaque blob (``content``) of a given ``type``."""

    api_version: Literal["image.openshift.io/v1"] = IMAGE_API_VERSION
    kind: Literal["ImageSignature"] = "ImageSignature"
    type: str
    content: Base64Bytes
    conditions: list[SignatureCondition] | None = None
    image_identity: str | None = None
    signed_claims: dict[str, str] | None = None
    created: Timestamp | None = None
    issued_by: SignatureIssuer | None = None
    issued_to: SignatureSubject | None = None

    def condition(self, condition_type: str) -> SignatureCondition | None:
        """The condition of this type that OpenShift considers current, or ``None``.

        Mirrors openshift-apiserver's validation: the one with the latest ``lastProbeTime``
        (an unset time counts as the earliest), the later one in the list on a tie.
        """
        current: SignatureCondition | None = None
        for cond in self.conditions or ():
            if cond.type != condition_type:
                continue
            if current is None or _probed(cond) >= _probed(current):
                current = cond
        return current

    @property
    def created_at(self) -> datetime | None:
        """``created`` parsed, or ``None`` when unset."""
        return None if self.created is None else parse_timestamp(self.created)

    @property
    def name_parts(self) -> tuple[str, str] | None:
        """``(imageName, signatureName)`` from ``metadata.name``, or ``None`` if malformed."""
        return None if self.name is None else split_signature_name(self.name)


def split_signature_name(name: str) -> tuple[str, str] | None:
    """Split ``<imageName>@<signatureName>``; ``None`` unless exactly one ``@`` joins two parts."""
    parts = name.split("@")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        return None
    return parts[0], parts[1]


def _probed(cond: SignatureCondition) -> datetime:
    return cond.last_probe_at or _NEVER
