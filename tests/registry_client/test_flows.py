"""The client's protocol paths on a scripted server (tests/registry_client/hostile.py) where
the real registry cannot show them: credentials across redirects and token realms, the token
cache, HEAD fallbacks, recovered retries, encodings, schema 1, referrers, the signature
extension API and lookaside GETs.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import json
import ssl
import threading
import time
import zlib
from collections.abc import Callable

import httpx2
import pytest

from sigpolicy.errors import InputError
from sigpolicy.reference.digest import parse_digest
from sigpolicy.reference.docker import Reference, parse_reference
from sigpolicy.sources.registry import (
    CredentialSet,
    RegistryAuthError,
    RegistryClient,
    RegistryNotFoundError,
    RegistryOptions,
    RegistryProtocolError,
)
from tests.conformance.corpus import CORPUS, expectations
from tests.registry_client.hostile import HostileServer, Reply, Seen
from tests.registry_client.test_hostile import BLOB, BLOB_DIGEST, DIGEST, MANIFEST, MANIFESTS, OCI
from tests.support.registry_kit import TestCA

SECRET = "hunter2"  # noqa: S105 - a made-up password the tests look for in every output


class FakeClock:
    """The client's clock, moved by hand: token lifetimes without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _creds(host: str, *, key: str | None = None) -> CredentialSet:
    document = {"auths": {key or host: {"username": "u", "password": SECRET}}}
    return CredentialSet.from_docker_config(json.dumps(document).encode(), "secret shop/pull")


def _basic(password: str = SECRET) -> str:
    return "Basic " + base64.b64encode(f"u:{password}".encode()).decode()


def _client(
    *hosts: str, clock: Callable[[], float] = time.monotonic, **options: object
) -> RegistryClient:
    return RegistryClient(
        RegistryOptions(insecure_hosts=frozenset(hosts), **options),  # type: ignore[arg-type]
        clock=clock,
    )


def _ref(server: HostileServer) -> Reference:
    return parse_reference(f"{server.host}/team/app")


def _token_registry(
    realm_url: Callable[[], str], issued: str = "t0k3n", expires: int = 300
) -> Callable[[Seen, int], Reply]:
    """A registry that wants ``Bearer <token>`` from the realm; serves MANIFEST and BLOB."""

    def respond(seen: Seen, _count: int) -> Reply:
        if seen.path.startswith("/token"):
            body = json.dumps({"token": issued, "expires_in": expires}).encode()
            return Reply(200, {"Content-Type": "application/json"}, body)
        if seen.headers.get("authorization") != f"Bearer {issued}":
            challenge = f'Bearer realm="{realm_url()}/token",service="hostile",scope="repository:team/app:pull"'
            return Reply(401, {"WWW-Authenticate": challenge})
        if seen.path.startswith(MANIFESTS):
            return Reply(200, OCI, MANIFEST)
        return Reply(404)

    return respond


# --- credentials never leave their origin ---------------------------------------------------


async def test_redirect_to_another_host_drops_the_authorization() -> None:
    with (
        HostileServer(lambda _s, _c: Reply(200, {}, BLOB)) as cdn,
        HostileServer(lambda _s, _c: Reply(500)) as registry,
    ):

        def respond(seen: Seen, count: int) -> Reply:
            if seen.headers.get("authorization") != _basic():
                return Reply(401, {"WWW-Authenticate": 'Basic realm="r"'})
            return Reply(
                307, {"Location": f"http://localhost:{cdn.host.rsplit(':')[1]}/blob?sig=1"}
            )

        registry.set_respond(respond)
        client = _client(registry.host, cdn.host, f"localhost:{cdn.host.rsplit(':')[1]}")
        try:
            blob = await client.get_blob(
                _ref(registry),
                parse_digest(BLOB_DIGEST),
                credentials=_creds(registry.host),
                deadline=time.monotonic() + 10,
                max_bytes=1024,
            )
        finally:
            await client.aclose()
    assert blob == BLOB
    assert [s.headers.get("authorization") for s in registry.seen] == [None, _basic()]
    assert len(cdn.seen) == 1
    assert "authorization" not in cdn.seen[0].headers


