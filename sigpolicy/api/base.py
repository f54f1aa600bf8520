"""The shared base of every wire model: tolerant, frozen, and exact on the round trip.

The cluster owns these formats (STYLE.md 7), so unknown fields are kept, never dropped: a
read-modify-write of an Image written by a newer OpenShift must not lose what it added.

Round trip rule (:meth:`WireModel.to_json_dict`): a field is written back exactly when it was
given, whether with a value or with ``null``; a field that was absent stays absent. In Python an
optional field reads as ``None`` both when it was absent and when it was ``null``;
``model_fields_set`` tells the two apart. Fields set by a constructor or by
``model_copy(update=...)`` count as given.

Models are frozen: produce a changed object with ``model_copy(update={...})`` (field names, not
JSON names; the update is not validated, so pass values of the declared types). Lists and maps
inside a model are plain ``list`` and ``dict``; treat them as read-only.

Validation is strict, as Go's decoder is: a string is not accepted for an integer or a boolean,
and the value written back is the value read.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """Base of all image API models: camelCase JSON names, unknown fields kept, frozen."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        # Python code uses field names, the wire uses JSON names; both are accepted.
        populate_by_name=True,
        extra="allow",
        frozen=True,
        strict=True,
    )

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object for this model: the fields that were given, unknown ones included.

        ``Model.model_validate(obj).to_json_dict() == obj`` for every valid ``obj``.
        """
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class TypedObject(WireModel):
    """A kind that carries ``apiVersion`` and ``kind`` (Kubernetes TypeMeta).

    Subclasses narrow both fields to their fixed values as ``Literal`` defaults, so a wrong
    value is rejected and an absent one (list items and embedded objects usually omit them) is
    accepted and stays absent when nested. Dumped as the root document, the object always
    states its type: a standalone document without one could not be read back.
    """

    api_version: str
    kind: str

    def to_json_dict(self) -> dict[str, Any]:
        return {"apiVersion": self.api_version, "kind": self.kind, **super().to_json_dict()}
