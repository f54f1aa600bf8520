"""explain_bundle: message-signature bundles made by the tests (a test CA playing Fulcio, a
test key playing Rekor, a real Merkle tree and a signed checkpoint) are accepted in each
bundle version, and every altered one is refused with a reason class and the check named."""

from __future__ import annotations

import base64
import calendar
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from sigpolicy.reasons import Reason
from sigpolicy.reference.digest import parse_digest
from sigpolicy.reference.docker import parse_reference
from sigpolicy.reference.identity import MatchRepository
from sigpolicy.signature.bundle import BundleAttachment, explain_bundle
from sigpolicy.signature.cosign import CosignKeySet
from sigpolicy.signature.fulcio import FulcioRequirement
from sigpolicy.signature.keyless import SigstoreTrust, SigstoreVerdict
from sigpolicy.signature.sigstore_roots import FulcioAuthority, RekorKey, ValidityWindow
from sigpolicy.verify.checks import KnownDigest, RuleIdentity
from tests.support.sigstore_bundle_kit import (
    BUNDLE_V01,
    BUNDLE_V02,
    BUNDLE_V03,
    EMAIL,
    OIDC_ISSUER,
    TestCA,
    TestLog,
    b64,
    merkle_root,
    message_bundle,
    pem_of,
    signed_checkpoint,
)
from tests.support.sigstore_kit import cosign_payload

T0 = calendar.timegm((2026, 6, 1, 12, 0, 0, 0, 0, 0))
LOGGED = T0 + 10
DIGEST = "sha256:" + "ab" * 32
REPOSITORY = "quay.io/ns/app"
PAYLOAD = cosign_payload(DIGEST, REPOSITORY)
UNBOUNDED = ValidityWindow()


@dataclass
class World:
    ca: TestCA
    other_ca: TestCA
    log: TestLog
    other_log: TestLog
    v2_log: TestLog
    signer: ec.EllipticCurvePrivateKey

    def cert(
        self, *, ca: TestCA | None = None, not_after: int = T0 + 600, email: str = EMAIL
    ) -> Any:
        return (ca or self.ca).issue(
            self.signer.public_key(), not_before=T0 - 60, not_after=not_after, email=email
        )

    def fulcio(
        self, *, ca_window: ValidityWindow = UNBOUNDED, log: TestLog | None = None
    ) -> SigstoreTrust:
        authority = FulcioAuthority(
            (self.ca.root,), (self.ca.issuer_cert,), ca_window, "test fulcio"
        )
        return SigstoreTrust(
            fulcio=FulcioRequirement((authority,), oidc_issuer=OIDC_ISSUER, subject_email=EMAIL),
            rekor_keys=(rekor_key(log or self.log),),
        )

    def keys(self, *, with_log: bool = True) -> SigstoreTrust:
        keys = CosignKeySet.from_files([("cosign.pub", pem_of(self.signer.public_key()))])
        return SigstoreTrust(keys=keys, rekor_keys=(rekor_key(self.log),) if with_log else ())


def rekor_key(log: TestLog) -> RekorKey:
    return RekorKey(log.key.public_key(), log.log_id, origin=f"rekor {log.base_url}")


@pytest.fixture(scope="module")
def world() -> World:
    return World(
        TestCA(T0 - 86_400, T0 + 86_400),
        TestCA(T0 - 86_400, T0 + 86_400, name="other fulcio"),
        TestLog(),
        TestLog(base_url="https://other.rekor.example.test"),
        TestLog("ed25519", "https://log2026-1.rekor.example.test"),
        ec.generate_private_key(ec.SECP256R1()),
    )


def judge(
    bundle: dict[str, Any],
    trust: SigstoreTrust,
    *,
    payload: bytes | None = PAYLOAD,
    digest: str = DIGEST,
    raw: bytes | None = None,
) -> SigstoreVerdict:
    data = raw if raw is not None else json.dumps(bundle).encode()
    return explain_bundle(
        BundleAttachment(data, payload),
        trust,
        digest=KnownDigest(parse_digest(digest)),
        identity=RuleIdentity(MatchRepository(), parse_reference(REPOSITORY)),
        now=T0 + 20,
    )