async def test_a_401_from_the_redirect_target_gets_no_credential() -> None:
    cdn = HostileServer(lambda _s, _c: Reply(401, {"WWW-Authenticate": 'Basic realm="cdn"'}))
    registry = HostileServer(lambda _s, _c: Reply(302, {"Location": f"{cdn.url}/b"}))
    with cdn, registry:
        client = _client(registry.host, cdn.host)
        try:
            with pytest.raises(RegistryAuthError) as caught:
                await client.get_blob(
                    _ref(registry),
                    parse_digest(BLOB_DIGEST),
                    credentials=_creds(registry.host),
                    deadline=time.monotonic() + 10,
                    max_bytes=1024,
                )
        finally:
            await client.aclose()
    assert caught.value.credential == "anonymous"
    assert caught.value.host == cdn.host
    assert all("authorization" not in s.headers for s in cdn.seen)
    assert len(cdn.seen) == 1


async def test_token_realm_on_another_host_gets_the_credential_the_challenge_asks_for() -> None:
    with (
        HostileServer(lambda _s, _c: Reply(500)) as realm,
        HostileServer(lambda _s, _c: Reply(500)) as registry,
    ):
        registry.set_respond(_token_registry(lambda: realm.url))
        realm.set_respond(_token_registry(lambda: realm.url))
        client = _client(registry.host, realm.host)
        try:
            manifest = await client.get_manifest(
                _ref(registry),
                "v1",
                credentials=_creds(registry.host),
                deadline=time.monotonic() + 10,
            )
        finally:
            await client.aclose()
    assert str(manifest.digest) == DIGEST
    (token_request,) = realm.seen
    assert token_request.headers["authorization"] == _basic()
    assert token_request.path == "/token?service=hostile&scope=repository%3Ateam%2Fapp%3Apull"
    assert [s.headers.get("authorization") for s in registry.seen] == [None, "Bearer t0k3n"]


