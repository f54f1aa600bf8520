"""The session's gpg keys, bundled for the case tables of tests/gnupg/cases.py."""

from __future__ import annotations

import pytest

from tests.gnupg.cases import Keys
from tests.support.gpgkit import GeneratedKey


@pytest.fixture(scope="session")
def keys(
    rsa4096_key: GeneratedKey,
    ed25519_key: GeneratedKey,
    p256_key: GeneratedKey,
    rsa1024_key: GeneratedKey,
    subkey_key: GeneratedKey,
    past_key: GeneratedKey,
    expired_key: GeneratedKey,
    revoked_key: GeneratedKey,
    revoked_subkey_key: GeneratedKey,
    signer_pair: tuple[GeneratedKey, GeneratedKey],
    session_start: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> Keys:
    return Keys(
        rsa4096=rsa4096_key,
        ed25519=ed25519_key,
        p256=p256_key,
        rsa1024=rsa1024_key,
        subkey=subkey_key,
        past=past_key,
        expired=expired_key,
        revoked=revoked_key,
        revoked_subkey=revoked_subkey_key,
        pair=signer_pair,
        start=session_start,
        workdir=tmp_path_factory.mktemp("gnupg-cases"),
    )
