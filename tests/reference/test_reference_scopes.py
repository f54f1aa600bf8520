"""policy_scopes: containers-policy.json scope candidates, first match wins."""

from __future__ import annotations

import pytest

from sigpolicy.reference import is_valid_scope, parse_reference, policy_scopes

D = "@sha256:" + "0123456789abcdef" * 4

SCOPES = [
    pytest.param(
        "yet.another.example.com:8443/ns/repo:1",
        [
            "yet.another.example.com:8443/ns/repo:1",
            "yet.another.example.com:8443/ns/repo",
            "yet.another.example.com:8443/ns",
            "yet.another.example.com:8443",
            "*.another.example.com",
            "*.example.com",
            "*.com",
        ],
        id="host-with-port-namespaces-and-wildcards",
    ),
    pytest.param(
        "busybox:latest",
        [
            "docker.io/library/busybox:latest",
            "docker.io/library/busybox",
            "docker.io/library",
            "docker.io",
            "*.io",
        ],
        id="short-name-expanded",
    ),
    pytest.param(
        "busybox",
        [
            "docker.io/library/busybox:latest",
            "docker.io/library/busybox",
            "docker.io/library",
            "docker.io",
            "*.io",
        ],
        id="name-only-looked-up-as-latest",
    ),
    pytest.param(
        "quay.io/ns/app" + D,
        ["quay.io/ns/app" + D, "quay.io/ns/app", "quay.io/ns", "quay.io", "*.io"],
        id="digest",
    ),
    pytest.param(
        "quay.io/ns/app:1.0" + D,
        ["quay.io/ns/app" + D, "quay.io/ns/app", "quay.io/ns", "quay.io", "*.io"],
        id="tag-and-digest-uses-the-digest",
    ),
    pytest.param(
        "very.deep.com/a/b/c/d:t",
        [
            "very.deep.com/a/b/c/d:t",
            "very.deep.com/a/b/c/d",
            "very.deep.com/a/b/c",
            "very.deep.com/a/b",
            "very.deep.com/a",
            "very.deep.com",
            "*.deep.com",
            "*.com",
        ],
        id="each-parent-namespace",
    ),
    pytest.param(
        "localhost:5000/app:1",
        ["localhost:5000/app:1", "localhost:5000/app", "localhost:5000"],
        id="localhost-has-no-wildcard",
    ),
    pytest.param(
        "127.0.0.1:5000/app:1",
        ["127.0.0.1:5000/app:1", "127.0.0.1:5000/app", "127.0.0.1:5000", "*.0.0.1", "*.0.1", "*.1"],
        id="ipv4-labels-as-upstream",
    ),
    pytest.param(
        "[::1]:5000/app:1",
        ["[::1]:5000/app:1", "[::1]:5000/app", "[::1]:5000"],
        id="ipv6-has-no-wildcard",
    ),
    pytest.param(
        "foo_bar.com/app:1",
        ["foo_bar.com/app:1", "foo_bar.com/app", "foo_bar.com", "*.com"],
        id="upstream-quirk-hostless-reference",
    ),
]


@pytest.mark.parametrize(("reference", "expected"), SCOPES)
def test_policy_scopes(reference: str, expected: list[str]) -> None:
    scopes = policy_scopes(parse_reference(reference))
    assert scopes == expected
    assert len(scopes) == len(set(scopes))


def _first_match(reference: str, defined: set[str]) -> str | None:
    return next((s for s in policy_scopes(parse_reference(reference)) if s in defined), None)


@pytest.mark.parametrize(
    ("reference", "defined", "chosen"),
    [
        pytest.param(
            "example.com/ns/app:1",
            {"*.example.com", "example.com"},
            "example.com",
            id="host-before-wildcard",
        ),
        pytest.param(
            "example.com/ns/app:1",
            {"*.example.com"},
            None,
            id="wildcard-does-not-match-the-bare-domain",
        ),
        pytest.param(
            "sub.example.com/app:1",
            {"*.example.com", "*.com"},
            "*.example.com",
            id="closest-wildcard-first",
        ),
        pytest.param(
            "very.deep.com/app:1",
            {"*.deep.com", "*.com"},
            "*.deep.com",
            id="very-deep-selects-star-deep",
        ),
        pytest.param(
            "not.very.deep.com/app:1",
            {"*.very.deep.com", "*.deep.com"},
            "*.very.deep.com",
            id="not-very-deep-selects-star-very-deep",
        ),
        pytest.param(
            "example.com/ns/app:1",
            {"example.com/ns", "example.com/ns/app:2"},
            "example.com/ns",
            id="other-tag-falls-to-namespace",
        ),
        pytest.param(
            "example.com:5000/app:1", {"example.com"}, None, id="host-scope-needs-the-port"
        ),
        pytest.param("example.com:5000/app:1", {"*.com"}, "*.com", id="wildcard-ignores-port"),
    ],
)
def test_first_match(reference: str, defined: set[str], chosen: str | None) -> None:
    assert _first_match(reference, defined) == chosen


@pytest.mark.parametrize(
    ("scope", "valid"),
    [
        pytest.param("", True, id="transport-wide"),
        pytest.param("docker.io/library/busybox:latest", True, id="full-reference-tag"),
        pytest.param("quay.io/ns/app" + D, True, id="full-reference-digest"),
        pytest.param("quay.io/ns/app", True, id="repository"),
        pytest.param("quay.io/ns", True, id="namespace"),
        pytest.param("quay.io", True, id="host"),
        pytest.param("localhost:5000", True, id="host-port"),
        pytest.param("[::1]:5000/x", True, id="ipv6-repository"),
        pytest.param("docker.io/library", True, id="docker-io-namespace"),
        pytest.param("*.example.com", True, id="wildcard"),
        pytest.param("*.com", True, id="top-level-wildcard"),
        pytest.param("busybox", False, id="short-name-never-matches"),
        pytest.param("busybox:latest", False, id="short-reference-never-matches"),
        pytest.param("library/busybox", False, id="namespace-without-host"),
        pytest.param("index.docker.io/library/busybox", False, id="legacy-host-never-matches"),
        pytest.param("quay.io/ns/app:1.0" + D, False, id="tag-and-digest-never-matches"),
        pytest.param("*.example.com:443", False, id="wildcard-with-port"),
        pytest.param("*example.com", False, id="wildcard-without-dot"),
        pytest.param("quay.io/NS", False, id="uppercase-path"),
        pytest.param("quay.io/ns/", False, id="trailing-slash"),
        pytest.param("docker.io/library/busybox@sha256:abc", False, id="bad-digest"),
    ],
)
def test_is_valid_scope(scope: str, valid: bool) -> None:
    assert is_valid_scope(scope) is valid


def test_every_generated_scope_is_valid() -> None:
    for param in SCOPES:
        reference = str(param.values[0])
        if reference.startswith("foo_bar"):
            continue  # the host-less quirk cannot be named by a scope with a host
        assert all(is_valid_scope(s) for s in policy_scopes(parse_reference(reference)))
