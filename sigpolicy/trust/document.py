"""A parsed trust document (plain dicts) to :class:`TrustStoreSpec`, with one-line errors.

Every error names the file and the path of the first bad field, for example
``trust.yaml: entries[1].keys[0].publicKeyID: 12 hex digits is too weak (16 to 40 required)``,
and is raised as :class:`~sigpolicy.errors.PolicyError` (the configuration is wrong).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from sigpolicy.errors import PolicyError
from sigpolicy.trust.schema import TrustStoreSpec

_MAX_SHOWN = 60


def parse_trust_document(document: object, *, origin: str) -> TrustStoreSpec:
    """Validate a parsed trust file; raises PolicyError ``<origin>: <path>: <why>``."""
    if document is None:
        raise PolicyError(f"{origin}: the file is empty")
    try:
        return TrustStoreSpec.model_validate(document)
    except ValidationError as err:
        raise PolicyError(f"{origin}: {_one_line(err)}") from None


def location(loc: Sequence[int | str]) -> str:
    """``("entries", 1, "keys", 0)`` as ``entries[1].keys[0]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _one_line(err: ValidationError) -> str:
    errors = [error for error in err.errors(include_url=False) if not _consequential(error)]
    first = errors[0]
    path = location(first["loc"])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    text = _describe(first)
    return f"{path}: {text}{more}" if path else f"{text}{more}"


def _consequential(error: ErrorDetails) -> bool:
    # pydantic counts a list's length after dropping invalid items, so a list whose only
    # item is bad is also reported "too short": that follows from the item's own error.
    if error["type"] != "too_short":
        return False
    given = error["input"]
    minimum = (error.get("ctx") or {}).get("min_length", 0)
    return isinstance(given, list) and len(given) >= minimum


def _describe(error: ErrorDetails) -> str:
    kind = error["type"]
    given = error["input"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "literal_error":
        expected = (error.get("ctx") or {}).get("expected", "")
        return f"expected {expected}, got {_shown(given)}"
    if kind == "string_type":
        return f"expected a string, got {_shown(given)}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {_shown(given)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping, got {type(given).__name__}"
    if kind == "too_short":
        return "must not be empty"
    if kind == "string_too_short":
        return "must not be an empty string"
    message = error["msg"].removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"
