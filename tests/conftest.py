"""Suite-wide fixtures: fresh OpenPGP keys made by the real gpg (see tests/support/gpgkit.py),
a fake image API server per test (tests/support/fakeapi.py), and ``async def`` tests run in
a fresh event loop with a timeout, so a hung watch fails its test instead of the run.

Keys are session-scoped (RSA-4096 takes seconds) and live in temporary GnuPG homes whose
agents are stopped at the end of the session. No private key is committed anywhere.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fakeapi import FakeApiServer
from tests.support.gpgkit import GeneratedKey, KeyFactory

DAY = 86_400


@pytest.fixture(scope="session")
def session_start() -> int:
    """The moment the session's keys are made from; keys "in the past" are made before it."""
    return int(time.time())


@pytest.fixture(scope="session")
def gpg_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyFactory]:
    factory = KeyFactory(tmp_path_factory.mktemp("gpg"))
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def rsa4096_key(gpg_factory: KeyFactory) -> GeneratedKey:
    return gpg_factory.generate("rsa4096", algo="rsa4096")


@pytest.fixture(scope="session")
def ed25519_key(gpg_factory: KeyFactory) -> GeneratedKey:
    return gpg_factory.generate("ed25519", algo="ed25519")


@pytest.fixture(scope="session")
def p256_key(gpg_factory: KeyFactory) -> GeneratedKey:
    return gpg_factory.generate("p256", algo="nistp256")


@pytest.fixture(scope="session")
def rsa1024_key(gpg_factory: KeyFactory) -> GeneratedKey:
    """Too small for sigpolicy (RSA under 2048 bits is refused as ``unsupported``)."""
    return gpg_factory.generate("rsa1024", algo="rsa1024")


@pytest.fixture(scope="session")
def subkey_key(gpg_factory: KeyFactory) -> GeneratedKey:
    """A certify-only Ed25519 primary whose Ed25519 subkey signs."""
    return gpg_factory.generate("subkey", algo="ed25519", subkey_algo="ed25519")


@pytest.fixture(scope="session")
def past_key(gpg_factory: KeyFactory, session_start: int) -> GeneratedKey:
    """Created ten days ago, never expires: for signatures made in the past."""
    return gpg_factory.generate("past", created=session_start - 10 * DAY)


@pytest.fixture(scope="session")
def expired_key(gpg_factory: KeyFactory, session_start: int) -> GeneratedKey:
    """Created ten days ago, expired eight days ago: sign with a faked time in between."""
    return gpg_factory.generate("expired", created=session_start - 10 * DAY, expire_after=2 * DAY)


@pytest.fixture(scope="session")
def revoked_key(gpg_factory: KeyFactory, session_start: int) -> GeneratedKey:
    """Its public half carries a key revocation; its home can still sign (as before)."""
    return gpg_factory.revoke(gpg_factory.generate("revoked", created=session_start - 10 * DAY))


@pytest.fixture(scope="session")
def revoked_subkey_key(gpg_factory: KeyFactory) -> GeneratedKey:
    """Primary plus signing subkey; its public half carries a revocation of the subkey."""
    return gpg_factory.revoke_subkey(
        gpg_factory.generate("revoked-subkey", algo="ed25519", subkey_algo="ed25519")
    )


@pytest.fixture(scope="session")
def signer_pair(gpg_factory: KeyFactory) -> tuple[GeneratedKey, GeneratedKey]:
    """Two Ed25519 keys in one home, to make a message with two signatures."""
    first = gpg_factory.generate("pair-a")
    return first, gpg_factory.generate("pair-b", home=first.home)


# --- the fake image API server, and async tests (the project has no pytest-asyncio) ---

TEST_TIMEOUT = 20.0


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    function = pyfuncitem.obj
    if not inspect.iscoroutinefunction(function):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in inspect.signature(function).parameters}
    asyncio.run(asyncio.wait_for(function(**arguments), TEST_TIMEOUT))
    return True


@pytest.fixture
def fake_api() -> Iterator[FakeApiServer]:
    with FakeApiServer() as server:
        yield server


@pytest.fixture
def kubeconfig(fake_api: FakeApiServer, tmp_path: Path) -> Path:
    return fake_api.write_kubeconfig(tmp_path / "kubeconfig")