async def test_token_realm_refusing_the_credential_names_it() -> None:
    def respond(seen: Seen, _count: int) -> Reply:
        if seen.path.startswith("/token"):
            return Reply(401, {"WWW-Authenticate": 'Basic realm="auth"'})
        return Reply(401, {"WWW-Authenticate": f'Bearer realm="{server.url}/token"'})

    with HostileServer(respond) as server:
        client = _client(server.host)
        try:
            with pytest.raises(RegistryAuthError) as caught:
                await client.get_manifest(
                    _ref(server),
                    "v1",
                    credentials=_creds(server.host),
                    deadline=time.monotonic() + 10,
                )
        finally:
            await client.aclose()
    assert caught.value.credential == f"secret shop/pull, entry {server.host}"
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value)
    assert len(server.seen) == 2


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, TestCA]:
    ca = TestCA.create(tmp_path_factory.mktemp("hostile-ca"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(ca.server_cert, ca.server_key)
    return context, ca


TLS_DOWNGRADES = [
    pytest.param("realm", "names a token realm that is not HTTPS", id="token-realm-over-http"),
    pytest.param("redirect", "redirected to plain HTTP", id="redirect-https-to-http"),
]


@pytest.mark.parametrize(("where", "message"), TLS_DOWNGRADES)
async def test_no_credential_over_plain_http_from_a_tls_registry(
    where: str,
    message: str,
    tls_context: tuple[ssl.SSLContext, TestCA],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    context, ca = tls_context
    with HostileServer(lambda _s, _c: Reply(200, {}, b'{"token": "x"}')) as plain:
        if where == "realm":
            reply = Reply(401, {"WWW-Authenticate": f'Bearer realm="{plain.url}/token"'})
        else:
            reply = Reply(302, {"Location": f"{plain.url}/elsewhere"})
        with HostileServer(lambda _s, _c: reply, tls=context) as registry:
            certs = ca.certs_d_for(tmp_path_factory.mktemp("certs.d"), registry.host)
            client = RegistryClient(RegistryOptions(cert_dir=certs))
            try:
                with pytest.raises(RegistryProtocolError, match=message):
                    await client.get_manifest(
                        _ref(registry),
                        "v1",
                        credentials=_creds(registry.host),
                        deadline=time.monotonic() + 10,
                    )
            finally:
                await client.aclose()
    assert plain.seen == []


# --- the token cache -------------------------------------------------------------------------


async def test_tokens_are_cached_per_scope_and_credential_until_they_expire() -> None:
    clock = FakeClock()
    with HostileServer(lambda _s, _c: Reply(500)) as server:
        server.set_respond(_token_registry(lambda: server.url, expires=30))
        client = _client(server.host, clock=clock)

        async def fetch(credentials: CredentialSet) -> None:
            await client.get_manifest(
                _ref(server), "v1", credentials=credentials, deadline=clock() + 10
            )

        def tokens_fetched() -> int:
            return sum(1 for s in server.seen if s.path.startswith("/token"))

        try:
            await fetch(_creds(server.host))
            await fetch(_creds(server.host))
            assert tokens_fetched() == 1  # cached
            await fetch(CredentialSet())
            assert tokens_fetched() == 2  # another credential (anonymous), another token
            clock.now += 59  # expires_in 30 counts as 60 s, as Docker does
            await fetch(_creds(server.host))
            assert tokens_fetched() == 2
            clock.now += 2
            await fetch(_creds(server.host))
            assert tokens_fetched() == 3
        finally:
            await client.aclose()


async def test_a_stale_cached_token_earns_one_fresh_token() -> None:
    clock = FakeClock()
    with HostileServer(lambda _s, _c: Reply(500)) as server:
        server.set_respond(_token_registry(lambda: server.url, issued="first"))
        client = _client(server.host, clock=clock)
        try:
            await client.get_manifest(
                _ref(server), "v1", credentials=CredentialSet(), deadline=clock() + 10
            )
            server.set_respond(_token_registry(lambda: server.url, issued="second"))  # revoked
            manifest = await client.get_manifest(
                _ref(server), "v1", credentials=CredentialSet(), deadline=clock() + 10
            )
        finally:
            await client.aclose()
    assert str(manifest.digest) == DIGEST
    assert [s.headers.get("authorization") for s in server.seen[3:]] == [
        "Bearer first",
        None,
        "Bearer second",
    ]


# --- tags, retries, encodings, manifest types ---------------------------------------------


def _head_reply(head: Reply) -> Callable[[Seen, int], Reply]:
    return lambda seen, _c: head if seen.method == "HEAD" else Reply(200, OCI, MANIFEST)


LYING_DIGEST = "sha256:" + "e" * 64
RESOLUTIONS = [
    pytest.param(Reply(200, {"Docker-Content-Digest": DIGEST}), ["HEAD"], id="head-with-digest"),
    pytest.param(Reply(405), ["HEAD", "GET"], id="head-not-allowed"),
    pytest.param(Reply(501), ["HEAD", "GET"], id="head-not-implemented"),
    pytest.param(Reply(200), ["HEAD", "GET"], id="head-without-digest"),
    pytest.param(
        Reply(200, {"Docker-Content-Digest": "sha256:zz"}), ["HEAD", "GET"], id="head-bad-digest"
    ),
]


@pytest.mark.parametrize(("head", "methods"), RESOLUTIONS)
async def test_resolve_tag(head: Reply, methods: list[str]) -> None:
    with HostileServer(_head_reply(head)) as server:
        client = _client(server.host)
        try:
            digest = await client.resolve_tag(
                _ref(server), "v1", credentials=CredentialSet(), deadline=time.monotonic() + 10
            )
        finally:
            await client.aclose()
    assert str(digest) == DIGEST
    assert [s.method for s in server.seen] == methods


async def test_a_tags_digest_is_recomputed_never_taken_from_the_header() -> None:
    reply = Reply(200, dict(OCI, **{"Docker-Content-Digest": LYING_DIGEST}), MANIFEST)
    with HostileServer(lambda _s, _c: reply) as server:
        client = _client(server.host)
        try:
            manifest = await client.get_manifest(
                _ref(server), "v1", credentials=CredentialSet(), deadline=time.monotonic() + 10
            )
        finally:
            await client.aclose()
    assert str(manifest.digest) == DIGEST


RECOVERED = [
    pytest.param(Reply(429, {"Retry-After": "0"}), id="429-then-ok"),
    pytest.param(
        Reply(503, {"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"}),
        id="503-date-in-the-past-then-ok",
    ),
    pytest.param(Reply(503), id="503-then-ok"),
    pytest.param(Reply(502), id="502-then-ok"),
]


@pytest.mark.parametrize("first", RECOVERED)
async def test_one_transient_failure_is_retried(first: Reply) -> None:
    with HostileServer(
        lambda _s, count: first if count == 0 else Reply(200, OCI, MANIFEST)
    ) as server:
        client = _client(server.host)
        try:
            manifest = await client.get_manifest(
                _ref(server), DIGEST, credentials=CredentialSet(), deadline=time.monotonic() + 10
            )
        finally:
            await client.aclose()
    assert str(manifest.digest) == DIGEST
    assert len(server.seen) == 2
    assert client.stats() == {(server.host, "ok"): 1}


def _gzip_members(data: bytes) -> bytes:
    half = len(data) // 2
    return gzip.compress(data[:half]) + gzip.compress(data[half:])


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


ENCODINGS = [
    pytest.param("gzip", gzip.compress(MANIFEST), id="gzip"),
    pytest.param("gzip", _gzip_members(MANIFEST), id="gzip-two-members"),
    pytest.param("deflate", zlib.compress(MANIFEST), id="deflate-zlib"),
    pytest.param("deflate", _raw_deflate(MANIFEST), id="deflate-raw"),
    pytest.param("identity", MANIFEST, id="identity"),
]


@pytest.mark.parametrize(("encoding", "body"), ENCODINGS)
async def test_encoded_bodies_are_digested_decoded(encoding: str, body: bytes) -> None:
    reply = Reply(200, dict(OCI, **{"Content-Encoding": encoding}), body)
    with HostileServer(lambda _s, _c: reply) as server:
        client = _client(server.host)
        try:
            manifest = await client.get_manifest(
                _ref(server), DIGEST, credentials=CredentialSet(), deadline=time.monotonic() + 10
            )
        finally:
            await client.aclose()
    assert manifest.body == MANIFEST
    assert server.seen[0].headers["accept-encoding"] == "gzip, deflate"


def _schema1_digest() -> str:
    (case,) = [
        c for c in expectations()["manifest_digests"] if c["manifest"] == "v2s1.manifest.json"
    ]
    digest: str = case["digest"]
    return digest


MEDIA_TYPE_CASES = [
    pytest.param(
        (CORPUS / "v2s1.manifest.json").read_bytes(),
        {"Content-Type": "application/vnd.docker.distribution.manifest.v1+prettyjws"},
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        id="signed-schema1",
    ),
    pytest.param(
        (CORPUS / "v2s1.manifest.json").read_bytes(),
        {"Content-Type": "application/json"},
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        id="signed-schema1-guessed",
    ),
    pytest.param(
        b'{"schemaVersion": 2, "manifests": []}',
        {"Content-Type": "text/plain"},
        "application/vnd.oci.image.index.v1+json",
        id="index-without-media-type",
    ),
    pytest.param(
        MANIFEST,
        {"Content-Type": "application/json"},
        "application/vnd.oci.image.manifest.v1+json",
        id="media-type-from-body",
    ),
]


@pytest.mark.parametrize(("body", "headers", "media_type"), MEDIA_TYPE_CASES)
async def test_manifest_media_types(body: bytes, headers: dict[str, str], media_type: str) -> None:
    with HostileServer(lambda _s, _c: Reply(200, headers, body)) as server:
        client = _client(server.host)
        try:
            manifest = await client.get_manifest(
                _ref(server), "v1", credentials=CredentialSet(), deadline=time.monotonic() + 10
            )
        finally:
            await client.aclose()
    assert manifest.media_type == media_type
    if "v1+prettyjws" in media_type:
        assert str(manifest.digest) == _schema1_digest()
    accept = server.seen[0].headers["accept"]
    assert "application/vnd.docker.distribution.manifest.v1+prettyjws" in accept
    assert "application/vnd.oci.image.index.v1+json" in accept


# --- referrers ---------------------------------------------------------------------------------


def _descriptor(artifact_type: str, n: int) -> dict[str, object]:
    return {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:" + hashlib.sha256(str(n).encode()).hexdigest(),
        "size": 10 + n,
        "artifactType": artifact_type,
        "annotations": {"n": str(n)},
    }


def _index(*descriptors: dict[str, object]) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": list(descriptors),
        }
    ).encode()


INDEX_HEADERS = {"Content-Type": "application/vnd.oci.image.index.v1+json"}
SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"
SBOM = "application/spdx+json"


def _paged(seen: Seen, _count: int) -> Reply:
    if "page=2" in seen.path:
        return Reply(200, INDEX_HEADERS, _index(_descriptor(SIG, 3)))
    return Reply(
        200,
        dict(INDEX_HEADERS, Link='</v2/team/app/referrers/x?page=2>; rel="next"'),
        _index(_descriptor(SIG, 1), _descriptor(SBOM, 2)),
    )


REFERRERS = [
    pytest.param(_paged, None, [1, 2, 3], 2, id="two-pages"),
    pytest.param(
        lambda _s, _c: Reply(200, INDEX_HEADERS, _index(_descriptor(SIG, 1), _descriptor(SBOM, 2))),
        SIG,
        [1],
        1,
        id="filtered-here",
    ),
    pytest.param(
        lambda _s, _c: Reply(
            200,
            dict(INDEX_HEADERS, **{"OCI-Filters-Applied": "artifactType"}),
            _index(_descriptor(SBOM, 2)),
        ),
        SIG,
        [2],
        1,
        id="filtered-by-registry",
    ),
    pytest.param(lambda _s, _c: Reply(404), None, None, 1, id="unsupported-404"),
    pytest.param(
        lambda _s, _c: Reply(200, {"Content-Type": "text/html"}, b"<html/>"),
        None,
        None,
        1,
        id="not-an-index",
    ),
    pytest.param(
        lambda _s, _c: Reply(200, OCI, MANIFEST),
        None,
        None,
        1,
        id="a-manifest-not-an-index",
    ),
]


@pytest.mark.parametrize(("respond", "artifact_type", "expected", "requests"), REFERRERS)
async def test_referrers(
    respond: Callable[[Seen, int], Reply],
    artifact_type: str | None,
    expected: list[int] | None,
    requests: int,
) -> None:
    with HostileServer(respond) as server:
        client = _client(server.host)
        try:
            found = await client.get_referrers(
                _ref(server),
                parse_digest(DIGEST),
                credentials=CredentialSet(),
                deadline=time.monotonic() + 10,
                artifact_type=artifact_type,
            )
        finally:
            await client.aclose()
    assert len(server.seen) == requests
    if artifact_type is not None:
        assert (
            f"artifactType={artifact_type.replace('/', '%2F').replace('+', '%2B')}"
            in server.seen[0].path
        )
    if expected is None:
        assert found is None
        return
    assert found is not None
    assert [d.annotations["n"] for d in found] == [str(n) for n in expected]
    assert found[0].size == 10 + expected[0]


BAD_REFERRERS = [
    pytest.param(
        _index({"mediaType": "x", "digest": "sha256:bad", "size": 1}),
        "malformed descriptor",
        id="bad-digest",
    ),
    pytest.param(
        _index({"mediaType": "x", "digest": DIGEST, "size": -1}),
        "malformed descriptor",
        id="negative-size",
    ),
    pytest.param(
        _index({"mediaType": "x", "digest": DIGEST, "size": True}),
        "malformed descriptor",
        id="bool-size",
    ),
    pytest.param(
        _index({"mediaType": "x", "digest": DIGEST, "size": 1, "annotations": {"a": 1}}),
        "malformed descriptor",
        id="annotation-not-string",
    ),
]


@pytest.mark.parametrize(("body", "message"), BAD_REFERRERS)
async def test_malformed_referrers(body: bytes, message: str) -> None:
    with HostileServer(lambda _s, _c: Reply(200, INDEX_HEADERS, body)) as server:
        client = _client(server.host)
        try:
            with pytest.raises(RegistryProtocolError, match=message):
                await client.get_referrers(
                    _ref(server),
                    parse_digest(DIGEST),
                    credentials=CredentialSet(),
                    deadline=time.monotonic() + 10,
                )
        finally:
            await client.aclose()


async def test_endless_referrer_pages_are_bounded() -> None:
    def respond(seen: Seen, _count: int) -> Reply:
        link = f'</v2/team/app/referrers/x?page={len(seen.path)}{time.monotonic_ns()}>; rel="next"'
        return Reply(200, dict(INDEX_HEADERS, Link=link), _index(_descriptor(SIG, 1)))

    with HostileServer(respond) as server:
        client = _client(server.host)
        try:
            with pytest.raises(RegistryProtocolError, match="more than 16 pages"):
                await client.get_referrers(
                    _ref(server),
                    parse_digest(DIGEST),
                    credentials=CredentialSet(),
                    deadline=time.monotonic() + 10,
                )
        finally:
            await client.aclose()
    assert len(server.seen) == 16


# --- the signature extension API -----------------------------------------------------------------


def _extension(supports: bool, signatures: Reply) -> Callable[[Seen, int], Reply]:
    def respond(seen: Seen, _count: int) -> Reply:
        if seen.path == "/v2/":
            return Reply(200, {"X-Registry-Supports-Signatures": "1"} if supports else {}, b"{}")
        if seen.path == f"/extensions/v2/team/app/signatures/{DIGEST}":
            return signatures
        return Reply(404)

    return respond


def _signatures(*entries: dict[str, object]) -> Reply:
    return Reply(
        200,
        {"Content-Type": "application/json"},
        json.dumps({"signatures": list(entries)}).encode(),
    )


ATOMIC = {
    "schemaVersion": 2,
    "name": f"{DIGEST}@abc",
    "type": "atomic",
    "content": base64.b64encode(b"blob").decode(),
}
EXTENSION = [
    pytest.param(True, _signatures(ATOMIC), [(f"{DIGEST}@abc", "atomic", b"blob")], 2, id="atomic"),
    pytest.param(
        True,
        _signatures(dict(ATOMIC, schemaVersion=1), ATOMIC),
        [(f"{DIGEST}@abc", "atomic", b"blob")],
        2,
        id="other-schema-skipped",
    ),
    pytest.param(True, _signatures(), [], 2, id="none"),
    pytest.param(True, Reply(404), None, 2, id="404"),
    pytest.param(False, _signatures(ATOMIC), None, 1, id="not-announced"),
]


@pytest.mark.parametrize(("supports", "signatures", "expected", "requests"), EXTENSION)
async def test_signature_extension_api(
    supports: bool, signatures: Reply, expected: list[tuple[str, str, bytes]] | None, requests: int
) -> None:
    with HostileServer(_extension(supports, signatures)) as server:
        client = _client(server.host)
        try:
            found = await client.get_signatures_extension(
                _ref(server),
                parse_digest(DIGEST),
                credentials=CredentialSet(),
                deadline=time.monotonic() + 10,
            )
            # The announcement is remembered: a second call asks the extension API only.
            again = await client.get_signatures_extension(
                _ref(server),
                parse_digest(DIGEST),
                credentials=CredentialSet(),
                deadline=time.monotonic() + 10,
            )
        finally:
            await client.aclose()
    assert found == expected == again
    assert len(server.seen) == requests + (requests - 1)


BAD_EXTENSION = [
    pytest.param(
        _signatures(dict(ATOMIC, content="not base64!")), "is not base64", id="content-not-base64"
    ),
    pytest.param(_signatures(dict(ATOMIC, name=None)), "lacks name/type/content", id="no-name"),
    pytest.param(Reply(200, {}, b'{"signatures": 3}'), "no 'signatures' list", id="not-a-list"),
    pytest.param(Reply(200, {}, b"[[["), "not JSON", id="not-json"),
]


@pytest.mark.parametrize(("signatures", "message"), BAD_EXTENSION)
async def test_malformed_signature_extension_answers(signatures: Reply, message: str) -> None:
    with HostileServer(_extension(True, signatures)) as server:
        client = _client(server.host)
        try:
            with pytest.raises(RegistryProtocolError, match=message):
                await client.get_signatures_extension(
                    _ref(server),
                    parse_digest(DIGEST),
                    credentials=CredentialSet(),
                    deadline=time.monotonic() + 10,
                )
        finally:
            await client.aclose()


# --- lookaside GETs ----------------------------------------------------------------------------


def _lookaside(seen: Seen, _count: int) -> Reply:
    if seen.path.endswith("signature-1"):
        if seen.headers.get("authorization") != _basic():
            return Reply(401, {"WWW-Authenticate": 'Basic realm="sigs"'})
        return Reply(200, {}, b"signature one")
    return Reply(404)


async def test_lookaside_get_with_credentials_for_its_own_host_only() -> None:
    with HostileServer(_lookaside) as server:
        client = _client()
        url = f"{server.url}/team/app@sha256=abc/signature-"
        try:
            first = await client.get_url(
                url + "1",
                credentials=_creds(server.host),
                deadline=time.monotonic() + 10,
                max_bytes=100,
            )
            second = await client.get_url(
                url + "2",
                credentials=_creds(server.host),
                deadline=time.monotonic() + 10,
                max_bytes=100,
            )
            with pytest.raises(RegistryAuthError) as caught:
                await client.get_url(
                    url + "1",
                    credentials=_creds("other.example"),
                    deadline=time.monotonic() + 10,
                    max_bytes=100,
                )
        finally:
            await client.aclose()
    assert first == b"signature one"
    assert second is None
    assert caught.value.credential == "anonymous"
    assert client.stats() == {
        (server.host, "ok"): 1,
        (server.host, "not-found"): 1,
        (server.host, "auth-refused"): 1,
    }


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "http://", "::not a url"]
)
async def test_lookaside_refuses_non_http_urls(url: str) -> None:
    client = _client()
    try:
        with pytest.raises(RegistryProtocolError):
            await client.get_url(url, credentials=None, deadline=time.monotonic() + 1, max_bytes=10)
    finally:
        await client.aclose()


