"""Session fixtures: Debian's docker-registry on loopback (see tests/support/registry_kit.py).

- ``ca``: a CA made by the test, with a server certificate for 127.0.0.1/localhost;
- ``open_registry``: anonymous, over TLS; ``locked_registry``: htpasswd (alice / s3cret-pw);
  ``plain_registry``: anonymous over plain HTTP (for insecure_hosts);
- ``token_issuer`` and ``tokened_registry``: the registry's real token auth (``auth: token``)
  with the issuer of tests/support/registry_token.py (bob / t0ken-pw; ``team/public`` is
  pullable anonymously);
- ``images``: what was pushed with skopeo, by name: its repository and manifest digest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.registry_kit import ImageBuilder, RegistryServer, TestCA, push_image
from tests.support.registry_token import TokenIssuer

USER = "alice"
PASSWORD = "s3cret-pw"  # noqa: S105 - a test registry's made-up password
TOKEN_USER = "bob"  # noqa: S105 - a user name, not a secret
TOKEN_PASSWORD = "t0ken-pw"  # noqa: S105 - made up too


@dataclass(frozen=True)
class Pushed:
    registry: RegistryServer
    repository: str  # "host/path"
    tag: str
    digest: str


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA.create(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="session")
def open_registry(tmp_path_factory: pytest.TempPathFactory, ca: TestCA) -> Iterator[RegistryServer]:
    with RegistryServer(tmp_path_factory.mktemp("open-registry"), ca) as server:
        yield server


@pytest.fixture(scope="session")
def locked_registry(
    tmp_path_factory: pytest.TempPathFactory, ca: TestCA
) -> Iterator[RegistryServer]:
    directory = tmp_path_factory.mktemp("locked-registry")
    with RegistryServer(directory, ca, users={USER: PASSWORD}) as server:
        yield server


@pytest.fixture(scope="session")
def plain_registry(
    tmp_path_factory: pytest.TempPathFactory, ca: TestCA
) -> Iterator[RegistryServer]:
    with RegistryServer(tmp_path_factory.mktemp("plain-registry"), ca, tls=False) as server:
        yield server


@pytest.fixture(scope="session")
def token_issuer(tmp_path_factory: pytest.TempPathFactory, ca: TestCA) -> Iterator[TokenIssuer]:
    directory = tmp_path_factory.mktemp("token-issuer")
    users = {TOKEN_USER: TOKEN_PASSWORD}
    with TokenIssuer(directory, ca, users=users, public=frozenset({"team/public"})) as issuer:
        yield issuer


@pytest.fixture(scope="session")
def tokened_registry(
    tmp_path_factory: pytest.TempPathFactory, ca: TestCA, token_issuer: TokenIssuer
) -> Iterator[RegistryServer]:
    directory = tmp_path_factory.mktemp("tokened-registry")
    with RegistryServer(directory, ca, token=token_issuer) as server:
        yield server


@pytest.fixture(scope="session")
def certs_d(
    tmp_path_factory: pytest.TempPathFactory,
    ca: TestCA,
    open_registry: RegistryServer,
    locked_registry: RegistryServer,
    tokened_registry: RegistryServer,
    token_issuer: TokenIssuer,
) -> Path:
    """A containers-certs.d(5) tree with the CA for every TLS server (the realm's too)."""
    hosts = (open_registry.host, locked_registry.host, tokened_registry.host, token_issuer.host)
    return ca.certs_d_for(tmp_path_factory.mktemp("certs.d"), *hosts)


@pytest.fixture(scope="session")
def images(
    tmp_path_factory: pytest.TempPathFactory,
    open_registry: RegistryServer,
    locked_registry: RegistryServer,
    plain_registry: RegistryServer,
    tokened_registry: RegistryServer,
) -> dict[str, Pushed]:
    builder = ImageBuilder(tmp_path_factory.mktemp("layouts"))
    image = builder.image("v1")
    index = builder.index("multi")
    pushed: dict[str, Pushed] = {}

    def push(name: str, registry: RegistryServer, path: str, tag: str, **options: object) -> None:
        layout = index if options.pop("index", False) else image
        source_tag = "multi" if layout is index else "v1"
        digest = push_image(layout, source_tag, registry, f"{path}:{tag}", **options)  # type: ignore[arg-type]
        pushed[name] = Pushed(registry, f"{registry.host}/{path}", tag, digest)

    push("v2s2", open_registry, "team/docker", "v1", format="v2s2")
    push("oci", open_registry, "team/oci", "v1", format="oci")
    push("oci-index", open_registry, "team/multi", "1", index=True, all_images=True)
    push("docker-list", open_registry, "team/list", "1", index=True, all_images=True, format="v2s2")
    push("locked", locked_registry, "shop/app", "v1", format="oci", creds=(USER, PASSWORD))
    push("plain", plain_registry, "team/plain", "v1", format="v2s2")
    token_creds = (TOKEN_USER, TOKEN_PASSWORD)
    push("tokened", tokened_registry, "shop/app", "v1", format="oci", creds=token_creds)
    push("tokened-public", tokened_registry, "team/public", "v1", format="v2s2", creds=token_creds)
    return pushed
