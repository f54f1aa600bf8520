"""A world of real registries for the end-to-end tests (session-scoped: pushing takes seconds).

- ``open``: Debian's docker-registry over TLS, anonymous; ``locked``: the same with htpasswd;
- images pushed with ``skopeo copy``: ``signed`` (``--sign-by`` a fresh Ed25519 key into a
  lookaside staging folder), ``unsigned``, and ``locked`` (on the htpasswd registry, signed
  through the same lookaside: its path has no host);
- a real HTTP server over the lookaside folder, and a registries.d that names it;
- a certs.d with the test CA, an authfile for the locked registry, the trust store and
  policy the commands read.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cosign import kit
from tests.support.gpgkit import GeneratedKey
from tests.support.registry_kit import ImageBuilder, RegistryServer, TestCA, push_image
from tests.support.registry_signing import (
    LookasideServer,
    push_signed,
    push_with_signatures,
    write_registries_d,
)

USER = "alice"
PASSWORD = "e2e-pw"  # noqa: S105 - a test registry's made-up password

POLICY = """\
apiVersion: sigpolicy.io/v1alpha1
kind: ImagePolicy
trust: trust.yaml
scopes:
  - name: loopback
    images: ["127.0.0.1:*/**"]
    pinDigests: true
    require:
      - signedBy: {trust: [release]}
  - name: pinned
    images: ["127.0.0.1:*/pinned/**"]
    tagResolution: digest-only
    require:
      - signedBy: {trust: [release]}
  - name: cosigned
    images: ["127.0.0.1:*/cosign/**"]
    require:
      # cosign signs the repository, not the tag.
      - sigstoreSigned: {keyPaths: [cosign.pub], identity: {type: matchRepository}}
"""


@dataclass(frozen=True)
class World:
    ca: TestCA
    open: RegistryServer
    locked: RegistryServer
    lookaside: LookasideServer
    certs_d: Path
    registries_d: Path
    authfile: Path
    policy: Path
    signed: str
    signed_digest: str
    unsigned: str
    cosigned: str
    locked_image: str
    key: GeneratedKey
    staging: Path

    def lookaside_signature(self, digest: str, path: str, number: int = 1) -> Path:
        """Where skopeo wrote a signature (registries.d(5) layout, no host in the path)."""
        return self.staging / f"{path}@{digest.replace(':', '=')}" / f"signature-{number}"

    def registry_args(self, *extra: str) -> list[str]:
        return [
            "--registry",
            "--registries-d",
            str(self.registries_d),
            "--cert-dir",
            str(self.certs_d),
            *extra,
        ]


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory, ed25519_key: GeneratedKey) -> Iterator[World]:
    root = tmp_path_factory.mktemp("e2e")
    ca = TestCA.create(root / "ca")
    staging = root / "lookaside"
    staging.mkdir()
    push_d = write_registries_d(
        root / "push.d", f"default-docker:\n  lookaside-staging: file://{staging}\n"
    )
    builder = ImageBuilder(root / "layouts")
    with (
        RegistryServer(root / "open", ca) as open_registry,
        RegistryServer(root / "locked", ca, users={USER: PASSWORD}) as locked,
        LookasideServer(staging) as lookaside,
    ):
        signed_layout = builder.image("s1", content=b"signed image")
        signed = f"{open_registry.host}/team/app:v1"
        digest = push_signed(
            signed_layout, "s1", open_registry, "team/app:v1",
            registries_d=push_d, gpg_key=ed25519_key,
        )  # fmt: skip
        unsigned_layout = builder.image("u1", content=b"unsigned image")
        push_image(unsigned_layout, "u1", open_registry, "team/unsigned:v1")
        locked_layout = builder.image("l1", content=b"locked image")
        locked_image = f"{locked.host}/shop/app:v1"
        locked_digest = push_image(
            locked_layout, "l1", locked, "shop/app:v1", creds=(USER, PASSWORD)
        )
        # The lookaside path has no host: signing the same manifest pushed elsewhere, with
        # the locked registry's identity, puts its signature where the locked image's goes.
        again = push_signed(
            locked_layout, "l1", open_registry, "shop/app:v1",
            registries_d=push_d, gpg_key=ed25519_key, sign_identity=locked_image,
        )  # fmt: skip
        assert again == locked_digest
        cosign_key = kit.new_key("p256")
        cosign_repository = f"{open_registry.host}/cosign/app"
        attach_d = write_registries_d(
            root / "attach.d", "default-docker:\n  use-sigstore-attachments: true\n"
        )
        push_with_signatures(
            builder.image("c1", content=b"cosigned image"), "c1", open_registry, "cosign/app:v1",
            registries_d=attach_d, workdir=root,
            signature_files=lambda _m, d: [kit.signed_file(cosign_key, kit.payload(d, cosign_repository))],
        )  # fmt: skip
        (root / "cosign.pub").write_bytes(kit.public_pem(cosign_key))
        read_d = write_registries_d(
            root / "read.d",
            f"default-docker:\n  lookaside: {lookaside.url}\n  use-sigstore-attachments: true\n",
        )
        certs_d = ca.certs_d_for(root / "certs.d", open_registry.host, locked.host)
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        authfile = root / "auth.json"
        authfile.write_text(json.dumps({"auths": {locked.host: {"auth": token}}}))
        (root / "keys.asc").write_bytes(ed25519_key.public_key_armored)
        (root / "trust.yaml").write_text(
            "apiVersion: sigpolicy.io/v1alpha1\nkind: TrustStore\nentries:\n"
            "  - name: release\n    keys:\n      - file: keys.asc\n"
        )
        policy = root / "policy.yaml"
        policy.write_text(POLICY)
        yield World(
            ca=ca,
            open=open_registry,
            locked=locked,
            lookaside=lookaside,
            certs_d=certs_d,
            registries_d=read_d,
            authfile=authfile,
            policy=policy,
            signed=signed,
            signed_digest=digest,
            unsigned=f"{open_registry.host}/team/unsigned:v1",
            cosigned=f"{cosign_repository}:v1",
            locked_image=locked_image,
            key=ed25519_key,
            staging=staging,
        )
