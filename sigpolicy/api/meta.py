"""Kubernetes metadata and references shared by the image API kinds (``meta/v1``, ``core/v1``).

Modelled loosely: only the fields sigpolicy reads are typed; everything else (``managedFields``
entries, ``Status.details``) is kept as raw JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from sigpolicy.api.base import TypedObject, WireModel
from sigpolicy.api.fields import Timestamp, parse_timestamp


class OwnerReference(WireModel):
    """``metav1.OwnerReference``; all four identifying fields are required by Kubernetes."""

    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ObjectMeta(WireModel):
    """``metav1.ObjectMeta``: every field optional, as on the wire."""

    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    self_link: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    creation_timestamp: Timestamp | None = None
    deletion_timestamp: Timestamp | None = None
    deletion_grace_period_seconds: int | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    owner_references: list[OwnerReference] | None = None
    finalizers: list[str] | None = None
    managed_fields: list[dict[str, Any]] | None = None

    @property
    def created_at(self) -> datetime | None:
        """``creationTimestamp`` parsed, or ``None`` when unset."""
        return None if self.creation_timestamp is None else parse_timestamp(self.creation_timestamp)


class ListMeta(WireModel):
    """``metav1.ListMeta``."""

    self_link: str | None = None
    resource_version: str | None = None
    continue_: str | None = Field(default=None, alias="continue")
    remaining_item_count: int | None = None


class ObjectReference(WireModel):
    """``corev1.ObjectReference``, as in ``from`` of a spec tag or an import."""

    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    uid: str | None = None
    api_version: str | None = None
    resource_version: str | None = None
    field_path: str | None = None


class LocalObjectReference(WireModel):
    """``corev1.LocalObjectReference``: a name in the same namespace."""

    name: str | None = None


class Status(WireModel):
    """``metav1.Status`` as embedded in import results; its type meta is not fixed here."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta | None = None
    status: str | None = None
    message: str | None = None
    reason: str | None = None
    details: dict[str, Any] | None = None
    code: int | None = None


class KubeObject(TypedObject):
    """A kind with ``metadata`` (ObjectMeta)."""

    metadata: ObjectMeta | None = None

    @property
    def name(self) -> str | None:
        """``metadata.name``, or ``None`` when unset."""
        return None if self.metadata is None else self.metadata.name

    @property
    def namespace(self) -> str | None:
        """``metadata.namespace``, or ``None`` when unset."""
        return None if self.metadata is None else self.metadata.namespace


class KubeList(TypedObject):
    """A list kind with ``metadata`` (ListMeta); subclasses declare typed ``items``."""

    metadata: ListMeta | None = None
