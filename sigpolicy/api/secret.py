"""Core ``v1`` Secret and SecretList, as returned by GET ``imagestreams/<name>/secrets``.

Modelled loosely: the pull secrets are passed on, not interpreted, at this layer. ``data``
values are base64 on the wire and ``bytes`` in Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from sigpolicy.api.constants import CORE_API_VERSION
from sigpolicy.api.fields import Base64Bytes
from sigpolicy.api.meta import KubeList, KubeObject


class Secret(KubeObject):
    """A core v1 Secret."""

    api_version: Literal["v1"] = CORE_API_VERSION
    kind: Literal["Secret"] = "Secret"
    type: str | None = None
    data: dict[str, Base64Bytes] | None = None
    string_data: dict[str, str] | None = None
    immutable: bool | None = None

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # Keep secret material out of logs and tracebacks.
        for key, value in super().__repr_args__():
            yield key, ("<redacted>" if key in ("data", "string_data") and value else value)


class SecretList(KubeList):
    """The pull secrets of a stream; ``items`` is required."""

    api_version: Literal["v1"] = CORE_API_VERSION
    kind: Literal["SecretList"] = "SecretList"
    items: list[Secret]
