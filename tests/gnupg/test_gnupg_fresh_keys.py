"""The GnuPG backend on keys and signatures made just now by the real gpg and skopeo.

``SHAPE_CASES`` need the shared grammar check (``parse_message``): gpg alone would accept
or misread those shapes.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from sigpolicy.reasons import Reason
from sigpolicy.signature.message import AuthenticatedMessage
from tests.gnupg.cases import (
    DIGEST,
    FRESH_CASES,
    MANIFEST,
    REFERENCE,
    SHAPE_CASES,
    Build,
    Keys,
    Scenario,
)
from tests.gnupg.helpers import reason_of, with_gnupg


def check_authenticated(result: AuthenticatedMessage, scenario: Scenario) -> None:
    signer = scenario.signer
    assert signer is not None
    assert result.signer == signer.fingerprint
    assert result.signing_key == signer.signing_fingerprint
    assert result.key_id == signer.key_id
    assert result.user_id == signer.user_id
    if scenario.payload is not None:
        assert result.payload == scenario.payload


@pytest.mark.parametrize(("build", "expected"), FRESH_CASES.values(), ids=FRESH_CASES.keys())
def test_fresh_keys(keys: Keys, build: Build, expected: Reason | None) -> None:
    scenario = build(keys)
    result = with_gnupg(scenario.keyring, scenario.blob)
    assert reason_of(result) == expected
    if isinstance(result, AuthenticatedMessage):
        check_authenticated(result, scenario)


@pytest.mark.parametrize(("build", "expected"), SHAPE_CASES.values(), ids=SHAPE_CASES.keys())
def test_shapes_refused_by_the_shared_grammar(keys: Keys, build: Build, expected: Reason) -> None:
    scenario = build(keys)
    assert reason_of(with_gnupg(scenario.keyring, scenario.blob)) == expected


def test_subkey_signature_names_both_keys(keys: Keys) -> None:
    scenario = FRESH_CASES["subkey-reported-as-primary"][0](keys)
    result = with_gnupg(scenario.keyring, scenario.blob)
    assert isinstance(result, AuthenticatedMessage)
    assert keys.subkey.signs_with_subkey
    assert result.signer == keys.subkey.fingerprint != result.signing_key
    assert result.key_id == "0x" + keys.subkey.signing_fingerprint[-16:].lower()


def test_skopeo_payload_claims_what_was_signed(keys: Keys) -> None:
    scenario = FRESH_CASES["skopeo-standalone-sign"][0](keys)
    result = with_gnupg(scenario.keyring, scenario.blob)
    assert isinstance(result, AuthenticatedMessage)
    critical = json.loads(result.payload)["critical"]
    assert critical["type"] == "atomic container signature"
    assert critical["identity"]["docker-reference"] == REFERENCE
    manifest_digest = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
    assert critical["image"]["docker-manifest-digest"] == manifest_digest != DIGEST


def test_created_is_the_signature_time(keys: Keys) -> None:
    signed_at = keys.start - 3 * 86_400
    from tests.support.gpgkit import sign

    blob = sign(b"{}", keys.past, faked_time=signed_at)
    result = with_gnupg([keys.past.public_key], blob)
    assert isinstance(result, AuthenticatedMessage)
    assert result.created == signed_at
    assert result.payload == b"{}"


def test_verdict_follows_now_not_the_clock(keys: Keys) -> None:
    """The same expired-key signature verifies at a ``now`` before the key expired."""
    scenario = FRESH_CASES["expired-key"][0](keys)
    before_expiry = keys.start - 9 * 86_400 + 60
    result = with_gnupg(scenario.keyring, scenario.blob, now=before_expiry)
    assert isinstance(result, AuthenticatedMessage)
    assert result.signer == keys.expired.fingerprint