# --- docker.io ---------------------------------------------------------------------------------


async def test_docker_io_is_reached_at_registry_1() -> None:
    """No network: an httpx2 transport records the URL the client would connect to."""
    asked: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        asked.append(str(request.url))
        return httpx2.Response(404)

    client = RegistryClient(transport=httpx2.MockTransport(handler))
    try:
        with pytest.raises(RegistryNotFoundError):
            await client.get_manifest(
                parse_reference("busybox"),
                "latest",
                credentials=CredentialSet(),
                deadline=time.monotonic() + 5,
            )
    finally:
        await client.aclose()
    assert asked == ["https://registry-1.docker.io/v2/library/busybox/manifests/latest"]
    assert client.stats() == {("docker.io", "not-found"): 1}


# --- identity tokens, the per-host cap ---------------------------------------------------------


async def test_identity_token_is_exchanged_by_oauth2_post() -> None:
    def respond(seen: Seen, _count: int) -> Reply:
        if seen.path == "/token" and seen.method == "POST":
            return Reply(200, {}, b'{"access_token": "from-refresh", "expires_in": 120}')
        if seen.headers.get("authorization") == "Bearer from-refresh":
            return Reply(200, OCI, MANIFEST)
        return Reply(401, {"WWW-Authenticate": f'Bearer realm="{server.url}/token",service="s"'})

    document = {"auths": {"HOST": {"identitytoken": "refresh-" + SECRET}}}
    with HostileServer(respond) as server:
        credentials = CredentialSet.from_docker_config(
            json.dumps(document).encode().replace(b"HOST", server.host.encode()), "authfile a.json"
        )
        client = _client(server.host)
        try:
            manifest = await client.get_manifest(
                _ref(server), "v1", credentials=credentials, deadline=time.monotonic() + 10
            )
        finally:
            await client.aclose()
    assert str(manifest.digest) == DIGEST
    token_request = server.seen[1]
    assert (token_request.method, token_request.path) == ("POST", "/token")
    assert "authorization" not in token_request.headers  # the refresh token is the credential


