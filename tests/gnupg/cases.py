"""Named cases made with fresh gpg keys: what each must verify to, on either backend.

Two tables. ``FRESH_CASES`` are decided by the signature and the keys. ``SHAPE_CASES`` are
the message shapes that only the shared grammar check (``parse_message``) refuses: gpg
itself would verify a cleartext or two-signer message, read a detached signature as a bad
one, and print a bare literal without complaint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sigpolicy.reasons import Reason
from tests.support import gpgkit
from tests.support.gpgkit import GeneratedKey

DAY = 86_400
DIGEST = "sha256:" + "ab" * 32
REFERENCE = "registry.example.com/ns/app:1.0"
PAYLOAD = gpgkit.atomic_payload(DIGEST, REFERENCE)
MANIFEST = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'


@dataclass(frozen=True, slots=True)
class Keys:
    """Every session key, and the moment they were made from."""

    rsa4096: GeneratedKey
    ed25519: GeneratedKey
    p256: GeneratedKey
    rsa1024: GeneratedKey
    subkey: GeneratedKey
    past: GeneratedKey
    expired: GeneratedKey
    revoked: GeneratedKey
    revoked_subkey: GeneratedKey
    pair: tuple[GeneratedKey, GeneratedKey]
    start: int
    workdir: Path


@dataclass(frozen=True, slots=True)
class Scenario:
    """Trust ``keyring`` (key files), verify ``blob``.

    When the blob must verify, ``signer`` is the key to be reported and ``payload`` the
    bytes to be returned (None: a payload some other tool wrote, checked by its claims).
    """

    keyring: tuple[bytes, ...]
    blob: bytes
    signer: GeneratedKey | None = None
    payload: bytes | None = PAYLOAD


Build = Callable[[Keys], Scenario]


def trusted(key: GeneratedKey, blob: bytes, *, armored: bool = False) -> Scenario:
    keyring = key.public_key_armored if armored else key.public_key
    return Scenario((keyring,), blob, signer=key)


def own(key: GeneratedKey, blob: bytes) -> Scenario:
    """``blob`` checked against ``key`` alone, for cases that must fail."""
    return Scenario((key.public_key,), blob)


def _tampered(k: Keys) -> Scenario:
    blob = gpgkit.sign(PAYLOAD, k.ed25519, compress=False)
    forged = PAYLOAD.replace(b"ns/app", b"ns/apq")
    assert blob.count(PAYLOAD) == 1
    return own(k.ed25519, blob.replace(PAYLOAD, forged))


def _skopeo(k: Keys) -> Scenario:
    blob = gpgkit.skopeo_standalone_sign(MANIFEST, REFERENCE, k.subkey, k.workdir / "skopeo")
    return Scenario((k.subkey.public_key,), blob, signer=k.subkey, payload=None)


FRESH_CASES: dict[str, tuple[Build, Reason | None]] = {
    # --- trusted ------------------------------------------------------------------------
    "rsa4096": (lambda k: trusted(k.rsa4096, gpgkit.sign(PAYLOAD, k.rsa4096)), None),
    "rsa4096-armored-keyring": (
        lambda k: trusted(k.rsa4096, gpgkit.sign(PAYLOAD, k.rsa4096), armored=True),
        None,
    ),
    "ed25519": (lambda k: trusted(k.ed25519, gpgkit.sign(PAYLOAD, k.ed25519)), None),
    "ecdsa-p256": (lambda k: trusted(k.p256, gpgkit.sign(PAYLOAD, k.p256)), None),
    "subkey-reported-as-primary": (
        lambda k: trusted(k.subkey, gpgkit.sign(PAYLOAD, k.subkey)),
        None,
    ),
    "uncompressed": (
        lambda k: trusted(k.ed25519, gpgkit.sign(PAYLOAD, k.ed25519, compress=False)),
        None,
    ),
    "zlib": (
        lambda k: trusted(k.ed25519, gpgkit.sign(PAYLOAD, k.ed25519, compress_algo="zlib")),
        None,
    ),
    "bzip2": (
        lambda k: trusted(k.ed25519, gpgkit.sign(PAYLOAD, k.ed25519, compress_algo="bzip2")),
        None,
    ),
    "armored-message": (
        lambda k: trusted(k.ed25519, gpgkit.sign(PAYLOAD, k.ed25519, extra=("--armor",))),
        None,
    ),
    "sha512": (
        lambda k: trusted(k.rsa4096, gpgkit.sign(PAYLOAD, k.rsa4096, digest_algo="SHA512")),
        None,
    ),
    "signed-days-ago-by-valid-key": (
        lambda k: trusted(k.past, gpgkit.sign(PAYLOAD, k.past, faked_time=k.start - 5 * DAY)),
        None,
    ),
    "signature-expiring-next-month": (
        lambda k: trusted(k.ed25519, gpgkit.sign(PAYLOAD, k.ed25519, sig_expire=30 * DAY)),
        None,
    ),
    "skopeo-standalone-sign": (_skopeo, None),
    # --- rejected -----------------------------------------------------------------------
    "signer-absent": (
        lambda k: own(k.ed25519, gpgkit.sign(PAYLOAD, k.p256)),
        Reason.UNKNOWN_KEY,
    ),
    "expired-key": (
        lambda k: own(k.expired, gpgkit.sign(PAYLOAD, k.expired, faked_time=k.start - 9 * DAY)),
        Reason.EXPIRED_KEY,
    ),
    "expired-signature": (
        lambda k: own(
            k.past,
            gpgkit.sign(PAYLOAD, k.past, faked_time=k.start - 5 * DAY, sig_expire=DAY),
        ),
        Reason.EXPIRED_SIGNATURE,
    ),
    "revoked-key": (
        lambda k: own(k.revoked, gpgkit.sign(PAYLOAD, k.revoked)),
        Reason.REVOKED_KEY,
    ),
    "revoked-subkey": (
        lambda k: own(k.revoked_subkey, gpgkit.sign(PAYLOAD, k.revoked_subkey)),
        Reason.REVOKED_KEY,
    ),
    # gpg prints EXPSIG first; the native order puts the key's state first.
    "revoked-key-and-expired-signature": (
        lambda k: own(
            k.revoked,
            gpgkit.sign(PAYLOAD, k.revoked, faked_time=k.start - 5 * DAY, sig_expire=DAY),
        ),
        Reason.REVOKED_KEY,
    ),
    "expired-key-and-expired-signature": (
        lambda k: own(
            k.expired,
            gpgkit.sign(PAYLOAD, k.expired, faked_time=k.start - 9 * DAY, sig_expire=3600),
        ),
        Reason.EXPIRED_KEY,
    ),
    "sha1-data-signature": (
        lambda k: own(k.rsa4096, gpgkit.sign(PAYLOAD, k.rsa4096, digest_algo="SHA1")),
        Reason.UNSUPPORTED,
    ),
    "ripemd160-data-signature": (
        lambda k: own(k.rsa4096, gpgkit.sign(PAYLOAD, k.rsa4096, digest_algo="RIPEMD160")),
        Reason.UNSUPPORTED,
    ),
    "md5-data-signature": (
        lambda k: own(k.rsa4096, gpgkit.sign(PAYLOAD, k.rsa4096, digest_algo="MD5")),
        Reason.UNSUPPORTED,
    ),
    "text-mode-signature": (
        lambda k: own(k.ed25519, gpgkit.sign(PAYLOAD, k.ed25519, extra=("--textmode",))),
        Reason.UNSUPPORTED,
    ),
    "rsa1024-key": (
        lambda k: own(k.rsa1024, gpgkit.sign(PAYLOAD, k.rsa1024)),
        Reason.UNSUPPORTED,
    ),
    "future-dated-signature": (
        lambda k: own(k.ed25519, gpgkit.sign(PAYLOAD, k.ed25519, faked_time=k.start + DAY)),
        Reason.BAD_SIGNATURE,
    ),
    "key-newer-than-signature": (
        lambda k: own(
            k.ed25519,
            gpgkit.sign(
                PAYLOAD,
                k.ed25519,
                faked_time=k.start - DAY,
                extra=("--ignore-time-conflict",),
            ),
        ),
        Reason.BAD_SIGNATURE,
    ),
    "tampered-payload": (_tampered, Reason.BAD_SIGNATURE),
}

SHAPE_CASES: dict[str, tuple[Build, Reason]] = {
    "cleartext-signature": (
        lambda k: own(k.ed25519, gpgkit.clearsign(PAYLOAD, k.ed25519)),
        Reason.MALFORMED,
    ),
    "detached-signature": (
        lambda k: own(k.ed25519, gpgkit.detach_sign(PAYLOAD, k.ed25519)),
        Reason.MALFORMED,
    ),
    "detached-signature-armored": (
        lambda k: own(k.ed25519, gpgkit.detach_sign(PAYLOAD, k.ed25519, armor=True)),
        Reason.MALFORMED,
    ),
    "two-signers": (
        lambda k: Scenario(
            tuple(key.public_key for key in k.pair), gpgkit.sign_many(PAYLOAD, k.pair)
        ),
        Reason.MALFORMED,
    ),
    "literal-only": (
        lambda k: own(k.ed25519, gpgkit.store(PAYLOAD, k.ed25519.home)),
        Reason.UNSIGNED,
    ),
    "compressed-literal-only": (
        lambda k: own(k.ed25519, gpgkit.store(PAYLOAD, k.ed25519.home, compress=True)),
        Reason.UNSIGNED,
    ),
    "symmetrically-encrypted": (
        lambda k: own(k.ed25519, gpgkit.encrypt_symmetric(PAYLOAD, k.ed25519.home)),
        Reason.UNSIGNED,
    ),
}
