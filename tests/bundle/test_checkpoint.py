"""Signed-note checkpoints: a log's checkpoint verifies with its key (ECDSA Rekor v1,
Ed25519 Rekor v2), witnesses beside it are ignored, and every broken one is refused with
the check named."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.checkpoint import verify_checkpoint
from sigpolicy.signature.sigstore_roots import RekorKey
from tests.support.sigstore_bundle_kit import TestLog, signed_checkpoint

ROOT = bytes(range(32))
SIZE = 42


@pytest.fixture(scope="module", params=["p256", "ed25519"])
def log(request: pytest.FixtureRequest) -> TestLog:
    return TestLog(request.param, f"https://{request.param}.rekor.example.test")


@pytest.fixture(scope="module")
def other() -> TestLog:
    return TestLog()


def _key(log: TestLog) -> RekorKey:
    return RekorKey(log.key.public_key(), log.log_id, origin=log.base_url)


def test_verifies(log: TestLog, other: TestLog) -> None:
    text = signed_checkpoint(log, SIZE, ROOT, extensions=["Timestamp: 1"], witnesses=[other])
    checkpoint = verify_checkpoint(text, _key(log), tree_size=SIZE, root_hash=ROOT)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root_hash) == (log.origin, SIZE, ROOT)
    assert checkpoint.extensions == ("Timestamp: 1",)


def _resign_note(log: TestLog, note: str) -> str:
    return (
        note
        + "\n"
        + f"\u2014 {log.origin} "
        + base64.b64encode(log.log_id[:4] + log.sign(note.encode())).decode()
        + "\n"
    )


def _forged(log: TestLog, other: TestLog) -> str:
    """The log's key hint, another key's signature."""
    note = f"{log.origin}\n{SIZE}\n{base64.b64encode(ROOT).decode()}\n"
    signature = base64.b64encode(log.log_id[:4] + other.sign(note.encode())).decode()
    return f"{note}\n\u2014 {log.origin} {signature}\n"


CASES: list[tuple[str, Callable[[TestLog, TestLog], str], str]] = [
    ("another-key-signed-under-this-hint", _forged, "does not verify with the log key"),
    (
        "only-a-witness-signed",
        lambda log, other: signed_checkpoint(other, SIZE, ROOT, origin=log.origin),
        "no signature by the log key",
    ),
    (
        "bad-signature",
        lambda log, other: _resign_note(
            log, f"{log.origin}\n{SIZE}\n{base64.b64encode(ROOT).decode()}\n"
        ).replace(f"\n{SIZE}\n", f"\n{SIZE + 1}\n", 1),
        "does not verify with the log key",
    ),
    (
        "wrong-size",
        lambda log, other: signed_checkpoint(log, SIZE + 1, ROOT),
        "signs a tree of 43 leaves, the inclusion proof is for 42",
    ),
    (
        "wrong-root",
        lambda log, other: signed_checkpoint(log, SIZE, bytes(32)),
        "signs the root hash 0000",
    ),
    ("no-blank-line", lambda log, other: f"{log.origin}\n{SIZE}\n", "no blank line"),
    (
        "two-lines",
        lambda log, other: _resign_note(log, f"{log.origin}\n{SIZE}\n"),
        "fewer than three lines",
    ),
    (
        "size-leading-zero",
        lambda log, other: _resign_note(
            log, f"{log.origin}\n042\n{base64.b64encode(ROOT).decode()}\n"
        ),
        "tree size is not a decimal",
    ),
    (
        "root-not-base64",
        lambda log, other: _resign_note(log, f"{log.origin}\n{SIZE}\nnot-base64!\n"),
        "root hash is not base64",
    ),
    (
        "root-short",
        lambda log, other: _resign_note(
            log, f"{log.origin}\n{SIZE}\n{base64.b64encode(ROOT[:31]).decode()}\n"
        ),
        "not a SHA-256 hash",
    ),
    (
        "signature-without-dash",
        lambda log, other: signed_checkpoint(log, SIZE, ROOT).replace("\u2014", "-"),
        "does not start with an em dash",
    ),
    (
        "oversized",
        lambda log, other: signed_checkpoint(log, SIZE, ROOT, extensions=["x" * 20000]),
        "over the 16384-byte limit",
    ),
    (
        "too-many-signatures",
        lambda log, other: signed_checkpoint(log, SIZE, ROOT, witnesses=[other] * 16),
        "more than 16 signature lines",
    ),
]


@pytest.mark.parametrize(("make", "problem"), [pytest.param(m, p, id=n) for n, m, p in CASES])
def test_refused(
    log: TestLog, other: TestLog, make: Callable[[TestLog, TestLog], str], problem: str
) -> None:
    with pytest.raises(VerificationError) as caught:
        verify_checkpoint(make(log, other), _key(log), tree_size=SIZE, root_hash=ROOT)
    assert caught.value.reason is Reason.BAD_SIGNATURE
    assert caught.value.message.startswith("checkpoint: ")
    assert problem in caught.value.message, caught.value.message
