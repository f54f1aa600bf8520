"""signedIdentity rules, with the tables of containers/image policy_reference_match_test.go."""

from __future__ import annotations

from typing import Any

import pytest

from sigpolicy.reference import (
    ExactReference,
    ExactRepository,
    IdentityRule,
    InvalidReferenceError,
    MatchExact,
    MatchRepoDigestOrExact,
    MatchRepository,
    RemapIdentity,
    is_valid_remap_prefix,
    parse_reference,
    try_parse_reference,
)

FULL_RHEL = "registry.access.redhat.com/rhel7/rhel:7.2.3"
UNTAGGED_RHEL = "registry.access.redhat.com/rhel7/rhel"
DIG = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
DIG2 = "@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"


def _short(value: str) -> str:
    return value.replace(DIG, "@D").replace(DIG2, "@D2") or "<empty>"


def _rows(table: list[tuple[str, str, bool]], *, symmetric: bool) -> list[Any]:
    rows = []
    for a, b, result in table:
        pairs = [(a, b), (b, a)] if symmetric and a != b else [(a, b)]
        for image, signed in pairs:
            label = f"{_short(image)} vs {_short(signed)} -> {result}"
            rows.append(pytest.param(image, signed, result, id=label))
    return rows


# Symmetric: exact reference match.
EXACT_TABLE = [
    ("busybox:latest", "busybox:latest", True),
    (FULL_RHEL, FULL_RHEL, True),
    ("busybox" + DIG, "busybox" + DIG, True),
    ("library/busybox:latest", "busybox:latest", True),
    ("docker.io/library/busybox:latest", "busybox:latest", True),
    ("library/busybox" + DIG, "busybox" + DIG, True),
    ("busybox:latest", "busybox:notlatest", False),
    ("busybox:latest", "notbusybox:latest", False),
    ("busybox:latest", "hostname/library/busybox:notlatest", False),
    ("hostname/library/busybox:latest", "busybox:notlatest", False),
    ("busybox:latest", FULL_RHEL, False),
    ("busybox" + DIG, "notbusybox" + DIG, False),
    ("busybox:latest", "busybox" + DIG, False),
    ("busybox" + DIG, "busybox" + DIG2, False),
    ("busybox", "busybox:latest", False),
    ("busybox", "busybox" + DIG, False),
    ("busybox", "busybox", False),
    ("busybox:latest" + DIG, "busybox:latest" + DIG, True),
    ("busybox:latest" + DIG, "busybox:latest" + DIG2, False),
    ("busybox:latest" + DIG, "busybox:notlatest" + DIG, False),
    ("busybox:latest" + DIG, "busybox" + DIG, False),
    ("busybox:latest" + DIG, "busybox:latest", False),
    ("UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", "busybox:latest", False),
    ("", "UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", False),
    ("INVALID", "INVALID", False),
]

# Symmetric: same repository.
REPOSITORY_TABLE = [
    ("busybox:latest", "busybox:latest", True),
    (FULL_RHEL, FULL_RHEL, True),
    ("busybox" + DIG, "busybox" + DIG, True),
    ("library/busybox:latest", "busybox:latest", True),
    ("docker.io/library/busybox:latest", "busybox:latest", True),
    ("library/busybox" + DIG, "busybox" + DIG, True),
    ("busybox:latest", "busybox:notlatest", True),
    (FULL_RHEL + "tagsuffix", FULL_RHEL, True),
    ("library/busybox:latest", "busybox:notlatest", True),
    ("busybox:latest", "library/busybox:notlatest", True),
    ("docker.io/library/busybox:notlatest", "busybox:latest", True),
    ("busybox:notlatest", "docker.io/library/busybox:latest", True),
    ("busybox:latest", "busybox" + DIG, True),
    ("busybox" + DIG, "busybox" + DIG2, True),
    ("busybox", "busybox:notlatest", True),
    (FULL_RHEL, UNTAGGED_RHEL, True),
    ("busybox", "busybox" + DIG, True),
    ("library/busybox", "busybox", True),
    ("docker.io/library/busybox", "busybox", True),
    ("busybox:latest", "notbusybox:latest", False),
    ("hostname/library/busybox:latest", "busybox:notlatest", False),
    ("busybox:latest", FULL_RHEL, False),
    ("busybox" + DIG, "notbusybox" + DIG, False),
    ("busybox:latest" + DIG, "busybox:latest" + DIG, True),
    ("busybox:latest" + DIG, "busybox:latest" + DIG2, True),
    ("busybox:latest" + DIG, "busybox:notlatest" + DIG, True),
    ("busybox:latest" + DIG, "busybox" + DIG, True),
    ("busybox:latest" + DIG, "busybox:latest", True),
    ("UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", "busybox:latest", False),
    ("", "UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", False),
    ("INVALID", "INVALID", False),
]

