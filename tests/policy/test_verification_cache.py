"""The verification cache shared by webhook decisions: how long a verdict is reused."""

from __future__ import annotations

import pytest

from sigpolicy.policy.evidence import VerificationCache, VerifiedSimple
from sigpolicy.reasons import Reason
from sigpolicy.signature.message import AuthenticatedMessage
from sigpolicy.verify.simple import SignatureVerdict

KEY = (b"blob-hash", "sha256:" + "a" * 64, "generation-1")
NOW = 1_800_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def trusted(valid_until: int | None = None) -> VerifiedSimple:
    message = AuthenticatedMessage(
        payload=b"{}", signer="F" * 40, signing_key="F" * 40, key_id="0x" + "f" * 16,
        created=NOW - 60, valid_until=valid_until,
    )  # fmt: skip
    return VerifiedSimple("sig-1", SignatureVerdict(True, None, "ok", authenticated=message), None)


def untrusted() -> VerifiedSimple:
    verdict = SignatureVerdict(False, Reason.UNKNOWN_KEY, "key 1234 is not in the trusted keys")
    return VerifiedSimple("sig-1", verdict, None)


@pytest.mark.parametrize(
    ("value", "kept_for"),
    [
        pytest.param(trusted(), 600, id="trusted-ttl"),
        pytest.param(untrusted(), 30, id="failure-ttl"),
        pytest.param(trusted(valid_until=NOW + 45), 45, id="until-the-key-or-signature-expires"),
        pytest.param(trusted(valid_until=NOW + 10_000), 600, id="expiry-after-the-ttl"),
        pytest.param(trusted(valid_until=NOW - 1), 0, id="already-expired"),
    ],
)
def test_how_long_a_verdict_is_reused(value: VerifiedSimple, kept_for: int) -> None:
    clock = Clock()
    cache = VerificationCache(ttl=600, failure_ttl=30, clock=clock)
    cache.put(KEY, value, now=NOW)
    clock.now += max(kept_for - 0.5, 0)
    assert (cache.get(KEY) is value) is (kept_for > 0)
    clock.now += 1
    assert cache.get(KEY) is None


def test_the_cache_is_bounded_and_counts_hits() -> None:
    cache = VerificationCache(size=3, clock=Clock())
    for index in range(5):
        cache.put((bytes([index]), "d", "g"), trusted(), now=NOW)
    assert cache.get((bytes([4]), "d", "g")) is not None
    assert cache.get((bytes([0]), "d", "g")) is None
    assert (cache.hits, cache.misses) == (1, 1)
