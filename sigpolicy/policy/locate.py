"""Where in a policy file a JSON path points: the line, for one-line errors a person can act on.

JSON is read as YAML here (it is valid YAML), so one walk over the composed node tree serves
both formats.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode


def json_path(loc: Sequence[int | str]) -> str:
    out = "$"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def line_of(text: str, loc: Sequence[int | str]) -> int | None:
    """The 1-based line of the deepest node ``loc`` reaches (its parent if it is missing)."""
    try:
        node: Node | None = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    line = None if node is None else node.start_mark.line + 1
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def _child(node: Node | None, part: int | str) -> Node | None:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if key.value == part:
                return value  # type: ignore[no-any-return]
    if isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part]  # type: ignore[no-any-return]
    return None
