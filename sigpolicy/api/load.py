"""Turn parsed JSON or YAML (plain dicts) into models, with one-line errors.

The caller parses the text (YAML parsing belongs to a higher layer); this module dispatches
on ``kind``, validates, and turns a pydantic ``ValidationError`` into an :class:`InputError`
that names the object and the JSON path of the first bad field, for example
``Image "sha256:…": signatures[0].content: not valid base64 (and 2 more)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from sigpolicy.api.base import WireModel
from sigpolicy.api.kinds import KINDS, ApiObject, ObjectList
from sigpolicy.errors import InputError

M = TypeVar("M", bound=WireModel)

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_SHOWN = 60


def parse_object(data: Mapping[str, Any]) -> ApiObject:
    """Parse one top-level document into the model of its ``kind``.

    The document must state ``apiVersion`` and ``kind``, as ``oc get -o yaml`` prints them;
    ``kind: List`` and the typed lists (``ImageList``, ``ImageStreamList``, ...) parse with
    their items. Raises :class:`InputError` for an unknown kind or an invalid object.
    """
    if not isinstance(data, Mapping):
        raise InputError(f"expected a JSON object, got {type(data).__name__}")
    kind = data.get("kind")
    if not isinstance(kind, str) or not kind:
        raise InputError("object has no kind")
    cls = KINDS.get(kind)
    if cls is None:
        raise InputError(
            f"unsupported kind {_shown(kind)} (apiVersion {_shown(data.get('apiVersion'))})"
        )
    if "apiVersion" not in data:
        raise InputError(f"{_subject(kind, data)}: apiVersion: required field is missing")
    return parse_as(cls, data)


def parse_as(model: type[M], data: Mapping[str, Any]) -> M:
    """Parse ``data`` as ``model`` (any wire model, nested ones included).

    Raises :class:`InputError` with a one-line message instead of pydantic's report.
    """
    if not isinstance(data, Mapping):
        raise InputError(f"expected a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(dict(data))
    except ValidationError as err:
        raise InputError(_one_line(model, data, err)) from None


def _one_line(model: type[WireModel], data: Mapping[str, Any], err: ValidationError) -> str:
    errors = err.errors(include_url=False)
    first = errors[0]
    loc = list(first["loc"])
    kind = _model_kind(model, data)
    subject = _subject(kind, data)
    if model is ObjectList and len(loc) >= 3 and loc[0] == "items" and isinstance(loc[1], int):
        # Name the list item, and drop the union tag pydantic puts after its index.
        item = _at(data, loc[:2])
        if first["type"] != "unsupported_kind" and isinstance(item, Mapping):
            subject = f"{_subject(str(loc[2]), item)} ({_path(loc[:2])} of {subject})"
            loc = loc[3:]
    text = _describe(first)
    path = _path(loc)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{subject}: {path}: {text}{more}" if path else f"{subject}: {text}{more}"


def _model_kind(model: type[WireModel], data: Mapping[str, Any]) -> str:
    field = model.model_fields.get("kind")
    if field is not None and isinstance(field.default, str):
        return field.default
    kind = data.get("kind")
    return kind if isinstance(kind, str) and kind else model.__name__


def _subject(kind: str, data: Mapping[str, Any]) -> str:
    metadata = data.get("metadata")
    if not isinstance(metadata, Mapping):
        return kind
    name, namespace = metadata.get("name"), metadata.get("namespace")
    if not isinstance(name, str) or not name:
        return kind
    if isinstance(namespace, str) and namespace:
        return f'{kind} "{namespace}/{name}"'
    return f'{kind} "{name}"'


def _path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            out += f".{part}" if out else part
        else:
            # Map keys such as blob digests ("sha256:…") are not identifiers.
            out += f'["{part}"]'
    return out


def _describe(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        expected = (error.get("ctx") or {}).get("expected", "")
        return f"expected {expected}, got {_shown(error['input'])}"
    message = error["msg"].removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _at(data: Mapping[str, Any], loc: Sequence[int | str]) -> object:
    node: object = data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            node = node[part]
        elif isinstance(part, str) and isinstance(node, Mapping):
            node = node.get(part)
        else:
            return None
    return node
