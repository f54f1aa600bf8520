"""Which scope decides: containers-policy.json's first-match order, and the specificity rule
of the YAML policy (sigpolicy.policy.patterns), as tables of named cases."""

from __future__ import annotations

import pytest

from sigpolicy.errors import PolicyError
from sigpolicy.policy.containers import containers_scope
from sigpolicy.policy.patterns import parse_pattern
from sigpolicy.policy.requirements import Reject
from sigpolicy.policy.scopes import Scope, ScopeIndex
from sigpolicy.policy.selectors import EVERY_NAMESPACE, NamespaceCondition
from sigpolicy.reference.docker import parse_reference

CONTAINERS_SCOPES = [
    "",
    "example.com",
    "*.com",
    "*.example.com",
    "*.another.example.com",
    "yet.another.example.com:8443",
    "yet.another.example.com:8443/ns",
    "yet.another.example.com:8443/ns/repo",
    "yet.another.example.com:8443/ns/repo:tag",
    "docker.io/library/busybox",
    "docker.io",
    "localhost:5000/app",
]


def containers_index(scopes: list[str]) -> ScopeIndex:
    return ScopeIndex(
        [
            Scope(s or '""', (containers_scope(s),), EVERY_NAMESPACE, None, Reject(), i)
            for i, s in enumerate(scopes)
        ]
    )


CONTAINERS_CASES = {
    "full-reference": (
        "yet.another.example.com:8443/ns/repo:tag",
        "yet.another.example.com:8443/ns/repo:tag",
    ),
    "repository": (
        "yet.another.example.com:8443/ns/repo:other",
        "yet.another.example.com:8443/ns/repo",
    ),
    "namespace": ("yet.another.example.com:8443/ns/other:1", "yet.another.example.com:8443/ns"),
    "host-with-port": ("yet.another.example.com:8443/x/y", "yet.another.example.com:8443"),
    "wildcard-most-labels": ("yet.another.example.com/x", "*.another.example.com"),
    "wildcard-drops-one-label": ("very.example.com/x", "*.example.com"),
    "wildcard-does-not-match-itself": ("example.com/x", "example.com"),
    "wildcard-tld": ("quay.com/x", "*.com"),
    "docker-hub-short-name": ("busybox:latest", "docker.io/library/busybox"),
    "docker-hub-host": ("alpine", "docker.io"),
    "localhost-no-wildcard": ("localhost:5000/app:1", "localhost:5000/app"),
    "empty-scope-last": ("quay.io/team/app:1", '""'),
}


@pytest.mark.parametrize(
    ("image", "expected"), CONTAINERS_CASES.values(), ids=CONTAINERS_CASES.keys()
)
def test_containers_first_match_order(image: str, expected: str) -> None:
    found = containers_index(CONTAINERS_SCOPES).match(parse_reference(image), None, None)
    assert found is not None
    assert found[1].name == expected


def test_no_scope_and_no_catch_all() -> None:
    assert (
        containers_index(["example.com"]).match(parse_reference("quay.io/a/b"), None, None) is None
    )


def yaml_index(*scopes: tuple[str, list[str], NamespaceCondition]) -> ScopeIndex:
    return ScopeIndex(
        [
            Scope(name, tuple(parse_pattern(p) for p in patterns), ns, None, Reject(), i)
            for i, (name, patterns, ns) in enumerate(scopes)
        ]
    )


