"""Loading key files into the GnuPG backend, and the isolation of its private home."""

from __future__ import annotations

import gc
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from sigpolicy.errors import InputError
from sigpolicy.reasons import Reason
from sigpolicy.signature.gnupg_backend import GnuPGVerifier
from tests.gnupg.cases import PAYLOAD, Keys
from tests.gnupg.helpers import outcome, reason_of
from tests.support import gpgkit


def _home(verifier: GnuPGVerifier) -> Path:
    return verifier._gpg.home


# --- what loads ---------------------------------------------------------------------------


def test_binary_and_armored_exports_load_the_same_key(keys: Keys) -> None:
    for data in (keys.ed25519.public_key, keys.ed25519.public_key_armored):
        with GnuPGVerifier([data]) as verifier:
            assert verifier.fingerprints == {keys.ed25519.fingerprint}


def test_several_files_and_several_keys_per_file(keys: Keys) -> None:
    armored_pair = keys.rsa4096.public_key_armored + b"\n" + keys.p256.public_key_armored
    files = [keys.ed25519.public_key, armored_pair, keys.subkey.public_key]
    with GnuPGVerifier(files) as verifier:
        assert verifier.fingerprints == {
            keys.ed25519.fingerprint,
            keys.rsa4096.fingerprint,
            keys.p256.fingerprint,
            keys.subkey.fingerprint,
        }
        for key in (keys.ed25519, keys.rsa4096, keys.subkey):
            result = outcome(verifier, gpgkit.sign(PAYLOAD, key))
            assert reason_of(result) is None


def test_the_same_key_twice_is_one_key(keys: Keys) -> None:
    with GnuPGVerifier([keys.ed25519.public_key, keys.ed25519.public_key_armored]) as verifier:
        assert verifier.fingerprints == {keys.ed25519.fingerprint}


def test_no_key_files_trusts_nobody(keys: Keys) -> None:
    with GnuPGVerifier([]) as verifier:
        assert verifier.fingerprints == frozenset()
        assert outcome(verifier, gpgkit.sign(PAYLOAD, keys.ed25519)) == Reason.UNKNOWN_KEY


def test_unusable_key_is_loaded_but_not_listed(keys: Keys) -> None:
    with GnuPGVerifier([keys.rsa1024.public_key, keys.ed25519.public_key]) as verifier:
        assert verifier.fingerprints == {keys.ed25519.fingerprint}


def test_user_id_is_the_first_one_not_revoked(gpg_factory: gpgkit.KeyFactory) -> None:
    key = gpg_factory.generate("renamed")
    new_uid = "sigpolicy test renamed again <renamed@sigpolicy.test>"
    gpgkit.run_gpg(key.home, "--quick-add-uid", key.fingerprint, new_uid)
    gpgkit.run_gpg(key.home, "--quick-revoke-uid", key.fingerprint, key.user_id)
    public = gpgkit.export_public(key.home, key.fingerprint)[0]
    with GnuPGVerifier([public]) as verifier:
        result = outcome(verifier, gpgkit.sign(PAYLOAD, key))
    assert not isinstance(result, Reason)
    assert result.user_id == new_uid


# --- what is refused -----------------------------------------------------------------------

Refused = Callable[[Keys], bytes]

REFUSED: dict[str, tuple[Refused, str]] = {
    "secret-key": (
        lambda k: (
            gpgkit.run_gpg(k.ed25519.home, "--export-secret-keys", k.ed25519.fingerprint).stdout
        ),
        "secret key",
    ),
    "secret-key-armored": (
        lambda k: (
            gpgkit.run_gpg(
                k.ed25519.home, "--export-secret-keys", "--armor", k.ed25519.fingerprint
            ).stdout
        ),
        "secret key",
    ),
    "public-then-secret": (
        lambda k: (
            k.p256.public_key
            + gpgkit.run_gpg(k.ed25519.home, "--export-secret-keys", k.ed25519.fingerprint).stdout
        ),
        "secret key",
    ),
    "gnupg-keybox": (lambda k: (k.ed25519.home / "pubring.kbx").read_bytes(), "keybox"),
    "empty": (lambda k: b"", "no OpenPGP public key"),
    "text": (lambda k: b"this is not a key\n", "no OpenPGP public key"),
    "truncated": (lambda k: k.rsa4096.public_key[:-40], "OpenPGP"),
    "garbage-after-key": (lambda k: k.ed25519.public_key + b"\x00garbage", "OpenPGP"),
    "armor-with-wrong-crc": (
        lambda k: k.ed25519.public_key_armored.replace(b"\n=", b"\n=AAAA", 1),
        "OpenPGP",
    ),
}


@pytest.mark.parametrize(("data", "mentions"), REFUSED.values(), ids=REFUSED.keys())
def test_unusable_key_file_is_an_input_error(keys: Keys, data: Refused, mentions: str) -> None:
    with pytest.raises(InputError) as caught:
        GnuPGVerifier([keys.ed25519.public_key, data(keys)])
    message = caught.value.diagnostics()
    assert "\n" not in message
    assert message.startswith("key file 2")
    assert mentions in message or "read to the end" in message


def test_missing_gpg_is_an_input_error(keys: Keys) -> None:
    with pytest.raises(InputError, match=r"^/nonexistent/gpg not found: install gnupg$"):
        GnuPGVerifier([keys.ed25519.public_key], gpg_binary="/nonexistent/gpg")


def test_a_gpg_that_does_not_run_is_an_input_error(keys: Keys) -> None:
    with pytest.raises(InputError, match="could not be run"):
        GnuPGVerifier([keys.ed25519.public_key], gpg_binary="false")


# --- the private home ----------------------------------------------------------------------


def test_private_home_is_0700_and_removed_on_close(keys: Keys) -> None:
    verifier = GnuPGVerifier([keys.ed25519.public_key])
    home = _home(verifier)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert Path(tempfile.gettempdir()) in home.parents
    verifier.close()
    assert not home.exists()
    verifier.close()  # idempotent


def test_context_manager_and_finalizer_remove_the_home(keys: Keys) -> None:
    with GnuPGVerifier([keys.ed25519.public_key]) as verifier:
        home = _home(verifier)
    assert not home.exists()
    verifier = GnuPGVerifier([keys.ed25519.public_key])
    home = _home(verifier)
    del verifier
    gc.collect()
    assert not home.exists()


def test_home_removed_when_loading_fails(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    real_mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(prefix: str) -> str:
        made.append(real_mkdtemp(prefix=prefix))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    with pytest.raises(InputError):
        GnuPGVerifier([b"not a key"])
    assert len(made) == 1
    assert not Path(made[0]).exists()


def test_no_agent_and_no_user_keyring(
    keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_home = tmp_path / "user-gnupg"
    user_home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(user_home))
    encrypted = gpgkit.encrypt_symmetric(PAYLOAD, keys.ed25519.home)
    with GnuPGVerifier([keys.ed25519.public_key]) as verifier:
        assert reason_of(outcome(verifier, gpgkit.sign(PAYLOAD, keys.ed25519))) is None
        assert outcome(verifier, encrypted) == Reason.UNSIGNED
        home = _home(verifier)
        assert not [name for name in os.listdir(home) if name.startswith("S.")]
    assert list(user_home.iterdir()) == []
