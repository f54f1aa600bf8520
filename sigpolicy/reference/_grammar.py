"""The Docker reference grammar as precompiled regular expressions.

The productions are those of distribution/reference ``regexp.go`` (also copied into
containers/image ``docker/reference/regexp.go``)::

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [domain "/"] path-component ["/" path-component]*
    domain           := host [":" port-number]
    host             := domain-name | "[" IPv6address "]"
    domain-name      := domain-component ["." domain-component]*
    domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
    path-component   := /[a-z0-9]+/ [separator /[a-z0-9]+/]*
    separator        := /[_.]|__|[-]+/
    tag              := /[\\w][\\w.-]{0,127}/
    digest           := /[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}/

Python differs from Go's RE2 in three ways that matter here, each handled below: ``\\w`` is
Unicode unless spelled out, ``$`` also matches before a trailing newline (we only use
``fullmatch``), and backtracking can go exponential on a separator that may be empty
(containers/image writes ``[-]*``; ``[-]+`` accepts the same language without that risk).
"""

from __future__ import annotations

import re
from typing import Final

_ALPHANUMERIC: Final = r"[a-z0-9]+"
_SEPARATOR: Final = r"(?:[._]|__|-+)"
_PATH_COMPONENT: Final = _ALPHANUMERIC + r"(?:" + _SEPARATOR + _ALPHANUMERIC + r")*"
_REMOTE_NAME: Final = _PATH_COMPONENT + r"(?:/" + _PATH_COMPONENT + r")*"

_DOMAIN_COMPONENT: Final = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
DOMAIN_NAME: Final = _DOMAIN_COMPONENT + r"(?:\." + _DOMAIN_COMPONENT + r")*"
# Zone identifiers and IPv4-mapped forms are excluded upstream, so only hex and colons.
_IPV6_ADDRESS: Final = r"\[[a-fA-F0-9:]+\]"
_HOST: Final = r"(?:" + DOMAIN_NAME + r"|" + _IPV6_ADDRESS + r")"
DOMAIN: Final = _HOST + r"(?::[0-9]+)?"

# Go's \w is ASCII-only.
TAG: Final = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
DIGEST: Final = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

NAME: Final = r"(?:" + DOMAIN + r"/)?" + _REMOTE_NAME

#: ``name [":" tag] ["@" digest]`` with groups ``name``, ``tag``, ``digest``.
REFERENCE_RE: Final = re.compile(
    r"(?P<name>" + NAME + r")(?::(?P<tag>" + TAG + r"))?(?:@(?P<digest>" + DIGEST + r"))?"
)
#: A name split into an optional ``domain`` and its ``path``.
ANCHORED_NAME_RE: Final = re.compile(
    r"(?:(?P<domain>" + DOMAIN + r")/)?(?P<path>" + _REMOTE_NAME + r")"
)
#: A bare sha256 identifier, which upstream refuses as a repository name.
IDENTIFIER_RE: Final = re.compile(r"[a-f0-9]{64}")

# The patterns of the policy's identity rules and scopes are compiled on first use (module
# __getattr__): parsing references needs only the three above, and compiling the others
# would cost the one-shot ``sigpolicy verify`` a millisecond of start-up.
_ON_FIRST_USE: Final = {
    "DOMAIN_RE": DOMAIN,
    # Use with ``match`` (not ``fullmatch``): the value starts with ``domain/``.
    "DOMAIN_PREFIX_RE": DOMAIN + r"/",
    "NAME_RE": NAME,
    # ``domain[/path]`` with the domain mandatory: a repository or one of its namespaces.
    "NAMESPACE_RE": DOMAIN + r"(?:/" + _REMOTE_NAME + r")?",
    # A ``*.`` wildcard built from a host name without its port.
    "WILDCARD_RE": r"\*\." + DOMAIN_NAME,
}


def __getattr__(name: str) -> re.Pattern[str]:
    pattern = _ON_FIRST_USE.get(name)
    if pattern is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    compiled = globals()[name] = re.compile(pattern)
    return compiled
