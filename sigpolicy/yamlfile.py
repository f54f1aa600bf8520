"""Strict YAML and JSON reading for configuration and catalog files.

PyYAML silently keeps the last of two duplicate keys, which would let a policy or a catalog
say one thing to a reader's eyes and another to sigpolicy; here a duplicate key is an error
with its line. Only the shell layers (trust files, policies, sources, CLI) use this module:
the verification core never reads YAML.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

from sigpolicy.errors import InputError

_MERGE_TAG = "tag:yaml.org,2002:merge"


# libyaml's parser when PyYAML was built with it: catalogs of thousands of images parse an
# order of magnitude faster. The constructor (and so the duplicate-key check) is the same.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _StrictLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue  # "<<" merges may be overridden by explicit keys, by design
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                duplicate = False
            if duplicate:
                raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document of a file: its data and where its text lies (for rewriting it)."""

    data: Any
    start: int
    end: int
    line: int


def load_documents(text: str, *, where: str) -> list[Document]:
    """Every document of a YAML (or JSON) text, strictly; InputError names file and line."""
    loader = _StrictLoader(text)
    documents: list[Document] = []
    try:
        while loader.check_node():
            node: Node | None = loader.get_node()
            if node is None:
                break
            data = loader.construct_document(node)
            documents.append(
                Document(data, node.start_mark.index, node.end_mark.index, node.start_mark.line + 1)
            )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
        raise InputError(f"{where}:{at} {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    return documents


def load_one(text: str, *, where: str) -> Any:
    """The single document of a configuration file (empty file: None)."""
    documents = load_documents(text, where=where)
    if len(documents) > 1:
        raise InputError(f"{where}: expected one YAML document, found {len(documents)}")
    return documents[0].data if documents else None


def load_json_strict(text: str, *, where: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise InputError(f"{where}: duplicate key {key!r}")
            out[key] = value
        return out

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}:{exc.lineno}: not valid JSON: {exc.msg}") from None


def dump_yaml(data: Any) -> str:
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True
    )


def replace_documents(
    text: str, documents: list[Document], changes: dict[int, Any]
) -> tuple[str, list[Document]]:
    """``text`` with the documents at the indexes of ``changes`` rewritten, every other byte
    left as it was; also the documents of the new text (their spans moved, in one pass)."""
    parts: list[str] = []
    moved: list[Document] = []
    position = length = 0
    for index, document in enumerate(documents):
        parts.append(text[position : document.start])
        length += document.start - position
        if index in changes:
            old = text[document.start : document.end]
            new = dump_yaml(changes[index])
            if not old.endswith("\n"):
                new = new.rstrip("\n")
            data = changes[index]
        else:
            new, data = text[document.start : document.end], document.data
        moved.append(Document(data, length, length + len(new), document.line))
        parts.append(new)
        length += len(new)
        position = document.end
    parts.append(text[position:])
    return "".join(parts), moved


def iter_items(data: Any) -> Iterator[Any]:
    """The objects of a document: the items of a ``kind: List``-like object, else itself."""
    if (
        isinstance(data, dict)
        and isinstance(data.get("items"), list)
        and str(data.get("kind", "")).endswith("List")
    ):
        yield from data["items"]
    elif data is not None:
        yield data