async def test_per_host_concurrency_cap() -> None:
    lock = threading.Lock()
    in_flight = [0, 0]  # now, most

    def respond(_seen: Seen, _count: int) -> Reply:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])
        time.sleep(0.05)
        with lock:
            in_flight[0] -= 1
        return Reply(200, OCI, MANIFEST)

    with HostileServer(respond) as server:
        client = _client(server.host, per_host_concurrency=2)
        try:
            await asyncio.gather(
                *(
                    client.get_manifest(
                        _ref(server),
                        DIGEST,
                        credentials=CredentialSet(),
                        deadline=time.monotonic() + 10,
                    )
                    for _ in range(8)
                )
            )
        finally:
            await client.aclose()
    assert len(server.seen) == 8
    assert in_flight[1] == 2
    assert client.stats() == {(server.host, "ok"): 8}


# --- bad input never reaches the network ------------------------------------------------------

BAD_INPUT = [
    pytest.param(
        "127.0.0.1:1/team/app",
        "manifest",
        "bad tag!",
        "is neither a tag nor a digest",
        id="bad-tag",
    ),
    pytest.param(
        "127.0.0.1:1/team/app", "manifest", "sha256:zz", "invalid digest", id="bad-digest"
    ),
    pytest.param(
        "127.0.0.1:1/team/app", "resolve", "-x", "is not a valid tag", id="bad-tag-to-resolve"
    ),
    pytest.param("my_registry.local/app", "manifest", "v1", "names no registry host", id="no-host"),
]


