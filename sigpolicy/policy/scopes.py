"""Scopes and the index that finds the most specific one (rules in :mod:`.patterns`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from sigpolicy.policy.decision import Mode, ScopeMatch, TagResolution
from sigpolicy.policy.patterns import ImagePattern, describe_match
from sigpolicy.policy.requirements import Requirement
from sigpolicy.policy.selectors import NamespaceCondition
from sigpolicy.reference.docker import Reference
from sigpolicy.reference.scopes import policy_scopes


class Scope(NamedTuple):
    name: str
    patterns: tuple[ImagePattern, ...]
    namespaces: NamespaceCondition
    mode: Mode | None
    requirement: Requirement
    position: int
    pin_digests: bool = False
    tag_resolution: TagResolution = "registry"

    @property
    def restricted(self) -> bool:
        return self.namespaces.names is not None or self.namespaces.selector is not None


class _Entry(NamedTuple):
    scope: Scope
    pattern: ImagePattern

    def key(self) -> tuple[float, bool, bool, int, int]:
        # Higher is more specific; the rule is documented in sigpolicy.policy.patterns.
        containers = self.pattern.kind not in ("glob", "any")
        return (
            self.pattern.rank,
            self.scope.restricted,
            containers,
            self.pattern.literal,
            -self.scope.position,
        )


class ScopeIndex:
    def __init__(self, scopes: Sequence[Scope]) -> None:
        self.scopes = tuple(scopes)
        self._by_key: dict[str, list[_Entry]] = {}
        self._globs_by_host: dict[str, list[_Entry]] = {}
        self._globs_any_host: list[_Entry] = []
        self._catch_all: list[_Entry] = []
        for scope in self.scopes:
            for pattern in scope.patterns:
                entry = _Entry(scope, pattern)
                if pattern.kind == "glob":
                    bucket = (
                        self._globs_by_host.setdefault(pattern.host, [])
                        if pattern.host
                        else self._globs_any_host
                    )
                    bucket.append(entry)
                elif pattern.kind == "any":
                    self._catch_all.append(entry)
                else:
                    self._by_key.setdefault(pattern.text, []).append(entry)

    def match(
        self, reference: Reference, namespace: str | None, labels: Mapping[str, str] | None
    ) -> tuple[Scope, ScopeMatch] | None:
        """The most specific scope for the image in that namespace, with why it won."""
        best: _Entry | None = None
        for candidate in policy_scopes(reference):
            found = [
                e
                for e in self._by_key.get(candidate, ())
                if e.scope.namespaces.matches(namespace, labels)
            ]
            if found:
                best = max(found, key=_Entry.key)
                break  # candidates come most specific first
        full = str(reference)
        for entry in (
            *self._globs_by_host.get(reference.domain, ()),
            *self._globs_any_host,
            *self._catch_all,
        ):
            if best is not None and entry.key() <= best.key():
                continue
            if entry.scope.namespaces.matches(namespace, labels) and entry.pattern.matches(
                reference, full
            ):
                best = entry
        if best is None:
            return None
        why = describe_match(best.pattern)
        if best.scope.restricted:
            why += f", limited to {best.scope.namespaces.describe()}"
        return best.scope, ScopeMatch(
            best.scope.name, best.pattern.text, why, best.scope.pin_digests
        )

    def scope_named(self, name: str) -> Scope:
        return next(scope for scope in self.scopes if scope.name == name)
