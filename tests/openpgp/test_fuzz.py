"""Fuzzing the packet, message, keyring and payload parsers (hypothesis).

The property: whatever the octets, only the project's own errors come out, and quickly
(hypothesis' deadline bounds each example). Mutations of real messages reach deeper than
random octets, so both are used.
"""

from __future__ import annotations

import bz2
import contextlib
import hashlib
import tracemalloc
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigpolicy.errors import InputError, VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.openpgp.keyring import Keyring
from sigpolicy.signature.openpgp.verifier import NativeVerifier
from sigpolicy.signature.payload import parse_payload
from tests.support import pgpwriter as w

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "containers-image"
SEEDS = [
    (CORPUS / name).read_bytes()
    for name in (
        "image.signature",
        "subkey.signature-v3",
        "expired.signature",
        "unsigned-literal.signature",
    )
]
KEYS = (CORPUS / "pubring.gpg").read_bytes()
VERIFIER = NativeVerifier(Keyring.from_files([("pubring.gpg", KEYS)]))
NOW = 1_800_000_000
FUZZ = settings(max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.too_slow])


def _verify(blob: bytes) -> None:
    with contextlib.suppress(VerificationError):
        VERIFIER.verify_message(blob, now=NOW)


@FUZZ
@given(st.binary(max_size=2048))
def test_random_octets(blob: bytes) -> None:
    _verify(blob)


@FUZZ
@given(st.binary(max_size=64).map(lambda b: b"\xa3\x01" + b))
def test_random_deflate_streams(blob: bytes) -> None:
    _verify(blob)


@FUZZ
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8),
)
def test_mutated_real_messages(seed: bytes, flips: list[tuple[int, int]]) -> None:
    blob = bytearray(seed)
    for position, value in flips:
        blob[position % len(blob)] = value
    _verify(bytes(blob))


@FUZZ
@given(st.sampled_from(SEEDS), st.integers(0, 2000))
def test_truncated_real_messages(seed: bytes, cut: int) -> None:
    _verify(seed[: cut % len(seed)])


@FUZZ
@given(
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=0, max_size=6),
    st.integers(0, 10_000),
)
def test_mutated_keyrings(flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(KEYS)
    for position, value in flips:
        data[position % len(data)] = value
    try:
        keyring = Keyring.from_files([("fuzzed", bytes(data[: max(1, len(data) - cut)]))])
    except InputError:
        return
    with contextlib.suppress(VerificationError):
        NativeVerifier(keyring).verify_message(SEEDS[0], now=NOW)


@FUZZ
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=10), children, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_payload_parser_on_any_json(document: object) -> None:
    import json

    try:
        parse_payload(json.dumps(document).encode())
    except VerificationError as exc:
        assert exc.reason is Reason.INVALID_PAYLOAD


@FUZZ
@given(st.binary(max_size=512))
def test_payload_parser_on_any_octets(data: bytes) -> None:
    try:
        parse_payload(data)
    except VerificationError as exc:
        assert exc.reason is Reason.INVALID_PAYLOAD


# --- compression bombs ---------------------------------------------------------------

BOMB_SIZE = 300 * 1024 * 1024
_CHUNK = bytes(1024 * 1024)


def _signed_zeros_message(key: w.Key, algo: int) -> bytes:
    """COMP{OPS LIT(300 MB of zeros) SIG}, really signed, compressed as a stream."""
    header = b"b\x00" + bytes(4)
    digest_input = hashlib.sha256()
    for _ in range(BOMB_SIZE // len(_CHUNK)):
        digest_input.update(_CHUNK)
    # The signature over 300 MB of zeros; signing needs the digest, not the data in memory.
    sig = _signature_over_digest(key, digest_input)
    literal_body_length = len(header) + BOMB_SIZE
    prefix = (
        w.packet(4, w.one_pass(key)) + b"\xcb\xff" + literal_body_length.to_bytes(4, "big") + header
    )
    suffix = w.packet(2, sig)
    compressor: zlib._Compress | bz2.BZ2Compressor
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15) if algo == 1 else bz2.BZ2Compressor(9)
    out = [compressor.compress(prefix)]
    for _ in range(BOMB_SIZE // len(_CHUNK)):
        out.append(compressor.compress(_CHUNK))
    out.append(compressor.compress(suffix))
    out.append(compressor.flush())
    return w.indeterminate(8, bytes([algo]) + b"".join(out))


def _signature_over_digest(key: w.Key, document_hash: hashlib._Hash) -> bytes:
    opts = w.Sig()
    hashed = w.created(opts.at) + w.subpacket(33, b"\x04" + key.fingerprint)
    head = bytes([4, 0, key.algo, 8]) + len(hashed).to_bytes(2, "big") + hashed
    document_hash.update(head + b"\x04\xff" + len(head).to_bytes(4, "big"))
    digest = document_hash.digest()
    unhashed = w.subpacket(16, key.key_id)
    return (
        head + len(unhashed).to_bytes(2, "big") + unhashed + digest[:2] + key.sign_digest(8, digest)
    )


@pytest.mark.slow
@pytest.mark.parametrize("algo", [1, 3], ids=["zip", "bzip2"])
def test_signed_300mb_of_zeros_is_refused_without_inflating_it(algo: int) -> None:
    key = w.rsa_key()
    blob = _signed_zeros_message(key, algo)
    verifier = NativeVerifier(Keyring.from_files([("k", w.certificate(key))]))
    tracemalloc.start()
    try:
        with pytest.raises(VerificationError) as caught:
            verifier.verify_message(blob, now=w.T0 + 1000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.reason is Reason.MALFORMED
    # Decompression stops one octet past the cap: memory stays near the cap, not 300 MB.
    assert peak < 8 * 1024 * 1024 + len(blob) * 2