@pytest.mark.parametrize(("reference", "call", "argument", "message"), BAD_INPUT)
async def test_bad_input_is_an_input_error(
    reference: str, call: str, argument: str, message: str
) -> None:
    client = _client()
    ref = parse_reference(reference)
    try:
        with pytest.raises(InputError, match=message):
            if call == "manifest":
                await client.get_manifest(
                    ref, argument, credentials=CredentialSet(), deadline=time.monotonic() + 5
                )
            else:
                await client.resolve_tag(
                    ref, argument, credentials=CredentialSet(), deadline=time.monotonic() + 5
                )
    finally:
        await client.aclose()
    assert client.stats() == {}


# --- connections ---------------------------------------------------------------------------------


async def test_the_connection_is_kept_across_the_auth_dance() -> None:
    """The anonymous try's small 401 body is read, so the token and the retry reuse the
    connection instead of a new TCP (and TLS) handshake each."""
    with HostileServer(lambda _s, _c: Reply(500)) as server:
        respond = _token_registry(lambda: server.url)

        def with_body(seen: Seen, count: int) -> Reply:
            reply = respond(seen, count)
            return Reply(reply.status, reply.headers, reply.body or b'{"errors": []}')

        server.set_respond(with_body)
        client = _client(server.host)
        try:
            await client.get_manifest(
                _ref(server), "v1", credentials=CredentialSet(), deadline=time.monotonic() + 10
            )
        finally:
            await client.aclose()
    assert len(server.seen) == 3
    assert len({s.peer_port for s in server.seen}) == 1


