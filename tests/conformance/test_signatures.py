"""Section ``signatures`` of the conformance corpus, through the library and the CLI.

Every case runs on both backends: the native verifier and GnuPG must agree with the corpus
(and so with each other).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from sigpolicy.cli.main import main
from sigpolicy.reference.digest import parse_digest
from sigpolicy.signature.backends import BACKENDS, Backend, close_verifier, open_verifier
from sigpolicy.verify.checks import DigestCheck, KnownDigest, ManifestBytes, SameReference
from sigpolicy.verify.simple import explain_blob
from tests.conformance.corpus import CORPUS, case_id, expectations

CASES: list[dict[str, Any]] = expectations()["signatures"]


def _digest_check(case: dict[str, Any]) -> DigestCheck:
    if "manifest" in case:
        return ManifestBytes((CORPUS / case["manifest"]).read_bytes())
    return KnownDigest(parse_digest(case["digest"]))


def _assert_outcome(
    case: dict[str, Any], trusted: bool, reason: str | None, signer: str | None
) -> None:
    if case["expect"] == "trusted":
        assert trusted, f"expected trusted, got {reason}"
        assert reason is None
    else:
        assert not trusted
        assert reason == case["reason"]
    if "signer" in case:
        assert signer == case["signer"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_library(case: dict[str, Any], backend: Backend) -> None:
    keyring = CORPUS / case["keyring"]
    verifier = open_verifier(backend, [(keyring.name, keyring.read_bytes())])
    try:
        verdict = explain_blob(
            (CORPUS / case["signature"]).read_bytes(),
            verifier,
            digest=_digest_check(case),
            identity=SameReference.parse(case["identity"]),
            now=int(time.time()),
        )
    finally:
        close_verifier(verifier)
    _assert_outcome(case, verdict.trusted, verdict.reason, verdict.signer)
    for claim, value in case.get("claims", {}).items():
        assert verdict.claims is not None
        actual = {
            "docker-reference": verdict.claims.docker_reference,
            "docker-manifest-digest": verdict.claims.docker_manifest_digest,
            "creator": verdict.claims.creator,
            "timestamp": verdict.claims.timestamp,
        }[claim]
        assert actual == value, claim


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_cli(case: dict[str, Any], backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    image = (
        ["--manifest", str(CORPUS / case["manifest"])]
        if "manifest" in case
        else ["--digest", case["digest"]]
    )
    argv = [
        "verify",
        str(CORPUS / case["signature"]),
        "--keyring",
        str(CORPUS / case["keyring"]),
        *image,
        "--identity",
        case["identity"],
        "--backend",
        backend,
        "--output",
        "json",
    ]
    status = main(argv)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert status == (0 if case["expect"] == "trusted" else 1)
    _assert_outcome(case, record["trusted"], record["reason"], record["signer"])
    assert record["signature"] == str(CORPUS / case["signature"])
    if record["trusted"]:
        assert record["publicKeyID"].startswith("0x") and len(record["publicKeyID"]) == 18
        assert record["digest"].startswith("sha256:")
        assert record["created"].endswith("Z")
