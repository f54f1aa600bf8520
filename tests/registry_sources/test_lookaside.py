"""Lookaside stores: what the files hold, where the list ends, and when reading fails.

The image lives in the real registry (its ``/v2/`` answer decides there is no extension
API); the stores are folders (``file://``) or the HTTPS test server.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from sigpolicy.errors import SourceError
from sigpolicy.reasons import Reason
from sigpolicy.reference.digest import parse_digest
from sigpolicy.reference.docker import parse_reference
from sigpolicy.reference.identity import MatchRepoDigestOrExact, MatchRepository
from sigpolicy.signature.cosign import CosignKeySet, explain_cosign
from sigpolicy.signature.envelope import MAX_SIGNATURE_FILE
from sigpolicy.sources.registry import CredentialSet, RegistryClient, RegistryOptions
from sigpolicy.sources.registry.errors import RegistryError
from sigpolicy.sources.registry.finder import RegistryFindings, SignatureFinder
from sigpolicy.sources.registry.lookaside import MAX_LOOKASIDE_SIGNATURES
from sigpolicy.sources.registry.registries_d import RegistriesD
from sigpolicy.trust.store import TrustStore
from sigpolicy.verify.checks import KnownDigest, RuleIdentity
from sigpolicy.verify.simple import explain_blob
from tests.cosign import kit
from tests.registry_sources.conftest import PushedImage
from tests.registry_sources.sigserver import SignatureRegistry
from tests.support import gpgkit
from tests.support.gpgkit import GeneratedKey
from tests.support.registry_kit import RegistryServer, TestCA
from tests.support.registry_signing import write_registries_d


async def find(certs_d: Path, tmp_path: Path, lookaside: str, reference: str) -> RegistryFindings:
    registries_d = RegistriesD.load(
        write_registries_d(tmp_path / "rd", f"default-docker:\n  lookaside: {lookaside}\n"),
        builtin_lookaside=None,
    )
    client = RegistryClient(RegistryOptions(cert_dir=certs_d))
    try:
        return await SignatureFinder(client, registries_d).find(
            parse_reference(reference),
            credentials=CredentialSet.empty(),
            deadline=time.monotonic() + 15,
        )
    finally:
        await client.aclose()


def store_for(tmp_path: Path, image: PushedImage) -> Path:
    path = tmp_path / "store" / f"team/unsigned@sha256={image.digest.partition(':')[2]}"
    path.mkdir(parents=True)
    return path


@dataclass(frozen=True)
class Layout:
    name: str
    files: Callable[[PushedImage, GeneratedKey, kit.PrivateKey], list[bytes | None]]
    simple: list[Reason | None]  # verdict reason per simple signature (None: trusted)
    sigstore: list[bool]  # trusted per sigstore signature


def _gpg(image: PushedImage, key: GeneratedKey) -> bytes:
    return gpgkit.sign_atomic(key, image.digest, image.reference)


def _cosign(image: PushedImage, key: kit.PrivateKey) -> bytes:
    return kit.signed_file(key, kit.payload(image.digest, image.repository))


LAYOUTS = [
    Layout("an empty store", lambda i, g, c: [], [], []),
    Layout("one raw OpenPGP signature", lambda i, g, c: [_gpg(i, g)], [None], []),
    Layout(
        "simple-signing envelope and sigstore-json are sorted by envelope",
        lambda i, g, c: [b"\x00simple-signing\n" + _gpg(i, g), _cosign(i, c), _gpg(i, g)],
        [None, None],
        [True],
    ),
    Layout(
        "a malformed file reaches the verifier, which refuses it",
        lambda i, g, c: [b"<html>not a signature</html>", _gpg(i, g)],
        [Reason.MALFORMED, None],
        [],
    ),
    Layout(
        "the list ends at the first gap: signature-3 is never read",
        lambda i, g, c: [_gpg(i, g), None, _gpg(i, g)],
        [None],
        [],
    ),
    Layout(
        "a signature for another image is found and refused",
        lambda i, g, c: [gpgkit.sign_atomic(g, "sha256:" + "0" * 64, i.reference)],
        [Reason.DIGEST_MISMATCH],
        [],
    ),
]


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda c: c.name)
async def test_file_store(
    layout: Layout,
    tmp_path: Path,
    registry: RegistryServer,
    unsigned_image: PushedImage,
    ed25519_key: GeneratedKey,
    cosign_key: kit.PrivateKey,
) -> None:
    folder = store_for(tmp_path, unsigned_image)
    for number, data in enumerate(layout.files(unsigned_image, ed25519_key, cosign_key), start=1):
        if data is not None:
            (folder / f"signature-{number}").write_bytes(data)
    findings = await find(
        registry.certs_d, tmp_path, (tmp_path / "store").as_uri(), unsigned_image.reference
    )
    trust = TrustStore.from_keyrings([("k.gpg", ed25519_key.public_key)])
    reference = parse_reference(unsigned_image.reference)
    try:
        reasons = [
            explain_blob(
                blob,
                trust.verifier(),
                digest=KnownDigest(findings.digest),
                identity=RuleIdentity(MatchRepoDigestOrExact(), reference),
                now=int(time.time()),
            ).reason
            for _, blob in findings.simple_signatures
        ]
    finally:
        trust.close()
    keys = CosignKeySet.from_files([("c.pub", kit.public_pem(cosign_key))])
    trusted = [
        explain_cosign(
            sig,
            keys,
            digest=KnownDigest(parse_digest(unsigned_image.digest)),
            identity=RuleIdentity(MatchRepository(), reference),
        ).trusted
        for _, sig in findings.sigstore_signatures
    ]
    assert reasons == layout.simple
    assert trusted == layout.sigstore


@dataclass(frozen=True)
class Broken:
    name: str
    make: Callable[[Path], None]
    message: str


def _folder_in_place(folder: Path) -> None:
    (folder / "signature-1").write_bytes(b"\x89")
    (folder / "signature-2").mkdir()


def _too_big(folder: Path) -> None:
    (folder / "signature-1").write_bytes(b"\x89" * (MAX_SIGNATURE_FILE + 1))


def _many(folder: Path, count: int) -> None:
    for number in range(1, count + 1):
        (folder / f"signature-{number}").write_bytes(b"\x89")


BROKEN = [
    Broken(
        f"more than {MAX_LOOKASIDE_SIGNATURES} signatures",
        lambda f: _many(f, MAX_LOOKASIDE_SIGNATURES + 1),
        f"more than {MAX_LOOKASIDE_SIGNATURES} signatures",
    ),
    Broken(
        "a folder in a signature's place is not the end of the list",
        _folder_in_place,
        "signature-2: not a regular file",
    ),
    Broken(
        "a signature over the size limit",
        _too_big,
        f"over the {MAX_SIGNATURE_FILE}-byte signature limit",
    ),
    Broken(
        "a symlink loop is an error, not a missing signature",
        lambda f: (f / "signature-1").symlink_to(f / "signature-1"),
        "signature-1: cannot open",
    ),
]


@pytest.mark.parametrize("case", BROKEN, ids=lambda c: c.name)
async def test_broken_file_store(
    case: Broken, tmp_path: Path, registry: RegistryServer, unsigned_image: PushedImage
) -> None:
    case.make(store_for(tmp_path, unsigned_image))
    with pytest.raises(SourceError) as raised:
        await find(
            registry.certs_d, tmp_path, (tmp_path / "store").as_uri(), unsigned_image.reference
        )
    assert case.message in str(raised.value)
    assert "\n" not in str(raised.value)


async def test_exactly_the_limit_is_fine(
    tmp_path: Path, registry: RegistryServer, unsigned_image: PushedImage
) -> None:
    _many(store_for(tmp_path, unsigned_image), MAX_LOOKASIDE_SIGNATURES)
    findings = await find(
        registry.certs_d, tmp_path, (tmp_path / "store").as_uri(), unsigned_image.reference
    )
    assert len(findings.simple_signatures) == MAX_LOOKASIDE_SIGNATURES


async def test_https_store_and_a_failing_one(
    tmp_path: Path,
    test_ca: TestCA,
    registry: RegistryServer,
    unsigned_image: PushedImage,
    ed25519_key: GeneratedKey,
) -> None:
    hex_ = unsigned_image.digest.partition(":")[2]
    with SignatureRegistry(test_ca, extension=False) as store:
        certs_d = test_ca.certs_d_for(tmp_path / "certs.d", registry.host, store.host)
        path = f"/sigs/team/unsigned@sha256={hex_}/signature-1"
        store.files[path] = _gpg(unsigned_image, ed25519_key)
        findings = await find(
            certs_d, tmp_path, f"https://{store.host}/sigs", unsigned_image.reference
        )
        assert [name for name, _ in findings.simple_signatures] == ["signature-1"]
        assert findings.sources_asked == (f"lookaside https://{store.host}/sigs",)
        # A 500 is a failure of the store, never "no more signatures".
        store.fail.add(f"/sigs/team/unsigned@sha256={hex_}/signature-2")
        with pytest.raises(RegistryError):
            await find(
                certs_d, tmp_path / "again", f"https://{store.host}/sigs", unsigned_image.reference
            )