async def test_an_error_body_that_never_comes_does_not_hide_the_status() -> None:
    # Announces 100 bytes, sends one, then stalls past the drain's patience.
    reply = Reply(404, {"Content-Length": "100"}, b"{", stall=2)
    with HostileServer(lambda _s, _c: reply) as server:
        client = _client(server.host)
        try:
            with pytest.raises(RegistryNotFoundError):
                await client.get_manifest(
                    _ref(server), "v1", credentials=CredentialSet(), deadline=time.monotonic() + 10
                )
        finally:
            await client.aclose()


async def test_head_answers_keep_the_connection() -> None:
    with HostileServer(_head_reply(Reply(200, {"Docker-Content-Digest": DIGEST}))) as server:
        client = _client(server.host)
        try:
            for _ in range(3):
                await client.resolve_tag(
                    _ref(server), "v1", credentials=CredentialSet(), deadline=time.monotonic() + 10
                )
        finally:
            await client.aclose()
    assert [s.method for s in server.seen] == ["HEAD"] * 3
    assert len({s.peer_port for s in server.seen}) == 1


async def test_userinfo_in_urls_is_never_sent() -> None:
    with HostileServer(lambda _s, _c: Reply(200, {}, b"sig")) as target:
        location = f"http://mallory:pw@{target.host}/stolen"
        with HostileServer(lambda _s, _c: Reply(302, {"Location": location})) as server:
            client = _client(server.host, target.host)
            try:
                body = await client.get_url(
                    f"http://user:{SECRET}@{server.host}/sig?token={SECRET}",
                    credentials=None,
                    deadline=time.monotonic() + 10,
                    max_bytes=10,
                )
                with pytest.raises(RegistryAuthError) as caught:
                    server.set_respond(lambda _s, _c: Reply(401))
                    await client.get_url(
                        f"http://user:{SECRET}@{server.host}/sig?token={SECRET}",
                        credentials=None,
                        deadline=time.monotonic() + 10,
                        max_bytes=10,
                    )
            finally:
                await client.aclose()
    assert body == b"sig"
    assert all("authorization" not in s.headers for s in server.seen + target.seen)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "option",
    [
        {"max_manifest_bytes": 0},
        {"max_json_bytes": -1},
        {"max_redirects": -1},
        {"per_host_concurrency": 0},
        {"connect_timeout": 0.0},
    ],
    ids=lambda o: next(iter(o)),
)
def test_options_are_checked(option: dict[str, float]) -> None:
    with pytest.raises(InputError, match=f"registry option {next(iter(option))} must"):
        RegistryOptions(**option)  # type: ignore[arg-type]


