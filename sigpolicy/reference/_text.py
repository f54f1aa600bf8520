"""Quoting untrusted values inside one-line error messages."""

from __future__ import annotations

from typing import Final

_MAX_SHOWN: Final = 80


def shown(value: str) -> str:
    """``value`` quoted and escaped, cut short: it may be long, multi-line or hostile."""
    if len(value) > _MAX_SHOWN:
        return repr(value[:_MAX_SHOWN])[:-1] + "...'"
    return repr(value)
