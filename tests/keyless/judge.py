"""One fresh signature judged by :func:`explain_sigstore`, for the tables of this folder."""

from __future__ import annotations

from sigpolicy.reference.digest import parse_digest
from sigpolicy.reference.docker import parse_reference
from sigpolicy.reference.identity import MatchRepository
from sigpolicy.signature.keyless import SigstoreTrust, SigstoreVerdict, explain_sigstore
from sigpolicy.verify.checks import KnownDigest, RuleIdentity
from tests.support.sigstore_kit import NOW, Signed, cosign_payload

DIGEST = "sha256:" + "ab" * 32
REPOSITORY = "quay.io/ns/app"
PAYLOAD = cosign_payload(DIGEST, REPOSITORY)


def judge(
    signed: Signed,
    trust: SigstoreTrust,
    *,
    now: int = NOW,
    digest: str = DIGEST,
    reference: str = REPOSITORY,
) -> SigstoreVerdict:
    return explain_sigstore(
        signed.attachment,
        trust,
        digest=KnownDigest(parse_digest(digest)),
        identity=RuleIdentity(MatchRepository(), parse_reference(reference)),
        now=now,
    )
