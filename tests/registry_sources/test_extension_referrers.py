"""The signature extension API and OCI referrers, against the test server of sigserver.py
(Debian's registry 2.8 has neither), with signatures the project's verifiers accept.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sigpolicy.reference.digest import parse_digest
from sigpolicy.reference.docker import parse_reference
from sigpolicy.reference.identity import MatchRepoDigestOrExact, MatchRepository
from sigpolicy.signature.cosign import SIMPLE_SIGNING_MIME_TYPE, CosignKeySet, explain_cosign
from sigpolicy.signature.envelope import SIGNATURE_ANNOTATION
from sigpolicy.sources.registry import CredentialSet, RegistryClient, RegistryOptions
from sigpolicy.sources.registry.errors import RegistryError, RegistryProtocolError
from sigpolicy.sources.registry.finder import RegistryFindings, SignatureFinder
from sigpolicy.sources.registry.registries_d import RegistriesD
from sigpolicy.trust.store import TrustStore
from sigpolicy.verify.checks import KnownDigest, RuleIdentity
from sigpolicy.verify.simple import explain_blob
from tests.cosign import kit
from tests.registry_sources.sigserver import OCI_MANIFEST, SignatureRegistry, sha256
from tests.support import gpgkit
from tests.support.gpgkit import GeneratedKey
from tests.support.registry_kit import TestCA
from tests.support.registry_signing import LookasideServer, write_registries_d

REPO = "team/app"
COSIGN_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"
EMPTY_CONFIG = {
    "mediaType": "application/vnd.oci.empty.v1+json",
    "digest": sha256(b"{}"),
    "size": 2,
}


@pytest.fixture
def server(test_ca: TestCA, request: pytest.FixtureRequest) -> Iterator[SignatureRegistry]:
    options: dict[str, bool] = getattr(request, "param", {})
    with SignatureRegistry(test_ca, **options) as registry:
        yield registry


@dataclass
class Image:
    digest: str
    reference: str  # host/repo@digest


def push_image(server: SignatureRegistry, content: bytes = b"layer") -> Image:
    layer = server.add_blob(REPO, content)
    config = server.add_blob(REPO, b"{}")
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config,
            "size": 2,
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": layer,
                "size": len(content),
            }
        ],
    }
    digest = server.add_manifest(REPO, manifest, tag="1")
    return Image(digest, f"{server.host}/{REPO}@{digest}")


def attachment_layers(
    server: SignatureRegistry, attachments: list[tuple[bytes, bytes]]
) -> list[dict[str, Any]]:
    """Layers of (payload, raw signature), blobs stored."""
    layers = []
    for payload, signature in attachments:
        layers.append(
            {
                "mediaType": SIMPLE_SIGNING_MIME_TYPE,
                "digest": server.add_blob(REPO, payload),
                "size": len(payload),
                "annotations": {SIGNATURE_ANNOTATION: base64.b64encode(signature).decode()},
            }
        )
    return layers


def signed(key: kit.PrivateKey, image: Image, server: SignatureRegistry) -> tuple[bytes, bytes]:
    payload = kit.payload(image.digest, f"{server.host}/{REPO}")
    return payload, kit.sign(key, payload)


def add_referrer(
    server: SignatureRegistry,
    image: Image,
    layers: list[dict[str, Any]],
    *,
    artifact_type: str | None = COSIGN_ARTIFACT,
    media_type: str = OCI_MANIFEST,
) -> str:
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": EMPTY_CONFIG,
        "layers": layers,
        "subject": {"mediaType": OCI_MANIFEST, "digest": image.digest, "size": 1},
    }
    if artifact_type is not None:
        document["artifactType"] = artifact_type
    return server.add_manifest(REPO, document, media_type=media_type)


def add_sig_tag(
    server: SignatureRegistry,
    image: Image,
    layers: list[dict[str, Any]],
    *,
    media_type: str = OCI_MANIFEST,
) -> None:
    document = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": EMPTY_CONFIG,
        "layers": layers,
    }
    server.add_manifest(
        REPO, document, media_type=media_type, tag=image.digest.replace(":", "-") + ".sig"
    )


async def find(
    server: SignatureRegistry,
    test_ca: TestCA,
    tmp_path: Path,
    registries_d_text: str | None,
    reference: str,
) -> RegistryFindings:
    registries_d = None
    if registries_d_text is not None:
        registries_d = RegistriesD.load(
            write_registries_d(tmp_path / "rd", registries_d_text), builtin_lookaside=None
        )
    client = RegistryClient(
        RegistryOptions(cert_dir=test_ca.certs_d_for(tmp_path / "certs.d", server.host))
    )
    try:
        return await SignatureFinder(client, registries_d).find(
            parse_reference(reference),
            credentials=CredentialSet.empty(),
            deadline=time.monotonic() + 15,
        )
    finally:
        await client.aclose()


def cosign_verdicts(findings: RegistryFindings, key: kit.PrivateKey, image: Image) -> list[bool]:
    keys = CosignKeySet.from_files([("k.pub", kit.public_pem(key))])
    return [
        explain_cosign(
            sig,
            keys,
            digest=KnownDigest(parse_digest(image.digest)),
            identity=RuleIdentity(MatchRepository(), parse_reference(image.reference)),
        ).trusted
        for _, sig in findings.sigstore_signatures
    ]


def simple_verdicts(findings: RegistryFindings, key: GeneratedKey, image: Image) -> list[bool]:
    trust = TrustStore.from_keyrings([("k.gpg", key.public_key)])
    try:
        return [
            explain_blob(
                blob,
                trust.verifier(),
                digest=KnownDigest(parse_digest(image.digest)),
                identity=RuleIdentity(MatchRepoDigestOrExact(), parse_reference(image.reference)),
                now=int(time.time()),
            ).trusted
            for _, blob in findings.simple_signatures
        ]
    finally:
        trust.close()


# --- the extension API -------------------------------------------------------------------


async def test_extension_api_wins_and_the_lookaside_is_never_asked(
    server: SignatureRegistry, test_ca: TestCA, tmp_path: Path, ed25519_key: GeneratedKey
) -> None:
    image = push_image(server)
    server.add_extension_signature(
        REPO, image.digest, gpgkit.sign_atomic(ed25519_key, image.digest, image.reference)
    )
    # The lookaside holds a signature too: upstream never reads it for such a registry.
    folder = tmp_path / "store" / f"{REPO}@sha256={image.digest.partition(':')[2]}"
    folder.mkdir(parents=True)
    (folder / "signature-1").write_bytes(
        gpgkit.sign_atomic(ed25519_key, image.digest, image.reference)
    )
    with LookasideServer(tmp_path / "store") as lookaside:
        findings = await find(
            server,
            test_ca,
            tmp_path,
            f"default-docker:\n  lookaside: {lookaside.url}\n",
            image.reference,
        )
        assert lookaside.requests == []
    assert findings.sources_asked == ("registry extension API",)
    assert [name.partition("@")[0] for name, _ in findings.simple_signatures] == [image.digest]
    assert simple_verdicts(findings, ed25519_key, image) == [True]


async def test_extension_keeps_only_atomic_schema_2_signatures(
    server: SignatureRegistry, test_ca: TestCA, tmp_path: Path, ed25519_key: GeneratedKey
) -> None:
    image = push_image(server)
    blob = gpgkit.sign_atomic(ed25519_key, image.digest, image.reference)
    server.add_extension_signature(
        REPO, image.digest, b"other", type_="cosign", signature_name="not-atomic"
    )
    server.add_extension_signature(
        REPO, image.digest, blob, schema_version=1, signature_name="old-schema"
    )
    server.add_extension_signature(REPO, image.digest, blob, signature_name="x" * 300)
    server.add_extension_signature(REPO, image.digest, blob, signature_name="sha256:abc@0123")
    findings = await find(server, test_ca, tmp_path, None, image.reference)
    assert [name for name, _ in findings.simple_signatures] == [
        "extension signature 2",
        "sha256:abc@0123",
    ]
    assert simple_verdicts(findings, ed25519_key, image) == [True, True]


@pytest.mark.parametrize("server", [{"extension": False}], indirect=True)
async def test_without_the_header_the_lookaside_is_read(
    server: SignatureRegistry, test_ca: TestCA, tmp_path: Path, ed25519_key: GeneratedKey
) -> None:
    image = push_image(server)
    folder = tmp_path / "store" / f"{REPO}@sha256={image.digest.partition(':')[2]}"
    folder.mkdir(parents=True)
    (folder / "signature-1").write_bytes(
        gpgkit.sign_atomic(ed25519_key, image.digest, image.reference)
    )
    with LookasideServer(tmp_path / "store") as lookaside:
        findings = await find(
            server,
            test_ca,
            tmp_path,
            f"docker:\n  {server.host}/team:\n    lookaside: {lookaside.url}\n",
            image.reference,
        )
        assert len(lookaside.requests) == 2
    assert findings.sources_asked == (f"lookaside {lookaside.url}",)
    assert simple_verdicts(findings, ed25519_key, image) == [True]
    assert not any(path.startswith("/extensions/") for _, path in server.requests)


async def test_an_extension_api_failure_fails_the_lookup(
    server: SignatureRegistry, test_ca: TestCA, tmp_path: Path
) -> None:
    image = push_image(server)
    server.fail.add(f"/extensions/v2/{REPO}/signatures/{image.digest}")
    with pytest.raises(RegistryError, match="signatures of"):
        await find(server, test_ca, tmp_path, None, image.reference)


# --- referrers ---------------------------------------------------------------------------

ATTACH = "docker:\n  {host}:\n    use-sigstore-attachments: true\n"


@pytest.mark.parametrize("server", [{"extension": False}], indirect=True)
async def test_referrers_give_cosign_signatures_and_skip_other_artifacts(
    server: SignatureRegistry, test_ca: TestCA, tmp_path: Path
) -> None:
    image = push_image(server)
    key = kit.new_key("p256")
    signature = add_referrer(server, image, attachment_layers(server, [signed(key, image, server)]))
    sbom = add_referrer(
        server,
        image,
        [{"mediaType": "application/spdx+json", "digest": server.add_blob(REPO, b"{}"), "size": 2}],
        artifact_type="application/spdx+json",
    )
    findings = await find(
        server, test_ca, tmp_path, ATTACH.format(host=server.host), image.reference
    )
    hex_ = image.digest.partition(":")[2]
    assert findings.sources_asked == ("OCI referrers", f"cosign tag sha256-{hex_}.sig")
    assert [name for name, _ in findings.sigstore_signatures] == [f"referrer {signature} layer 1"]
    assert cosign_verdicts(findings, key, image) == [True]
    fetched = [path for _, path in server.requests]
    assert f"/v2/{REPO}/manifests/{signature}" in fetched
    assert f"/v2/{REPO}/manifests/{sbom}" not in fetched


@pytest.mark.parametrize("server", [{"extension": False}], indirect=True)
async def test_referrers_and_tag_holding_the_same_signature_give_it_once(
    server: SignatureRegistry, test_ca: TestCA, tmp_path: Path
) -> None:
    image = push_image(server)
    key, other = kit.new_key("p256"), kit.new_key("ed25519")
    same = signed(key, image, server)
    add_referrer(server, image, attachment_layers(server, [same]))
    add_sig_tag(server, image, attachment_layers(server, [same, signed(other, image, server)]))
    findings = await find(
        server, test_ca, tmp_path, ATTACH.format(host=server.host), image.reference
    )
    hex_ = image.digest.partition(":")[2]
    assert [name.partition(" layer")[0] for name, _ in findings.sigstore_signatures] == [
        findings.sigstore_signatures[0][0].partition(" layer")[0],
        f"sha256-{hex_}.sig",
    ]
    assert findings.sigstore_signatures[0][0].startswith("referrer ")
    assert cosign_verdicts(findings, key, image) == [True, False]
    assert cosign_verdicts(findings, other, image) == [False, True]


@pytest.mark.parametrize("server", [{"extension": False}], indirect=True)
async def test_a_broken_referrer_is_skipped(
    server: SignatureRegistry, test_ca: TestCA, tmp_path: Path
) -> None:
    image = push_image(server)
    key = kit.new_key("p256")
    good = add_referrer(server, image, attachment_layers(server, [signed(key, image, server)]))
    # A referrer whose manifest was deleted, one of a Docker media type, one whose layer blob is gone.
    server.repository(REPO).dangling[image.digest] = [
        {
            "mediaType": OCI_MANIFEST,
            "digest": sha256(b"gone"),
            "size": 4,
            "artifactType": COSIGN_ARTIFACT,
        }
    ]
    add_referrer(
        server, image, [], media_type="application/vnd.docker.distribution.manifest.v2+json"
    )
    lost_layers = attachment_layers(server, [(b"lost payload", b"sig")])
    del server.repository(REPO).blobs[lost_layers[0]["digest"]]
    add_referrer(server, image, lost_layers)
    findings = await find(
        server, test_ca, tmp_path, ATTACH.format(host=server.host), image.reference
    )
    assert [name for name, _ in findings.sigstore_signatures] == [f"referrer {good} layer 1"]
    assert cosign_verdicts(findings, key, image) == [True]
    assert ("GET", f"/v2/{REPO}/manifests/{sha256(b'gone')}") in server.requests


@pytest.mark.parametrize("server", [{"referrers": False, "extension": False}], indirect=True)
async def test_without_referrers_the_spec_tag_schema_is_read(
    server: SignatureRegistry, test_ca: TestCA, tmp_path: Path
) -> None:
    image = push_image(server)
    key = kit.new_key("p256")
    referrer = add_referrer(server, image, attachment_layers(server, [signed(key, image, server)]))
    media_type, body = server.repository(REPO).manifests[referrer]
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": media_type,
                "digest": referrer,
                "size": len(body),
                "artifactType": COSIGN_ARTIFACT,
            }
        ],
    }
    hex_ = image.digest.partition(":")[2]
    server.add_manifest(
        REPO, index, media_type="application/vnd.oci.image.index.v1+json", tag=f"sha256-{hex_}"
    )
    findings = await find(
        server, test_ca, tmp_path, ATTACH.format(host=server.host), image.reference
    )
    assert findings.sources_asked == (
        f"OCI referrers (tag sha256-{hex_})",
        f"cosign tag sha256-{hex_}.sig",
    )
    assert cosign_verdicts(findings, key, image) == [True]


@pytest.mark.parametrize("apply_filter", [True, False])
async def test_artifact_type_filter_whether_or_not_the_registry_applies_it(
    test_ca: TestCA, tmp_path: Path, apply_filter: bool
) -> None:
    with SignatureRegistry(test_ca, apply_filter=apply_filter) as server:
        image = push_image(server)
        wanted = add_referrer(server, image, [])
        add_referrer(server, image, [], artifact_type="application/spdx+json")
        client = RegistryClient(
            RegistryOptions(cert_dir=test_ca.certs_d_for(tmp_path / "c", server.host))
        )
        try:
            found = await client.get_referrers(
                parse_reference(f"{server.host}/{REPO}"),
                parse_digest(image.digest),
                credentials=CredentialSet.empty(),
                deadline=time.monotonic() + 10,
                artifact_type=COSIGN_ARTIFACT,
            )
        finally:
            await client.aclose()
        assert found is not None
        assert [str(d.digest) for d in found] == [wanted]
        assert any("artifactType=" in path for _, path in server.requests)


# --- hostile attachment manifests --------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    name: str
    layers: int = 1
    declared_size: int | None = None
    media_type: str = OCI_MANIFEST
    message: str = ""


HOSTILE = [
    Hostile("more layers than accepted", layers=65, message="65 layers, more than the 64 accepted"),
    Hostile(
        "a layer declaring a huge size",
        declared_size=5 * 1024 * 1024,
        message="over the 4194304-byte limit",
    ),
    Hostile(
        "a Docker manifest under the cosign tag",
        media_type="application/vnd.docker.distribution.manifest.v2+json",
        message="not application/vnd.oci.image.manifest.v1+json",
    ),
]


@pytest.mark.parametrize("case", HOSTILE, ids=lambda c: c.name)
@pytest.mark.parametrize("server", [{"extension": False, "referrers": False}], indirect=True)
async def test_hostile_cosign_tag(
    case: Hostile, server: SignatureRegistry, test_ca: TestCA, tmp_path: Path
) -> None:
    image = push_image(server)
    key = kit.new_key("p256")
    layers = attachment_layers(server, [signed(key, image, server)] * case.layers)
    if case.declared_size is not None:
        layers[0]["size"] = case.declared_size
    add_sig_tag(server, image, layers, media_type=case.media_type)
    with pytest.raises(RegistryProtocolError) as raised:
        await find(server, test_ca, tmp_path, ATTACH.format(host=server.host), image.reference)
    assert case.message in str(raised.value)
    assert not any("/blobs/" in path for _, path in server.requests)


async def test_when_sources_fail_together_the_first_in_upstreams_order_is_raised(
    server: SignatureRegistry, test_ca: TestCA, tmp_path: Path
) -> None:
    image = push_image(server)
    hex_ = image.digest.partition(":")[2]
    server.fail.add(f"/v2/{REPO}/manifests/sha256-{hex_}.sig")
    server.fail.add(f"/v2/{REPO}/referrers/{image.digest}")
    server.fail.add(f"/extensions/v2/{REPO}/signatures/{image.digest}")
    with pytest.raises(RegistryError, match="signatures of"):
        await find(server, test_ca, tmp_path, ATTACH.format(host=server.host), image.reference)
    server.fail.remove(f"/extensions/v2/{REPO}/signatures/{image.digest}")
    with pytest.raises(RegistryError, match="referrers of"):
        await find(
            server, test_ca, tmp_path / "2", ATTACH.format(host=server.host), image.reference
        )
