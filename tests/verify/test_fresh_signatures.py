"""End to end on fresh keys: skopeo- and gpg-made signatures through the whole blob check.

Both backends run every case; skopeo's own verdict is checked beside ours where skopeo can
judge (it is the implementation users compare us with).
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sigpolicy.reasons import Reason
from sigpolicy.reference.digest import parse_digest
from sigpolicy.signature.backends import BACKENDS, Backend, close_verifier, open_verifier
from sigpolicy.signature.openpgp.keyring import Keyring
from sigpolicy.verify.checks import KnownDigest, ManifestBytes, SameReference
from sigpolicy.verify.simple import SignatureVerdict, explain_blob
from tests.signature.test_payload import REJECTED
from tests.support import gpgkit
from tests.support.gpgkit import GeneratedKey

MANIFEST = (
    b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}'
)
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()


def check(
    backend: Backend, key: GeneratedKey, blob: bytes, identity: str, manifest: bytes = MANIFEST
) -> SignatureVerdict:
    verifier = open_verifier(backend, [(key.name, key.public_key)])
    try:
        return explain_blob(
            blob,
            verifier,
            digest=ManifestBytes(manifest),
            identity=SameReference.parse(identity),
            now=int(time.time()),
        )
    finally:
        close_verifier(verifier)


def skopeo_verdict(
    key: GeneratedKey, blob: bytes, identity: str, tmp: Path, *, fingerprint: str | None = None
) -> bool:
    (tmp / "m.json").write_bytes(MANIFEST)
    (tmp / "s.sig").write_bytes(blob)
    result = subprocess.run(
        [
            "skopeo",
            "standalone-verify",
            str(tmp / "m.json"),
            identity,
            fingerprint or key.fingerprint,
            str(tmp / "s.sig"),
        ],
        env={**os.environ, "GNUPGHOME": str(key.home)},
        capture_output=True,
        check=False,
        timeout=60,
    )
    return result.returncode == 0


KEYS = ["rsa4096_key", "ed25519_key", "p256_key", "subkey_key"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("key_fixture", KEYS)
def test_skopeo_signed_is_trusted_and_skopeo_agrees(
    key_fixture: str, backend: Backend, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    key: GeneratedKey = request.getfixturevalue(key_fixture)
    reference = "registry.example.com/team/app:2.0"
    blob = gpgkit.skopeo_standalone_sign(MANIFEST, reference, key, tmp_path / "sign")
    verdict = check(backend, key, blob, reference)
    assert verdict.trusted, verdict.message
    assert verdict.signer == key.fingerprint  # the primary, also for a signing subkey
    assert verdict.key_id == "0x" + key.signing_fingerprint[-16:].lower()
    assert verdict.digest == DIGEST
    # Debian's skopeo 1.9 names a subkey signer by the subkey's fingerprint; containers/image
    # since then (and the corpus) name the primary, as sigpolicy does.
    assert skopeo_verdict(key, blob, reference, tmp_path, fingerprint=key.signing_fingerprint)


# (signed reference, expected identity, trusted?) — exact match after normalization.
NORMALIZATION: dict[str, tuple[str, str, bool]] = {
    "short-vs-long-tagged": ("docker.io/library/busybox:latest", "busybox:latest", True),
    "long-vs-short-tagged": ("busybox:latest", "docker.io/library/busybox:latest", True),
    "index-docker-io": ("index.docker.io/library/busybox:latest", "busybox:latest", True),
    "name-only-vs-name-only": ("busybox", "docker.io/library/busybox", True),
    "name-only-signed-tagged-expected": ("busybox", "busybox:latest", False),
    "tagged-signed-name-only-expected": ("busybox:latest", "busybox", False),
    "other-tag": ("busybox:1.36", "busybox:latest", False),
    "other-registry": ("quay.io/library/busybox:latest", "busybox:latest", False),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("signed", "expected", "trusted"), NORMALIZATION.values(), ids=NORMALIZATION.keys()
)
def test_identity_normalization(
    signed: str,
    expected: str,
    trusted: bool,
    backend: Backend,
    rsa4096_key: GeneratedKey,
    tmp_path: Path,
) -> None:
    blob = gpgkit.skopeo_standalone_sign(MANIFEST, signed, rsa4096_key, tmp_path / "sign")
    verdict = check(backend, rsa4096_key, blob, expected)
    assert verdict.trusted is trusted
    if not trusted:
        assert verdict.reason is Reason.IDENTITY_MISMATCH
    assert skopeo_verdict(rsa4096_key, blob, expected, tmp_path) is trusted


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("payload", REJECTED.values(), ids=REJECTED.keys())
def test_signed_payload_strictness(
    payload: bytes, backend: Backend, ed25519_key: GeneratedKey
) -> None:
    blob = gpgkit.sign(payload, ed25519_key)
    verdict = check(backend, ed25519_key, blob, "example.com/ns/app:1.0")
    assert verdict.reason is Reason.INVALID_PAYLOAD
    # Authenticated, so the signer is known; nothing from the unparseable payload is.
    assert verdict.signer == ed25519_key.fingerprint
    assert verdict.identity is None and verdict.digest is None


def test_digest_mismatch_and_manifest_error(rsa4096_key: GeneratedKey, tmp_path: Path) -> None:
    reference = "registry.example.com/team/app:2.0"
    blob = gpgkit.skopeo_standalone_sign(MANIFEST, reference, rsa4096_key, tmp_path / "sign")
    other = check("native", rsa4096_key, blob, reference, manifest=MANIFEST.replace(b"[]", b"[ ]"))
    assert other.reason is Reason.DIGEST_MISMATCH
    verifier = open_verifier("native", [(rsa4096_key.name, rsa4096_key.public_key)])
    by_digest = explain_blob(
        blob,
        verifier,
        digest=KnownDigest(parse_digest(DIGEST)),
        identity=SameReference.parse(reference),
        now=int(time.time()),
    )
    assert by_digest.trusted


def _truncations(blob: bytes) -> list[bytes]:
    return [blob[:cut] for cut in (0, 1, 2, 10, len(blob) // 2, len(blob) - 1)]


def _bit_flips(blob: bytes) -> list[bytes]:
    rng = random.Random(1234)
    out = []
    for _ in range(40):
        data = bytearray(blob)
        position = rng.randrange(len(data))
        data[position] ^= 1 << rng.randrange(8)
        out.append(bytes(data))
    return out


def _random_blobs(blob: bytes) -> list[bytes]:
    rng = random.Random(99)
    return [rng.randbytes(n) for n in (1, 16, 300, len(blob), 5000)]


DAMAGE: dict[str, Callable[[bytes], list[bytes]]] = {
    "truncated": _truncations,
    "bit-flipped": _bit_flips,
    "random": _random_blobs,
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_damaged_blobs_are_never_trusted(
    damage: Callable[[bytes], list[bytes]], backend: Backend, p256_key: GeneratedKey, tmp_path: Path
) -> None:
    reference = "registry.example.com/team/app:2.0"
    blob = gpgkit.skopeo_standalone_sign(MANIFEST, reference, p256_key, tmp_path / "sign")
    verifier = open_verifier(backend, [(p256_key.name, p256_key.public_key)])

    def explain(data: bytes) -> SignatureVerdict:
        return explain_blob(
            data,
            verifier,
            digest=ManifestBytes(MANIFEST),
            identity=SameReference.parse(reference),
            now=int(time.time()),
        )

    try:
        original = explain(blob)
        believed = (original.signer, original.identity, original.digest, original.created)
        for damaged in damage(blob):
            if damaged == blob:
                continue
            verdict = explain(damaged)
            if verdict.trusted:
                # OpenPGP leaves some octets unauthenticated (the literal packet's file name
                # and date, the unhashed subpacket area): a flip there may keep the signature
                # valid, but it must never change what is believed.
                assert believed == (
                    verdict.signer,
                    verdict.identity,
                    verdict.digest,
                    verdict.created,
                )
                continue
            assert verdict.reason in {
                Reason.MALFORMED,
                Reason.BAD_SIGNATURE,
                Reason.UNSIGNED,
                Reason.UNKNOWN_KEY,
                Reason.UNSUPPORTED,
            }
    finally:
        close_verifier(verifier)


def test_empty_blob_is_malformed(rsa4096_key: GeneratedKey) -> None:
    verdict = check("native", rsa4096_key, b"", "a/b:1")
    assert verdict.reason is Reason.MALFORMED


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_verdict_says_until_when_the_key_stays_valid(
    backend: Backend, gpg_factory: gpgkit.KeyFactory, p256_key: GeneratedKey, tmp_path: Path
) -> None:
    expiring = gpg_factory.generate("expiring-tomorrow", expire_after=86_400)
    created = Keyring.from_files([("k", expiring.public_key)]).certificates[0].primary.created
    reference = "registry.example.com/team/app:2.0"
    for key, expected in ((expiring, created + 86_400), (p256_key, None)):
        blob = gpgkit.skopeo_standalone_sign(MANIFEST, reference, key, tmp_path / key.name)
        verdict = check(backend, key, blob, reference)
        assert verdict.trusted, verdict.message
        assert verdict.authenticated is not None
        assert verdict.authenticated.valid_until == expected