# Asymmetric: (image, signed) for matchRepoDigestOrExact.
REPO_DIGEST_OR_EXACT_TABLE = [
    ("busybox:latest", "busybox:notlatest", False),
    (FULL_RHEL + "tagsuffix", FULL_RHEL, False),
    ("library/busybox:latest", "busybox:notlatest", False),
    ("busybox:latest", "library/busybox:notlatest", False),
    ("docker.io/library/busybox:notlatest", "busybox:latest", False),
    ("busybox:notlatest", "docker.io/library/busybox:latest", False),
    ("busybox", "busybox:latest", False),
    ("busybox:latest", "busybox", False),
    ("busybox", "busybox" + DIG, False),
    ("busybox" + DIG, "busybox", False),
    (FULL_RHEL, UNTAGGED_RHEL, False),
    ("busybox", "busybox", False),
    ("busybox:latest", "busybox" + DIG, False),
    ("busybox" + DIG, "busybox:latest", True),
    ("busybox" + DIG, "busybox" + DIG2, True),
    ("busybox:latest" + DIG, "busybox:latest", False),
    ("busybox:latest" + DIG, "busybox:notlatest", False),
    ("busybox:latest", "busybox:latest" + DIG, False),
    ("busybox:latest" + DIG, "busybox:latest" + DIG2, False),
    ("busybox:latest" + DIG, "busybox:notlatest" + DIG2, False),
    ("quay.io/ns/app" + DIG, "quay.io/ns/app:1.0", True),
    ("quay.io/ns/app" + DIG, "quay.io/ns/other:1.0", False),
    ("quay.io/ns/app" + DIG, "quay.io/ns/app:1.0" + DIG2, True),
    ("quay.io/ns/app" + DIG, "UPPERCASE/app:1.0", False),
]

# matchRepoDigestOrExact accepts all that matchExact accepts and refuses all that
# matchRepository refuses.
REPO_DIGEST_OR_EXACT_DERIVED = [row for row in EXACT_TABLE if row[2]] + [
    row for row in REPOSITORY_TABLE if not row[2]
]


def _check(rule: IdentityRule, image: str, signed: str, result: bool) -> None:
    parsed = try_parse_reference(image)
    if parsed is None:
        # An image reference never reaches a rule without parsing; nothing to check.
        return
    assert rule.matches(parsed, signed) is result


@pytest.mark.parametrize(("image", "signed", "result"), _rows(EXACT_TABLE, symmetric=True))
def test_match_exact(image: str, signed: str, result: bool) -> None:
    _check(MatchExact(), image, signed, result)


@pytest.mark.parametrize(("image", "signed", "result"), _rows(REPOSITORY_TABLE, symmetric=True))
def test_match_repository(image: str, signed: str, result: bool) -> None:
    _check(MatchRepository(), image, signed, result)


@pytest.mark.parametrize(
    ("image", "signed", "result"),
    _rows(REPO_DIGEST_OR_EXACT_DERIVED, symmetric=True)
    + _rows(REPO_DIGEST_OR_EXACT_TABLE, symmetric=False),
)
def test_match_repo_digest_or_exact(image: str, signed: str, result: bool) -> None:
    _check(MatchRepoDigestOrExact(), image, signed, result)


@pytest.mark.parametrize(("fixed", "signed", "result"), _rows(EXACT_TABLE, symmetric=True))
def test_exact_reference(fixed: str, signed: str, result: bool) -> None:
    fixed_ref = try_parse_reference(fixed)
    if fixed_ref is None or fixed_ref.is_name_only:
        with pytest.raises(InvalidReferenceError):
            ExactReference(fixed)
        return
    image = parse_reference("unrelated.example/any/image:tag")
    assert ExactReference(fixed).matches(image, signed) is result


@pytest.mark.parametrize(("fixed", "signed", "result"), _rows(REPOSITORY_TABLE, symmetric=True))
def test_exact_repository(fixed: str, signed: str, result: bool) -> None:
    if try_parse_reference(fixed) is None:
        with pytest.raises(InvalidReferenceError):
            ExactRepository(fixed)
        return
    image = parse_reference("unrelated.example/any/image:tag")
    assert ExactRepository(fixed).matches(image, signed) is result