PROD = NamespaceCondition(frozenset({"prod"}), None)
YAML_CASES = {
    "repository-beats-shallower-glob": (
        [
            ("glob", ["registry.example.com/**"], EVERY_NAMESPACE),
            ("repo", ["registry.example.com/shop/app"], EVERY_NAMESPACE),
        ],
        "registry.example.com/shop/app:1",
        None,
        "repo",
    ),
    "deeper-glob-beats-namespace": (
        [
            ("ns", ["registry.example.com/shop"], EVERY_NAMESPACE),
            ("glob", ["registry.example.com/shop/app/**"], EVERY_NAMESPACE),
        ],
        "registry.example.com/shop/app/x:1",
        None,
        "glob",
    ),
    "containers-scope-beats-glob-of-same-rank": (
        [
            ("glob", ["registry.example.com/shop/**"], EVERY_NAMESPACE),
            ("ns", ["registry.example.com/shop"], EVERY_NAMESPACE),
        ],
        "registry.example.com/shop/app:1",
        None,
        "ns",
    ),
    "namespace-limited-beats-unlimited": (
        [
            ("all", ["registry.example.com/shop/**"], EVERY_NAMESPACE),
            ("prod", ["registry.example.com/shop/**"], PROD),
        ],
        "registry.example.com/shop/app:1",
        "prod",
        "prod",
    ),
    "namespace-limited-skipped-elsewhere": (
        [
            ("all", ["registry.example.com/shop/**"], EVERY_NAMESPACE),
            ("prod", ["registry.example.com/shop/**"], PROD),
        ],
        "registry.example.com/shop/app:1",
        "dev",
        "all",
    ),
    "more-literal-characters-wins": (
        [
            ("loose", ["registry.example.com/*/app:*"], EVERY_NAMESPACE),
            ("tight", ["registry.example.com/*/app:v1*"], EVERY_NAMESPACE),
        ],
        "registry.example.com/shop/app:v1.2",
        None,
        "tight",
    ),
    "earlier-in-file-on-a-tie": (
        [("first", ["quay.io/**"], EVERY_NAMESPACE), ("second", ["quay.io/**"], EVERY_NAMESPACE)],
        "quay.io/a/b:1",
        None,
        "first",
    ),
    "host-wildcard-glob": (
        [("any-host", ["*/shop/**"], EVERY_NAMESPACE)],
        "registry.example.com/shop/app:1",
        None,
        "any-host",
    ),
    "exact-reference-wins": (
        [
            ("repo", ["registry.example.com/shop/app"], EVERY_NAMESPACE),
            ("exact", ["registry.example.com/shop/app:1"], EVERY_NAMESPACE),
        ],
        "registry.example.com/shop/app:1",
        None,
        "exact",
    ),
    "digest-reference": (
        [
            ("repo", ["registry.example.com/shop/app"], EVERY_NAMESPACE),
            ("glob", ["registry.example.com/shop/app@sha256:*"], EVERY_NAMESPACE),
        ],
        "registry.example.com/shop/app@sha256:" + "a" * 64,
        None,
        "repo",
    ),
}


@pytest.mark.parametrize(
    ("scopes", "image", "namespace", "expected"), YAML_CASES.values(), ids=YAML_CASES.keys()
)
def test_most_specific_scope_wins(
    scopes: list[tuple[str, list[str], NamespaceCondition]],
    image: str,
    namespace: str | None,
    expected: str,
) -> None:
    found = yaml_index(*scopes).match(parse_reference(image), namespace, None)
    assert found is not None and found[1].name == expected


BAD_PATTERNS = {
    "bare-name": ("busybox", "not a registry host"),
    "uppercase": ("Registry.example.com/App", "not a fully qualified"),
    "wildcard-with-path": ("*.example.com/app", "without port or path"),
    "glob-with-bare-host": ("busybox/**", "registry host"),
}


@pytest.mark.parametrize(("pattern", "message"), BAD_PATTERNS.values(), ids=BAD_PATTERNS.keys())
def test_patterns_that_could_never_match_are_refused(pattern: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_pattern(pattern)


def test_lookup_does_not_scan_every_scope() -> None:
    scopes = [
        Scope(
            f"s{i}",
            (parse_pattern(f"registry.example.com/team{i}/app"),),
            EVERY_NAMESPACE,
            None,
            Reject(),
            i,
        )
        for i in range(1000)
    ]
    index = ScopeIndex(scopes)
    found = index.match(parse_reference("registry.example.com/team999/app:1"), None, None)
    assert found is not None and found[1].name == "s999"
