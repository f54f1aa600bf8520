"""Both OpenPGP backends give the same verdict (reason class) on every case.

- The native verifier's adversarial table (tests/openpgp/test_adversarial.py, inputs
  written octet by octet) through the GnuPG backend. ``GNUPG_DIVERGENCES`` lists the one
  case where no status line lets the GnuPG backend follow the rule, with gpg's verdict.
- The fresh-key tables of this folder through the native verifier.
"""

from __future__ import annotations

import pytest

from sigpolicy.reasons import Reason
from tests.gnupg.cases import FRESH_CASES, SHAPE_CASES, Build, Keys
from tests.gnupg.helpers import reason_of, with_gnupg, with_native
from tests.openpgp import test_adversarial as adversarial
from tests.support import pgpwriter as w

# gpg 2.2 treats an unknown critical subpacket in the *unhashed* area like one in the
# hashed area ("assuming bad signature ... due to an unknown critical bit") and reports
# BADSIG; OPENPGP.md §4 ignores the flag there, since anyone can add such a subpacket.
GNUPG_DIVERGENCES: dict[str, Reason] = {
    "junk-critical-in-unhashed-area": Reason.BAD_SIGNATURE,
}

ADVERSARIAL = adversarial.CASES


@pytest.fixture(scope="module")
def crafted_keys() -> adversarial.Keys:
    return adversarial.Keys(w.rsa_key(), w.rsa_key(), w.ed25519_key(), w.p256_key(), w.rsa_key())


@pytest.mark.parametrize(("build", "expected"), ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_adversarial_table_through_gnupg(
    request: pytest.FixtureRequest,
    crafted_keys: adversarial.Keys,
    build: adversarial.Case,
    expected: Reason | None,
) -> None:
    cert, blob = build(crafted_keys)
    name = request.node.callspec.id
    result = with_gnupg([cert], blob, now=adversarial.NOW)
    assert reason_of(result) == GNUPG_DIVERGENCES.get(name, expected)
    if expected is None and name not in GNUPG_DIVERGENCES:
        assert not isinstance(result, Reason)
        assert result.payload == adversarial.PAYLOAD


def test_divergences_are_still_real() -> None:
    """Each documented divergence names a case of the table with a different verdict."""
    for name, gnupg_reason in GNUPG_DIVERGENCES.items():
        assert ADVERSARIAL[name][1] != gnupg_reason


ALL_FRESH: dict[str, tuple[Build, Reason | None]] = {**FRESH_CASES, **SHAPE_CASES}


@pytest.mark.parametrize(("build", "expected"), ALL_FRESH.values(), ids=ALL_FRESH.keys())
def test_native_agrees_on_fresh_keys(keys: Keys, build: Build, expected: Reason | None) -> None:
    scenario = build(keys)
    assert reason_of(with_native(scenario.keyring, scenario.blob)) == expected