@pytest.mark.parametrize(
    ("rule", "signed", "result"),
    [
        pytest.param(
            ExactRepository("quay.io/ns/app"),
            "quay.io/ns/app",
            True,
            id="exact-repository-name-only-signed",
        ),
        pytest.param(
            ExactRepository("quay.io/ns/app:ignored"),
            "quay.io/ns/app:1",
            True,
            id="exact-repository-tag-in-policy-ignored",
        ),
        pytest.param(
            ExactReference("quay.io/ns/app" + DIG),
            "quay.io/ns/app" + DIG,
            True,
            id="exact-reference-by-digest",
        ),
        pytest.param(
            ExactReference("quay.io/ns/app" + DIG),
            "quay.io/ns/app" + DIG2,
            False,
            id="exact-reference-other-digest",
        ),
        pytest.param(MatchRepository(), "quay.io/ns/app", True, id="cosign-identity-without-tag"),
        pytest.param(
            MatchRepoDigestOrExact(),
            "quay.io/ns/app",
            False,
            id="default-refuses-cosign-identity-without-tag",
        ),
        pytest.param(MatchExact(), "quay.io/ns/app:1.0", False, id="exact-refuses-digest-image"),
    ],
)
def test_digest_only_image(rule: IdentityRule, signed: str, result: bool) -> None:
    assert rule.matches(parse_reference("quay.io/ns/app" + DIG), signed) is result


@pytest.mark.parametrize(
    ("arguments", "rule_type"),
    [
        pytest.param(("busybox",), ExactReference, id="exact-reference-name-only"),
        pytest.param(("library/busybox",), ExactReference, id="exact-reference-name-only-2"),
        pytest.param(("UPPER:tag",), ExactReference, id="exact-reference-invalid"),
        pytest.param(("INVALIDUPPERCASE",), ExactRepository, id="exact-repository-invalid"),
        pytest.param(("",), ExactRepository, id="exact-repository-empty"),
    ],
)
def test_constructors_refuse_bad_arguments(arguments: tuple[str], rule_type: type[Any]) -> None:
    with pytest.raises(InvalidReferenceError):
        rule_type(*arguments)


# --- remapIdentity ----------------------------------------------------------------------

VALID_PREFIXES = [
    "localhost",
    "example.com",
    "example.com:80",
    "example.com/repo",
    "example.com/ns1/ns2/ns3/repo.with.dots-dashes_underscores",
    "example.com:80/ns1/ns2/ns3/repo.with.dots-dashes_underscores",
    "[::1]:5000/ns",
    "shortname",  # accepted upstream, can never match
    "ns/shortname",  # accepted upstream, can never match
]
INVALID_PREFIXES = [
    "",
    "repo_with_underscores",
    "example.com/",
    "example.com/UPPERCASEISINVALID",
    "example.com/repo/",
    "example.com/repo:tag",
    "example.com/repo" + DIG,
    "example.com/repo:tag" + DIG,
]


@pytest.mark.parametrize("prefix", VALID_PREFIXES)
def test_remap_prefix_valid(prefix: str) -> None:
    assert is_valid_remap_prefix(prefix)
    RemapIdentity(prefix, "example.com")
    RemapIdentity("example.com", prefix)


@pytest.mark.parametrize("prefix", INVALID_PREFIXES, ids=_short)
def test_remap_prefix_invalid(prefix: str) -> None:
    assert not is_valid_remap_prefix(prefix)
    with pytest.raises(InvalidReferenceError, match="remapIdentity prefix"):
        RemapIdentity(prefix, "example.com")
    with pytest.raises(InvalidReferenceError, match="remapIdentity signedPrefix"):
        RemapIdentity("example.com", prefix)


