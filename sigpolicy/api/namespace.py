"""Core ``v1`` Namespace: only its metadata matters here (a policy scope's
``namespaceSelector`` matches its labels)."""

from __future__ import annotations

from typing import Literal

from sigpolicy.api.constants import CORE_API_VERSION
from sigpolicy.api.meta import KubeObject


class Namespace(KubeObject):
    """A core v1 Namespace; ``spec`` and ``status`` are kept as unknown fields."""

    api_version: Literal["v1"] = CORE_API_VERSION
    kind: Literal["Namespace"] = "Namespace"

    @property
    def labels(self) -> dict[str, str]:
        meta = self.metadata
        return dict(meta.labels or {}) if meta is not None else {}
