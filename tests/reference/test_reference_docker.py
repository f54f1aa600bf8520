"""parse_reference: ParseNormalizedNamed of containers/image, case by case."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigpolicy.errors import InputError
from sigpolicy.reference import (
    Digest,
    InvalidReferenceError,
    Reference,
    parse_digest,
    parse_reference,
    try_parse_reference,
)

D = "sha256:" + "0123456789abcdef" * 4
D512 = "sha512:" + "ab" * 64

# (input, normalized string, domain, path, tag, digest)
NORMALIZED = [
    pytest.param(
        "busybox",
        "docker.io/library/busybox",
        "docker.io",
        "library/busybox",
        None,
        None,
        id="short-name-gains-docker-io-and-library",
    ),
    pytest.param(
        "busybox:latest",
        "docker.io/library/busybox:latest",
        "docker.io",
        "library/busybox",
        "latest",
        None,
        id="tag-kept-as-written",
    ),
    pytest.param(
        "library/busybox",
        "docker.io/library/busybox",
        "docker.io",
        "library/busybox",
        None,
        None,
        id="library-namespace-explicit",
    ),
    pytest.param(
        "docker.io/busybox",
        "docker.io/library/busybox",
        "docker.io",
        "library/busybox",
        None,
        None,
        id="docker-io-single-component-gains-library",
    ),
    pytest.param(
        "index.docker.io/foo",
        "docker.io/library/foo",
        "docker.io",
        "library/foo",
        None,
        None,
        id="legacy-index-host-is-docker-io",
    ),
    pytest.param(
        "index.docker.io/user/app:1",
        "docker.io/user/app:1",
        "docker.io",
        "user/app",
        "1",
        None,
        id="legacy-index-host-with-namespace",
    ),
    pytest.param(
        "user/app",
        "docker.io/user/app",
        "docker.io",
        "user/app",
        None,
        None,
        id="two-components-on-docker-io",
    ),
    pytest.param(
        "docker.io/library/foo/bar",
        "docker.io/library/foo/bar",
        "docker.io",
        "library/foo/bar",
        None,
        None,
        id="nested-library-path",
    ),
    pytest.param(
        "localhost/foo", "localhost/foo", "localhost", "foo", None, None, id="localhost-is-a-host"
    ),
    pytest.param(
        "localhost:5000/foo:tag",
        "localhost:5000/foo:tag",
        "localhost:5000",
        "foo",
        "tag",
        None,
        id="localhost-with-port-and-tag",
    ),
    pytest.param(
        "localhost:5000",
        "docker.io/library/localhost:5000",
        "docker.io",
        "library/localhost",
        "5000",
        None,
        id="single-component-colon-is-a-tag",
    ),
    pytest.param(
        f"example.com:5000/a/b@{D}",
        f"example.com:5000/a/b@{D}",
        "example.com:5000",
        "a/b",
        None,
        D,
        id="host-port-digest",
    ),
    pytest.param(
        f"a/b:tag@{D}", f"docker.io/a/b:tag@{D}", "docker.io", "a/b", "tag", D, id="tag-and-digest"
    ),
    pytest.param(
        f"busybox@{D512}",
        f"docker.io/library/busybox@{D512}",
        "docker.io",
        "library/busybox",
        None,
        D512,
        id="sha512-digest",
    ),
    pytest.param(
        "127.0.0.1:5000/ns/x",
        "127.0.0.1:5000/ns/x",
        "127.0.0.1:5000",
        "ns/x",
        None,
        None,
        id="ipv4-with-port",
    ),
    pytest.param(
        "192.168.0.1/x", "192.168.0.1/x", "192.168.0.1", "x", None, None, id="ipv4-without-port"
    ),
    pytest.param(
        "[::1]:5000/x", "[::1]:5000/x", "[::1]:5000", "x", None, None, id="ipv6-with-port"
    ),
    pytest.param(
        "[fc00:1:2:3:4:5:6:7]/library/debian:12",
        "[fc00:1:2:3:4:5:6:7]/library/debian:12",
        "[fc00:1:2:3:4:5:6:7]",
        "library/debian",
        "12",
        None,
        id="ipv6-without-port",
    ),
    pytest.param(
        "test-com:8080/foo",
        "test-com:8080/foo",
        "test-com:8080",
        "foo",
        None,
        None,
        id="dotless-host-with-port",
    ),
    pytest.param(
        "Example.COM/foo",
        "Example.COM/foo",
        "Example.COM",
        "foo",
        None,
        None,
        id="uppercase-host-allowed",
    ),
    pytest.param(
        "example.com/foo:UPPER_tag.1-x",
        "example.com/foo:UPPER_tag.1-x",
        "example.com",
        "foo",
        "UPPER_tag.1-x",
        None,
        id="tag-charset",
    ),
    pytest.param(
        "xn--7o8h.com/myimage",
        "xn--7o8h.com/myimage",
        "xn--7o8h.com",
        "myimage",
        None,
        None,
        id="punycode-host",
    ),
    pytest.param(
        "registry.io/foo/project--id.module--name.ver---sion--name",
        "registry.io/foo/project--id.module--name.ver---sion--name",
        "registry.io",
        "foo/project--id.module--name.ver---sion--name",
        None,
        None,
        id="repeated-dashes",
    ),
    pytest.param(
        "dock__er/docker",
        "docker.io/dock__er/docker",
        "docker.io",
        "dock__er/docker",
        None,
        None,
        id="double-underscore",
    ),
    pytest.param(
        "a" * 63 + "g",
        "docker.io/library/" + "a" * 63 + "g",
        "docker.io",
        "library/" + "a" * 63 + "g",
        None,
        None,
        id="64-chars-not-hex",
    ),
    pytest.param(
        "a" * 63,
        "docker.io/library/" + "a" * 63,
        "docker.io",
        "library/" + "a" * 63,
        None,
        None,
        id="63-hex-chars-is-a-name",
    ),
    pytest.param(
        f"docker.io/{'a' * 64}",
        f"docker.io/library/{'a' * 64}",
        "docker.io",
        f"library/{'a' * 64}",
        None,
        None,
        id="64-hex-with-host-is-a-name",
    ),
    pytest.param(
        D,
        f"docker.io/library/sha256:{D[7:]}",
        "docker.io",
        "library/sha256",
        D[7:],
        None,
        id="bare-digest-reads-as-name-and-tag",
    ),
    pytest.param(
        "foo_bar.com/app",
        "foo_bar.com/app",
        "",
        "foo_bar.com/app",
        None,
        None,
        id="upstream-quirk-invalid-host-becomes-path",
    ),
    pytest.param(
        "busybox:" + "t" * 128,
        "docker.io/library/busybox:" + "t" * 128,
        "docker.io",
        "library/busybox",
        "t" * 128,
        None,
        id="tag-of-128",
    ),
    pytest.param(
        "example.com/" + "a" * 243,
        "example.com/" + "a" * 243,
        "example.com",
        "a" * 243,
        None,
        None,
        id="name-of-255",
    ),
]


@pytest.mark.parametrize(("value", "normalized", "domain", "path", "tag", "digest"), NORMALIZED)
def test_normalization(
    value: str, normalized: str, domain: str, path: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_reference(value)
    assert str(ref) == normalized
    assert ref == Reference(domain, path, tag, parse_digest(digest) if digest else None)
    assert parse_reference(normalized) == ref


INVALID = [
    pytest.param("", "empty", id="empty"),
    pytest.param("UPPER/case", "lowercase", id="uppercase-first-component-is-not-a-host"),
    pytest.param("Docker/docker", "lowercase", id="capitalized-namespace"),
    pytest.param("example.com/Foo", "lowercase", id="uppercase-path"),
    pytest.param("UPPERCASEISINVALID", "lowercase", id="uppercase-single-name"),
    pytest.param("a" * 64, "64-hex", id="bare-64-hex"),
    pytest.param("busybox:" + "t" * 129, "tag is longer than 128", id="tag-too-long"),
    pytest.param("example.com/" + "a" * 244, "longer than 255", id="name-too-long"),
    pytest.param("busybox:-tag", "not a valid reference", id="tag-starts-with-dash"),
    pytest.param("busybox:ta~g", "not a valid reference", id="tag-bad-character"),
    pytest.param("busybox@sha256:" + "A" * 64, "not lowercase hex", id="uppercase-digest-hex"),
    pytest.param("busybox@sha256:abc", "not a valid reference", id="short-digest"),
    pytest.param("busybox@md5:" + "0" * 32, "unsupported digest algorithm", id="md5-digest"),
    pytest.param("[::1]", "not a valid reference", id="ipv6-without-path"),
    pytest.param("[::1]:5000", "not a valid reference", id="ipv6-port-without-path"),
    pytest.param("fc00::1:5000/debian", "not a valid reference", id="unbracketed-ipv6"),
    pytest.param("[fe80::1%eth0]:5000/debian", "not a valid reference", id="ipv6-zone"),
    pytest.param("https://github.com/docker/docker", "not a valid reference", id="url"),
    pytest.param("-docker", "not a valid reference", id="leading-dash"),
    pytest.param("docker-/docker", "not a valid reference", id="trailing-dash-namespace"),
    pytest.param("docker///docker", "not a valid reference", id="empty-components"),
    pytest.param("docker/", "not a valid reference", id="trailing-slash"),
    pytest.param("dock..er/docker", "not a valid reference", id="double-dot"),
    pytest.param("____/____", "not a valid reference", id="only-underscores"),
    pytest.param("foo.com:http/bar", "not a valid reference", id="named-port"),
    pytest.param("busybox\n", "not a valid reference", id="trailing-newline"),
    pytest.param("busybox:latest\n", "not a valid reference", id="tag-trailing-newline"),
    pytest.param("büsybox", "not a valid reference", id="non-ascii"),
    pytest.param("busybox:tág", "not a valid reference", id="non-ascii-tag"),
    pytest.param("x" * 601, "longer than any valid reference", id="huge-input"),
]


@pytest.mark.parametrize(("value", "message"), INVALID)
def test_invalid_references(value: str, message: str) -> None:
    with pytest.raises(InvalidReferenceError) as caught:
        parse_reference(value)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, InputError)
    assert try_parse_reference(value) is None


def test_normalization_adds_no_default_tag() -> None:
    name_only = parse_reference("busybox")
    tagged = parse_reference("busybox:latest")
    assert name_only != tagged
    assert name_only.is_name_only
    assert not tagged.is_name_only
    assert not parse_reference(f"busybox@{D}").is_name_only


@pytest.mark.parametrize(
    ("value", "familiar"),
    [
        pytest.param("docker.io/library/busybox:latest", "busybox:latest", id="official"),
        pytest.param("docker.io/user/app", "user/app", id="user-repo"),
        pytest.param("docker.io/library/foo/bar", "library/foo/bar", id="nested-library-kept"),
        pytest.param(f"busybox:1@{D}", f"busybox:1@{D}", id="tag-and-digest"),
        pytest.param("example.com/library/x", "example.com/library/x", id="other-host-unchanged"),
    ],
)
def test_familiar(value: str, familiar: str) -> None:
    assert parse_reference(value).familiar == familiar


def test_repository_and_helpers() -> None:
    ref = parse_reference("example.com:5000/ns/app:1.0")
    digest = parse_digest(D)
    assert ref.repository == "example.com:5000/ns/app"
    pinned = ref.with_digest(digest)
    assert str(pinned) == f"example.com:5000/ns/app:1.0@{D}"
    assert str(pinned.without_tag()) == f"example.com:5000/ns/app@{D}"
    assert str(ref.without_tag()) == "example.com:5000/ns/app"
    assert str(pinned.name_only()) == "example.com:5000/ns/app"
    assert pinned.digest == Digest("sha256", D[7:])


def test_parsing_is_cached() -> None:
    assert parse_reference("cached/app:1") is parse_reference("cached/app:1")


# --- properties -------------------------------------------------------------------------

_COMPONENT = st.from_regex(r"[a-z0-9]{1,6}(?:(?:[._]|__|-{1,3})[a-z0-9]{1,6}){0,2}", fullmatch=True)
_HOST = st.one_of(
    st.sampled_from(["docker.io", "index.docker.io", "localhost", "quay.io", "Example.com"]),
    st.from_regex(r"[a-z0-9]{1,5}\.[a-z]{2,4}", fullmatch=True),
    st.from_regex(r"\[[0-9a-f:]{2,10}\]", fullmatch=True),
)
_PORT = st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}"))
_TAG = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_DIGEST = st.sampled_from([D, D512, "sha384:" + "c" * 96])


@st.composite
def _reference_like(draw: st.DrawFn) -> str:
    """Mostly valid references, with the pieces that normalization rewrites."""
    parts = draw(st.lists(_COMPONENT, min_size=1, max_size=4))
    value = "/".join(parts)
    if draw(st.booleans()):
        value = draw(_HOST) + draw(_PORT) + "/" + value
    if draw(st.booleans()):
        value += ":" + draw(_TAG)
    if draw(st.booleans()):
        value += "@" + draw(_DIGEST)
    return value


_ANY_TEXT = st.one_of(
    st.text(alphabet="abcAB09-._:/@[]%\n ", max_size=80),
    st.text(max_size=40),
    _reference_like(),
    _reference_like().map(lambda s: s.upper()),
)


@settings(max_examples=400, deadline=None)
@given(_ANY_TEXT)
def test_parse_raises_only_invalid_reference_and_round_trips(value: str) -> None:
    try:
        ref = parse_reference(value)
    except InvalidReferenceError:
        return
    assert parse_reference(str(ref)) == ref
    assert str(parse_reference(str(ref))) == str(ref)


def test_familiar_form_is_for_display_only() -> None:
    # As upstream FamiliarString: a docker.io namespace that looks like a host does not
    # survive the short form, which is why identities are compared in full form.
    ref = parse_reference("docker.io/0.0/app")
    assert ref.familiar == "0.0/app"
    assert parse_reference(ref.familiar).domain == "0.0"


@settings(max_examples=200, deadline=None)
@given(_reference_like())
def test_generated_references_mostly_parse(value: str) -> None:
    ref = try_parse_reference(value)
    if ref is not None:
        assert ref.domain != "index.docker.io"
        assert ref.path == ref.path.lower()
