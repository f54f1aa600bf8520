"""Image patterns of scopes and exemptions, and the rule that picks the most specific scope.

A pattern is one of:

- a containers-policy.json scope (SEMANTICS.md §4), written fully qualified: a reference
  with tag or digest (``registry.example.com/shop/app:1.0``), a repository or namespace
  (``registry.example.com/shop/app``, ``registry.example.com/shop``), a host
  (``registry.example.com:5000``), or a host wildcard (``*.example.com``);
- a glob: ``*`` matches within one path segment (the tag included), ``**`` across segments,
  ``?`` one character (``registry.example.com/shop/**``, ``quay.io/*/app:v*``);
- ``""``, which matches every image.

**The most specific scope wins**, compared by, in order:

1. its rank: a reference scores its path segments plus one (the host counts as a segment), a
   repository or namespace its segments, a host 1, a host wildcard less than a host and more
   for more labels (``*.a.example.com`` beats ``*.example.com``), a glob the literal segments
   before its first wildcard, ``""`` the least. For containers scopes this is exactly
   containers/image's first-match order;
2. a scope limited to namespaces beats one that is not;
3. a containers scope beats a glob of the same rank;
4. more literal characters;
5. the earlier scope in the file.

Lookup is proportional to the reference's depth, not the number of scopes: containers scopes
are found by the reference's own scope candidates in a dictionary, globs by their host.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from sigpolicy.errors import PolicyError
from sigpolicy.reference.docker import Reference

PatternKind = Literal["reference", "repository", "host", "wildcard", "glob", "any"]
_GLOB_CHARS = re.compile(r"\*\*|\*|\?")
_HOST_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_CONTAINERS_SCOPE = re.compile(
    r"^(?:[a-z0-9.-]+|\[[0-9a-f:]+\])(?::[0-9]+)?(?:/[a-z0-9._/-]+)?(?::[\w][\w.-]{0,127}|@sha(?:256|384|512):[0-9a-f]+)?$"
)


class ImagePattern(NamedTuple):
    text: str
    kind: PatternKind
    rank: float
    literal: int
    host: str | None
    regex: re.Pattern[str] | None

    def matches(self, reference: Reference, full: str) -> bool:
        """Whether ``reference`` (``full`` = its string form) falls under this pattern."""
        if self.kind == "any":
            return True
        if self.kind == "glob":
            assert self.regex is not None  # noqa: S101 - globs always have one
            return self.regex.fullmatch(full) is not None
        return self.text in _candidates(reference)


def parse_pattern(text: str) -> ImagePattern:
    """Parse a pattern; PolicyError (one line) for one that could never match."""
    if text == "":
        return ImagePattern("", "any", -1.0, 0, None, None)
    if text.startswith("*.") and not _GLOB_CHARS.search(text[2:]):
        labels = text[2:].split(".")
        if "/" in text or ":" in text or not all(_HOST_LABEL.match(label) for label in labels):
            raise PolicyError(
                f"image pattern {text!r}: a host wildcard is *.domain, without port or path"
            )
        return ImagePattern(text, "wildcard", 0.5 + len(labels) / 1000, len(text) - 2, None, None)
    if _GLOB_CHARS.search(text):
        return _glob(text)
    if not _CONTAINERS_SCOPE.match(text):
        raise PolicyError(
            f"image pattern {text!r} is not a fully qualified reference, repository or host"
        )
    host, _, path = text.partition("/")
    segments = 1 + (len(path.split("/")) if path else 0)
    last = text.rsplit("/", 1)[-1]
    if "@" in text or (path and ":" in last):
        return ImagePattern(text, "reference", segments + 1.0, len(text), host, None)
    if path:
        return ImagePattern(text, "repository", float(segments), len(text), host, None)
    if "." not in host and ":" not in host and host != "localhost":
        raise PolicyError(
            f"image pattern {text!r}: a bare name is not a registry host; write images fully"
            " qualified (docker.io/library/... for Docker Hub)"
        )
    return ImagePattern(text, "host", 1.0, len(text), host, None)


def _glob(text: str) -> ImagePattern:
    segments = text.split("/")
    literal_segments = 0
    for segment in segments:
        if _GLOB_CHARS.search(segment):
            break
        literal_segments += 1
    host = segments[0] if not _GLOB_CHARS.search(segments[0]) else None
    if host is not None and "." not in host and ":" not in host and host != "localhost":
        raise PolicyError(
            f"image pattern {text!r}: the first segment must be a registry host"
            " (docker.io/library/... for Docker Hub) or a wildcard"
        )
    regex = "".join(
        ".*"
        if part == "**"
        else "[^/]*"
        if part == "*"
        else "[^/]"
        if part == "?"
        else re.escape(part)
        for part in re.split(r"(\*\*|\*|\?)", text)
    )
    literal = len(_GLOB_CHARS.sub("", text))
    return ImagePattern(text, "glob", float(literal_segments), literal, host, re.compile(regex))


def _candidates(reference: Reference) -> list[str]:
    from sigpolicy.reference.scopes import policy_scopes

    return policy_scopes(reference)


def describe_match(pattern: ImagePattern) -> str:
    what = {
        "reference": "the exact reference",
        "repository": "the repository or namespace",
        "host": "the registry host",
        "wildcard": "the host wildcard",
        "glob": "the glob",
        "any": 'the catch-all scope ""',
    }[pattern.kind]
    return f"{what} {pattern.text!r}" if pattern.text else what
