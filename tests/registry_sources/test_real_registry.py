"""SignatureFinder against Debian's docker-registry (2.8) with signatures skopeo wrote.

Every signature found is verified with the project's own verifiers (explain_blob with a
TrustStore of the gpg keys, explain_cosign with the cosign public key): the findings are the
real thing, not just bytes that look right. Requests are counted in the registry's own
access log and the lookaside server's log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.reference.digest import parse_digest
from sigpolicy.reference.docker import parse_reference
from sigpolicy.reference.identity import MatchRepoDigestOrExact, MatchRepository
from sigpolicy.signature.cosign import CosignKeySet, explain_cosign
from sigpolicy.sources.registry import CredentialSet, RegistryClient, RegistryOptions
from sigpolicy.sources.registry.errors import RegistryNotFoundError
from sigpolicy.sources.registry.finder import RegistryFindings, SignatureFinder
from sigpolicy.sources.registry.registries_d import RegistriesD
from sigpolicy.trust.store import TrustStore
from sigpolicy.verify.checks import KnownDigest, RuleIdentity
from sigpolicy.verify.simple import explain_blob
from tests.cosign import kit
from tests.registry_sources.conftest import PushedImage
from tests.support.gpgkit import GeneratedKey
from tests.support.registry_kit import RegistryServer
from tests.support.registry_signing import LookasideServer, write_registries_d

NO_CREDENTIALS = CredentialSet.empty()


def client_for(registry: RegistryServer) -> RegistryClient:
    return RegistryClient(RegistryOptions(cert_dir=registry.certs_d))


def deadline() -> float:
    return time.monotonic() + 15.0


async def find(
    registry: RegistryServer,
    registries_d: RegistriesD | None,
    reference: str,
    *,
    resolve_tags: bool = True,
) -> RegistryFindings:
    client = client_for(registry)
    try:
        finder = SignatureFinder(client, registries_d)
        return await finder.find(
            parse_reference(reference),
            credentials=NO_CREDENTIALS,
            deadline=deadline(),
            resolve_tags=resolve_tags,
        )
    finally:
        await client.aclose()


def config(tmp_path: Path, text: str) -> RegistriesD:
    return RegistriesD.load(
        write_registries_d(tmp_path / "registries.d", text), builtin_lookaside=None
    )


def verdicts_simple(
    findings: RegistryFindings, keys: list[GeneratedKey], image: str
) -> list[tuple[bool, str | None]]:
    trust = TrustStore.from_keyrings([(f"{k.name}.gpg", k.public_key) for k in keys])
    verifier = trust.verifier()
    try:
        ref = parse_reference(image)
        out = []
        for _name, blob in findings.simple_signatures:
            verdict = explain_blob(
                blob,
                verifier,
                digest=KnownDigest(findings.digest),
                identity=RuleIdentity(MatchRepoDigestOrExact(), ref),
                now=int(time.time()),
            )
            out.append((verdict.trusted, verdict.signer))
        return out
    finally:
        trust.close()


def count(registry: RegistryServer, method: str, fragment: str) -> int:
    return sum(
        1 for line in registry.access_log() if line.method == method and fragment in line.path
    )


# --- simple signing, lookaside -----------------------------------------------------------


async def test_lookaside_over_http_finds_both_skopeo_signatures(
    tmp_path: Path,
    registry: RegistryServer,
    gpg_image: PushedImage,
    lookaside_server: LookasideServer,
    signer_pair: tuple[GeneratedKey, GeneratedKey],
) -> None:
    registries_d = config(
        tmp_path, f"docker:\n  {registry.host}:\n    lookaside: {lookaside_server.url}\n"
    )
    before = len(lookaside_server.requests)
    findings = await find(registry, registries_d, gpg_image.reference)
    assert str(findings.digest) == gpg_image.digest
    assert findings.tag_resolved is True
    assert findings.reference == parse_reference(f"{gpg_image.repository}@{gpg_image.digest}")
    assert [name for name, _ in findings.simple_signatures] == ["signature-1", "signature-2"]
    assert findings.sigstore_signatures == ()
    assert findings.sources_asked == (f"lookaside {lookaside_server.url}",)
    first, second = signer_pair
    assert verdicts_simple(findings, [first, second], gpg_image.reference) == [
        (True, first.fingerprint),
        (True, second.fingerprint),
    ]
    hex_ = gpg_image.digest.partition(":")[2]
    assert lookaside_server.requests[before:] == [
        f"/team/gpg@sha256={hex_}/signature-{n}" for n in (1, 2, 3)
    ]  # counted up to the first 404, no further


async def test_lookaside_file_url_reads_the_folder_skopeo_wrote(
    tmp_path: Path,
    registry: RegistryServer,
    gpg_image: PushedImage,
    staging: Path,
    signer_pair: tuple[GeneratedKey, GeneratedKey],
) -> None:
    registries_d = config(
        tmp_path, f"docker:\n  {registry.host}/team:\n    sigstore: {staging.as_uri()}\n"
    )
    findings = await find(registry, registries_d, f"{gpg_image.repository}@{gpg_image.digest}")
    assert findings.tag_resolved is False
    assert findings.sources_asked == (f"lookaside {staging.as_uri()}",)
    assert [ok for ok, _ in verdicts_simple(findings, list(signer_pair), gpg_image.reference)] == [
        True,
        True,
    ]


async def test_a_signature_for_another_key_is_found_and_then_refused(
    tmp_path: Path,
    registry: RegistryServer,
    gpg_image: PushedImage,
    staging: Path,
    ed25519_key: GeneratedKey,
) -> None:
    registries_d = config(tmp_path, f"default-docker:\n  lookaside: {staging.as_uri()}\n")
    findings = await find(registry, registries_d, gpg_image.reference)
    assert len(findings.simple_signatures) == 2
    assert verdicts_simple(findings, [ed25519_key], gpg_image.reference) == [
        (False, None),
        (False, None),
    ]


# --- sigstore attachments ----------------------------------------------------------------


async def test_cosign_tag_written_by_skopeo_is_found_and_verifies(
    tmp_path: Path,
    registry: RegistryServer,
    sigstore_image: PushedImage,
    cosign_key: kit.PrivateKey,
) -> None:
    registries_d = config(
        tmp_path, f"docker:\n  {registry.host}/team/cosign:\n    use-sigstore-attachments: true\n"
    )
    referrers_before = count(registry, "GET", "/referrers/")
    findings = await find(registry, registries_d, sigstore_image.reference)
    hex_ = sigstore_image.digest.partition(":")[2]
    # Debian's registry 2.8 has no referrers API: the spec's tag schema is asked, then the cosign tag.
    assert findings.sources_asked == (
        f"OCI referrers (tag sha256-{hex_})",
        f"cosign tag sha256-{hex_}.sig",
    )
    assert count(registry, "GET", "/referrers/") == referrers_before + 1
    assert count(registry, "GET", f"/manifests/sha256-{hex_}.sig") >= 1
    assert findings.simple_signatures == ()
    [(name, attachment)] = findings.sigstore_signatures
    assert name == f"sha256-{hex_}.sig layer 1"
    keys = CosignKeySet.from_files([("cosign.pub", kit.public_pem(cosign_key))])
    verdict = explain_cosign(
        attachment,
        keys,
        digest=KnownDigest(parse_digest(sigstore_image.digest)),
        identity=RuleIdentity(MatchRepository(), parse_reference(sigstore_image.reference)),
    )
    assert verdict.trusted, verdict.message
    assert verdict.signer == kit.fingerprint(cosign_key)


async def test_attachments_are_not_read_unless_registries_d_says_so(
    tmp_path: Path, registry: RegistryServer, sigstore_image: PushedImage
) -> None:
    hex_ = sigstore_image.digest.partition(":")[2]
    before = count(registry, "GET", f"sha256-{hex_}")
    findings = await find(
        registry, config(tmp_path, "{}\n"), f"{sigstore_image.repository}@{sigstore_image.digest}"
    )
    assert findings.sources_asked == ()
    assert findings.has_signatures is False
    assert count(registry, "GET", f"sha256-{hex_}") == before


async def test_both_kinds_at_once_in_upstreams_order(
    tmp_path: Path,
    registry: RegistryServer,
    mixed_image: PushedImage,
    staging: Path,
    cosign_key: kit.PrivateKey,
    ed25519_key: GeneratedKey,
) -> None:
    registries_d = config(
        tmp_path,
        f"default-docker:\n  sigstore: {staging.as_uri()}\n"
        f"docker:\n  {registry.host}/team/mixed:\n    use-sigstore-attachments: true\n",
    )
    findings = await find(registry, registries_d, mixed_image.reference)
    hex_ = mixed_image.digest.partition(":")[2]
    assert findings.sources_asked == (
        f"lookaside {staging.as_uri()}",
        f"OCI referrers (tag sha256-{hex_})",
        f"cosign tag sha256-{hex_}.sig",
    )
    assert verdicts_simple(findings, [ed25519_key], mixed_image.reference) == [
        (True, ed25519_key.fingerprint)
    ]
    # skopeo 1.9 writes the sigstore signature to the lookaside as well as to the tag, and
    # containers/image reads both (it deduplicates attachments only among themselves).
    assert [name for name, _ in findings.sigstore_signatures] == [
        "signature-2",
        f"sha256-{hex_}.sig layer 1",
    ]
    keys = CosignKeySet.from_files([("cosign.pub", kit.public_pem(cosign_key))])
    for _, attachment in findings.sigstore_signatures:
        assert explain_cosign(
            attachment,
            keys,
            digest=KnownDigest(findings.digest),
            identity=RuleIdentity(MatchRepository(), parse_reference(mixed_image.reference)),
        ).trusted


# --- nothing anywhere --------------------------------------------------------------------


async def test_unsigned_image_lists_every_source_asked(
    tmp_path: Path,
    registry: RegistryServer,
    unsigned_image: PushedImage,
    lookaside_server: LookasideServer,
) -> None:
    registries_d = config(
        tmp_path,
        f"docker:\n  {registry.host}:\n    lookaside: {lookaside_server.url}/sigs\n    use-sigstore-attachments: true\n",
    )
    findings = await find(registry, registries_d, unsigned_image.reference)
    hex_ = unsigned_image.digest.partition(":")[2]
    assert findings.has_signatures is False
    assert findings.sources_asked == (
        f"lookaside {lookaside_server.url}/sigs",
        f"OCI referrers (tag sha256-{hex_})",
        f"cosign tag sha256-{hex_}.sig",
    )


# --- tag -> digest -----------------------------------------------------------------------


@dataclass(frozen=True)
class TagCase:
    name: str
    reference: Callable[[PushedImage], str]
    resolve_tags: bool
    resolved: bool | None  # None: refused


TAG_CASES = [
    TagCase("a tag is resolved at the registry", lambda i: i.reference, True, True),
    TagCase("a digest needs no resolution", lambda i: f"{i.repository}@{i.digest}", True, False),
    TagCase(
        "a digest is fine when tags may not be resolved",
        lambda i: f"{i.repository}@{i.digest}",
        False,
        False,
    ),
    TagCase("a tag is refused when the scope wants digests", lambda i: i.reference, False, None),
    TagCase(
        "tag and digest: the digest is used", lambda i: f"{i.reference}@{i.digest}", False, False
    ),
]


@pytest.mark.parametrize("case", TAG_CASES, ids=lambda c: c.name)
async def test_tag_resolution(
    case: TagCase, registry: RegistryServer, unsigned_image: PushedImage
) -> None:
    reference = case.reference(unsigned_image)
    manifests_before = count(registry, "HEAD", "/manifests/") + count(
        registry, "GET", "/manifests/"
    )
    if case.resolved is None:
        with pytest.raises(VerificationError) as raised:
            await find(registry, None, reference, resolve_tags=False)
        assert raised.value.reason is Reason.RESOLUTION_FAILED
        assert "pinned by digest" in raised.value.message
        assert reference in raised.value.message
    else:
        findings = await find(registry, None, reference, resolve_tags=case.resolve_tags)
        assert str(findings.digest) == unsigned_image.digest
        assert findings.tag_resolved is case.resolved
    manifests_after = count(registry, "HEAD", "/manifests/") + count(registry, "GET", "/manifests/")
    assert manifests_after - manifests_before == (1 if case.resolved else 0)


async def test_a_missing_tag_is_the_registrys_not_found(
    registry: RegistryServer, unsigned_image: PushedImage
) -> None:
    with pytest.raises(RegistryNotFoundError):
        await find(registry, None, f"{unsigned_image.repository}:no-such-tag")
