"""The Sigstore bundle (protobuf-specs ``dev.sigstore.bundle.v1.Bundle``) read from its JSON.

Nothing here is verified: this only reads the document strictly into typed, bounded parts
for :mod:`sigpolicy.signature.bundle`. Rules; the first that fails decides (``malformed``
unless said, the message naming the JSON path):

1. At most :data:`MAX_BUNDLE` bytes of strict JSON (:mod:`._strict_json`).
2. ``mediaType`` one of :data:`MEDIA_TYPES` (else ``unsupported``): v0.1 and v0.2 as
   ``application/vnd.dev.sigstore.bundle+json;version=0.N``, v0.3 as
   ``application/vnd.dev.sigstore.bundle.v0.3+json`` (cosign v3) or the ``;version=0.3`` form.
3. Exactly the members of the message; ``verificationMaterial`` holds exactly one of
   ``publicKey`` (a hint, any version), ``x509CertificateChain`` (v0.1 and v0.2: the signing
   certificate first) or ``certificate`` (v0.3 only: the signing certificate alone), as the
   proto's version notes say; ``tlogEntries`` at most :data:`MAX_TLOG_ENTRIES`;
   ``timestampVerificationData`` is read for shape only (RFC 3161 timestamps are not a
   source of time here).
4. Exactly one of ``messageSignature`` (``messageDigest`` optional, SHA2_256 only) and
   ``dsseEnvelope`` (one signature).
5. A log entry: ``logIndex``, ``logId.keyId``, ``kindVersion``, ``canonicalizedBody``
   (at most :data:`MAX_BODY` bytes), ``integratedTime`` (absent means 0, as protobuf omits
   defaults), ``inclusionPromise.signedEntryTimestamp`` and ``inclusionProof`` {``logIndex``,
   ``rootHash``, ``treeSize``, ``hashes`` (at most 64), ``checkpoint.envelope``}, each
   optional as the proto has it; the version rules on which of them must be there are the
   verifier's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from cryptography import x509

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature._strict_json import (
    JSONShapeError,
    array,
    base64_bytes,
    fail,
    int64_string,
    load_object,
    members,
    shown,
    string,
)
from sigpolicy.signature.merkle import MAX_PATH

V01: Final = "application/vnd.dev.sigstore.bundle+json;version=0.1"
V02: Final = "application/vnd.dev.sigstore.bundle+json;version=0.2"
V03: Final = "application/vnd.dev.sigstore.bundle.v0.3+json"
V03_ALT: Final = "application/vnd.dev.sigstore.bundle+json;version=0.3"
#: Media type -> minor version.
MEDIA_TYPES: Final = {V01: 1, V02: 2, V03: 3, V03_ALT: 3}

MAX_BUNDLE: Final = 4 * 1024 * 1024
MAX_TLOG_ENTRIES: Final = 8
MAX_CHAIN: Final = 10
MAX_BODY: Final = 256 * 1024
_MAX_DER: Final = 64 * 1024
_MAX_SIGNATURE: Final = 16 * 1024
_MAX_PAYLOAD: Final = 1024 * 1024

_TOP: Final = frozenset({"mediaType", "verificationMaterial"})
_CONTENT: Final = frozenset({"messageSignature", "dsseEnvelope"})
_MATERIAL_OPTIONAL: Final = frozenset(
    {"publicKey", "x509CertificateChain", "certificate", "tlogEntries", "timestampVerificationData"}
)
_KEY_MATERIAL: Final = ("publicKey", "x509CertificateChain", "certificate")
_ENTRY_REQUIRED: Final = frozenset({"logIndex", "logId", "kindVersion", "canonicalizedBody"})
_ENTRY_OPTIONAL: Final = frozenset({"integratedTime", "inclusionPromise", "inclusionProof"})
_PROOF_REQUIRED: Final = frozenset({"logIndex", "rootHash", "treeSize", "hashes"})
_PROOF_OPTIONAL: Final = frozenset({"checkpoint"})


class InclusionProof:
    __slots__ = ("checkpoint", "hashes", "log_index", "root_hash", "tree_size")

    def __init__(
        self,
        log_index: int,
        root_hash: bytes,
        tree_size: int,
        hashes: tuple[bytes, ...],
        checkpoint: str | None,
    ) -> None:
        self.log_index: Final = log_index
        self.root_hash: Final = root_hash
        self.tree_size: Final = tree_size
        self.hashes: Final = hashes
        self.checkpoint: Final = checkpoint


class TlogEntry:
    __slots__ = (
        "body",
        "integrated_time",
        "kind",
        "log_id",
        "log_index",
        "path",
        "promise",
        "proof",
        "version",
    )

    def __init__(
        self,
        path: str,
        log_index: int,
        log_id: bytes,
        kind: str,
        version: str,
        integrated_time: int,
        promise: bytes | None,
        proof: InclusionProof | None,
        body: bytes,
    ) -> None:
        self.path: Final = path  # e.g. "$.verificationMaterial.tlogEntries[0]", for messages
        self.log_index: Final = log_index
        self.log_id: Final = log_id
        self.kind: Final = kind
        self.version: Final = version
        self.integrated_time: Final = integrated_time
        self.promise: Final = promise
        self.proof: Final = proof
        self.body: Final = body


class MessageSignature:
    __slots__ = ("digest", "signature")

    def __init__(self, digest: bytes | None, signature: bytes) -> None:
        self.digest: Final = digest  # SHA-256 of the message, when the bundle states it
        self.signature: Final = signature


class DSSEEnvelope:
    __slots__ = ("keyid", "payload", "payload_type", "signature")

    def __init__(self, payload_type: str, payload: bytes, signature: bytes, keyid: str) -> None:
        self.payload_type: Final = payload_type
        self.payload: Final = payload
        self.signature: Final = signature
        self.keyid: Final = keyid


class Bundle:
    """A parsed, unverified bundle. ``certificate`` is the signing certificate (v0.3's
    ``certificate`` or the first of an older ``x509CertificateChain``), ``chain`` the rest
    of that chain; ``key_hint`` is set when the material is a ``publicKey``."""

    __slots__ = (
        "certificate",
        "chain",
        "content",
        "key_hint",
        "media_type",
        "tlog_entries",
        "version",
    )

    def __init__(
        self,
        media_type: str,
        certificate: x509.Certificate | None,
        chain: tuple[x509.Certificate, ...],
        key_hint: str | None,
        tlog_entries: tuple[TlogEntry, ...],
        content: MessageSignature | DSSEEnvelope,
    ) -> None:
        self.media_type: Final = media_type
        self.version: Final = MEDIA_TYPES[media_type]
        self.certificate: Final = certificate
        self.chain: Final = chain
        self.key_hint: Final = key_hint
        self.tlog_entries: Final = tlog_entries
        self.content: Final = content


def parse_bundle(data: bytes) -> Bundle:
    """Rules 1-5; raise VerificationError (``malformed``, or ``unsupported`` for a media
    type that is not a bundle's)."""
    try:
        document = load_object(data, MAX_BUNDLE)  # 1
        media_type = string(
            members(document, "$", required=frozenset({"mediaType"}), optional=_TOP | _CONTENT)[
                "mediaType"
            ],
            "$.mediaType",
        )
        if media_type not in MEDIA_TYPES:  # 2
            raise VerificationError(
                Reason.UNSUPPORTED,
                f"bundle: $.mediaType {shown(media_type)} is not a"
                " Sigstore bundle media type (v0.1 to v0.3)",
            )
        return _bundle(document, media_type)
    except JSONShapeError as exc:
        raise VerificationError(Reason.MALFORMED, f"bundle: {exc}") from None


def _bundle(document: Mapping[str, Any], media_type: str) -> Bundle:
    version = MEDIA_TYPES[media_type]
    if "verificationMaterial" not in document:  # 3
        fail("$", "missing member 'verificationMaterial'")
    present = [name for name in ("messageSignature", "dsseEnvelope") if name in document]
    if len(present) != 1:  # 4
        fail("$", "must hold exactly one of messageSignature and dsseEnvelope")
    path = "$.verificationMaterial"
    material = members(
        document["verificationMaterial"], path, required=frozenset(), optional=_MATERIAL_OPTIONAL
    )
    held = [name for name in _KEY_MATERIAL if name in material]
    if len(held) != 1:
        fail(path, "must hold exactly one of publicKey, x509CertificateChain and certificate")
    certificate: x509.Certificate | None = None
    chain: tuple[x509.Certificate, ...] = ()
    key_hint: str | None = None
    if held[0] == "certificate":
        if version < 3:
            fail(f"{path}.certificate", f"is a v0.3 field, this is a v0.{version} bundle")
        cert_doc = members(
            material["certificate"], f"{path}.certificate", required=frozenset({"rawBytes"})
        )
        certificate = _certificate(cert_doc["rawBytes"], f"{path}.certificate.rawBytes")
    elif held[0] == "x509CertificateChain":
        if version >= 3:
            fail(f"{path}.x509CertificateChain", "is not allowed in a v0.3 bundle (certificate is)")
        certificate, *rest = _chain(
            material["x509CertificateChain"], f"{path}.x509CertificateChain"
        )
        chain = tuple(rest)
    else:
        hint_doc = members(
            material["publicKey"],
            f"{path}.publicKey",
            required=frozenset(),
            optional=frozenset({"hint"}),
        )
        key_hint = string(hint_doc.get("hint", ""), f"{path}.publicKey.hint", limit=256)
    if "timestampVerificationData" in material:
        _timestamps(material["timestampVerificationData"], f"{path}.timestampVerificationData")
    entries = array(material.get("tlogEntries", []), f"{path}.tlogEntries", limit=MAX_TLOG_ENTRIES)
    tlog = tuple(_entry(entry, f"{path}.tlogEntries[{i}]") for i, entry in enumerate(entries))
    content: MessageSignature | DSSEEnvelope
    if present[0] == "messageSignature":
        content = _message_signature(document["messageSignature"], "$.messageSignature")
    else:
        content = _dsse(document["dsseEnvelope"], "$.dsseEnvelope")
    return Bundle(media_type, certificate, chain, key_hint, tlog, content)


def _certificate(value: Any, path: str) -> x509.Certificate:
    der = base64_bytes(value, path, limit=_MAX_DER)
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        fail(path, "is not a DER X.509 certificate")


def _chain(value: Any, path: str) -> list[x509.Certificate]:
    document = members(value, path, required=frozenset({"certificates"}))
    entries = array(document["certificates"], f"{path}.certificates", limit=MAX_CHAIN)
    if not entries:
        fail(f"{path}.certificates", "is empty")
    certificates = []
    for i, entry in enumerate(entries):
        where = f"{path}.certificates[{i}]"
        cert_doc = members(entry, where, required=frozenset({"rawBytes"}))
        certificates.append(_certificate(cert_doc["rawBytes"], f"{where}.rawBytes"))
    return certificates


def _timestamps(value: Any, path: str) -> None:
    document = members(value, path, required=frozenset(), optional=frozenset({"rfc3161Timestamps"}))
    stamps = array(document.get("rfc3161Timestamps", []), f"{path}.rfc3161Timestamps", limit=8)
    for i, stamp in enumerate(stamps):
        where = f"{path}.rfc3161Timestamps[{i}]"
        stamp_doc = members(stamp, where, required=frozenset({"signedTimestamp"}))
        base64_bytes(stamp_doc["signedTimestamp"], f"{where}.signedTimestamp", limit=_MAX_DER)


def _entry(value: Any, path: str) -> TlogEntry:  # 5
    entry = members(value, path, required=_ENTRY_REQUIRED, optional=_ENTRY_OPTIONAL)
    log_index = _unsigned(entry["logIndex"], f"{path}.logIndex")
    log_id_doc = members(entry["logId"], f"{path}.logId", required=frozenset({"keyId"}))
    log_id = base64_bytes(log_id_doc["keyId"], f"{path}.logId.keyId", limit=64)
    kind_doc = members(
        entry["kindVersion"], f"{path}.kindVersion", required=frozenset({"kind", "version"})
    )
    kind = string(kind_doc["kind"], f"{path}.kindVersion.kind", limit=64)
    version = string(kind_doc["version"], f"{path}.kindVersion.version", limit=64)
    body = base64_bytes(entry["canonicalizedBody"], f"{path}.canonicalizedBody", limit=MAX_BODY)
    integrated = _unsigned(entry.get("integratedTime", 0), f"{path}.integratedTime")
    promise = None
    if "inclusionPromise" in entry:
        promise_doc = members(
            entry["inclusionPromise"],
            f"{path}.inclusionPromise",
            required=frozenset({"signedEntryTimestamp"}),
        )
        promise = base64_bytes(
            promise_doc["signedEntryTimestamp"],
            f"{path}.inclusionPromise.signedEntryTimestamp",
            limit=_MAX_SIGNATURE,
        )
    proof = (
        _proof(entry["inclusionProof"], f"{path}.inclusionProof")
        if ("inclusionProof" in entry)
        else None
    )
    return TlogEntry(path, log_index, log_id, kind, version, integrated, promise, proof, body)


def _proof(value: Any, path: str) -> InclusionProof:
    proof = members(value, path, required=_PROOF_REQUIRED, optional=_PROOF_OPTIONAL)
    log_index = _unsigned(proof["logIndex"], f"{path}.logIndex")
    tree_size = _unsigned(proof["treeSize"], f"{path}.treeSize")
    root = base64_bytes(proof["rootHash"], f"{path}.rootHash", limit=64)
    hashes = array(proof["hashes"], f"{path}.hashes", limit=MAX_PATH)
    path_hashes = tuple(
        base64_bytes(h, f"{path}.hashes[{i}]", limit=64) for i, h in enumerate(hashes)
    )
    checkpoint = None
    if "checkpoint" in proof:
        checkpoint_doc = members(
            proof["checkpoint"], f"{path}.checkpoint", required=frozenset({"envelope"})
        )
        checkpoint = string(
            checkpoint_doc["envelope"], f"{path}.checkpoint.envelope", limit=16 * 1024
        )
    return InclusionProof(log_index, root, tree_size, path_hashes, checkpoint)


def _message_signature(value: Any, path: str) -> MessageSignature:
    document = members(
        value, path, required=frozenset({"signature"}), optional=frozenset({"messageDigest"})
    )
    signature = base64_bytes(document["signature"], f"{path}.signature", limit=_MAX_SIGNATURE)
    digest = None
    if "messageDigest" in document:
        where = f"{path}.messageDigest"
        digest_doc = members(
            document["messageDigest"], where, required=frozenset({"algorithm", "digest"})
        )
        algorithm = string(digest_doc["algorithm"], f"{where}.algorithm", limit=64)
        if algorithm != "SHA2_256":
            raise VerificationError(
                Reason.UNSUPPORTED,
                f"bundle: {where}.algorithm {shown(algorithm)} is not supported (SHA2_256 only)",
            )
        digest = base64_bytes(digest_doc["digest"], f"{where}.digest", limit=64)
    return MessageSignature(digest, signature)


def _dsse(value: Any, path: str) -> DSSEEnvelope:
    document = members(value, path, required=frozenset({"payload", "payloadType", "signatures"}))
    payload = base64_bytes(document["payload"], f"{path}.payload", limit=_MAX_PAYLOAD)
    payload_type = string(document["payloadType"], f"{path}.payloadType", limit=256)
    signatures = array(document["signatures"], f"{path}.signatures", limit=8)
    if len(signatures) != 1:
        fail(f"{path}.signatures", "must hold exactly one signature")
    where = f"{path}.signatures[0]"
    signature_doc = members(
        signatures[0], where, required=frozenset({"sig"}), optional=frozenset({"keyid"})
    )
    signature = base64_bytes(signature_doc["sig"], f"{where}.sig", limit=_MAX_SIGNATURE)
    keyid = string(signature_doc.get("keyid", ""), f"{where}.keyid", limit=256)
    return DSSEEnvelope(payload_type, payload, signature, keyid)


def _unsigned(value: Any, path: str) -> int:
    number = int64_string(value, path)
    if number < 0:
        fail(path, "must not be negative")
    return number
