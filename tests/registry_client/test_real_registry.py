"""The client against Debian's docker-registry (distribution 2.8) on loopback, images pushed
by skopeo: manifests of every type it serves, tag resolution, blobs, htpasswd auth with
authfiles, certs.d TLS and insecure hosts. Request counts come from the registry's own log.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from sigpolicy.errors import InputError
from sigpolicy.reference.digest import parse_digest
from sigpolicy.reference.docker import parse_reference
from sigpolicy.sources.registry import (
    CredentialSet,
    RegistryAuthError,
    RegistryClient,
    RegistryNotFoundError,
    RegistryOptions,
    RegistryProtocolError,
    RegistryUnreachableError,
)
from tests.registry_client.conftest import PASSWORD, TOKEN_PASSWORD, TOKEN_USER, USER, Pushed
from tests.support.registry_kit import RegistryServer, TestCA, free_port
from tests.support.registry_token import TokenIssuer

NONE = CredentialSet()


def _deadline() -> float:
    return time.monotonic() + 15


def _log_since(registry: RegistryServer, start: int) -> list[str]:
    return [
        f"{a.method} {a.path.partition('?')[0]} {a.status}" for a in registry.access_log()[start:]
    ]


MEDIA_TYPES = {
    "v2s2": "application/vnd.docker.distribution.manifest.v2+json",
    "oci": "application/vnd.oci.image.manifest.v1+json",
    "oci-index": "application/vnd.oci.image.index.v1+json",
    "docker-list": "application/vnd.docker.distribution.manifest.list.v2+json",
}


@pytest.mark.parametrize("name", list(MEDIA_TYPES))
async def test_manifest_by_tag_and_by_digest(
    name: str, images: dict[str, Pushed], certs_d: Path
) -> None:
    pushed = images[name]
    reference = parse_reference(pushed.repository)
    client = RegistryClient(RegistryOptions(cert_dir=certs_d))
    try:
        by_tag = await client.get_manifest(
            reference, pushed.tag, credentials=NONE, deadline=_deadline()
        )
        by_digest = await client.get_manifest(
            reference, pushed.digest, credentials=NONE, deadline=_deadline()
        )
    finally:
        await client.aclose()
    assert str(by_tag.digest) == pushed.digest
    assert by_tag.media_type == MEDIA_TYPES[name]
    assert by_digest == by_tag
    assert client.stats() == {(reference.domain, "ok"): 2}


async def test_tag_resolution_asks_head_only(images: dict[str, Pushed], certs_d: Path) -> None:
    pushed = images["oci"]
    start = len(pushed.registry.access_log())
    client = RegistryClient(RegistryOptions(cert_dir=certs_d))
    try:
        digest = await client.resolve_tag(
            parse_reference(pushed.repository), pushed.tag, credentials=NONE, deadline=_deadline()
        )
    finally:
        await client.aclose()
    assert str(digest) == pushed.digest
    assert _log_since(pushed.registry, start) == ["HEAD /v2/team/oci/manifests/v1 200"]


async def test_blob_is_fetched_and_verified(images: dict[str, Pushed], certs_d: Path) -> None:
    pushed = images["oci"]
    reference = parse_reference(pushed.repository)
    client = RegistryClient(RegistryOptions(cert_dir=certs_d))
    try:
        manifest = await client.get_manifest(
            reference, pushed.digest, credentials=NONE, deadline=_deadline()
        )
        config = parse_digest(json.loads(manifest.body)["config"]["digest"])
        blob = await client.get_blob(
            reference, config, credentials=NONE, deadline=_deadline(), max_bytes=65536
        )
    finally:
        await client.aclose()
    assert json.loads(blob)["architecture"] == "amd64"


MISSING = [
    pytest.param("manifest", id="unknown-tag"),
    pytest.param("digest", id="unknown-digest"),
    pytest.param("blob", id="unknown-blob"),
    pytest.param("tag", id="unknown-tag-resolution"),
]


@pytest.mark.parametrize("what", MISSING)
async def test_missing_content_is_not_found(
    what: str, images: dict[str, Pushed], certs_d: Path
) -> None:
    reference = parse_reference(images["oci"].repository)
    absent = parse_digest("sha256:" + "0" * 64)
    client = RegistryClient(RegistryOptions(cert_dir=certs_d))
    try:
        with pytest.raises(RegistryNotFoundError) as caught:
            if what == "manifest":
                await client.get_manifest(reference, "nope", credentials=NONE, deadline=_deadline())
            elif what == "digest":
                await client.get_manifest(
                    reference, str(absent), credentials=NONE, deadline=_deadline()
                )
            elif what == "tag":
                await client.resolve_tag(reference, "nope", credentials=NONE, deadline=_deadline())
            else:
                await client.get_blob(
                    reference, absent, credentials=NONE, deadline=_deadline(), max_bytes=10
                )
    finally:
        await client.aclose()
    assert "\n" not in str(caught.value)
    assert client.stats() == {(reference.domain, "not-found"): 1}


async def test_registry_without_referrers_or_signature_api(
    images: dict[str, Pushed], certs_d: Path
) -> None:
    pushed = images["oci"]
    reference = parse_reference(pushed.repository)
    digest = parse_digest(pushed.digest)
    client = RegistryClient(RegistryOptions(cert_dir=certs_d))
    try:
        referrers = await client.get_referrers(
            reference, digest, credentials=NONE, deadline=_deadline()
        )
        signatures = await client.get_signatures_extension(
            reference, digest, credentials=NONE, deadline=_deadline()
        )
    finally:
        await client.aclose()
    assert referrers is None
    assert signatures is None


# --- credentials: htpasswd (Basic) auth, from authfiles -----------------------------------


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _authfile(tmp_path: Path, auths: dict[str, object], *, legacy: bool = False) -> Path:
    path = tmp_path / "auth.json"
    path.write_text(json.dumps(auths if legacy else {"auths": auths}))
    return path


AUTH_CASES = [
    # (id, authfile entries by key template, legacy format, credential expected in the error)
    pytest.param({"{host}": {"auth": _b64(f"{USER}:{PASSWORD}")}}, False, None, id="auth-base64"),
    pytest.param(
        {"{host}": {"username": USER, "password": PASSWORD}}, False, None, id="username-password"
    ),
    pytest.param(
        {"https://{host}/v1/": {"auth": _b64(f"{USER}:{PASSWORD}")}}, False, None, id="scheme-key"
    ),
    pytest.param(
        {"{host}": {"auth": _b64(f"{USER}:{PASSWORD}")}}, True, None, id="legacy-dockercfg"
    ),
    pytest.param(
        {"{host}/shop": {"auth": _b64(f"{USER}:{PASSWORD}")}, "{host}": {"auth": _b64("x:y")}},
        False,
        None,
        id="namespace-key-beats-host-key",
    ),
    pytest.param(
        {"{host}/other": {"auth": _b64(f"{USER}:{PASSWORD}")}},
        False,
        "anonymous",
        id="other-namespace",
    ),
    pytest.param(
        {"{host}": {"auth": _b64(f"{USER}:wrong-password")}},
        False,
        "authfile {path}, entry {host}",
        id="wrong-password",
    ),
    pytest.param({}, False, "anonymous", id="no-credential"),
]


@pytest.mark.parametrize(("entries", "legacy", "refused"), AUTH_CASES)
async def test_htpasswd_registry_with_authfile(
    entries: dict[str, object],
    legacy: bool,
    refused: str | None,
    images: dict[str, Pushed],
    certs_d: Path,
    tmp_path: Path,
) -> None:
    pushed = images["locked"]
    host = pushed.registry.host
    path = _authfile(tmp_path, {k.format(host=host): v for k, v in entries.items()}, legacy=legacy)
    credentials = CredentialSet.from_authfile(path)
    reference = parse_reference(pushed.repository)
    start = len(pushed.registry.access_log())
    client = RegistryClient(RegistryOptions(cert_dir=certs_d))
    try:
        if refused is None:
            manifest = await client.get_manifest(
                reference, pushed.tag, credentials=credentials, deadline=_deadline()
            )
            assert str(manifest.digest) == pushed.digest
            return
        with pytest.raises(RegistryAuthError) as caught:
            await client.get_manifest(
                reference, pushed.tag, credentials=credentials, deadline=_deadline()
            )
    finally:
        await client.aclose()
    error = caught.value
    assert error.credential == refused.format(path=path, host=host)
    assert error.host == host
    assert "wrong-password" not in str(error) and PASSWORD not in str(error)
    assert "\n" not in str(error)
    # Bounded: the anonymous try and at most one answer to the challenge.
    assert len(_log_since(pushed.registry, start)) <= 2
    assert client.stats() == {(host, "auth-refused"): 1}


# --- TLS: certs.d, insecure hosts -----------------------------------------------------------


async def test_tls_needs_the_ca_from_certs_d(images: dict[str, Pushed], tmp_path: Path) -> None:
    pushed = images["oci"]
    client = RegistryClient(RegistryOptions(cert_dir=tmp_path / "empty-certs.d"))
    try:
        with pytest.raises(RegistryUnreachableError) as caught:
            await client.get_manifest(
                parse_reference(pushed.repository),
                pushed.tag,
                credentials=NONE,
                deadline=_deadline(),
            )
    finally:
        await client.aclose()
    assert str(caught.value).endswith(
        f"TLS verification failed for {pushed.registry.host}: unable to get local issuer certificate"
    )


async def test_another_hosts_ca_is_not_used(
    images: dict[str, Pushed], ca: TestCA, tmp_path: Path
) -> None:
    pushed = images["oci"]
    certs = ca.certs_d_for(tmp_path / "certs.d", "127.0.0.1:1")  # the right CA, the wrong host
    client = RegistryClient(RegistryOptions(cert_dir=certs))
    try:
        with pytest.raises(RegistryUnreachableError, match="TLS verification failed"):
            await client.get_manifest(
                parse_reference(pushed.repository),
                pushed.tag,
                credentials=NONE,
                deadline=_deadline(),
            )
    finally:
        await client.aclose()


async def test_plain_http_only_for_listed_hosts(images: dict[str, Pushed], tmp_path: Path) -> None:
    pushed = images["plain"]
    reference = parse_reference(pushed.repository)
    unlisted = RegistryClient(RegistryOptions(cert_dir=tmp_path))
    listed = RegistryClient(
        RegistryOptions(cert_dir=tmp_path, insecure_hosts=frozenset({pushed.registry.host}))
    )
    try:
        with pytest.raises(RegistryUnreachableError, match=r"TLS handshake with .* failed"):
            await unlisted.get_manifest(
                reference, pushed.tag, credentials=NONE, deadline=_deadline()
            )
        manifest = await listed.get_manifest(
            reference, pushed.tag, credentials=NONE, deadline=_deadline()
        )
    finally:
        await unlisted.aclose()
        await listed.aclose()
    assert str(manifest.digest) == pushed.digest


async def test_insecure_listing_of_a_tls_registry_does_not_downgrade_silently(
    images: dict[str, Pushed], certs_d: Path
) -> None:
    pushed = images["oci"]
    client = RegistryClient(
        RegistryOptions(cert_dir=certs_d, insecure_hosts=frozenset({pushed.registry.host}))
    )
    try:
        # Plain HTTP to a TLS port: Go's server answers 400, which is no manifest.
        with pytest.raises(RegistryProtocolError, match="HTTP 400"):
            await client.get_manifest(
                parse_reference(pushed.repository),
                pushed.tag,
                credentials=NONE,
                deadline=_deadline(),
            )
    finally:
        await client.aclose()


async def test_connection_refused_says_so() -> None:
    host = f"127.0.0.1:{free_port()}"
    client = RegistryClient(RegistryOptions(insecure_hosts=frozenset({host})))
    try:
        with pytest.raises(RegistryUnreachableError) as caught:
            await client.get_manifest(
                parse_reference(f"{host}/a/b"), "v1", credentials=NONE, deadline=_deadline()
            )
    finally:
        await client.aclose()
    assert (
        str(caught.value) == f"manifest {host}/a/b:v1: cannot connect to {host}: connection refused"
    )
    assert client.stats() == {(host, "unreachable"): 1}


CERTS_D_ERRORS = [
    pytest.param(
        {"client.cert": b"x"}, "client certificate without client.key", id="cert-without-key"
    ),
    pytest.param({"client.key": b"x"}, "client key without client.cert", id="key-without-cert"),
    pytest.param({"ca.crt": b"not a certificate"}, "ca.crt: cannot load", id="bad-ca-file"),
]


@pytest.mark.parametrize(("files", "message"), CERTS_D_ERRORS)
async def test_bad_certs_d_is_an_input_error(
    files: dict[str, bytes], message: str, images: dict[str, Pushed], tmp_path: Path
) -> None:
    pushed = images["oci"]
    host_dir = tmp_path / pushed.registry.host
    host_dir.mkdir()
    for name, content in files.items():
        (host_dir / name).write_bytes(content)
    client = RegistryClient(RegistryOptions(cert_dir=tmp_path))
    try:
        with pytest.raises(InputError, match=message):
            await client.get_manifest(
                parse_reference(pushed.repository),
                pushed.tag,
                credentials=NONE,
                deadline=_deadline(),
            )
    finally:
        await client.aclose()


# --- the registry's own token auth (auth: token), with the test issuer --------------------

TOKEN_CASES = [
    # (image, credential entry or None, credential named in the refusal or None for success)
    pytest.param("tokened", {"username": TOKEN_USER, "password": TOKEN_PASSWORD}, None, id="user"),
    pytest.param(
        "tokened",
        {"username": TOKEN_USER, "password": "wrong"},
        "secret ns/pull, entry {host}",
        id="wrong-password-at-the-realm",
    ),
    pytest.param("tokened", None, "anonymous", id="anonymous-private"),
    pytest.param("tokened-public", None, None, id="anonymous-public"),
]


@pytest.mark.parametrize(("name", "entry", "refused"), TOKEN_CASES)
async def test_token_auth(
    name: str,
    entry: dict[str, str] | None,
    refused: str | None,
    images: dict[str, Pushed],
    certs_d: Path,
    token_issuer: TokenIssuer,
) -> None:
    pushed = images[name]
    host = pushed.registry.host
    auths = {host: entry} if entry is not None else {}
    credentials = CredentialSet.from_docker_config(
        json.dumps({"auths": auths}).encode(), "secret ns/pull"
    )
    reference = parse_reference(pushed.repository)
    asked_before = len(token_issuer.requests)
    start = len(pushed.registry.access_log())
    client = RegistryClient(RegistryOptions(cert_dir=certs_d))
    try:
        if refused is None:
            for _ in range(2):  # the second call uses the cached token
                manifest = await client.get_manifest(
                    reference, pushed.tag, credentials=credentials, deadline=_deadline()
                )
                assert str(manifest.digest) == pushed.digest
            assert len(token_issuer.requests) == asked_before + 1
            assert len(_log_since(pushed.registry, start)) == 3  # 401, then two with the token
            return
        with pytest.raises(RegistryAuthError) as caught:
            await client.get_manifest(
                reference, pushed.tag, credentials=credentials, deadline=_deadline()
            )
    finally:
        await client.aclose()
    assert caught.value.credential == refused.format(host=host)
    assert "wrong" not in str(caught.value)
    assert len(token_issuer.requests) == asked_before + 1
    assert len(_log_since(pushed.registry, start)) <= 2
