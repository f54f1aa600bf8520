"""What a Rego engine answered, before it is read as a decision; and the queried reference.

Both adapters (:mod:`._rego_opa`, :mod:`._rego_regopy`) reduce everything that can happen
to one of three answers, so that :mod:`.rego` reads every engine the same way:

- :class:`Defined`: the queried document has a value (any JSON value, ``false`` included);
- :class:`Undefined`: the engine evaluated the query and the document has no value;
- :class:`Failed`: no value could be had (an error, a timeout, an unreachable server),
  with the reason class and the cause in words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sigpolicy.errors import PolicyError
from sigpolicy.reasons import Reason

_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True, slots=True)
class Defined:
    value: Any


@dataclass(frozen=True, slots=True)
class Undefined:
    pass


@dataclass(frozen=True, slots=True)
class Failed:
    reason: Reason
    cause: str


EngineAnswer = Defined | Undefined | Failed


@dataclass(frozen=True, slots=True)
class RegoRef:
    """A reference to a document under ``data``: ``data.sigpolicy.allow``."""

    segments: tuple[str, ...]

    @property
    def dotted(self) -> str:
        """As Rego writes it: ``data.sigpolicy.allow``."""
        return ".".join(("data", *self.segments))

    @property
    def slashed(self) -> str:
        """As the Data API addresses it, under ``/v1/data/``: ``sigpolicy/allow``."""
        return "/".join(self.segments)


def parse_ref(text: str) -> RegoRef:
    """Read ``data.sigpolicy.allow``, ``sigpolicy.allow``, ``sigpolicy/allow`` (or ``/...``).

    Only plain identifiers are accepted (no brackets, quotes or variables), and never the
    whole ``data`` tree: anything else is a configuration error.
    """
    stripped = text.strip()
    if "=" in stripped:
        raise PolicyError(
            f"Rego reference {text!r}: give the document (e.g. data.sigpolicy.allow), "
            "not a query; sigpolicy binds it to a variable itself"
        )
    if "/" in stripped and "." in stripped:
        raise PolicyError(f"Rego reference {text!r} mixes '/' and '.'")
    if "/" in stripped:
        segments = stripped.removeprefix("/").split("/")
    else:
        segments = stripped.split(".")
        if segments[0] == "data":
            segments = segments[1:]
    if not segments or segments == [""]:
        raise PolicyError(
            f"Rego reference {text!r} names no document under data (e.g. data.sigpolicy.allow)"
        )
    for segment in segments:
        if not _SEGMENT.match(segment):
            raise PolicyError(
                f"Rego reference {text!r}: {segment!r} is not a plain identifier "
                "(letters, digits, '_'; not starting with a digit)"
            )
    return RegoRef(tuple(segments))