FORBIDDEN = [
    pytest.param(lambda _s, _c: Reply(403), "anonymous", 1, id="403-to-the-anonymous-try"),
    pytest.param(
        lambda seen, _c: (
            Reply(403)
            if "authorization" in seen.headers
            else Reply(401, {"WWW-Authenticate": 'Basic realm="r"'})
        ),
        "secret shop/pull, entry {host}",
        2,
        id="403-to-the-credential",
    ),
]


@pytest.mark.parametrize(("respond", "label", "requests"), FORBIDDEN)
async def test_403_names_what_was_sent(
    respond: Callable[[Seen, int], Reply], label: str, requests: int
) -> None:
    with HostileServer(respond) as server:
        client = _client(server.host)
        try:
            with pytest.raises(RegistryAuthError) as caught:
                await client.get_manifest(
                    _ref(server),
                    "v1",
                    credentials=_creds(server.host),
                    deadline=time.monotonic() + 10,
                )
        finally:
            await client.aclose()
    assert caught.value.credential == label.format(host=server.host)
    assert len(server.seen) == requests


async def test_plain_http_lookaside_may_redirect_on_plain_http() -> None:
    def respond(seen: Seen, _count: int) -> Reply:
        if seen.path == "/old":
            return Reply(301, {"Location": "/new"})
        return Reply(200, {}, b"moved signature")

    with HostileServer(respond) as server:
        client = _client()  # not listed as insecure: the admin wrote an http:// URL
        try:
            body = await client.get_url(
                f"{server.url}/old", credentials=None, deadline=time.monotonic() + 10, max_bytes=100
            )
        finally:
            await client.aclose()
    assert body == b"moved signature"
