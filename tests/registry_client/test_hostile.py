"""Hostile registries, scripted with tests/registry_client/hostile.py: each case ends in the
right error class with a one-line message, after a bounded number of requests (counted by the
server), within the deadline (the timeout error class, never a timing) and within the caps
(the cap error, never a MemoryError).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import pytest

from sigpolicy.reasons import Reason
from sigpolicy.reference.digest import parse_digest
from sigpolicy.reference.docker import Reference, parse_reference
from sigpolicy.sources.registry import (
    CredentialSet,
    ManifestDigestMismatchError,
    RegistryAuthError,
    RegistryClient,
    RegistryError,
    RegistryOptions,
    RegistryProtocolError,
    RegistryRateLimitedError,
    RegistryTimeoutError,
    RegistryUnreachableError,
)
from tests.registry_client.hostile import HostileServer, Reply, Seen

CAP = 65536
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:" + "1" * 64,
            "size": 2,
        },
        "layers": [],
    }
).encode()
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
OTHER = b'{"schemaVersion": 2, "layers": ["not what was asked for"]}'
OTHER_DIGEST = "sha256:" + hashlib.sha256(OTHER).hexdigest()
BLOB = b"a signature payload"
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
OCI = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
MANIFESTS = "/v2/team/app/manifests/"
# 64 MiB of zeros in about 64 KiB: a decoder without a cap on the decoded size would hold it all.
GZIP_BOMB = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
DEFLATE_BOMB = zlib.compress(b"\0" * (64 * 1024 * 1024), 9)


def _endless(chunk: bytes, pause: float) -> Iterator[bytes]:
    while True:
        yield chunk
        if pause:
            time.sleep(pause)


def _manifests_only(reply: Callable[[Seen, int], Reply]) -> Callable[[Seen, int], Reply]:
    def respond(seen: Seen, count: int) -> Reply:
        return reply(seen, count) if seen.path.startswith(MANIFESTS) else Reply(404)

    return respond


def _always(reply: Reply) -> Callable[[Seen, int], Reply]:
    return lambda _seen, _count: reply


def _first_then(first: Reply, then: Reply) -> Callable[[Seen, int], Reply]:
    return lambda _seen, count: first if count == 0 else then


def _bearer_everywhere(realm: str) -> Callable[[Seen, int], Reply]:
    """Every registry request refused, whatever token comes along: a 401 loop."""

    def respond(seen: Seen, _count: int) -> Reply:
        if seen.path.startswith("/token"):
            return Reply(200, {"Content-Type": "application/json"}, b'{"token": "t0k3n"}')
        return Reply(401, {"WWW-Authenticate": f'Bearer realm="{realm}/token",service="hostile"'})

    return respond


Action = Callable[[RegistryClient, Reference, float], Awaitable[Any]]


async def _manifest_by_digest(client: RegistryClient, ref: Reference, deadline: float) -> Any:
    return await client.get_manifest(ref, DIGEST, credentials=CredentialSet(), deadline=deadline)


async def _manifest_by_tag(client: RegistryClient, ref: Reference, deadline: float) -> Any:
    return await client.get_manifest(ref, "v1", credentials=CredentialSet(), deadline=deadline)


async def _resolve(client: RegistryClient, ref: Reference, deadline: float) -> Any:
    return await client.resolve_tag(ref, "v1", credentials=CredentialSet(), deadline=deadline)


async def _blob(client: RegistryClient, ref: Reference, deadline: float) -> Any:
    return await client.get_blob(
        ref,
        parse_digest(BLOB_DIGEST),
        credentials=CredentialSet(),
        deadline=deadline,
        max_bytes=CAP,
    )


async def _with_basic_credential(client: RegistryClient, ref: Reference, deadline: float) -> Any:
    credentials = CredentialSet.from_docker_config(
        json.dumps({"auths": {ref.domain: {"username": "u", "password": "hunter2"}}}).encode(),
        "secret shop/pull",
    )
    return await client.get_manifest(ref, "v1", credentials=credentials, deadline=deadline)


@dataclass(frozen=True)
class Case:
    respond: Callable[[Seen, int], Reply] | None
    action: Action
    error: type[RegistryError]
    message: str  # a fragment of the one-line message
    requests: int  # exactly how many requests the server saw
    deadline: float = 10.0
    #: For a script that names the server's own URL (a token realm): made from that URL.
    respond_at: Callable[[str], Callable[[Seen, int], Reply]] | None = None


HOSTILE = {
    "wrong-manifest-for-digest": Case(
        _always(Reply(200, OCI, OTHER)),
        _manifest_by_digest,
        ManifestDigestMismatchError,
        f"sent a manifest whose digest is {OTHER_DIGEST}",
        1,
    ),
    "wrong-blob-for-digest": Case(
        _always(Reply(200, {}, b"another payload")),
        _blob,
        ManifestDigestMismatchError,
        "sent content that digests to sha256:",
        1,
    ),
    "huge-body-declared": Case(
        _always(Reply(200, dict(OCI, **{"Content-Length": "999999999"}), b"{}")),
        _manifest_by_digest,
        RegistryProtocolError,
        f"is larger than {CAP} bytes",
        1,
    ),
    "huge-body-chunked": Case(
        _always(Reply(200, OCI, _endless(b" " * 65536, 0))),
        _manifest_by_digest,
        RegistryProtocolError,
        f"is larger than {CAP} bytes",
        1,
    ),
    "endless-slow-body": Case(
        _always(Reply(200, OCI, _endless(b" ", 0.05))),
        _manifest_by_digest,
        RegistryTimeoutError,
        "no complete answer",
        1,
        deadline=0.5,
    ),
    "gzip-bomb": Case(
        _always(Reply(200, dict(OCI, **{"Content-Encoding": "gzip"}), GZIP_BOMB)),
        _manifest_by_digest,
        RegistryProtocolError,
        f"is larger than {CAP} bytes",
        1,
    ),
    "deflate-bomb": Case(
        _always(Reply(200, dict(OCI, **{"Content-Encoding": "deflate"}), DEFLATE_BOMB)),
        _manifest_by_digest,
        RegistryProtocolError,
        f"is larger than {CAP} bytes",
        1,
    ),
    "corrupt-gzip": Case(
        _always(Reply(200, dict(OCI, **{"Content-Encoding": "gzip"}), b"\x1f\x8bnot gzip")),
        _manifest_by_digest,
        RegistryProtocolError,
        "corrupt gzip content",
        1,
    ),
    "unknown-content-encoding": Case(
        _always(Reply(200, dict(OCI, **{"Content-Encoding": "br"}), b"xx")),
        _manifest_by_digest,
        RegistryProtocolError,
        "unsupported content encoding",
        1,
    ),
    "redirect-loop": Case(
        lambda seen, _count: (
            Reply(302, {"Location": "/loop"})
            if seen.path.startswith(MANIFESTS)
            else Reply(302, {"Location": MANIFESTS + DIGEST})
        ),
        _manifest_by_digest,
        RegistryProtocolError,
        "redirect loop",
        2,
    ),
    "too-many-redirects": Case(
        lambda seen, count: Reply(302, {"Location": f"/hop/{len(seen.path)}"}),
        _manifest_by_digest,
        RegistryProtocolError,
        "more than 3 redirects",
        4,
    ),
    "redirect-to-non-http": Case(
        _always(Reply(302, {"Location": "file:///etc/passwd"})),
        _manifest_by_digest,
        RegistryProtocolError,
        "redirected to a non-HTTP URL",
        1,
    ),
    "slow-answer-past-the-deadline": Case(
        _always(Reply(200, OCI, MANIFEST, delay=3)),
        _manifest_by_digest,
        RegistryTimeoutError,
        "no complete answer",
        1,
        deadline=0.5,
    ),
    "401-loop-with-fresh-token": Case(
        None,
        _manifest_by_tag,
        RegistryAuthError,
        "refused anonymous (HTTP 401)",
        3,  # the anonymous try, one token, the try with it
        respond_at=_bearer_everywhere,
    ),
    "401-loop-basic": Case(
        _always(Reply(401, {"WWW-Authenticate": 'Basic realm="hostile"'})),
        _with_basic_credential,
        RegistryAuthError,
        "refused secret shop/pull, entry 127.0.0.1",
        2,
    ),
    "401-without-challenge": Case(
        _always(Reply(401)),
        _with_basic_credential,
        RegistryAuthError,
        "with no usable challenge",
        1,
    ),
    "403": Case(
        _always(Reply(403)),
        _manifest_by_tag,
        RegistryAuthError,
        "refused access with anonymous (HTTP 403)",
        1,
    ),
    "token-with-header-injection": Case(
        None,
        _manifest_by_tag,
        RegistryProtocolError,
        "sent no usable token",
        2,
        respond_at=lambda url: (
            lambda seen, _count: (
                Reply(200, {}, json.dumps({"token": "abc\r\nX-Evil: 1"}).encode())
                if seen.path.startswith("/token")
                else Reply(401, {"WWW-Authenticate": f'Bearer realm="{url}/token"'})
            )
        ),
    ),
    "429-storm-with-retry-after": Case(
        _always(Reply(429, {"Retry-After": "0"})),
        _manifest_by_tag,
        RegistryRateLimitedError,
        "is rate limiting (HTTP 429, retry after 0 s)",
        3,
    ),
    "429-retry-after-past-the-deadline": Case(
        _always(Reply(429, {"Retry-After": "3600"})),
        _manifest_by_tag,
        RegistryRateLimitedError,
        "retry after 3600 s",
        1,
    ),
    "503-retry-after-http-date-past-the-deadline": Case(
        _always(Reply(503, {"Retry-After": formatdate(time.time() + 3600, usegmt=True)})),
        _manifest_by_tag,
        RegistryRateLimitedError,
        "is rate limiting (HTTP 503",
        1,
    ),
    "429-without-retry-after": Case(
        _always(Reply(429)),
        _manifest_by_tag,
        RegistryRateLimitedError,
        "is rate limiting (HTTP 429)",
        1,
    ),
    "503-without-retry-after": Case(
        _always(Reply(503)),
        _manifest_by_tag,
        RegistryUnreachableError,
        "answered HTTP 503 2 times",
        2,
    ),
    "500s": Case(
        _always(Reply(500)),
        _manifest_by_tag,
        RegistryUnreachableError,
        "answered HTTP 500 2 times",
        2,
    ),
    "manifest-not-json": Case(
        _always(Reply(200, OCI, b"<html>hello</html>")),
        _manifest_by_tag,
        RegistryProtocolError,
        "the manifest is not JSON",
        1,
    ),
    "unexpected-status": Case(
        _always(Reply(418)),
        _manifest_by_tag,
        RegistryProtocolError,
        "answered HTTP 418",
        1,
    ),
    "deadline-already-passed": Case(
        _always(Reply(200, OCI, MANIFEST)),
        _manifest_by_tag,
        RegistryTimeoutError,
        "the deadline passed before asking",
        0,
        deadline=-1,
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_hostile_registry(name: str) -> None:
    case = HOSTILE[name]
    with HostileServer(lambda _s, _c: Reply(500)) as server:
        respond = case.respond_at(server.url) if case.respond_at is not None else case.respond
        assert respond is not None
        server.set_respond(respond)
        client = RegistryClient(
            RegistryOptions(insecure_hosts=frozenset({server.host}), max_manifest_bytes=CAP)
        )
        reference = parse_reference(f"{server.host}/team/app")
        try:
            with pytest.raises(case.error) as caught:
                await case.action(client, reference, time.monotonic() + case.deadline)
        finally:
            await client.aclose()
        seen = server.paths()
    message = str(caught.value)
    assert case.message in message
    assert "\n" not in message and "\r" not in message
    assert "hunter2" not in message
    assert caught.value.host == server.host
    assert len(seen) == case.requests, seen
    assert client.stats() == {(server.host, case.error.outcome): 1}


def test_error_reasons() -> None:
    """Mismatch and timeout carry their own reason classes; the rest are source errors."""
    assert ManifestDigestMismatchError("h", "m").reason is Reason.DIGEST_MISMATCH
    assert RegistryTimeoutError("h", "m").reason is Reason.TIMEOUT
    assert RegistryAuthError("h", "m", credential="anonymous").reason is Reason.SOURCE_UNAVAILABLE
