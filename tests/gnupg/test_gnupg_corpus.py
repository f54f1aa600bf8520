"""Section ``signatures`` of the containers/image corpus, at the OpenPGP level, with GnuPG.

A case that fails for an OpenPGP reason must fail with that reason here; a case that fails
later (payload, digest, identity, manifest) or is trusted must authenticate, and report
the expected signer. The whole pipeline (payload and claims) is tests/conformance's job.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from sigpolicy.reasons import Reason
from sigpolicy.signature.gnupg_backend import GnuPGVerifier
from tests.conformance.corpus import CORPUS, case_id, expectations
from tests.gnupg.helpers import outcome, reason_of

OPENPGP_REASONS = frozenset(
    {
        Reason.UNSIGNED,
        Reason.MALFORMED,
        Reason.BAD_SIGNATURE,
        Reason.UNKNOWN_KEY,
        Reason.EXPIRED_SIGNATURE,
        Reason.EXPIRED_KEY,
        Reason.REVOKED_KEY,
        Reason.UNSUPPORTED,
    }
)
CASES: list[dict[str, Any]] = expectations()["signatures"]


def expected_reason(case: dict[str, Any]) -> Reason | None:
    if case["expect"] == "trusted":
        return None
    reason = Reason(case["reason"])
    return reason if reason in OPENPGP_REASONS else None


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_corpus_signature(case: dict[str, Any]) -> None:
    keyring = (CORPUS / case["keyring"]).read_bytes()
    blob = (CORPUS / case["signature"]).read_bytes()
    with GnuPGVerifier([keyring]) as verifier:
        result = outcome(verifier, blob, now=int(time.time()))
        assert reason_of(result) == expected_reason(case)
        if "signer" in case:
            assert not isinstance(result, Reason)
            assert result.signer == case["signer"]
            assert case["signer"] in verifier.fingerprints


@pytest.mark.parametrize(
    ("keyring", "fingerprints"),
    [
        ("public-key.gpg", {"08CD26E446E2E95249B7A405E932F44B23E8DD43"}),
        ("public-key-1.gpg", {"08CD26E446E2E95249B7A405E932F44B23E8DD43"}),
        ("public-key-2.gpg", {"F2B501009F78B0B340221A12A3CD242DA6028093"}),
        ("public-key-with-subkey.gpg", {"B9F4CDB9FD8C475BFA340AC38D54A947EE396F36"}),
        ("public-key-with-revoked-subkey.gpg", {"6D88C5A1993648A17B2BB0DC6B8499AF63388D63"}),
        (
            "pubring.gpg",
            {
                "08CD26E446E2E95249B7A405E932F44B23E8DD43",
                "F2B501009F78B0B340221A12A3CD242DA6028093",
                "B9F4CDB9FD8C475BFA340AC38D54A947EE396F36",
                "6D88C5A1993648A17B2BB0DC6B8499AF63388D63",
            },
        ),
    ],
)
def test_corpus_keyring_fingerprints(keyring: str, fingerprints: set[str]) -> None:
    with GnuPGVerifier([(CORPUS / keyring).read_bytes()]) as verifier:
        assert verifier.fingerprints == fingerprints


def test_subkey_fixture_names_the_subkey() -> None:
    keyring = (CORPUS / "public-key-with-subkey.gpg").read_bytes()
    with GnuPGVerifier([keyring]) as verifier:
        result = outcome(verifier, (CORPUS / "subkey.signature").read_bytes())
    assert not isinstance(result, Reason)
    assert result.signing_key == "57D1D95BBC53BA0EAFF0718CD75B3109B3BAAEAF"
    assert result.key_id == "0xd75b3109b3baaeaf"
    assert result.user_id == "c/image test key with subkey"
