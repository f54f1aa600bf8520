"""One real registry for the session (Debian's docker-registry over TLS, tests/support/registry_kit.py)
and images pushed into it by skopeo, each signed the way one test group needs.

- ``gpg_image``: signed twice with ``skopeo copy --sign-by`` (two keys), the signatures
  written by skopeo into a ``lookaside-staging`` folder;
- ``sigstore_image``: one cosign signature, pushed by skopeo as the ``.sig`` tag;
- ``mixed_image``: one of each, in one ``skopeo copy``;
- ``unsigned_image``: nothing anywhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cosign import kit
from tests.support import gpgkit
from tests.support.gpgkit import GeneratedKey
from tests.support.registry_kit import ImageBuilder, RegistryServer, TestCA, push_image
from tests.support.registry_signing import (
    LookasideServer,
    add_signature,
    push_signed,
    push_with_signatures,
    write_registries_d,
)


@dataclass(frozen=True)
class PushedImage:
    reference: str  # host/repo:tag as pushed
    repository: str  # host/repo
    digest: str


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("registry-sources")


@pytest.fixture(scope="session")
def test_ca(workdir: Path) -> TestCA:
    return TestCA.create(workdir / "ca")


@pytest.fixture(scope="session")
def registry(workdir: Path, test_ca: TestCA) -> Iterator[RegistryServer]:
    with RegistryServer(workdir / "registry", test_ca) as server:
        yield server


@pytest.fixture(scope="session")
def builder(workdir: Path) -> ImageBuilder:
    return ImageBuilder(workdir / "layouts")


@pytest.fixture(scope="session")
def staging(workdir: Path) -> Path:
    """Where skopeo writes simple signatures (its ``lookaside-staging``)."""
    return workdir / "staging"


@pytest.fixture(scope="session")
def signing_registries_d(workdir: Path, registry: RegistryServer, staging: Path) -> Path:
    return write_registries_d(
        workdir / "signing-registries.d",
        f"docker:\n  {registry.host}:\n    lookaside-staging: {staging.as_uri()}\n"
        # Read back by a second signer's copy (skopeo reads "lookaside", writes "-staging").
        f"    lookaside: {staging.as_uri()}\n"
        "    use-sigstore-attachments: true\n",
    )


@pytest.fixture(scope="session")
def gpg_image(
    builder: ImageBuilder,
    registry: RegistryServer,
    signing_registries_d: Path,
    signer_pair: tuple[GeneratedKey, GeneratedKey],
) -> PushedImage:
    layout = builder.image("signed", content=b"gpg-signed image")
    first, second = signer_pair
    digest = push_signed(
        layout, "signed", registry, "team/gpg:1", registries_d=signing_registries_d, gpg_key=first
    )
    again = add_signature(registry, "team/gpg:1", registries_d=signing_registries_d, gpg_key=second)
    assert again == digest
    return PushedImage(f"{registry.host}/team/gpg:1", f"{registry.host}/team/gpg", digest)


@pytest.fixture(scope="session")
def cosign_key() -> kit.PrivateKey:
    return kit.new_key("p256")


@pytest.fixture(scope="session")
def sigstore_image(
    builder: ImageBuilder,
    registry: RegistryServer,
    signing_registries_d: Path,
    cosign_key: kit.PrivateKey,
    workdir: Path,
) -> PushedImage:
    layout = builder.image("cosigned", content=b"cosign-signed image")
    repository = f"{registry.host}/team/cosign"

    def files(manifest: bytes, digest: str) -> list[bytes]:
        assert digest == "sha256:" + hashlib.sha256(manifest).hexdigest()
        return [kit.signed_file(cosign_key, kit.payload(digest, repository))]

    digest = push_with_signatures(
        layout,
        "cosigned",
        registry,
        "team/cosign:1",
        registries_d=signing_registries_d,
        workdir=workdir,
        signature_files=files,
    )
    return PushedImage(f"{repository}:1", repository, digest)


@pytest.fixture(scope="session")
def mixed_image(
    builder: ImageBuilder,
    registry: RegistryServer,
    signing_registries_d: Path,
    cosign_key: kit.PrivateKey,
    ed25519_key: GeneratedKey,
    workdir: Path,
) -> PushedImage:
    """A gpg signature (to the lookaside) and a cosign one (to the tag), both by skopeo."""
    layout = builder.image("mixed", content=b"signed both ways")
    repository = f"{registry.host}/team/mixed"

    def files(manifest: bytes, digest: str) -> list[bytes]:
        return [
            gpgkit.sign_atomic(ed25519_key, digest, f"{repository}:1"),
            kit.signed_file(cosign_key, kit.payload(digest, repository)),
        ]

    digest = push_with_signatures(
        layout,
        "mixed",
        registry,
        "team/mixed:1",
        registries_d=signing_registries_d,
        workdir=workdir,
        signature_files=files,
    )
    return PushedImage(f"{repository}:1", repository, digest)


@pytest.fixture(scope="session")
def unsigned_image(builder: ImageBuilder, registry: RegistryServer) -> PushedImage:
    layout = builder.image("unsigned", content=b"nobody signed this")
    digest = push_image(layout, "unsigned", registry, "team/unsigned:1")
    return PushedImage(f"{registry.host}/team/unsigned:1", f"{registry.host}/team/unsigned", digest)


@pytest.fixture(scope="session")
def lookaside_server(staging: Path) -> Iterator[LookasideServer]:
    staging.mkdir(parents=True, exist_ok=True)
    with LookasideServer(staging) as server:
        yield server