def _fulcio_bundle(world: World, media_type: str = BUNDLE_V03, **kw: Any) -> dict[str, Any]:
    chain = [world.ca.issuer_cert, world.ca.root]
    return message_bundle(
        PAYLOAD, world.signer, kw.pop("log", world.log), integrated_time=LOGGED,
        certificate=kw.pop("certificate", None) or world.cert(), chain=chain,
        media_type=media_type, **kw,
    )  # fmt: skip


ACCEPTED: list[tuple[str, Callable[[World], tuple[dict[str, Any], SigstoreTrust]]]] = [
    ("v03-certificate", lambda w: (_fulcio_bundle(w), w.fulcio())),
    (
        "v03-alternate-media-type",
        lambda w: (
            _fulcio_bundle(w, "application/vnd.dev.sigstore.bundle+json;version=0.3"),
            w.fulcio(),
        ),
    ),
    ("v02-certificate-chain", lambda w: (_fulcio_bundle(w, BUNDLE_V02), w.fulcio())),
    ("v01-promise-only", lambda w: (_fulcio_bundle(w, BUNDLE_V01, proof=False), w.fulcio())),
    ("v01-promise-and-proof", lambda w: (_fulcio_bundle(w, BUNDLE_V01), w.fulcio())),
    ("ed25519-log", lambda w: (_fulcio_bundle(w, log=w.v2_log), w.fulcio(log=w.v2_log))),
    (
        "public-key-with-rekor",
        lambda w: (message_bundle(PAYLOAD, w.signer, w.log, integrated_time=LOGGED), w.keys()),
    ),
    (
        "public-key-without-rekor-ignores-entries",
        lambda w: (
            message_bundle(PAYLOAD, w.signer, w.other_log, integrated_time=LOGGED),
            w.keys(with_log=False),
        ),
    ),
    ("second-entry-from-the-trusted-log", lambda w: (_two_entries(w), w.fulcio())),
    (
        "ca-window-holds-integrated-time",
        lambda w: (_fulcio_bundle(w), w.fulcio(ca_window=ValidityWindow(LOGGED, LOGGED))),
    ),
]


def _two_entries(world: World) -> dict[str, Any]:
    bundle = _fulcio_bundle(world)
    other = _fulcio_bundle(world, log=world.other_log)
    entries = bundle["verificationMaterial"]["tlogEntries"]
    entries.insert(0, other["verificationMaterial"]["tlogEntries"][0])
    return bundle


@pytest.mark.parametrize("make", [pytest.param(m, id=n) for n, m in ACCEPTED])
def test_accepted(
    world: World, make: Callable[[World], tuple[dict[str, Any], SigstoreTrust]]
) -> None:
    bundle, trust = make(world)
    verdict = judge(bundle, trust)
    assert verdict.trusted, verdict.message
    assert verdict.reason is None
    assert verdict.identity == REPOSITORY and verdict.digest == DIGEST


def test_a_fulcio_verdict_names_the_signer_and_log_time(world: World) -> None:
    verdict = judge(_fulcio_bundle(world), world.fulcio())
    assert verdict.signer == EMAIL
    assert verdict.created == LOGGED


