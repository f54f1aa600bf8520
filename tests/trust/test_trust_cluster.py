"""Secret and ConfigMap key material, through an async cluster source."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sigpolicy.errors import NotFoundError, PolicyError
from sigpolicy.trust.load import aload_trust_store
from sigpolicy.trust.watch import TrustStoreWatcher
from tests.trust.helpers import (
    NOW,
    SECOND_FPR,
    SKOPEO_FPR,
    SUBKEY_PRIMARY_FPR,
    FakeKeySource,
    corpus_bytes,
    write_trust,
)

REFS = """
entries:
  - name: release
    keys:
      - secretKeyRef: {namespace: sigpolicy, name: trusted-keys, key: release.asc}
  - name: ci
    keys:
      - configMapKeyRef: {namespace: sigpolicy, name: trusted-keys, key: ci.asc}
      - file: keys/public-key-2.gpg
"""
RELEASE = ("sigpolicy", "trusted-keys", "release.asc")
CI = ("sigpolicy", "trusted-keys", "ci.asc")


def _source() -> FakeKeySource:
    return FakeKeySource(
        secrets={RELEASE: corpus_bytes("public-key.gpg")},
        config_maps={CI: corpus_bytes("public-key-with-subkey.gpg")},
    )


def test_references_are_fetched(tmp_path: Path) -> None:
    store = asyncio.run(aload_trust_store(write_trust(tmp_path, REFS), _source()))
    assert store.entry("release").fingerprints == (SKOPEO_FPR,)
    assert set(store.entry("ci").fingerprints) == {SUBKEY_PRIMARY_FPR, SECOND_FPR}


def test_a_missing_secret_key_keeps_its_error_class_and_gains_a_location(tmp_path: Path) -> None:
    path = write_trust(tmp_path, REFS)
    source = _source()
    del source.secrets[RELEASE]
    with pytest.raises(NotFoundError) as raised:
        asyncio.run(aload_trust_store(path, source))
    assert str(raised.value) == (
        f"{path}: entries[0].keys[0].secretKeyRef: sigpolicy/trusted-keys[release.asc]:"
        " Secret sigpolicy/trusted-keys has no key release.asc"
    )


def test_secret_material_that_is_not_a_keyring(tmp_path: Path) -> None:
    path = write_trust(tmp_path, REFS)
    source = _source()
    source.config_maps[CI] = b"hello"
    with pytest.raises(PolicyError) as raised:
        asyncio.run(aload_trust_store(path, source))
    assert str(raised.value) == (
        f"{path}: entries[1].keys[0].configMapKeyRef: sigpolicy/trusted-keys[ci.asc]:"
        " not a usable OpenPGP keyring: neither a binary nor an ASCII-armored OpenPGP key file"
    )


def _failures(watcher: TrustStoreWatcher) -> tuple[int, str | None]:
    return watcher.reload_failures, watcher.last_error


def test_refresh_picks_up_a_changed_secret_and_survives_an_outage(tmp_path: Path) -> None:
    path = write_trust(tmp_path, REFS)
    source = _source()

    async def scenario() -> None:
        watcher = await TrustStoreWatcher.aopen(path, source, now=NOW, min_interval=5)
        first = watcher.current(now=NOW + 60)  # current() never fetches from the cluster
        assert source.reads == 2
        source.secrets[RELEASE] = corpus_bytes("public-key-1.gpg")  # same key, other bytes
        assert await watcher.refresh(now=NOW + 1) is first  # not due
        assert await watcher.refresh(now=NOW + 5) is first  # same trusted set
        assert source.reads == 4
        del source.secrets[RELEASE]
        assert await watcher.refresh(now=NOW + 10) is first
        failures, error = _failures(watcher)
        assert failures == 1
        assert error is not None
        assert error.startswith(f"{path}: entries[0].keys[0].secretKeyRef: ")
        # The keys swap entries: a new trusted set, and a new generation.
        source.secrets[RELEASE] = corpus_bytes("public-key-with-subkey.gpg")
        source.config_maps[CI] = corpus_bytes("public-key.gpg")
        newer = await watcher.refresh(now=NOW + 11, force=True)
        assert newer.entry("release").fingerprints == (SUBKEY_PRIMARY_FPR,)
        assert set(newer.entry("ci").fingerprints) == {SKOPEO_FPR, SECOND_FPR}
        assert _failures(watcher) == (1, None)
        assert watcher.reloads == 1

    asyncio.run(scenario())
