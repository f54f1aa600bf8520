"""Change one field of a parsed document, for tables of invalid variants."""

from __future__ import annotations

from typing import Any

DELETE: Any = object()
"""Pass as ``value`` to remove the field instead of setting it."""


def edit(data: dict[str, Any], path: tuple[str | int, ...], value: Any = DELETE) -> dict[str, Any]:
    """Set (or with :data:`DELETE` remove) the field at ``path``; returns ``data``."""
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data
