"""registries.d as containers/image reads it: tables of named cases.

Behaviour from containers-registries.d(5) and containers/image ``docker/registries_d.go``
with its ``registries_d_test.go`` (``TestRegistryConfigurationSignatureTopLevel``,
``TestRegistryNamespaceSignatureTopLevel``, ``TestLoadAndMergeConfig``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sigpolicy.errors import InputError
from sigpolicy.reference.digest import parse_digest
from sigpolicy.reference.docker import parse_reference
from sigpolicy.sources.registry.lookaside import signature_location
from sigpolicy.sources.registry.registries_d import BUILTIN_LOOKASIDE, LookasideURL, RegistriesD

BUILTIN = "file:///builtin/sigstore"
HEX = "0123456789abcdef" * 4

# upstream TestRegistryConfigurationSignatureTopLevel: each scope's lookaside is its own name.
UPSTREAM_SCOPES = [
    "localhost",
    "localhost:5000",
    "example.com",
    "example.com/ns1",
    "example.com/ns1/ns2",
    "example.com/ns1/ns2/repo",
    "example.com/ns1/ns2/repo:notlatest",
]
UPSTREAM_FILE = (
    "default-docker:\n  lookaside: https://default.test\n  lookaside-staging: file:///w\ndocker:\n"
    + "".join(
        f"  {scope}:\n    lookaside: https://{scope.replace(':', '.').replace('/', '.')}.test\n"
        f"    lookaside-staging: file:///w/{scope}\n"
        for scope in UPSTREAM_SCOPES
    )
)


def url_of(scope: str) -> str:
    return f"https://{scope.replace(':', '.').replace('/', '.')}.test"


@dataclass(frozen=True)
class Case:
    name: str
    files: dict[str, str]
    reference: str
    lookaside: str | None
    attachments: bool = False
    lookaside_from: str | None = None
    builtin: str | None = BUILTIN
    extra: dict[str, bytes] = field(default_factory=dict)


CASES = [
    *[
        Case(f"upstream top level: {ref}", {"a.yaml": UPSTREAM_FILE}, ref, url)
        for ref, url in [
            ("example.com/ns1/ns2/repo:notlatest", url_of("example.com/ns1/ns2/repo:notlatest")),
            ("example.com/ns1/ns2/repo:unmatched", url_of("example.com/ns1/ns2/repo")),
            ("example.com/ns1/ns2/notrepo:notlatest", url_of("example.com/ns1/ns2")),
            ("example.com/ns1/notns2/repo:notlatest", url_of("example.com/ns1")),
            ("example.com/notns1/ns2/repo:notlatest", url_of("example.com")),
            ("unknown.example.com/busybox:1", "https://default.test"),
            ("localhost:5000/busybox:1", url_of("localhost:5000")),
            ("localhost/busybox:1", url_of("localhost")),
            # The port-less host is not a parent scope of host:port (the man page's note).
            ("localhost:9999/busybox:1", "https://default.test"),
        ]
    ],
    Case(
        "no configuration: the built-in folder",
        {},
        "example.com/a:1",
        BUILTIN,
        lookaside_from="built-in default",
    ),
    Case("no configuration and no built-in: nothing", {}, "example.com/a:1", None, builtin=None),
    Case(
        "a scope that does not match leaves nothing",
        {"a.yaml": "docker:\n  unmatched:\n    lookaside: https://a.test\n"},
        "thisisnotmatched.test/x:1",
        None,
        builtin=None,
    ),
    Case(
        "default-docker for every registry",
        {"a.yaml": "default-docker:\n  lookaside: https://sigs.test\n"},
        "quay.io/ns/app:1",
        "https://sigs.test",
        lookaside_from="default-docker",
    ),
    Case(
        "the digest form is a full-reference scope",
        {
            "a.yaml": f"docker:\n  example.com/app@sha256:{HEX}:\n    lookaside: https://pinned.test\n  example.com:\n    lookaside: https://host.test\n"
        },
        f"example.com/app@sha256:{HEX}",
        "https://pinned.test",
    ),
    Case(
        "a host wildcard matches subdomains",
        {"a.yaml": "docker:\n  '*.example.com':\n    lookaside: https://wild.test\n"},
        "registry.example.com/app:1",
        "https://wild.test",
        builtin=None,
    ),
    Case(
        "a host wildcard does not match the domain itself",
        {"a.yaml": "docker:\n  '*.example.com':\n    lookaside: https://wild.test\n"},
        "example.com/app:1",
        None,
        builtin=None,
    ),
    Case(
        "the old sigstore key reads like lookaside",
        {"a.yaml": "docker:\n  example.com:\n    sigstore: https://old.test\n"},
        "example.com/app:1",
        "https://old.test",
    ),
    Case(
        "lookaside wins over sigstore in one section",
        {
            "a.yaml": "docker:\n  example.com:\n    sigstore: https://old.test\n    lookaside: https://new.test\n"
        },
        "example.com/app:1",
        "https://new.test",
    ),
    Case(
        "lookaside-staging is write-only: the parent's lookaside is read",
        {
            "a.yaml": "docker:\n  example.com:\n    lookaside: https://host.test\n  example.com/team:\n    lookaside-staging: file:///staging\n"
        },
        "example.com/team/app:1",
        "https://host.test",
    ),
    Case(
        "sigstore-staging is write-only too",
        {
            "a.yaml": "default-docker:\n  sigstore: https://default.test\ndocker:\n  example.com:\n    sigstore-staging: file:///staging\n"
        },
        "example.com/app:1",
        "https://default.test",
    ),
    Case(
        "staging only everywhere: the built-in folder",
        {"a.yaml": "docker:\n  example.com:\n    lookaside-staging: file:///staging\n"},
        "example.com/app:1",
        BUILTIN,
    ),
    Case(
        "an empty lookaside string is unset",
        {
            "a.yaml": "docker:\n  example.com:\n    lookaside: https://host.test\n  example.com/app:\n    lookaside: ''\n"
        },
        "example.com/app:1",
        "https://host.test",
    ),
    Case(
        "each key falls through on its own: attachments from the repository, lookaside from the host",
        {
            "a.yaml": "docker:\n  example.com:\n    lookaside: https://host.test\n  example.com/app:\n    use-sigstore-attachments: true\n"
        },
        "example.com/app:1",
        "https://host.test",
        attachments=True,
    ),
    Case(
        "a more precise false turns attachments off",
        {
            "a.yaml": "default-docker:\n  use-sigstore-attachments: true\ndocker:\n  example.com/app:\n    use-sigstore-attachments: false\n"
        },
        "example.com/app:1",
        BUILTIN,
        attachments=False,
    ),
    Case(
        "default-docker turns attachments on",
        {"a.yaml": "default-docker:\n  use-sigstore-attachments: true\n"},
        "quay.io/x/y:1",
        BUILTIN,
        attachments=True,
    ),
    Case(
        "unknown keys are ignored, at the top and in sections",
        {
            "a.yaml": "privateer: 1\ndocker:\n  example.com:\n    lookaside: https://host.test\n    use-cosign-attachments: true\n    colour: blue\n"
        },
        "example.com/app:1",
        "https://host.test",
        attachments=False,
    ),
    Case(
        "scopes merge across files",
        {
            "a.yaml": "docker:\n  example.com:\n    lookaside: https://host.test\n",
            "b.yaml": "docker:\n  example.com/app:\n    use-sigstore-attachments: true\n",
        },
        "example.com/app:1",
        "https://host.test",
        attachments=True,
    ),
    Case(
        "only *.yaml files are read",
        {
            "a.yml": "default-docker:\n  lookaside: https://yml.test\n",
            "b.yaml.bak": "default-docker:\n  lookaside: https://bak.test\n",
            "c.yaml": "{}\n",
        },
        "example.com/app:1",
        BUILTIN,
    ),
    Case(
        "empty files and null sections are fine",
        {
            "a.yaml": "",
            "b.yaml": "default-docker:\ndocker:\n",
            "c.yaml": "docker:\n  example.com:\n",
        },
        "example.com/app:1",
        BUILTIN,
    ),
    Case(
        "the man page's developer example: a branch has its own store",
        {
            "a.yaml": "docker:\n    registry.example.com:\n        sigstore: https://registry-sigstore.example.com\n    registry.example.com/mydepartment:\n        sigstore: https://sigstore.mydepartment.example.com\n        sigstore-staging: file:///mnt/mydepartment/sigstore-staging\n    registry.example.com/mydepartment/myproject:mybranch:\n        sigstore: http://localhost:4242/sigstore\n        sigstore-staging: file:///home/useraccount/webroot/sigstore\n"
        },
        "registry.example.com/mydepartment/myproject:mybranch",
        "http://localhost:4242/sigstore",
    ),
    Case(
        "the man page's developer example: another project uses the department's",
        {
            "a.yaml": "docker:\n    registry.example.com:\n        sigstore: https://registry-sigstore.example.com\n    registry.example.com/mydepartment:\n        sigstore: https://sigstore.mydepartment.example.com\n        sigstore-staging: file:///mnt/mydepartment/sigstore-staging\n"
        },
        "registry.example.com/mydepartment/other:1",
        "https://sigstore.mydepartment.example.com",
    ),
]


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir()
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_lookup(case: Case, tmp_path: Path) -> None:
    config = RegistriesD.load(write(tmp_path / "d", case.files), builtin_lookaside=case.builtin)
    found = config.for_reference(parse_reference(case.reference))
    assert (str(found.lookaside) if found.lookaside else None) == case.lookaside
    assert found.use_sigstore_attachments is case.attachments
    if case.lookaside_from is not None:
        assert found.lookaside_from is not None
        assert found.lookaside_from.startswith(case.lookaside_from)


def test_missing_folder_is_empty(tmp_path: Path) -> None:
    config = RegistriesD.load(tmp_path / "absent", builtin_lookaside=None)
    found = config.for_reference(parse_reference("example.com/a:1"))
    assert found.lookaside is None
    assert found.use_sigstore_attachments is False


def test_builtin_default_is_upstreams_for_this_user() -> None:
    expected = (
        "file:///var/lib/containers/sigstore"
        if os.geteuid() == 0
        else (Path.home() / ".local/share/containers/sigstore").as_uri()
    )
    assert expected == BUILTIN_LOOKASIDE


def test_scope_origin_names_file_and_line(tmp_path: Path) -> None:
    directory = write(
        tmp_path / "d",
        {"x.yaml": "# c\ndocker:\n  example.com:\n    lookaside: https://a.test\n"},
    )
    found = RegistriesD.load(directory, builtin_lookaside=None).for_reference(
        parse_reference("example.com/a:1")
    )
    assert found.lookaside_from == f"docker scope 'example.com' ({directory / 'x.yaml'} line 3)"


@dataclass(frozen=True)
class Bad:
    name: str
    files: dict[str, str]
    expected: tuple[str, ...]


BAD = [
    Bad(
        "a scope defined in two files",
        {
            "0.yaml": "docker:\n example.com:\n  lookaside: file:////tmp/something\n",
            "1.yaml": "docker:\n example.com:\n  lookaside: file:////tmp/different\n",
        },
        ("1.yaml line 2", "docker scope 'example.com' is also defined in", "0.yaml line 2"),
    ),
    Bad(
        "the same scope twice, even when both agree",
        {
            "0.yaml": "docker:\n example.com:\n  lookaside: https://a.test\n",
            "1.yaml": "docker:\n example.com:\n  lookaside: https://a.test\n",
        },
        ("0.yaml", "1.yaml", "'example.com'"),
    ),
    Bad(
        "an empty section still counts as a definition",
        {
            "0.yaml": "docker:\n example.com:\n",
            "1.yaml": "docker:\n example.com:\n  lookaside: https://a.test\n",
        },
        ("0.yaml", "1.yaml"),
    ),
    Bad(
        "default-docker defined in two files",
        {
            "0.yaml": "default-docker:\n lookaside: file:////tmp/something\n",
            "1.yaml": "default-docker:\n lookaside: file:////tmp/different\n",
        },
        ('"default-docker" is also defined in', "0.yaml", "1.yaml"),
    ),
    Bad("invalid YAML", {"0.yaml": "}"}, ("0.yaml", "line 1")),
    Bad(
        "a duplicate key in one file",
        {
            "0.yaml": "docker:\n  example.com:\n    lookaside: https://a.test\n  example.com:\n    lookaside: https://b.test\n"
        },
        ("0.yaml", "line 4", "duplicate key 'example.com'"),
    ),
    Bad("not a mapping", {"0.yaml": "- docker\n"}, ("0.yaml", "must be a YAML mapping")),
    Bad(
        "docker is not a mapping",
        {"0.yaml": "\ndocker: [a]\n"},
        ("0.yaml line 2", '"docker" must be a mapping'),
    ),
    Bad(
        "a section that is not a mapping",
        {"0.yaml": "docker:\n  example.com: https://a.test\n"},
        ("0.yaml line 2", "must be a mapping"),
    ),
    Bad(
        "a lookaside that is not a string",
        {"0.yaml": "docker:\n  example.com:\n    lookaside: [1]\n"},
        ("line 2", "lookaside must be a string URL"),
    ),
    Bad(
        "a flag that is not a boolean",
        {"0.yaml": "default-docker:\n  use-sigstore-attachments: maybe\n"},
        ("line 1", "use-sigstore-attachments must be true or false"),
    ),
    Bad(
        "an unsupported scheme",
        {"0.yaml": "default-docker:\n  lookaside: ftp://a.test/sigs\n"},
        ("0.yaml line 1", "unsupported scheme"),
    ),
    Bad(
        "a relative file URL",
        {"0.yaml": "default-docker:\n  lookaside: file:relative/dir\n"},
        ("file:///absolute/path",),
    ),
    Bad(
        "a URL without a scheme",
        {"0.yaml": "docker:\n  localhost/file/path/test:\n    lookaside: /no/scheme/just/a/path\n"},
        ("unsupported scheme",),
    ),
    Bad(
        "a URL with a query",
        {"0.yaml": "default-docker:\n  lookaside: https://a.test/s?x=1\n"},
        ("query",),
    ),
    Bad(
        "two documents",
        {"0.yaml": "docker: {}\n---\ndocker: {}\n"},
        ("0.yaml", "expected one YAML document"),
    ),
    Bad("a folder named like a file", {}, ("sub.yaml", "cannot read")),
]


@pytest.mark.parametrize("case", BAD, ids=lambda c: c.name)
def test_malformed(case: Bad, tmp_path: Path) -> None:
    directory = write(tmp_path / "d", case.files)
    if case.name == "a folder named like a file":
        (directory / "sub.yaml").mkdir()
    with pytest.raises(InputError) as raised:
        RegistriesD.load(directory, builtin_lookaside=None)
    message = str(raised.value)
    assert "\n" not in message
    for part in case.expected:
        assert part in message


def test_not_utf8(tmp_path: Path) -> None:
    directory = tmp_path / "d"
    directory.mkdir()
    (directory / "0.yaml").write_bytes(b"docker:\n  \xff: {}\n")
    with pytest.raises(InputError, match=r"0\.yaml: not UTF-8"):
        RegistriesD.load(directory)


# upstream TestLookasideStorageURL, plus the repository path the base is joined with.
LAYOUT = [
    ("file:///tmp", "example.com/ns/app", 1, f"/tmp/ns/app@sha256={HEX}/signature-1"),
    ("file:///tmp", "example.com/ns/app", 2, f"/tmp/ns/app@sha256={HEX}/signature-2"),
    ("file:///my%20sigs", "example.com/app", 1, f"/my sigs/app@sha256={HEX}/signature-1"),
    (
        "https://localhost:5555/root",
        "localhost:5555/a/b/c",
        1,
        f"https://localhost:5555/root/a/b/c@sha256={HEX}/signature-1",
    ),
    (
        "http://localhost:5555/root",
        "docker.io/library/busybox",
        3,
        f"http://localhost:5555/root/library/busybox@sha256={HEX}/signature-3",
    ),
    (
        "https://lookaside.centos.org/",
        "docker.io/centos/x",
        1,
        f"https://lookaside.centos.org//centos/x@sha256={HEX}/signature-1",
    ),
]


@pytest.mark.parametrize(("base", "repository", "number", "expected"), LAYOUT)
def test_signature_location(base: str, repository: str, number: int, expected: str) -> None:
    url = LookasideURL.parse(base, "test")
    ref = parse_reference(f"{repository}@sha256:{HEX}")
    assert signature_location(url, ref, parse_digest(f"sha256:{HEX}"), number) == expected
