"""``WWW-Authenticate`` challenges (RFC 7235 syntax), as registries send them.

``Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"``
or ``Basic realm="Registry"``; several challenges may share one header. Parsing is total: a
header that does not parse yields no challenge (and the 401 stands).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TCHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PART_RE = re.compile(
    rf"""\s*(?:
        (?P<key>{_TCHARS})\s*=\s*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>[^\s,]*))
      | (?P<scheme>{_TCHARS})(?=\s|,|$)
    )\s*,?""",
    re.VERBOSE,
)
# A registry header is small; a long one is refused unparsed, bounding the regex work.
_MAX_HEADER = 8192


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lowercase: "bearer" or "basic" (others are kept and ignored by the client)
    params: dict[str, str] = field(default_factory=dict)


def parse_challenges(header: str) -> list[Challenge]:
    if len(header) > _MAX_HEADER:
        return []
    found: list[tuple[str, dict[str, str]]] = []
    position = 0
    header = header.strip()
    while position < len(header):
        match = _PART_RE.match(header, position)
        if match is None or match.end() == position:
            return []
        position = match.end()
        if match["scheme"] is not None:
            found.append((match["scheme"].lower(), {}))
        elif not found:
            return []
        else:
            value = match["quoted"]
            value = re.sub(r"\\(.)", r"\1", value) if value is not None else match["bare"]
            found[-1][1][match["key"].lower()] = value
    return [Challenge(scheme, params) for scheme, params in found]
