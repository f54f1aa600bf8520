"""``sigpolicy check-image --registry`` against Debian's docker-registry: allowed, and denied
for each cause, with the reason class and a message that says what happened.

Causes the reference registry never shows (a wrong manifest for a digest, 429, an answer
that never comes) come from a scripted TLS server (tests/registry_client/hostile.py)."""

from __future__ import annotations

import hashlib
import json
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sigpolicy.cli.main import main
from tests.registry_client.hostile import HostileServer, Reply, Seen
from tests.registry_e2e.conftest import World
from tests.support.registry_kit import free_port


def check(
    world: World, capsys: pytest.CaptureFixture[str], image: str, *extra: str
) -> tuple[int, dict[str, Any]]:
    argv = ["check-image", image, "--policy", str(world.policy), "--output", "json"]
    code = main([*argv, *world.registry_args(*extra)])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_signed_tag_is_allowed(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, decision = check(world, capsys, world.signed)
    assert (code, decision["reason"]) == (0, None), decision["message"]
    assert decision["scope"]["name"] == "loopback"


def test_signed_digest_is_allowed(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    by_digest = world.signed.rsplit(":", 1)[0] + "@" + world.signed_digest
    code, decision = check(world, capsys, by_digest)
    assert (code, decision["reason"]) == (0, None), decision["message"]


def test_cosign_signature_from_the_attachment_tag_is_allowed(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, decision = check(world, capsys, world.cosigned)
    assert (code, decision["reason"]) == (0, None), decision["message"]
    assert decision["scope"]["name"] == "cosigned"


def test_locked_registry_with_the_authfile_is_allowed(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, decision = check(world, capsys, world.locked_image, "--authfile", str(world.authfile))
    assert (code, decision["reason"]) == (0, None), decision["message"]


def _hostile(world: World, respond: Callable[[Seen, int], Reply]) -> Iterator[HostileServer]:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(world.ca.server_cert, world.ca.server_key)
    with HostileServer(respond, tls=tls) as server:
        world.ca.certs_d_for(world.certs_d, server.host)
        yield server


def _lying(seen: Seen, count: int) -> Reply:
    """Names one digest for the tag, and serves other bytes for it."""
    if seen.path == "/v2/":
        return Reply(200, {"Docker-Distribution-API-Version": "registry/2.0"}, b"{}")
    body = b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}'
    claimed = "sha256:" + hashlib.sha256(body + b" ").hexdigest()
    headers = {
        "Content-Type": "application/vnd.oci.image.manifest.v1+json",
        "Docker-Content-Digest": claimed,
    }
    return Reply(200, headers, b"" if seen.method == "HEAD" else body)


def _limiting(seen: Seen, count: int) -> Reply:
    if seen.path == "/v2/":
        return Reply(200, {}, b"{}")
    return Reply(429, {"Retry-After": "3600"}, b'{"errors": [{"code": "TOOMANYREQUESTS"}]}')


def _silent(seen: Seen, count: int) -> Reply:
    return Reply(200, {}, b"{}", delay=30.0)


HOSTILE = [
    ("digest mismatch", _lying, (), "digest-mismatch", "digest"),
    ("rate limited", _limiting, (), "source-unavailable", "429"),
    ("no answer within the deadline", _silent, ("--registry-timeout", "1"), "timeout", "deadline"),
]


@pytest.mark.parametrize(
    ("name", "respond", "extra", "reason", "words"), HOSTILE, ids=[h[0] for h in HOSTILE]
)
def test_hostile_registry_is_denied_with_its_cause(
    world: World,
    capsys: pytest.CaptureFixture[str],
    name: str,
    respond: Callable[[Seen, int], Reply],
    extra: tuple[str, ...],
    reason: str,
    words: str,
) -> None:
    for server in _hostile(world, respond):
        code, decision = check(world, capsys, f"{server.host}/team/app:v1", *extra)
        assert (code, decision["reason"]) == (1, reason), decision["message"]
        assert words in decision["message"].lower()


def test_unsigned_lists_the_sources_asked(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, decision = check(world, capsys, world.unsigned)
    assert (code, decision["reason"]) == (1, "unsigned")
    assert world.lookaside.url in decision["message"]


def test_digest_only_scope_asks_no_registry(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(world.open.access_log())
    code, decision = check(world, capsys, f"{world.open.host}/pinned/app:v1")
    assert (code, decision["reason"]) == (1, "resolution-failed")
    assert "digest-only" in decision["message"]
    assert len(world.open.access_log()) == before


DENIED = [
    ("missing tag", lambda w: f"{w.open.host}/team/app:nope", (), "resolution-failed", "not found"),
    ("no credentials for the locked registry", lambda w: w.locked_image, (),
     "source-unavailable", "anonymous"),
    ("nothing listens", lambda w: f"127.0.0.1:{free_port()}/team/app:v1", (),
     "source-unavailable", "127.0.0.1"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "image", "extra", "reason", "words"), DENIED, ids=[d[0] for d in DENIED]
)
def test_denied_with_its_cause(
    world: World,
    capsys: pytest.CaptureFixture[str],
    name: str,
    image: Callable[[World], str],
    extra: tuple[str, ...],
    reason: str,
    words: str,
) -> None:
    code, decision = check(world, capsys, image(world), *extra)
    assert (code, decision["reason"]) == (1, reason), decision["message"]
    assert words in decision["message"]
    assert "e2e-pw" not in decision["message"]


BAD_INVOCATIONS = [
    ("registry option without --registry", ["--authfile", "x.json"]),
    ("unreadable authfile", ["--registry", "--authfile", "/nonexistent/auth.json"]),
    ("bad pull secret", ["--registry", "--pull-secret", "just-a-name"]),
    ("registries.d not a folder", ["--registry", "--registries-d", "/nonexistent"]),
]


@pytest.mark.parametrize(("name", "args"), BAD_INVOCATIONS, ids=[b[0] for b in BAD_INVOCATIONS])
def test_bad_invocation_is_exit_2_in_one_line(
    world: World, capsys: pytest.CaptureFixture[str], name: str, args: list[str]
) -> None:
    code = main(["check-image", world.signed, "--policy", str(world.policy), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err


EXPLAIN = [
    ("signed", lambda w: w.signed, 0, ["ALLOWED", "scope loopback", "trusted key(s) signed"]),
    ("unsigned", lambda w: w.unsigned, 1, ["DENIED", "FAIL signedBy", "lookaside http://"]),
    ("unreachable", lambda w: f"127.0.0.1:{free_port()}/a/b:1", 1,
     ["DENIED", "not judged", "source-unavailable", "cannot connect"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "image", "code", "lines"), EXPLAIN, ids=[e[0] for e in EXPLAIN])
def test_policy_explain_with_the_registry(
    world: World,
    capsys: pytest.CaptureFixture[str],
    name: str,
    image: Callable[[World], str],
    code: int,
    lines: list[str],
) -> None:
    argv = ["policy", "explain", image(world), "--policy", str(world.policy)]
    assert main([*argv, *world.registry_args()]) == code
    out = capsys.readouterr().out
    assert all(line in out for line in lines), out
    assert "no scope matched" not in out


def test_the_registry_under_a_catalog_answers_what_the_catalog_does_not_serve(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from sigpolicy.cli.serve_cmd import examples

    code, decision = check(world, capsys, world.signed, "--catalog", str(examples() / "catalog"))
    assert (code, decision["reason"]) == (0, None), decision["message"]
