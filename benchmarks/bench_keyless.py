#!/usr/bin/env python3
"""Keyless (Fulcio + Rekor) verification speed against the sum of its primitives, in one run.

    .venv/bin/python -m benchmarks.bench_keyless [--certificates 100] [--rounds 7]

Makes a test Fulcio (P-384 root and intermediate, P-256 leaves, as the public instance) and
a test Rekor key (P-256), and ``--certificates`` signatures, each by its own short-lived
certificate with a SET, then times per signature, taking turns in each round:

- the primitives: the payload's ECDSA verify with the leaf key, the SET's ECDSA verify over
  its canonical bytes (canonicalized beforehand), and the chain check alone
  (``cryptography``'s ``PolicyBuilder`` client verifier at the integrated time), summed;
- the two ECDSA verifies alone (what a cached chain leaves to do);
- ``explain_sigstore`` in process, the whole check (signature annotation, SET parsing,
  canonicalization and verification, hashedrekord matching, the certificate's chain at the
  integrated time, issuer and subject, signature, payload, digest, identity), once with a
  cold chain cache (each certificate seen for the first time) and once warm (chains cached
  per certificate, and certificate texts parsed once, as a webhook sees the same image
  again).

Prints a Markdown table; figures are the best of ``--rounds`` rounds (microseconds per
signature). The target is the in-process check within 3x of the primitives.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from functools import partial

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.verification import PolicyBuilder, Store

from sigpolicy.reference.digest import parse_digest
from sigpolicy.reference.docker import parse_reference
from sigpolicy.reference.identity import MatchRepository
from sigpolicy.signature import x509chain
from sigpolicy.signature.canonical_json import canonicalize
from sigpolicy.signature.envelope import SIGNATURE_ANNOTATION
from sigpolicy.signature.keyless import (
    BUNDLE_ANNOTATION,
    FulcioRequirement,
    SigstoreTrust,
    explain_sigstore,
)
from sigpolicy.signature.sigstore_roots import FulcioAuthority, RekorKey, log_id_of
from sigpolicy.signature.x509chain import CA_EXTENSION_POLICY, EE_EXTENSION_POLICY
from tests.support.sigstore_kit import (
    EMAIL,
    NOW,
    OIDC_ISSUER,
    FakeFulcio,
    FakeRekor,
    Signed,
    cosign_payload,
    keyless_signature,
)

DIGEST = "sha256:" + hashlib.sha256(b"bench manifest").hexdigest()
REPOSITORY = "registry.example.com/bench/app"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--certificates", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    fulcio = FakeFulcio()
    rekor = FakeRekor()
    payload = cosign_payload(DIGEST, REPOSITORY)
    leaves = [fulcio.issue() for _ in range(args.certificates)]
    signed = [keyless_signature(leaf, rekor, payload=payload) for leaf in leaves]
    log_key = rekor.key.public_key()

    # What the primitives get: values decoded beforehand, as the check decodes them itself.
    prepared = []
    for leaf, one in zip(leaves, signed, strict=True):
        bundle = json.loads(one.attachment.annotations[BUNDLE_ANNOTATION])
        set_signature = base64.b64decode(bundle["SignedEntryTimestamp"])
        canonical = canonicalize(json.dumps(bundle["Payload"]).encode())
        signature = base64.b64decode(one.attachment.annotations[SIGNATURE_ANNOTATION])
        prepared.append((leaf, signature, set_signature, canonical))
    store = Store([fulcio.root.cert])
    intermediate = fulcio.chain[:-1]
    when = dt.datetime.fromtimestamp(NOW, dt.UTC)

    def primitives() -> None:
        for leaf, signature, set_signature, canonical in prepared:
            public_key = leaf.cert.public_key()
            assert isinstance(public_key, ec.EllipticCurvePublicKey)
            public_key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
            log_key.verify(set_signature, canonical, ec.ECDSA(hashes.SHA256()))
            verifier = (
                PolicyBuilder()
                .store(store)
                .time(when)
                .extension_policies(ca_policy=CA_EXTENSION_POLICY, ee_policy=EE_EXTENSION_POLICY)
                .build_client_verifier()
            )
            verifier.verify(leaf.cert, list(intermediate))

    def verifies_only() -> None:
        for leaf, signature, set_signature, canonical in prepared:
            public_key = leaf.cert.public_key()
            assert isinstance(public_key, ec.EllipticCurvePublicKey)
            public_key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
            log_key.verify(set_signature, canonical, ec.ECDSA(hashes.SHA256()))

    def trust() -> SigstoreTrust:
        requirement = FulcioRequirement((FulcioAuthority((fulcio.root.cert,)),), OIDC_ISSUER, EMAIL)
        return SigstoreTrust(
            fulcio=requirement, rekor_keys=(RekorKey(log_key, log_id_of(log_key)),)
        )

    digest = _Digest(DIGEST)
    identity = _Identity(REPOSITORY)

    def check(trusted: SigstoreTrust, batch: list[Signed]) -> None:
        for one in batch:
            verdict = explain_sigstore(
                one.attachment, trusted, digest=digest, identity=identity, now=NOW
            )
            assert verdict.trusted, verdict.message

    warm = trust()
    check(warm, signed)  # fills its chain cache
    timings: dict[str, list[float]] = {"primitives": [], "verifies": [], "cold": [], "warm": []}
    for _ in range(args.rounds):
        timings["primitives"].append(_timed(primitives))
        timings["verifies"].append(_timed(verifies_only))
        cold = trust()  # a fresh cache: every chain is built
        x509chain._PARSED.clear()  # and every certificate text parsed: all first seen
        timings["cold"].append(_timed(partial(check, cold, signed)))
        timings["warm"].append(_timed(lambda: check(warm, signed)))
    per = {name: min(values) / args.certificates * 1e6 for name, values in timings.items()}
    floor = per["primitives"]
    print(f"{args.certificates} Fulcio certificates, best of {args.rounds} rounds\n")
    print("| what | us per signature | vs primitives |")
    print("|---|---:|---:|")
    for label, name in (
        ("primitives: 2 ECDSA P-256 verifies + chain check (sum)", "primitives"),
        ("(of which the 2 ECDSA verifies)", "verifies"),
        ("explain_sigstore, chain cache cold", "cold"),
        ("explain_sigstore, chain cache warm", "warm"),
    ):
        print(f"| {label} | {per[name]:.0f} | {per[name] / floor:.2f}x |")


def _timed(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


class _Digest:
    def __init__(self, digest: str) -> None:
        self.digest = parse_digest(digest)

    def check(self, signed_digest: str) -> None:
        if parse_digest(signed_digest) != self.digest:
            raise AssertionError("digest")


class _Identity:
    def __init__(self, reference: str) -> None:
        self.reference = parse_reference(reference)
        self.rule = MatchRepository()

    def matches(self, signed_reference: str) -> bool:
        return self.rule.matches(self.reference, signed_reference)

    def describe(self) -> str:
        return "matchRepository"


if __name__ == "__main__":
    main()
