"""TrustStoreWatcher: changes are picked up without a restart; a bad file keeps the last good.

Time is passed in: ``NOW`` and offsets from it, never the clock.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sigpolicy.errors import PolicyError, VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.trust.watch import TrustStoreWatcher
from tests.trust.helpers import (
    NOW,
    SECOND_FPR,
    SKOPEO_FPR,
    SUBKEY_PRIMARY_FPR,
    corpus_bytes,
    one_entry,
    write_trust,
)

INTERVAL = 5
ONE_KEY = "entries: [{name: release, keys: [{file: keys/public-key.gpg}]}]\n"
TWO_KEYS = one_entry("{file: keys/public-key.gpg}, {file: keys/public-key-2.gpg}", name="release")
ONLY_SECOND = "entries: [{name: release, keys: [{file: keys/public-key-2.gpg}]}]\n"
BAD_PIN = 'entries: [{name: release, keys: [{file: keys/public-key.gpg, publicKeyID: "0x1234"}]}]\n'
BAD_PIN_ERROR = "entries[0].keys[0].publicKeyID: 4 hex digits is too weak (16 to 40 required)"


def _health(watcher: TrustStoreWatcher) -> tuple[bool, str | None, int]:
    return watcher.stale, watcher.last_error, watcher.reload_failures


def _open(folder: Path, body: str) -> tuple[Path, TrustStoreWatcher]:
    path = write_trust(folder, body)
    return path, TrustStoreWatcher.open(path, now=NOW, min_interval=INTERVAL)


def test_a_change_is_picked_up_after_the_interval(tmp_path: Path) -> None:
    _, watcher = _open(tmp_path, ONE_KEY)
    first = watcher.current(now=NOW)
    write_trust(tmp_path, TWO_KEYS)
    assert watcher.current(now=NOW + INTERVAL - 1) is first  # not checked yet
    newer = watcher.current(now=NOW + INTERVAL)
    assert newer.fingerprints == {SKOPEO_FPR, SECOND_FPR}
    assert newer.generation != first.generation
    assert (watcher.reloads, watcher.reload_failures, watcher.last_error) == (1, 0, None)


def test_a_key_file_change_is_picked_up(tmp_path: Path) -> None:
    _, watcher = _open(tmp_path, ONE_KEY)
    (tmp_path / "keys" / "public-key.gpg").write_bytes(corpus_bytes("public-key-with-subkey.gpg"))
    assert watcher.current(now=NOW + INTERVAL).fingerprints == {SUBKEY_PRIMARY_FPR}


def test_an_unchanged_file_keeps_the_same_store(tmp_path: Path) -> None:
    _, watcher = _open(tmp_path, ONE_KEY)
    first = watcher.current(now=NOW)
    write_trust(tmp_path, ONE_KEY + "# only a comment\n")
    assert watcher.current(now=NOW + INTERVAL) is first
    assert watcher.current(now=NOW + 2 * INTERVAL) is first
    assert watcher.reloads == 0


def test_a_bad_new_file_keeps_the_last_good_store_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, watcher = _open(tmp_path, ONE_KEY)
    good = watcher.current(now=NOW)
    write_trust(tmp_path, BAD_PIN)
    with caplog.at_level(logging.WARNING, logger="sigpolicy.trust.watch"):
        assert watcher.current(now=NOW + INTERVAL) is good
        assert watcher.current(now=NOW + 2 * INTERVAL) is good
    # Stale, with the error; the same bad file is counted once.
    assert _health(watcher) == (True, f"{path}: {BAD_PIN_ERROR}", 1)
    (record,) = caplog.records
    assert record.getMessage() == (
        f"trust store {path} not reloaded, keeping the last good one"
        f" (generation {good.generation}): {path}: {BAD_PIN_ERROR}"
    )
    write_trust(tmp_path, TWO_KEYS)
    fixed = watcher.current(now=NOW + 3 * INTERVAL)
    assert fixed.fingerprints == {SKOPEO_FPR, SECOND_FPR}
    assert _health(watcher) == (False, None, 1)


def test_an_unreadable_key_file_keeps_the_last_good_store(tmp_path: Path) -> None:
    path, watcher = _open(tmp_path, ONE_KEY)
    good = watcher.current(now=NOW)
    (tmp_path / "keys" / "public-key.gpg").unlink()
    assert watcher.current(now=NOW + INTERVAL) is good
    assert watcher.last_error == (
        f"{path}: entries[0].keys[0].file: {tmp_path}/keys/public-key.gpg: no such file"
    )


def test_a_removed_key_stops_verifying_at_the_next_decision(tmp_path: Path) -> None:
    signature = corpus_bytes("image.signature")
    _, watcher = _open(tmp_path, TWO_KEYS)
    before = watcher.current(now=NOW)
    assert before.verifier().verify_message(signature, now=NOW).signer == SKOPEO_FPR
    write_trust(tmp_path, ONLY_SECOND)
    after = watcher.current(now=NOW + INTERVAL)
    assert after.generation != before.generation
    with pytest.raises(VerificationError) as raised:
        after.verifier().verify_message(signature, now=NOW + INTERVAL)
    assert raised.value.reason is Reason.UNKNOWN_KEY
    # A message verified by the old store's verifier is not vouched for by the new store.
    message = before.verifier().verify_message(signature, now=NOW)
    with pytest.raises(VerificationError):
        after.signer_entry(message)


def test_a_clock_that_went_back_still_checks(tmp_path: Path) -> None:
    _, watcher = _open(tmp_path, ONE_KEY)
    write_trust(tmp_path, TWO_KEYS)
    assert watcher.current(now=NOW - 3600).fingerprints == {SKOPEO_FPR, SECOND_FPR}


def test_the_first_load_must_succeed(tmp_path: Path) -> None:
    path = write_trust(tmp_path, BAD_PIN)
    with pytest.raises(PolicyError) as raised:
        TrustStoreWatcher.open(path, now=NOW)
    assert str(raised.value) == f"{path}: {BAD_PIN_ERROR}"