def _entry(bundle: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = bundle["verificationMaterial"]["tlogEntries"][0]
    return entry


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(bundle: dict[str, Any]) -> None:
        target: Any = bundle
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def _delete(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def change(bundle: dict[str, Any]) -> None:
        target: Any = bundle
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return change


ENTRY = ("verificationMaterial", "tlogEntries", 0)
PROOF = (*ENTRY, "inclusionProof")


def _proof_for_other_leaf(bundle: dict[str, Any]) -> None:
    proof = _entry(bundle)["inclusionProof"]
    proof["logIndex"] = str(int(proof["logIndex"]) + 1)


def _wrong_root(bundle: dict[str, Any]) -> None:
    _entry(bundle)["inclusionProof"]["rootHash"] = b64(bytes(32))


def _bad_checkpoint_signature(bundle: dict[str, Any]) -> None:
    proof = _entry(bundle)["inclusionProof"]
    note, _, signatures = proof["checkpoint"]["envelope"].partition("\n\n")
    name, encoded = signatures.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1
    proof["checkpoint"]["envelope"] = f"{note}\n\n{name} {b64(bytes(raw))}\n"


def _checkpoint_by(
    signer_of: Callable[[World], TestLog],
) -> Callable[[World], Callable[[dict[str, Any]], None]]:
    def make(world: World) -> Callable[[dict[str, Any]], None]:
        def change(bundle: dict[str, Any]) -> None:
            proof = _entry(bundle)["inclusionProof"]
            proof["checkpoint"]["envelope"] = signed_checkpoint(
                world.log, int(proof["treeSize"]), base64.b64decode(proof["rootHash"]),
                signer=signer_of(world),
            )  # fmt: skip

        return change

    return make


def _checkpoint_of_other_tree(world: World) -> Callable[[dict[str, Any]], None]:
    def change(bundle: dict[str, Any]) -> None:
        proof = _entry(bundle)["inclusionProof"]
        other_root = merkle_root([b"another", b"tree"])
        proof["checkpoint"]["envelope"] = signed_checkpoint(
            world.log, int(proof["treeSize"]), other_root
        )

    return change


def _bad_set(bundle: dict[str, Any]) -> None:
    promise = _entry(bundle)["inclusionPromise"]
    raw = bytearray(base64.b64decode(promise["signedEntryTimestamp"]))
    raw[-1] ^= 1
    promise["signedEntryTimestamp"] = b64(bytes(raw))


def _other_signature(world: World) -> Callable[[dict[str, Any]], None]:
    other = ec.generate_private_key(ec.SECP256R1())
    from tests.support.sigstore_bundle_kit import sign_message

    return _set(("messageSignature", "signature"), b64(sign_message(other, PAYLOAD)))


def _chain_in_v03(world: World) -> Callable[[dict[str, Any]], None]:
    def change(bundle: dict[str, Any]) -> None:
        material = bundle["verificationMaterial"]
        cert = material.pop("certificate")
        material["x509CertificateChain"] = {"certificates": [cert]}

    return change


def _certificate_in_v02(bundle: dict[str, Any]) -> None:
    bundle["mediaType"] = BUNDLE_V02


def _log_time(when: int) -> Callable[[dict[str, Any]], None]:
    return _set((*ENTRY, "integratedTime"), str(when))


Case = tuple[
    str,
    Callable[[World], dict[str, Any]],  # the bundle
    Callable[[World], SigstoreTrust],  # the trust
    Callable[[World], Callable[[dict[str, Any]], None]] | None,  # a change to the bundle
    dict[str, Any],  # judge() keywords
    Reason,
    str,
]


def _v03(w: World) -> dict[str, Any]:
    return _fulcio_bundle(w)


def _fulcio(w: World) -> SigstoreTrust:
    return w.fulcio()


def _const(
    change: Callable[[dict[str, Any]], None],
) -> Callable[[World], Callable[[dict[str, Any]], None]]:
    return lambda world: change


REFUSED: list[Case] = [
    (
        "wrong-digest",
        _v03,
        _fulcio,
        _const(_set(("messageSignature", "messageDigest", "digest"), b64(bytes(32)))),
        {},
        Reason.BAD_SIGNATURE,
        "messageDigest is not the SHA-256 of the payload",
    ),
    (
        "payload-of-another-bundle",
        _v03,
        _fulcio,
        None,
        {"payload": cosign_payload(DIGEST, "quay.io/ns/other")},
        Reason.BAD_SIGNATURE,
        "messageDigest is not the SHA-256",
    ),
    (
        "payload-altered-no-digest-stated",
        _v03,
        _fulcio,
        _const(_delete(("messageSignature", "messageDigest"))),
        {"payload": cosign_payload(DIGEST, "quay.io/ns/other")},
        Reason.BAD_SIGNATURE,
        "logged payload hash is not this payload's",
    ),
    (
        "no-payload",
        _v03,
        _fulcio,
        None,
        {"payload": None},
        Reason.UNSIGNED,
        "without the payload it signs",
    ),
    (
        "image-digest-mismatch",
        _v03,
        _fulcio,
        None,
        {"digest": "sha256:" + "cd" * 32},
        Reason.DIGEST_MISMATCH,
        "",
    ),
    (
        "wrong-log-key",
        _v03,
        lambda w: w.fulcio(log=w.other_log),
        None,
        {},
        Reason.UNKNOWN_KEY,
        "none of the bundle's 1 transparency log entry is from one of the 1 trusted Rekor logs",
    ),
    (
        "proof-for-another-leaf",
        _v03,
        _fulcio,
        _const(_proof_for_other_leaf),
        {},
        Reason.BAD_SIGNATURE,
        "inclusion proof: the path from this entry leads to root",
    ),
    (
        "wrong-root-hash",
        _v03,
        _fulcio,
        _const(_wrong_root),
        {},
        Reason.BAD_SIGNATURE,
        "not the proof's rootHash",
    ),
    (
        "proof-path-cut",
        _v03,
        _fulcio,
        _const(lambda b: _entry(b)["inclusionProof"]["hashes"].pop()),
        {},
        Reason.BAD_SIGNATURE,
        "fewer than a tree of 5 leaves needs",
    ),
    (
        "bad-checkpoint-signature",
        _v03,
        _fulcio,
        _const(_bad_checkpoint_signature),
        {},
        Reason.BAD_SIGNATURE,
        "checkpoint: the signature does not verify with the log key",
    ),
    (
        "checkpoint-by-another-log",
        _v03,
        _fulcio,
        _checkpoint_by(lambda w: w.other_log),
        {},
        Reason.BAD_SIGNATURE,
        "checkpoint: no signature by the log key",
    ),
    (
        "checkpoint-of-another-tree",
        _v03,
        _fulcio,
        _checkpoint_of_other_tree,
        {},
        Reason.BAD_SIGNATURE,
        "checkpoint: signs the root hash",
    ),
    (
        "bad-set",
        _v03,
        _fulcio,
        _const(_bad_set),
        {},
        Reason.BAD_SIGNATURE,
        "Rekor SET does not verify",
    ),
    (
        "signature-not-the-logged-one",
        _v03,
        _fulcio,
        _other_signature,
        {},
        Reason.BAD_SIGNATURE,
        "the logged signature is not this signature",
    ),
    (
        "certificate-expired-at-log-time",
        lambda w: _fulcio_bundle(w, certificate=w.cert(not_after=LOGGED - 1)),
        _fulcio,
        None,
        {},
        Reason.EXPIRED_KEY,
        "not at the Rekor integrated time",
    ),
    (
        "log-time-outside-ca-window",
        _v03,
        lambda w: w.fulcio(ca_window=ValidityWindow(None, LOGGED - 1)),
        None,
        {},
        Reason.EXPIRED_KEY,
        "is not valid at the integrated time",
    ),
    (
        "log-key-outside-its-window",
        _v03,
        lambda w: SigstoreTrust(
            fulcio=w.fulcio().fulcio,
            rekor_keys=(
                RekorKey(w.log.key.public_key(), w.log.log_id, ValidityWindow(LOGGED + 1, None)),
            ),
        ),
        None,
        {},
        Reason.EXPIRED_KEY,
        "not valid at the entry's integrated time",
    ),
    (
        "certificate-of-another-ca",
        lambda w: _fulcio_bundle(w, certificate=w.cert(ca=w.other_ca)),
        _fulcio,
        None,
        {},
        Reason.UNKNOWN_KEY,
        "does not chain to the trusted CA",
    ),
    (
        "another-subject",
        lambda w: _fulcio_bundle(w, certificate=w.cert(email="someone@example.test")),
        _fulcio,
        None,
        {},
        Reason.UNKNOWN_KEY,
        "required email",
    ),
    (
        "certificate-for-a-key-policy",
        _v03,
        lambda w: w.keys(),
        None,
        {},
        Reason.UNKNOWN_KEY,
        "signed with a certificate; the policy trusts public keys",
    ),
    (
        "public-key-for-a-fulcio-policy",
        lambda w: message_bundle(PAYLOAD, w.signer, w.log, integrated_time=LOGGED),
        _fulcio,
        None,
        {},
        Reason.UNKNOWN_KEY,
        "requires a Fulcio certificate",
    ),
    (
        "unknown-media-type",
        _v03,
        _fulcio,
        _const(_set(("mediaType",), "application/vnd.dev.sigstore.bundle.v0.4+json")),
        {},
        Reason.UNSUPPORTED,
        "is not a Sigstore bundle media type",
    ),
    (
        "trusted-root-media-type",
        _v03,
        _fulcio,
        _const(_set(("mediaType",), "application/vnd.dev.sigstore.trustedroot.v0.2+json")),
        {},
        Reason.UNSUPPORTED,
        "is not a Sigstore bundle media type",
    ),
    (
        "oversized",
        _v03,
        _fulcio,
        None,
        {"raw": b" " * (4 * 1024 * 1024 + 1)},
        Reason.MALFORMED,
        "over the 4194304-byte limit",
    ),
    (
        "v02-without-proof",
        lambda w: _fulcio_bundle(w, BUNDLE_V02, proof=False),
        _fulcio,
        None,
        {},
        Reason.MALFORMED,
        "must carry an inclusion proof with a checkpoint",
    ),
    (
        "v03-without-promise",
        lambda w: _fulcio_bundle(w, promise=False),
        _fulcio,
        None,
        {},
        Reason.UNSUPPORTED,
        "no inclusion promise",
    ),
    (
        "v01-without-promise",
        lambda w: _fulcio_bundle(w, BUNDLE_V01, promise=False),
        _fulcio,
        None,
        {},
        Reason.MALFORMED,
        "v0.1 bundle's log entry must carry an inclusion promise",
    ),
    (
        "chain-in-v03",
        _v03,
        _fulcio,
        _chain_in_v03,
        {},
        Reason.MALFORMED,
        "x509CertificateChain: is not allowed in a v0.3 bundle",
    ),
    (
        "certificate-in-v02",
        _v03,
        _fulcio,
        _const(_certificate_in_v02),
        {},
        Reason.MALFORMED,
        "certificate: is a v0.3 field",
    ),
    (
        "dsse-kind-for-a-message",
        _v03,
        _fulcio,
        _const(_set((*ENTRY, "kindVersion"), {"kind": "dsse", "version": "0.0.1"})),
        {},
        Reason.UNSUPPORTED,
        "not supported for a message signature",
    ),
    (
        "log-time-changed",
        _v03,
        _fulcio,
        _const(_log_time(LOGGED + 5)),
        {},
        Reason.BAD_SIGNATURE,
        "Rekor SET does not verify",
    ),
    (
        "unknown-member",
        _v03,
        _fulcio,
        _const(_set(("verificationMaterial", "extra"), 1)),
        {},
        Reason.MALFORMED,
        "$.verificationMaterial: unknown member 'extra'",
    ),
    (
        "both-contents",
        _v03,
        _fulcio,
        _const(_set(("dsseEnvelope",), {})),
        {},
        Reason.MALFORMED,
        "exactly one of messageSignature and dsseEnvelope",
    ),
    (
        "negative-log-index",
        _v03,
        _fulcio,
        _const(_set((*ENTRY, "logIndex"), "-1")),
        {},
        Reason.MALFORMED,
        "logIndex: must not be negative",
    ),
    (
        "digest-sha512",
        _v03,
        _fulcio,
        _const(_set(("messageSignature", "messageDigest", "algorithm"), "SHA2_512")),
        {},
        Reason.UNSUPPORTED,
        "SHA2_256 only",
    ),
]


@pytest.mark.parametrize(
    ("make", "trust_of", "change", "options", "reason", "problem"),
    [pytest.param(*case[1:], id=case[0]) for case in REFUSED],
)
def test_refused(
    world: World,
    make: Callable[[World], dict[str, Any]],
    trust_of: Callable[[World], SigstoreTrust],
    change: Callable[[World], Callable[[dict[str, Any]], None]] | None,
    options: dict[str, Any],
    reason: Reason,
    problem: str,
) -> None:
    bundle = copy.deepcopy(make(world))
    if change is not None:
        change(world)(bundle)
    verdict = judge(bundle, trust_of(world), **options)
    assert not verdict.trusted
    assert verdict.reason is reason, verdict.message
    assert problem in verdict.message, verdict.message
    assert "\n" not in verdict.message
    # Nothing from an unverified bundle is reported as if it meant something.
    if reason not in (Reason.DIGEST_MISMATCH, Reason.IDENTITY_MISMATCH):
        assert verdict.identity is None and verdict.digest is None