PREFIX_MATCH = [
    ("docker.io/image", "docker.io", True),
    ("docker.io/image", "example.com", False),
    ("example.com:5000/image", "example.com:5000", True),
    ("example.com:50000/image", "example.com:5000", False),
    ("example.com:5000/image", "example.com", False),
    ("example.com/foo", "example.com", True),
    ("example.com/foo/bar", "example.com", True),
    ("example.com/foo/bar:baz", "example.com", True),
    ("example.com/foo/bar" + DIG, "example.com", True),
    ("docker.io/ns/image", "docker.io/library", False),
    ("example.com/library", "docker.io/library", False),
    ("docker.io/libraryy/image", "docker.io/library", False),
    ("docker.io/library/busybox", "docker.io/library", True),
    ("example.com/ns/image", "example.com/ns", True),
    ("example.com/ns2/image", "example.com/ns", False),
    ("example.com/n2/image", "example.com/ns", False),
    ("example.com", "example.com/library/busybox", False),
    ("example.com:5000/ns/image", "example.com/ns", False),
    ("example.com/ns/image", "example.com:5000/ns", False),
    ("docker.io/library/busybox", "docker.io/library/busybox", True),
    ("example.com/library/busybox", "docker.io/library/busybox", False),
    ("docker.io/library/busybox2", "docker.io/library/busybox", False),
    ("example.com/ns/image", "example.com/ns/image", True),
    ("example.com/ns/imag2", "example.com/ns/image", False),
    ("example.com/ns/imagee", "example.com/ns/image", False),
    ("example.com:5000/ns/image", "example.com/ns/image", False),
    ("example.com/ns/image", "example.com:5000/ns/image", False),
    ("example.com/ns/image:tag", "example.com/ns/image", True),
    ("example.com/ns/image" + DIG, "example.com/ns/image", True),
    ("example.com/ns/image:tag" + DIG, "example.com/ns/image", True),
]


@pytest.mark.parametrize(
    ("image", "prefix", "expected"),
    [pytest.param(i, p, e, id=f"{_short(i)} under {p} -> {e}") for i, p, e in PREFIX_MATCH],
)
def test_remap_prefix_matching(image: str, prefix: str, expected: bool) -> None:
    ref = parse_reference(image)
    rule = RemapIdentity(prefix, "docker.io/library/signed-prefix")
    assert (rule.remap(ref) != ref) is expected


REMAP = [
    (
        "mirror.example",
        "vendor.example",
        "mirror.example/ns/image:tag",
        "vendor.example/ns/image:tag",
    ),
    (
        "mirror.example",
        "vendor.example",
        "different.com/ns/image:tag",
        "different.com/ns/image:tag",
    ),
    (
        "mirror.example/ns",
        "vendor.example/vendor-ns",
        "mirror.example/different-ns/image:tag",
        "mirror.example/different-ns/image:tag",
    ),
    (
        "docker.io",
        "not-docker-signed.example/ns",
        "busybox",
        "not-docker-signed.example/ns/library/busybox",
    ),
    (
        "example.com/mirror",
        "example.com/vendor",
        "example.com/mirror/image:tag",
        "example.com/vendor/image:tag",
    ),
    (
        "example.com/ns/mirror",
        "example.com/ns/vendor",
        "example.com/ns/mirror:tag",
        "example.com/ns/vendor:tag",
    ),
    (
        "mirror.example",
        "vendor.example",
        "prefixmirror.example/ns/image:tag",
        "prefixmirror.example/ns/image:tag",
    ),
    (
        "docker.io",
        "not-docker-signed.example",
        "busybox",
        "not-docker-signed.example/library/busybox",
    ),
    (
        "docker.io/library",
        "not-docker-signed.example/ns",
        "busybox",
        "not-docker-signed.example/ns/busybox",
    ),
    (
        "docker.io/library/busybox",
        "not-docker-signed.example/ns/notbusybox",
        "busybox",
        "not-docker-signed.example/ns/notbusybox",
    ),
    ("mirror.example", "vendor.example", "mirror.example/image", "vendor.example/image"),
    (
        "mirror.example",
        "vendor.example",
        "mirror.example/image" + DIG,
        "vendor.example/image" + DIG,
    ),
    (
        "mirror.example",
        "vendor.example",
        "mirror.example/image:tag" + DIG,
        "vendor.example/image:tag" + DIG,
    ),
    # The rewrite is not re-normalized: results that are not canonical match nothing.
    ("mirror.example/ns/image", "vendor.example:5000", "mirror.example/ns/image:tag", None),
    ("mirror.example/ns/image", "vendor.example:5000", "mirror.example/ns/image" + DIG, None),
    ("mirror.example/ns/image", "notlocalhost", "mirror.example/ns/image:tag", None),
    ("mirror.example", "docker.io", "mirror.example/busybox:1", None),
]


