"""``signedIdentity`` objects of both policy formats, to the rules of SEMANTICS.md §3."""

from __future__ import annotations

from typing import Any

from sigpolicy.errors import InputError, PolicyError
from sigpolicy.reference.identity import (
    ExactReference,
    ExactRepository,
    IdentityRule,
    MatchExact,
    MatchRepoDigestOrExact,
    MatchRepository,
    RemapIdentity,
)

_FIELDS = {
    "matchExact": set(),
    "matchRepoDigestOrExact": set(),
    "matchRepository": set(),
    "exactReference": {"dockerReference"},
    "exactRepository": {"dockerRepository"},
    "remapIdentity": {"prefix", "signedPrefix"},
}


def identity_rule(value: Any, *, where: str) -> IdentityRule:
    """Build a rule from ``{"type": ..., ...}``; PolicyError names ``where``."""
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: expected an object with a type")
    kind = value.get("type")
    if kind not in _FIELDS:
        raise PolicyError(f"{where}.type: unknown signedIdentity type {kind!r}")
    extra = sorted(set(value) - _FIELDS[kind] - {"type"})
    if extra:
        raise PolicyError(f"{where}: unknown field {extra[0]!r} for {kind}")
    missing = sorted(_FIELDS[kind] - set(value))
    if missing:
        raise PolicyError(f"{where}: {kind} needs {missing[0]}")
    try:
        if kind == "matchExact":
            return MatchExact()
        if kind == "matchRepoDigestOrExact":
            return MatchRepoDigestOrExact()
        if kind == "matchRepository":
            return MatchRepository()
        if kind == "exactReference":
            return ExactReference(_text(value, "dockerReference", where))
        if kind == "exactRepository":
            return ExactRepository(_text(value, "dockerRepository", where))
        return RemapIdentity(_text(value, "prefix", where), _text(value, "signedPrefix", where))
    except InputError as exc:
        raise PolicyError(f"{where}: {exc}") from None


def _text(value: dict[str, Any], field: str, where: str) -> str:
    text = value[field]
    if not isinstance(text, str):
        raise PolicyError(f"{where}.{field}: expected a string")
    return text
