"""Credentials from docker config documents: key normalisation and lookup order as
containers-auth.json(5) and containers/image define them, and malformed documents."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from sigpolicy.errors import InputError
from sigpolicy.sources.registry import Credential, CredentialSet

SECRET = "hunter2"  # noqa: S105 - made up; looked for in every message


def _auth(user: str, password: str = SECRET) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def _set(entries: dict[str, object], *, legacy: bool = False, origin: str = "doc") -> CredentialSet:
    document = entries if legacy else {"auths": entries}
    return CredentialSet.from_docker_config(json.dumps(document).encode(), origin)


LOOKUPS = [
    # (entries, legacy, repository, username found or None)
    pytest.param(
        {"docker.io": _auth("hub")}, False, "docker.io/library/busybox", "hub", id="docker-io"
    ),
    pytest.param(
        {"index.docker.io": _auth("hub")},
        False,
        "docker.io/library/busybox",
        "hub",
        id="index-docker-io-alias",
    ),
    pytest.param(
        {"https://index.docker.io/v1/": _auth("hub")},
        False,
        "docker.io/user/app",
        "hub",
        id="docker-login-key",
    ),
    pytest.param(
        {"registry-1.docker.io": _auth("hub")},
        False,
        "docker.io/user/app",
        "hub",
        id="registry-1-alias",
    ),
    pytest.param({"quay.io/ns": _auth("ns")}, False, "quay.io/ns/app", "ns", id="namespace-key"),
    pytest.param(
        {"quay.io/ns": _auth("ns")},
        False,
        "quay.io/other/app",
        None,
        id="namespace-key-other-namespace",
    ),
    pytest.param(
        {"quay.io/ns": _auth("ns")},
        False,
        "quay.io/nsx/app",
        None,
        id="namespace-is-a-path-component",
    ),
    pytest.param(
        {"quay.io": _auth("host"), "quay.io/ns": _auth("ns"), "quay.io/ns/app": _auth("repo")},
        False,
        "quay.io/ns/app",
        "repo",
        id="most-specific-first",
    ),
    pytest.param(
        {"quay.io": _auth("host"), "quay.io/ns": _auth("ns")},
        False,
        "quay.io/ns/b",
        "ns",
        id="namespace-beats-host",
    ),
    pytest.param(
        {"https://quay.io/ns": _auth("scheme")},
        False,
        "quay.io/other/app",
        "scheme",
        id="scheme-key-keeps-host-only",
    ),
    pytest.param(
        {"quay.io/ns": _auth("legacy")},
        True,
        "quay.io/other/app",
        "legacy",
        id="legacy-keeps-host-only",
    ),
    pytest.param(
        {"localhost:5000": _auth("port")}, False, "localhost:5000/a", "port", id="host-with-port"
    ),
    pytest.param({"localhost:5000": _auth("port")}, False, "localhost/a", None, id="port-matters"),
    pytest.param(
        {"quay.io": {"username": "plain", "password": SECRET}},
        False,
        "quay.io/a",
        "plain",
        id="username-password",
    ),
    pytest.param(
        {"quay.io": {"email": "a@b"}}, False, "quay.io/a", None, id="entry-without-credential"
    ),
    pytest.param({"quay.io": {"auth": ""}}, False, "quay.io/a", None, id="empty-auth"),
    pytest.param({}, False, "quay.io/a", None, id="empty"),
]


@pytest.mark.parametrize(("entries", "legacy", "repository", "user"), LOOKUPS)
def test_lookup(
    entries: dict[str, object], legacy: bool, repository: str, user: str | None
) -> None:
    found = _set(entries, legacy=legacy).lookup(repository)
    assert (found.username if found is not None else None) == user


def test_origin_names_the_document_and_entry() -> None:
    found = _set({"https://index.docker.io/v1/": _auth("hub")}, origin="secret shop/pull").lookup(
        "docker.io/library/busybox"
    )
    assert found is not None
    assert found.origin == "secret shop/pull, entry docker.io"
    assert found.password == SECRET


def test_identity_token() -> None:
    found = _set({"quay.io": {"identitytoken": "refresh-me"}}).lookup("quay.io/a")
    assert found is not None
    assert (found.identity_token, found.password) == ("refresh-me", "")


def test_first_document_that_matches_wins() -> None:
    pod = _set({"quay.io": _auth("pod")}, origin="pod secret")
    webhook = _set({"quay.io/ns/app": _auth("webhook")}, origin="webhook secret")
    merged = pod.merged(webhook)
    found = merged.lookup("quay.io/ns/app")
    assert found is not None and found.username == "pod"
    found = webhook.merged(pod).lookup("quay.io/ns/app")
    assert found is not None and found.username == "webhook"
    found = CredentialSet().merged(webhook).lookup("quay.io/other")
    assert found is None
    assert len(merged) == 2


def test_secrets_stay_out_of_reprs() -> None:
    refresh = SECRET + "-refresh"
    credential = Credential("alice", SECRET, "authfile /x", identity_token=refresh)
    assert repr(credential) == "Credential(origin='authfile /x')"
    assert SECRET not in repr(_set({"quay.io": _auth("u")}))


MALFORMED = [
    pytest.param(b"{not json " + SECRET.encode(), "doc: not valid JSON at line 1", id="not-json"),
    pytest.param(b"\xff\xfe", "doc: not valid JSON", id="not-utf8"),
    pytest.param(b"[]", "doc: not a JSON object", id="not-an-object"),
    pytest.param(b'{"auths": []}', "doc: 'auths' is not a JSON object", id="auths-not-an-object"),
    pytest.param(
        b'{"auths": {"quay.io": "' + SECRET.encode() + b'"}}',
        "doc: entry 'quay.io': not a JSON object",
        id="entry-not-an-object",
    ),
    pytest.param(
        b'{"auths": {"quay.io": {"auth": "' + SECRET.encode() + b'!"}}}',
        "doc: entry 'quay.io': 'auth' is not base64 of user:password",
        id="auth-not-base64",
    ),
    pytest.param(
        json.dumps(
            {"auths": {"quay.io": {"auth": base64.b64encode(SECRET.encode()).decode()}}}
        ).encode(),
        "doc: entry 'quay.io': 'auth' is not base64 of user:password",
        id="auth-without-colon",
    ),
    pytest.param(
        b'{"auths": {"quay.io": {"password": 7}}}',
        "doc: entry 'quay.io': 'password' is not a string",
        id="password-not-a-string",
    ),
    pytest.param(
        b'{"auths": {"https://": {"auth": ""}}}', "doc: an empty registry key", id="empty-key"
    ),
    pytest.param(b" " * (4 * 1024 * 1024 + 1), "doc: larger than", id="too-large"),
]


@pytest.mark.parametrize(("data", "message"), MALFORMED)
def test_malformed_documents(data: bytes, message: str) -> None:
    with pytest.raises(InputError) as caught:
        CredentialSet.from_docker_config(data, "doc")
    text = str(caught.value)
    assert text.startswith(message)
    assert SECRET not in text and "\n" not in text


def test_unreadable_authfile(tmp_path: Path) -> None:
    with pytest.raises(
        InputError, match=rf"^authfile {tmp_path}/missing.json: cannot read: No such file"
    ):
        CredentialSet.from_authfile(tmp_path / "missing.json")


def test_authfile(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_text(json.dumps({"auths": {"quay.io": _auth("u")}}))
    found = CredentialSet.from_authfile(path).lookup("quay.io/a/b")
    assert found is not None and found.origin == f"authfile {path}, entry quay.io"
