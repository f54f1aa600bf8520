"""OPENPGP.md §10: adversarial inputs to the native verifier, a table of named cases.

Inputs are crafted octet by octet (tests/support/pgpwriter.py), because gpg will not write
most of them. Each case names the reason class it must produce (None: it must verify).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.openpgp.keyring import Keyring
from sigpolicy.signature.openpgp.verifier import NativeVerifier
from tests.support import pgpwriter as w

NOW = w.T0 + 1000
PAYLOAD = b'{"critical":{},"optional":{}}'


@dataclass
class Keys:
    rsa: w.Key
    other: w.Key
    ed: w.Key
    p256: w.Key
    signing_sub: w.Key


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(w.rsa_key(), w.rsa_key(), w.ed25519_key(), w.p256_key(), w.rsa_key())


def verify(cert: bytes, blob: bytes, *, now: int = NOW) -> Reason | None:
    verifier = NativeVerifier(Keyring.from_files([("test", cert)]))
    try:
        message = verifier.verify_message(blob, now=now)
    except VerificationError as exc:
        return exc.reason
    assert message.payload == PAYLOAD
    return None


Case = Callable[[Keys], tuple[bytes, bytes]]


def _std(keys: Keys) -> bytes:
    return w.certificate(keys.rsa)


def _ops_lit_sig(key: w.Key, opts: w.Sig | None = None, payload: bytes = PAYLOAD) -> list[bytes]:
    opts = opts or w.Sig()
    return [
        w.packet(4, w.one_pass(key, opts)),
        w.packet(11, w.literal(payload)),
        w.packet(2, w.signature(key, payload, opts)),
    ]


def _comp(parts: list[bytes], algo: int = 1) -> bytes:
    return w.indeterminate(8, w.compress(b"".join(parts), algo))


CASES: dict[str, tuple[Case, Reason | None]] = {
    # --- valid shapes -------------------------------------------------------------------
    "gnupg-shape-rsa": (lambda k: (_std(k), w.message(k.rsa, PAYLOAD)), None),
    "uncompressed-ops-lit-sig": (
        lambda k: (_std(k), w.message(k.rsa, PAYLOAD, compressed=None)),
        None,
    ),
    "zlib": (lambda k: (_std(k), w.message(k.rsa, PAYLOAD, compressed=2)), None),
    "bzip2": (lambda k: (_std(k), w.message(k.rsa, PAYLOAD, compressed=3)), None),
    "ed25519-legacy": (lambda k: (w.certificate(k.ed), w.message(k.ed, PAYLOAD)), None),
    "ecdsa-p256": (lambda k: (w.certificate(k.p256), w.message(k.p256, PAYLOAD)), None),
    "sha512": (lambda k: (_std(k), w.message(k.rsa, PAYLOAD, w.Sig(hash_algo=10))), None),
    "signature-first": (
        lambda k: (
            _std(k),
            w.packet(2, w.signature(k.rsa, PAYLOAD)) + w.packet(11, w.literal(PAYLOAD)),
        ),
        None,
    ),
    "issuer-only-unhashed": (
        lambda k: (_std(k), w.message(k.rsa, PAYLOAD, w.Sig(issuer_fpr_hashed=False))),
        None,
    ),
    "junk-critical-in-unhashed-area": (
        lambda k: (
            _std(k),
            w.message(
                k.rsa,
                PAYLOAD,
                w.Sig(
                    unhashed=[w.subpacket(16, k.rsa.key_id), w.subpacket(99, b"x", critical=True)]
                ),
            ),
        ),
        None,
    ),
    "v3-signature": (lambda k: (_std(k), _comp(_ops_lit_sig(k.rsa, w.Sig(version=3)))), None),
    "partial-length-literal": (
        lambda k: (
            _std(k),
            w.packet(4, w.one_pass(k.rsa))
            + w.packet(11, w.literal(PAYLOAD), partial=3)
            + w.packet(2, w.signature(k.rsa, PAYLOAD)),
        ),
        None,
    ),
    "legacy-format-packets": (
        lambda k: (
            _std(k),
            w.packet(4, w.one_pass(k.rsa), legacy=True)
            + w.packet(11, w.literal(PAYLOAD), legacy=True)
            + w.packet(2, w.signature(k.rsa, PAYLOAD), legacy=True),
        ),
        None,
    ),
    "literal-metadata-changed": (
        lambda k: (
            _std(k),
            w.packet(4, w.one_pass(k.rsa))
            + w.packet(11, w.literal(PAYLOAD, fmt=b"t", name=b"other", date=12345))
            + w.packet(2, w.signature(k.rsa, PAYLOAD)),
        ),
        None,
    ),
    "trailing-marker-packet": (
        lambda k: (_std(k), w.message(k.rsa, PAYLOAD, compressed=None) + w.packet(10, b"PGP")),
        None,
    ),
    "signing-subkey": (
        lambda k: (
            w.certificate(k.rsa, subkeys=[(k.signing_sub, w.subkey_binding(k.rsa, k.signing_sub))]),
            w.message(k.signing_sub, PAYLOAD),
        ),
        None,
    ),
    # --- unsigned -----------------------------------------------------------------------
    "bare-literal": (lambda k: (_std(k), w.packet(11, w.literal(PAYLOAD))), Reason.UNSIGNED),
    "compressed-literal": (
        lambda k: (_std(k), _comp([w.packet(11, w.literal(PAYLOAD))])),
        Reason.UNSIGNED,
    ),
    "pkesk-then-seipd": (
        lambda k: (_std(k), w.packet(1, b"\x03" + bytes(9)) + w.packet(18, b"\x01" + bytes(40))),
        Reason.UNSIGNED,
    ),
    # --- malformed framing and grammar --------------------------------------------------
    "empty": (lambda k: (_std(k), b""), Reason.MALFORMED),
    "bit7-clear": (lambda k: (_std(k), b"\x10" + bytes(20)), Reason.MALFORMED),
    "tag-0": (lambda k: (_std(k), b"\xc0\x01\x00"), Reason.MALFORMED),
    "length-past-end": (lambda k: (_std(k), b"\xcb\x50" + bytes(10)), Reason.MALFORMED),
    "partial-length-on-signature": (
        lambda k: (
            _std(k),
            w.packet(4, w.one_pass(k.rsa))
            + w.packet(11, w.literal(PAYLOAD))
            + w.packet(2, w.signature(k.rsa, PAYLOAD), partial=4),
        ),
        Reason.MALFORMED,
    ),
    "ends-inside-partial-chunk": (
        lambda k: (_std(k), b"\xcb\xe5" + bytes(10)),
        Reason.MALFORMED,
    ),
    "indeterminate-literal-not-last": (
        lambda k: (
            _std(k),
            w.packet(4, w.one_pass(k.rsa)) + w.indeterminate(11, w.literal(PAYLOAD)),
        ),
        Reason.MALFORMED,
    ),
    "two-literals": (
        lambda k: (_std(k), b"".join(_ops_lit_sig(k.rsa)) + w.packet(11, w.literal(PAYLOAD))),
        Reason.MALFORMED,
    ),
    "two-signatures": (
        lambda k: (
            _std(k),
            b"".join(_ops_lit_sig(k.rsa)) + w.packet(2, w.signature(k.rsa, PAYLOAD)),
        ),
        Reason.MALFORMED,
    ),
    "two-ops-last-0": (
        lambda k: (
            _std(k),
            w.packet(4, w.one_pass(k.other, last=0))
            + b"".join(_ops_lit_sig(k.rsa))
            + w.packet(2, w.signature(k.other, PAYLOAD)),
        ),
        Reason.MALFORMED,
    ),
    "ops-without-signature": (
        lambda k: (_std(k), w.packet(4, w.one_pass(k.rsa)) + w.packet(11, w.literal(PAYLOAD))),
        Reason.MALFORMED,
    ),
    "detached-signature": (
        lambda k: (_std(k), w.packet(2, w.signature(k.rsa, PAYLOAD))),
        Reason.MALFORMED,
    ),
    "ops-and-signature-at-different-levels": (
        lambda k: (
            _std(k),
            _comp(_ops_lit_sig(k.rsa)[:2]) + _ops_lit_sig(k.rsa)[2],
        ),
        Reason.MALFORMED,
    ),
    "nested-compression": (
        lambda k: (_std(k), _comp([_comp(_ops_lit_sig(k.rsa))])),
        Reason.MALFORMED,
    ),
    "trailing-user-id": (
        lambda k: (_std(k), w.message(k.rsa, PAYLOAD, compressed=None) + w.packet(13, b"x")),
        Reason.MALFORMED,
    ),
    "cleartext-armor": (
        lambda k: (
            _std(k),
            b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhi\n"
            b"-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n",
        ),
        Reason.MALFORMED,
    ),
    "armored-detached-signature": (
        lambda k: (
            _std(k),
            b"-----BEGIN PGP SIGNATURE-----\n\nwsBc\n-----END PGP SIGNATURE-----\n",
        ),
        Reason.MALFORMED,
    ),
    # --- compression --------------------------------------------------------------------
    "truncated-deflate": (
        lambda k: (_std(k), w.message(k.rsa, PAYLOAD)[:-10]),
        Reason.MALFORMED,
    ),
    "deflate-then-junk": (
        lambda k: (_std(k), w.message(k.rsa, PAYLOAD) + b"JUNK"),
        Reason.MALFORMED,
    ),
    "two-bzip2-streams": (
        lambda k: (
            _std(k),
            w.indeterminate(
                8, w.compress(b"".join(_ops_lit_sig(k.rsa)), 3) + w.compress(b"x", 3)[1:]
            ),
        ),
        Reason.MALFORMED,
    ),
    "compression-algorithm-0": (
        lambda k: (_std(k), w.indeterminate(8, b"\x00" + b"".join(_ops_lit_sig(k.rsa)))),
        Reason.MALFORMED,
    ),
    "zlib-labelled-as-zip": (
        lambda k: (
            _std(k),
            w.indeterminate(8, b"\x01" + w.compress(b"".join(_ops_lit_sig(k.rsa)), 2)[1:]),
        ),
        Reason.MALFORMED,
    ),
    "compression-algorithm-110": (
        lambda k: (_std(k), w.indeterminate(8, b"\x6e" + bytes(20))),
        Reason.UNSUPPORTED,
    ),
    # --- signature packets --------------------------------------------------------------
    "flipped-payload": (
        lambda k: (
            _std(k),
            w.packet(4, w.one_pass(k.rsa))
            + w.packet(11, w.literal(PAYLOAD.replace(b"{}", b"[]", 1)))
            + w.packet(2, w.signature(k.rsa, PAYLOAD)),
        ),
        Reason.BAD_SIGNATURE,
    ),
    "wrong-left16": (
        lambda k: (_std(k), w.message(k.rsa, PAYLOAD, w.Sig(bad_left16=True))),
        Reason.BAD_SIGNATURE,
    ),
    "unknown-critical-hashed": (
        lambda k: (
            _std(k),
            w.message(k.rsa, PAYLOAD, w.Sig(hashed=[w.subpacket(99, b"x", critical=True)])),
        ),
        Reason.BAD_SIGNATURE,
    ),
    "critical-notation": (
        lambda k: (
            _std(k),
            w.message(
                k.rsa,
                PAYLOAD,
                w.Sig(hashed=[w.subpacket(20, bytes(4) + b"\x00\x01\x00\x01ab", critical=True)]),
            ),
        ),
        Reason.BAD_SIGNATURE,
    ),
    "future-signature": (
        lambda k: (_std(k), w.message(k.rsa, PAYLOAD, w.Sig(at=NOW + 86400))),
        Reason.BAD_SIGNATURE,
    ),
    "intended-recipient": (
        lambda k: (
            _std(k),
            w.message(k.rsa, PAYLOAD, w.Sig(hashed=[w.subpacket(35, b"\x04" + bytes(20))])),
        ),
        Reason.BAD_SIGNATURE,
    ),
    "ops-names-other-key": (
        lambda k: (
            _std(k),
            w.packet(4, w.one_pass(k.rsa, key_id=k.other.key_id))
            + w.packet(11, w.literal(PAYLOAD))
            + w.packet(2, w.signature(k.rsa, PAYLOAD)),
        ),
        Reason.MALFORMED,
    ),
    "ops-hash-differs": (
        lambda k: (
            _std(k),
            w.packet(4, w.one_pass(k.rsa, w.Sig(hash_algo=10)))
            + w.packet(11, w.literal(PAYLOAD))
            + w.packet(2, w.signature(k.rsa, PAYLOAD)),
        ),
        Reason.MALFORMED,
    ),
    "issuer-16-and-33-disagree": (
        lambda k: (
            _std(k),
            w.message(k.rsa, PAYLOAD, w.Sig(unhashed=[w.subpacket(16, k.other.key_id)])),
        ),
        Reason.MALFORMED,
    ),
    "ctime-only-unhashed": (
        lambda k: (
            _std(k),
            w.message(
                k.rsa,
                PAYLOAD,
                w.Sig(
                    include_created=False, unhashed=[w.subpacket(16, k.rsa.key_id), w.created(w.T0)]
                ),
            ),
        ),
        Reason.MALFORMED,
    ),
    "two-hashed-ctimes": (
        lambda k: (_std(k), w.message(k.rsa, PAYLOAD, w.Sig(hashed=[w.created(w.T0 + 5)]))),
        Reason.MALFORMED,
    ),
    "text-signature": (
        lambda k: (_std(k), w.message(k.rsa, PAYLOAD, w.Sig(sig_type=0x01))),
        Reason.UNSUPPORTED,
    ),
    "standalone-type-0x02": (
        lambda k: (_std(k), w.message(k.rsa, PAYLOAD, w.Sig(sig_type=0x02))),
        Reason.UNSUPPORTED,
    ),
    "sha1-data-signature": (
        lambda k: (_std(k), w.message(k.rsa, PAYLOAD, w.Sig(hash_algo=2))),
        Reason.UNSUPPORTED,
    ),
    "ed25519-with-sha224": (
        lambda k: (w.certificate(k.ed), w.message(k.ed, PAYLOAD, w.Sig(hash_algo=11))),
        Reason.UNSUPPORTED,
    ),
    "no-issuer-anywhere": (
        lambda k: (
            _std(k),
            w.packet(2, w.signature(k.rsa, PAYLOAD, w.Sig(issuer_fpr_hashed=False, unhashed=[])))
            + w.packet(11, w.literal(PAYLOAD)),
        ),
        Reason.UNKNOWN_KEY,
    ),
    "signature-expired": (
        lambda k: (
            _std(k),
            w.message(k.rsa, PAYLOAD, w.Sig(hashed=[w.subpacket(3, (10).to_bytes(4, "big"))])),
        ),
        Reason.EXPIRED_SIGNATURE,
    ),
    # --- keys ---------------------------------------------------------------------------
    "unknown-key": (
        lambda k: (w.certificate(k.other), w.message(k.rsa, PAYLOAD)),
        Reason.UNKNOWN_KEY,
    ),
    "subkey-without-back-signature": (
        lambda k: (
            w.certificate(
                k.rsa,
                subkeys=[
                    (
                        k.signing_sub,
                        w.subkey_binding(
                            k.rsa, k.signing_sub, w.Binding(flags=0x02, back_signature=False)
                        ),
                    )
                ],
            ),
            w.message(k.signing_sub, PAYLOAD),
        ),
        Reason.UNKNOWN_KEY,
    ),
    "back-signature-by-another-key": (
        lambda k: (
            w.certificate(
                k.rsa,
                subkeys=[(k.signing_sub, w.subkey_binding(k.rsa, k.signing_sub, back_by=k.other))],
            ),
            w.message(k.signing_sub, PAYLOAD),
        ),
        Reason.UNKNOWN_KEY,
    ),
    "subkey-flags-encrypt-only": (
        lambda k: (
            w.certificate(
                k.rsa,
                subkeys=[
                    (k.signing_sub, w.subkey_binding(k.rsa, k.signing_sub, w.Binding(flags=0x0C)))
                ],
            ),
            w.message(k.signing_sub, PAYLOAD),
        ),
        Reason.UNKNOWN_KEY,
    ),
    "primary-flags-certify-only": (
        lambda k: (w.certificate(k.rsa, binding=w.Binding(flags=0x01)), w.message(k.rsa, PAYLOAD)),
        Reason.UNKNOWN_KEY,
    ),
    "newest-binding-drops-sign-flag": (
        lambda k: (
            w.certificate(
                k.rsa,
                uid_sigs=[
                    w.uid_binding(
                        k.rsa,
                        b"Test Key <test@sigpolicy.test>",
                        w.Binding(at=w.T0 + 20, flags=0x01),
                    )
                ],
            ),
            w.message(k.rsa, PAYLOAD),
        ),
        Reason.UNKNOWN_KEY,
    ),
    "binding-with-unknown-critical-only": (
        lambda k: (
            w.certificate(k.rsa, binding=w.Binding(extra=[w.subpacket(99, b"x", critical=True)])),
            w.message(k.rsa, PAYLOAD),
        ),
        Reason.UNKNOWN_KEY,
    ),
    "expired-subkey": (
        lambda k: (
            w.certificate(
                k.rsa,
                subkeys=[
                    (
                        k.signing_sub,
                        w.subkey_binding(
                            k.rsa, k.signing_sub, w.Binding(flags=0x02, key_expires=500)
                        ),
                    )
                ],
            ),
            w.message(k.signing_sub, PAYLOAD),
        ),
        Reason.EXPIRED_KEY,
    ),
    "expired-primary-with-unexpired-subkey": (
        lambda k: (
            w.certificate(
                k.rsa,
                binding=w.Binding(key_expires=500),
                subkeys=[(k.signing_sub, w.subkey_binding(k.rsa, k.signing_sub))],
            ),
            w.message(k.signing_sub, PAYLOAD),
        ),
        Reason.EXPIRED_KEY,
    ),
    "key-valid-at-signing-expired-now": (
        lambda k: (
            w.certificate(k.rsa, binding=w.Binding(key_expires=500)),
            w.message(k.rsa, PAYLOAD),
        ),
        Reason.EXPIRED_KEY,
    ),
    "newer-shorter-expiry-wins": (
        lambda k: (
            w.certificate(
                k.rsa,
                binding=w.Binding(key_expires=10_000),
                uid_sigs=[
                    w.uid_binding(
                        k.rsa,
                        b"Test Key <test@sigpolicy.test>",
                        w.Binding(at=w.T0 + 20, key_expires=500),
                    )
                ],
            ),
            w.message(k.rsa, PAYLOAD),
        ),
        Reason.EXPIRED_KEY,
    ),
    "revoked-primary-with-valid-subkey": (
        lambda k: (
            w.certificate(
                k.rsa,
                extra_primary_sigs=[w.key_revocation(k.rsa)],
                subkeys=[(k.signing_sub, w.subkey_binding(k.rsa, k.signing_sub))],
            ),
            w.message(k.signing_sub, PAYLOAD),
        ),
        Reason.REVOKED_KEY,
    ),
    "soft-revocation-after-signature": (
        lambda k: (
            w.certificate(
                k.rsa, extra_primary_sigs=[w.key_revocation(k.rsa, at=w.T0 + 500, reason=1)]
            ),
            w.message(k.rsa, PAYLOAD),
        ),
        Reason.REVOKED_KEY,
    ),
    "binding-newer-than-subkey-revocation": (
        lambda k: (
            w.certificate(k.rsa)
            + w.packet(14, k.signing_sub.body)
            + w.packet(2, w.subkey_revocation(k.rsa, k.signing_sub, at=w.T0 + 5))
            + w.packet(
                2, w.subkey_binding(k.rsa, k.signing_sub, w.Binding(flags=0x02, at=w.T0 + 30))
            ),
            w.message(k.signing_sub, PAYLOAD),
        ),
        Reason.REVOKED_KEY,
    ),
    "revocation-only-in-second-copy": (
        lambda k: (
            w.certificate(k.rsa)
            + w.certificate(k.rsa, extra_primary_sigs=[w.key_revocation(k.rsa)]),
            w.message(k.rsa, PAYLOAD),
        ),
        Reason.REVOKED_KEY,
    ),
    "revocation-with-bad-signature-ignored": (
        lambda k: (
            w.certificate(k.rsa, extra_primary_sigs=[w.key_revocation(k.other)]),
            w.message(k.rsa, PAYLOAD),
        ),
        None,
    ),
    "key-newer-than-signature": (
        lambda k: (_std(k), w.message(k.rsa, PAYLOAD, w.Sig(at=w.T0 - 100))),
        Reason.BAD_SIGNATURE,
    ),
    "sha1-uid-binding-accepted": (
        lambda k: (w.certificate(k.rsa, binding=w.Binding(hash_algo=2)), w.message(k.rsa, PAYLOAD)),
        None,
    ),
}


@pytest.mark.parametrize(("build", "expected"), CASES.values(), ids=CASES.keys())
def test_adversarial(keys: Keys, build: Case, expected: Reason | None) -> None:
    cert, blob = build(keys)
    assert verify(cert, blob) == expected


def test_ten_thousand_third_party_certifications_are_skipped(keys: Keys) -> None:
    third_party = w.signature(
        keys.other,
        keys.rsa.hashed_form
        + b"\xb4"
        + (30).to_bytes(4, "big")
        + b"Test Key <test@sigpolicy.test>",
        w.Sig(sig_type=0x10),
    )
    cert = w.certificate(keys.rsa, uid_sigs=[third_party] * 10_000)
    assert verify(cert, w.message(keys.rsa, PAYLOAD)) is None


def test_sha1_binding_refused_under_strict_switch(keys: Keys) -> None:
    cert = w.certificate(keys.rsa, binding=w.Binding(hash_algo=2))
    verifier = NativeVerifier(Keyring.from_files([("test", cert)], allow_sha1=False))
    with pytest.raises(VerificationError) as caught:
        verifier.verify_message(w.message(keys.rsa, PAYLOAD), now=NOW)
    assert caught.value.reason is Reason.UNKNOWN_KEY
