"""FulcioCAWithRekor and PKI objects (the shapes of OpenShift's documentation) decide as the
hand-written policy.json the MCO writes, on keyless signatures made fresh by a CA playing
Fulcio, a key playing Rekor, and an organisation's PKI (tests/support/sigstore_kit.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

from sigpolicy.policy.containers import load_containers_policy
from sigpolicy.policy.decision import Decision
from sigpolicy.policy.engine import Policy
from sigpolicy.policy.load import load_policy
from sigpolicy.reference.docker import parse_reference
from sigpolicy.sources.evidence import evidence_from_dir
from tests.cosign import kit
from tests.openshift_policy.kit import (
    JsonObject,
    b64,
    cluster_policy,
    fulcio,
    identity,
    image_policy,
    pki,
    write_objects,
)
from tests.support.sigstore_kit import (
    EMAIL,
    OIDC_ISSUER,
    FakeFulcio,
    FakePKI,
    FakeRekor,
    cosign_payload,
    keyless_signature,
)

FULCIO = FakeFulcio()
REKOR = FakeRekor()
OTHER_REKOR = FakeRekor()
ORG = FakePKI()
CA = FULCIO.roots_pem.encode()
REKOR_PEM = REKOR.public_pem.encode()
ROOTS = ORG.roots_pem.encode()
INTERMEDIATES = ORG.intermediates_pem.encode()
APP = "quay.io/team-a/app"
MIRROR = "mirror.example.com/team-a/app"
PAYLOAD = cosign_payload(kit.DIGEST, APP)


def layouts(root: Path) -> dict[str, Path]:
    signatures = {
        "fulcio": keyless_signature(FULCIO.issue(), REKOR, payload=PAYLOAD),
        "fulcio-tag": keyless_signature(
            FULCIO.issue(), REKOR, payload=cosign_payload(kit.DIGEST, f"{APP}:1")
        ),
        "fulcio-other-log": keyless_signature(FULCIO.issue(), OTHER_REKOR, payload=PAYLOAD),
        "fulcio-other-email": keyless_signature(
            FULCIO.issue(email="someone@example.test"), REKOR, payload=PAYLOAD
        ),
        "pki": keyless_signature(ORG.issue(), None, payload=PAYLOAD),
        "pki-other-host": keyless_signature(
            ORG.issue(dns_names=("elsewhere.example.test",)), None, payload=PAYLOAD
        ),
    }
    out = {}
    for name, signature in signatures.items():
        folder = root / name
        folder.mkdir()
        (folder / "manifest.json").write_bytes(kit.MANIFEST)
        (folder / "signature-1").write_bytes(signature.file)
        out[name] = folder
    return out


FULCIO_REQUIREMENT: JsonObject = {
    "type": "sigstoreSigned",
    "fulcio": {"caData": b64(CA), "oidcIssuer": OIDC_ISSUER, "subjectEmail": EMAIL},
    "rekorPublicKeyData": b64(REKOR_PEM),
    "signedIdentity": {"type": "matchRepository"},
}
REMAP_REQUIREMENT: JsonObject = {
    **FULCIO_REQUIREMENT,
    "signedIdentity": {"type": "remapIdentity", "prefix": "mirror.example.com/team-a", "signedPrefix": "quay.io/team-a"},
}  # fmt: skip
PKI_REQUIREMENT: JsonObject = {
    "type": "sigstoreSigned",
    "pki": {
        "caRootsData": b64(ROOTS),
        "caIntermediatesData": b64(INTERMEDIATES),
        "subjectEmail": EMAIL,
        "subjectHostname": "signer.example.test",
    },
    "signedIdentity": {"type": "matchRepository"},
}
FULCIO_TRUST = fulcio(CA, REKOR_PEM, OIDC_ISSUER, EMAIL)
PKI_TRUST = pki(ROOTS, INTERMEDIATES, EMAIL, "signer.example.test")
# The docs' ImagePolicy with a Fulcio root (in team-a), the docs' PKI ClusterImagePolicy.
NAMESPACED_FULCIO = [image_policy("team-a", "p1", ["quay.io/team-a"], FULCIO_TRUST, identity("MatchRepository"))]  # fmt: skip
CLUSTER_PKI = [cluster_policy("pki-policy", ["quay.io"], PKI_TRUST, identity("MatchRepository"))]
MIRRORED = [
    cluster_policy(
        "mirror", ["mirror.example.com"], FULCIO_TRUST,
        identity("RemapIdentity", prefix="mirror.example.com/team-a", signedPrefix="quay.io/team-a"),
    )
]  # fmt: skip


def node_file(docker: dict[str, list[JsonObject]]) -> JsonObject:
    return {"default": [{"type": "insecureAcceptAnything"}], "transports": {"docker": docker}}


@dataclass(frozen=True)
class Case:
    objects: list[JsonObject]
    image: str
    namespace: str | None
    layout: str
    node: JsonObject
    allowed: bool


CASES: dict[str, Case] = {
    "fulcio-in-its-namespace": Case(NAMESPACED_FULCIO, f"{APP}:1", "team-a", "fulcio", node_file({"quay.io/team-a": [FULCIO_REQUIREMENT]}), True),
    "fulcio-set-of-another-log": Case(NAMESPACED_FULCIO, f"{APP}:1", "team-a", "fulcio-other-log", node_file({"quay.io/team-a": [FULCIO_REQUIREMENT]}), False),
    "fulcio-other-email": Case(NAMESPACED_FULCIO, f"{APP}:1", "team-a", "fulcio-other-email", node_file({"quay.io/team-a": [FULCIO_REQUIREMENT]}), False),
    "fulcio-not-in-other-namespaces": Case(NAMESPACED_FULCIO, f"{APP}:1", "team-b", "fulcio-other-email", node_file({}), True),
    "fulcio-remap-for-a-mirror": Case(MIRRORED, f"{MIRROR}:1", None, "fulcio-tag", node_file({"mirror.example.com": [REMAP_REQUIREMENT]}), True),
    "fulcio-remap-repository-only-signature": Case(MIRRORED, f"{MIRROR}:1", None, "fulcio", node_file({"mirror.example.com": [REMAP_REQUIREMENT]}), False),
    "pki-with-intermediate": Case(CLUSTER_PKI, f"{APP}:1", None, "pki", node_file({"quay.io": [PKI_REQUIREMENT]}), True),
    "pki-other-hostname": Case(CLUSTER_PKI, f"{APP}:1", None, "pki-other-host", node_file({"quay.io": [PKI_REQUIREMENT]}), False),
    "pki-keyless-fulcio-signature": Case(CLUSTER_PKI, f"{APP}:1", None, "fulcio", node_file({"quay.io": [PKI_REQUIREMENT]}), False),
}  # fmt: skip


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return layouts(tmp_path_factory.mktemp("keyless"))


def decide(policy: Policy, layout: Path, image: str, namespace: str | None) -> Decision:
    evidence = evidence_from_dir(layout, parse_reference(image), namespace=namespace)
    return asyncio.run(policy.decide(evidence))


@pytest.mark.parametrize("name", CASES)
def test_keyless_objects_decide_as_the_node_file(
    name: str, tmp_path: Path, dirs: dict[str, Path]
) -> None:
    case = CASES[name]
    policy = load_policy(write_objects(tmp_path / "objects.yaml", case.objects))
    node = load_containers_policy(case.node, origin="node.json", base=tmp_path)
    ours = decide(policy, dirs[case.layout], case.image, case.namespace)
    theirs = decide(node, dirs[case.layout], case.image, case.namespace)
    assert (ours.allowed, ours.reason) == (theirs.allowed, theirs.reason)
    assert ours.allowed is case.allowed, ours.message