@pytest.mark.parametrize(
    ("prefix", "signed_prefix", "image", "expected"),
    [
        pytest.param(p, s, i, e, id=f"{p}=>{s} {_short(i)} -> {_short(e or 'invalid')}")
        for p, s, i, e in REMAP
    ],
)
def test_remap_reference_prefix(
    prefix: str, signed_prefix: str, image: str, expected: str | None
) -> None:
    remapped = RemapIdentity(prefix, signed_prefix).remap(parse_reference(image))
    assert (None if remapped is None else str(remapped)) == expected


REMAP_MATCHES = [
    ("does-not-match.com", "does-not-match.rewritten", "busybox:latest", "busybox:latest", True),
    (
        "does-not-match.com",
        "does-not-match.rewritten",
        "busybox:latest",
        "notbusybox:latest",
        False,
    ),
    ("mirror.example", "public.com", "mirror.example/busybox:1", "public.com/busybox:1", True),
    ("mirror.example", "public.com", "mirror.example/busybox:1", "public.com/busybox:not1", False),
    ("mirror.example", "public.com", "mirror.example/busybox:1", "mirror.example/busybox:1", False),
    (
        "mirror.example",
        "docker.io/library",
        "mirror.example/busybox:latest",
        "busybox:latest",
        True,
    ),
    (
        "mirror.example",
        "docker.io/library",
        "mirror.example/alpine:latest",
        "busybox:latest",
        False,
    ),
    ("docker.io/library", "original.com", "copied:latest", "original.com/copied:latest", True),
    ("docker.io/library", "original.com", "copied:latest", "original.com/ns/copied:latest", False),
    ("busybox", "example.com/busybox", "busybox:latest", "example.com/busybox:latest", False),
    (
        "docker.io/library/busybox",
        "busybox",
        "docker.io/library/busybox:latest",
        "busybox:latest",
        False,
    ),
    ("mirror.example", "public.com", "mirror.example/app" + DIG, "public.com/app:1.0", True),
    ("mirror.example", "public.com", "mirror.example/app" + DIG, "mirror.example/app:1.0", False),
    ("mirror.example", "public.com", "mirror.example/app:1", "public.com/app", False),
    ("mirror.example", "public.com", "mirror.example/app:1", "UPPERCASE", False),
]


@pytest.mark.parametrize(
    ("prefix", "signed_prefix", "image", "signed", "result"),
    [
        pytest.param(p, sp, i, s, r, id=f"{p}=>{sp} {_short(i)} vs {_short(s)} -> {r}")
        for p, sp, i, s, r in REMAP_MATCHES
    ],
)
def test_remap_identity_matches(
    prefix: str, signed_prefix: str, image: str, signed: str, result: bool
) -> None:
    rule = RemapIdentity(prefix, signed_prefix)
    assert rule.matches(parse_reference(image), signed) is result


@pytest.mark.parametrize(
    ("image", "signed", "result"),
    _rows(REPO_DIGEST_OR_EXACT_DERIVED, symmetric=True)
    + _rows(REPO_DIGEST_OR_EXACT_TABLE, symmetric=False),
)
def test_remap_identity_without_rewrite_is_repo_digest_or_exact(
    image: str, signed: str, result: bool
) -> None:
    _check(RemapIdentity("never-causes-a-rewrite.example", "never.example"), image, signed, result)


# --- names and descriptions -------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "name", "text"),
    [
        pytest.param(MatchExact(), "matchExact", "tag and digest", id="matchExact"),
        pytest.param(
            MatchRepoDigestOrExact(),
            "matchRepoDigestOrExact",
            "digest only",
            id="matchRepoDigestOrExact",
        ),
        pytest.param(MatchRepository(), "matchRepository", "repository", id="matchRepository"),
        pytest.param(
            ExactReference("busybox:1"),
            "exactReference",
            "docker.io/library/busybox:1",
            id="exactReference",
        ),
        pytest.param(
            ExactRepository("quay.io/ns/app"),
            "exactRepository",
            "quay.io/ns/app",
            id="exactRepository",
        ),
        pytest.param(
            RemapIdentity("mirror.example", "quay.io"),
            "remapIdentity",
            "mirror.example",
            id="remapIdentity",
        ),
    ],
)
def test_names_and_descriptions(rule: IdentityRule, name: str, text: str) -> None:
    assert rule.name == name
    assert text in rule.describe()
    assert "\n" not in rule.describe()


def test_rules_are_values() -> None:
    assert ExactReference("busybox:1") == ExactReference("busybox:1")
    assert hash(RemapIdentity("a.example", "b.example")) == hash(
        RemapIdentity("a.example", "b.example")
    )
    assert MatchExact() == MatchExact()
