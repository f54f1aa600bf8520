"""A Sigstore bundle (v0.1 to v0.3) over an image's signed payload, verified offline.

A bundle (:mod:`~sigpolicy.signature.bundle_format`) carries the signature, the signing
certificate or a key hint, and the transparency log entries that prove the signature was
logged. It comes as a :class:`BundleAttachment`: the bundle bytes and, for a
message-signature bundle, the payload it signs (the simple-signing payload of the cosign
attachment it accompanies: a message signature holds only the payload's digest).

The trust rules, in order; the first failure decides the reason. Steps 4-6 are the cosign
checks of :mod:`sigpolicy.signature.keyless`, applied to the bundle's parts exactly as to
an attachment's annotations, so a bundle and an attachment are judged alike:

1. The bundle parses (``malformed``; a media type that is not a bundle's, ``unsupported``).
   A DSSE bundle (what ``cosign sign`` v3 writes: an in-toto statement) is refused as
   ``unsupported`` for now; the rest is for message signatures.
2. The payload is there (``unsigned``), and the bundle's ``messageDigest``, when stated, is
   its SHA-256 (``bad-signature``: a bundle made for another payload).
3. The material fits the policy: a certificate for ``fulcio`` and ``pki``, a ``publicKey``
   hint for ``keys`` (``unknown-key``).
4. With trusted Rekor keys, a log entry of one of those logs, chosen by ``logId`` (else
   ``unknown-key``); each of the at most 8 entries of such logs is tried until one passes:

   a. ``kindVersion`` is ``hashedrekord`` 0.0.1 (``unsupported``);
   b. an inclusion promise (SET) is present: no other signed time is verified here (RFC 3161
      timestamps are not), and the spec requires it of v0.1 (``malformed`` for v0.1,
      ``unsupported`` otherwise);
   c. v0.2 and later carry an inclusion proof with a checkpoint (``malformed``); a proof
      with a checkpoint is verified in every version: the RFC 6962 path from the leaf
      ``SHA-256(0x00 || canonicalizedBody)`` at ``inclusionProof.logIndex`` leads to
      ``rootHash`` (:mod:`~sigpolicy.signature.merkle`), and the log key signs a
      checkpoint of that size and root (:mod:`~sigpolicy.signature.checkpoint`)
      (``bad-signature``);
   d. the SET, its key's window at the integrated time, and the logged body matched to this
      signature, certificate or key, and payload (:mod:`~sigpolicy.signature.rekor_set`).

   Without trusted Rekor keys (``keys`` or ``pki`` alone) the entries are not looked at, as
   containers/image ignores a SET no policy asks for.
5. The certificate chains to a Fulcio CA at the integrated time and names the required
   issuer and subject, or to the PKI now (:mod:`~sigpolicy.signature.fulcio`,
   :mod:`~sigpolicy.signature.pki`); the chain a v0.1/v0.2 bundle carries after the signing
   certificate is offered as intermediates (a root there is never trusted for being there).
6. The signature verifies over the payload (``bad-signature``); only then is the payload
   parsed (``invalid-payload``) and its digest and identity checked.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.bundle_format import (
    Bundle,
    DSSEEnvelope,
    MessageSignature,
    TlogEntry,
    parse_bundle,
)
from sigpolicy.signature.bundle_log import check_entry, check_material, trusted_entries
from sigpolicy.signature.cosign import SIMPLE_SIGNING_MIME_TYPE, DigestMatcher, IdentityMatcher
from sigpolicy.signature.envelope import SIGNATURE_ANNOTATION, SigstoreSignature
from sigpolicy.signature.keyless import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    CHAIN_ANNOTATION,
    SigstoreTrust,
    SigstoreVerdict,
    explain_sigstore,
)
from sigpolicy.signature.sigstore_roots import RekorKey

__all__ = ["BundleAttachment", "explain_bundle"]


class BundleAttachment:
    """A bundle found for an image (all untrusted): its bytes, and the payload a
    message-signature bundle signs, when it came with one."""

    __slots__ = ("bundle", "payload")

    def __init__(self, bundle: bytes, payload: bytes | None = None) -> None:
        self.bundle: Final = bundle
        self.payload: Final = payload

    def __repr__(self) -> str:
        payload = "no payload" if self.payload is None else f"{len(self.payload)}-byte payload"
        return f"BundleAttachment(<{len(self.bundle)} bytes>, {payload})"


def explain_bundle(
    attachment: BundleAttachment,
    trust: SigstoreTrust,
    *,
    digest: DigestMatcher,
    identity: IdentityMatcher,
    now: int,
) -> SigstoreVerdict:
    """The rules of this module for one bundle; never raises for what the bundle holds."""
    try:
        bundle = parse_bundle(attachment.bundle)  # 1
        if isinstance(bundle.content, DSSEEnvelope):
            raise VerificationError(Reason.UNSUPPORTED, "DSSE bundles are not supported yet")
        payload = _payload(attachment, bundle.content)  # 2
        check_material(bundle, trust)  # 3
        if not trust.rekor_keys:
            return _judge(bundle, bundle.content, payload, trust, None, digest, identity, now)
        entries = trusted_entries(bundle, trust.rekor_keys)  # 4
        verdicts = []
        for entry, key in entries:
            try:
                check_entry(bundle, entry, key)  # 4a-4c
            except VerificationError as exc:
                verdicts.append(SigstoreVerdict(False, exc.reason, f"{entry.path}: {exc.message}"))
                continue
            verdict = _judge(
                bundle, bundle.content, payload, trust, (entry, key), digest, identity, now
            )  # 4d, 5, 6
            if verdict.trusted:
                return verdict
            verdicts.append(verdict)
        return verdicts[0]
    except VerificationError as exc:
        return SigstoreVerdict(False, exc.reason, exc.message)


def _payload(attachment: BundleAttachment, content: MessageSignature) -> bytes:
    payload = attachment.payload
    if payload is None:
        raise VerificationError(
            Reason.UNSIGNED,
            "a message-signature bundle without the payload it signs (it holds only its"
            " digest): store it beside its cosign attachment",
        )
    if content.digest is not None and content.digest != hashlib.sha256(payload).digest():
        raise VerificationError(
            Reason.BAD_SIGNATURE,
            "the bundle's messageDigest is not the SHA-256 of the payload (a bundle made for"
            " another payload)",
        )
    return payload


def _judge(
    bundle: Bundle,
    content: MessageSignature,
    payload: bytes,
    trust: SigstoreTrust,
    logged: tuple[TlogEntry, RekorKey] | None,
    digest: DigestMatcher,
    identity: IdentityMatcher,
    now: int,
) -> SigstoreVerdict:
    """Rules 4d-6: the bundle as the cosign attachment it is equivalent to, judged by
    :func:`~sigpolicy.signature.keyless.explain_sigstore` against the one log chosen."""
    annotations = {SIGNATURE_ANNOTATION: _b64(content.signature)}
    if bundle.certificate is not None:
        annotations[CERTIFICATE_ANNOTATION] = _pem(bundle.certificate)
        # read_certificate drops the last certificate of a chain annotation (the root, which
        # only the policy may supply): ending the list with the leaf keeps every
        # certificate the bundle offers an intermediate candidate and trusts none of them.
        offered = [c for c in bundle.chain if c.issuer != c.subject]
        annotations[CHAIN_ANNOTATION] = "".join(_pem(c) for c in (*offered, bundle.certificate))
    if logged is not None:
        entry, key = logged
        annotations[BUNDLE_ANNOTATION] = json.dumps(
            {
                "SignedEntryTimestamp": _b64(entry.promise or b""),
                "Payload": {
                    "body": _b64(entry.body),
                    "integratedTime": entry.integrated_time,
                    "logIndex": entry.log_index,
                    "logID": entry.log_id.hex(),
                },
            }
        )
        trust = dataclasses.replace(trust, rekor_keys=(key,))
    signature = SigstoreSignature(
        SIMPLE_SIGNING_MIME_TYPE, payload, annotations[SIGNATURE_ANNOTATION], annotations
    )
    return explain_sigstore(signature, trust, digest=digest, identity=identity, now=now)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(Encoding.PEM).decode("ascii")
