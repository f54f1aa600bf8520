"""A Sigstore ``trusted_root.json``, loaded offline into the shared roots of trust.

The file is the JSON form of protobuf-specs' ``dev.sigstore.trustroot.v1.TrustedRoot``, the
file sigstore clients ship and fetch through TUF. Its parts become the types of
:mod:`sigpolicy.signature.sigstore_roots`, which are all the verifiers ever see:

- ``certificateAuthorities`` (Fulcio) -> :class:`FulcioAuthority`, the chain split into
  self-signed roots and the intermediates above them;
- ``tlogs`` (Rekor) and ``ctlogs`` (certificate transparency) -> :class:`RekorKey`;
- ``timestampAuthorities`` -> :class:`FulcioAuthority` too (a CA chain with a window), kept
  for completeness: RFC 3161 timestamps are not verified yet;
- every ``validFor {start, end}`` -> :class:`ValidityWindow` (unix seconds, inclusive, as the
  protobuf comment says of ``validFor``; a fraction of a second is dropped).

Rules, in order; every violation is an :class:`InputError` of one line that names the file
and the JSON path (``trusted_root.json: $.tlogs[1].logId.keyId: ...``):

1. At most :data:`MAX_TRUSTED_ROOT` bytes of UTF-8 JSON, one object, no duplicate key, no
   NaN, nesting bounded (:mod:`sigpolicy.signature._strict_json`).
2. ``mediaType`` is one of :data:`MEDIA_TYPES`; any other member than the five of the
   message (and, per entry, those of its protobuf message) is refused: a field we would
   ignore might be one the author relied on.
3. At most :data:`MAX_ENTRIES` entries per list, :data:`MAX_CHAIN` certificates per chain.
4. A log's ``hashAlgorithm`` is ``SHA2_256`` (every Rekor and CT log's Merkle hash).
5. A log's ``publicKey.rawBytes`` is DER (SubjectPublicKeyInfo, or PKCS #1 for the
   deprecated ``PKCS1_*`` details) of the type ``keyDetails`` names, and the curve or size
   agrees with it. A log whose ``keyDetails`` names an algorithm we do not verify (PSS,
   LMS, ML-DSA, pre-hashed Ed25519, ECDSA with a hash other than its curve's) is left out
   and listed in :attr:`TrustedRoot.skipped`: no signature can be accepted through a log
   we cannot check, so leaving it out only ever refuses more, as sigstore-python does.
6. ``logId.keyId`` identifies the key: the SHA-256 of its DER SubjectPublicKeyInfo (Rekor
   v1, RFC 6962 CT logs), or, for an Ed25519 log, the C2SP signed-note key ID
   ``SHA-256(origin || "\\n" || 0x01 || key)`` whose origin is ``baseUrl`` without its
   scheme (Rekor v2). Anything else is refused: a log ID that names another key would let
   an entry of one log pass for another's. ``RekorKey.log_id`` is that key ID, which is
   what bundle entries name. ``checkpointKeyId``, when present, must be one of those too.
7. A CA's ``certChain.certificates`` are DER certificates, each issued (name and signature)
   by the next, the last self-signed; ``validFor.start`` is required, as sigstore clients
   require it.
8. Timestamps are RFC 3339 as protobuf writes them (``2022-12-31T23:59:59.999Z``); a window
   whose end is before its start is refused.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)

from sigpolicy.errors import InputError
from sigpolicy.signature._strict_json import (
    JSONShapeError,
    array,
    base64_bytes,
    fail,
    load_object,
    members,
    shown,
    string,
)
from sigpolicy.signature.sigstore_roots import FulcioAuthority, RekorKey, ValidityWindow

__all__ = ["MEDIA_TYPES", "TrustedRoot", "load_trusted_root"]

MEDIA_TYPES: Final = frozenset(
    {
        "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "application/vnd.dev.sigstore.trustedroot+json;version=0.2",
        "application/vnd.dev.sigstore.trustedroot.v0.1+json",
        "application/vnd.dev.sigstore.trustedroot.v0.2+json",
    }
)
#: The public-good trusted root is about 10 KiB; a thousand times that is not a trust root.
MAX_TRUSTED_ROOT: Final = 1024 * 1024
MAX_ENTRIES: Final = 64
MAX_CHAIN: Final = 10
_MAX_DER: Final = 64 * 1024

_TOP_REQUIRED: Final = frozenset({"mediaType"})
_TOP_OPTIONAL: Final = frozenset(
    {"tlogs", "certificateAuthorities", "ctlogs", "timestampAuthorities"}
)
_LOG_REQUIRED: Final = frozenset({"baseUrl", "hashAlgorithm", "publicKey", "logId"})
_LOG_OPTIONAL: Final = frozenset({"checkpointKeyId", "operator"})
_KEY_REQUIRED: Final = frozenset({"rawBytes", "keyDetails"})
_KEY_OPTIONAL: Final = frozenset({"validFor"})
_CA_REQUIRED: Final = frozenset({"certChain", "validFor"})
_CA_OPTIONAL: Final = frozenset({"subject", "uri", "operator"})
_SUBJECT_OPTIONAL: Final = frozenset({"organization", "commonName"})
_RANGE_REQUIRED: Final = frozenset({"start"})
_RANGE_OPTIONAL: Final = frozenset({"end"})
_KEY_ID: Final = frozenset({"keyId"})

# keyDetails -> (key class, curve name or minimum RSA bits). Only what a log signs with and
# we verify: ECDSA with its curve's hash, Ed25519, RSA PKCS #1 v1.5 with SHA-256.
_EC: Final = {
    "PKIX_ECDSA_P256_SHA_256": "secp256r1",
    "PKIX_ECDSA_P384_SHA_384": "secp384r1",
    "PKIX_ECDSA_P521_SHA_512": "secp521r1",
}
_RSA: Final = {
    "PKIX_RSA_PKCS1V15_2048_SHA256": 2048,
    "PKIX_RSA_PKCS1V15_3072_SHA256": 3072,
    "PKIX_RSA_PKCS1V15_4096_SHA256": 4096,
    # Deprecated names without a size, still in the staging root (ctfe.sigstage.dev/test).
    "PKIX_RSA_PKCS1V5": 2048,
    "PKCS1_RSA_PKCS1V5": 2048,
}
_ED25519: Final = "PKIX_ED25519"
_KNOWN_UNSUPPORTED: Final = frozenset(
    {
        "PKCS1_RSA_PSS",
        "PKIX_RSA_PSS",
        "PKIX_RSA_PSS_2048_SHA256",
        "PKIX_RSA_PSS_3072_SHA256",
        "PKIX_RSA_PSS_4096_SHA256",
        "PKIX_ECDSA_P256_HMAC_SHA_256",
        "PKIX_ECDSA_P384_SHA_256",
        "PKIX_ECDSA_P521_SHA_256",
        "PKIX_ED25519_PH",
        "LMS_SHA256",
        "LMOTS_SHA256",
        "ML_DSA_65",
        "ML_DSA_87",
    }
)
_MAX_RSA_BITS: Final = 16384

_RFC3339: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})"
)


@dataclass(frozen=True, slots=True)
class TrustedRoot:
    """What a ``trusted_root.json`` trusts, in file order.

    ``skipped`` names the logs left out by rule 5 (``"$.tlogs[2] (ML_DSA_65)"``), so that a
    caller can warn about them.
    """

    fulcio: tuple[FulcioAuthority, ...]
    rekor: tuple[RekorKey, ...]
    ctlogs: tuple[RekorKey, ...]
    timestamp_authorities: tuple[FulcioAuthority, ...] = ()
    media_type: str = ""
    skipped: tuple[str, ...] = ()


def load_trusted_root(data: bytes, origin: str) -> TrustedRoot:
    """Load a ``trusted_root.json`` by the rules of this module; ``origin`` names the file
    in messages and in every authority's ``origin``. Raise :class:`InputError`."""
    try:
        return _Loader(origin).load(data)
    except JSONShapeError as exc:
        raise InputError(f"{origin}: {exc}") from None


class _Loader:
    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.skipped: list[str] = []

    def load(self, data: bytes) -> TrustedRoot:
        document = load_object(data, MAX_TRUSTED_ROOT)  # 1
        top = members(document, "$", required=_TOP_REQUIRED, optional=_TOP_OPTIONAL)  # 2
        media_type = string(top["mediaType"], "$.mediaType")
        if media_type not in MEDIA_TYPES:
            fail("$.mediaType", f"{shown(media_type)} is not a trusted root media type")
        rekor = self._logs(top, "tlogs")
        ctlogs = self._logs(top, "ctlogs")
        fulcio = self._authorities(top, "certificateAuthorities")
        tsas = self._authorities(top, "timestampAuthorities")
        return TrustedRoot(fulcio, rekor, ctlogs, tsas, media_type, tuple(self.skipped))

    # --- transparency logs (rules 4-6) ---

    def _logs(self, top: Mapping[str, Any], name: str) -> tuple[RekorKey, ...]:
        entries = array(top.get(name, []), f"$.{name}", limit=MAX_ENTRIES)  # 3
        keys = (self._log(entry, f"$.{name}[{i}]") for i, entry in enumerate(entries))
        return tuple(key for key in keys if key is not None)

    def _log(self, value: Any, path: str) -> RekorKey | None:
        log = members(value, path, required=_LOG_REQUIRED, optional=_LOG_OPTIONAL)
        base_url = string(log["baseUrl"], f"{path}.baseUrl")
        if "operator" in log:
            string(log["operator"], f"{path}.operator")
        algorithm = string(log["hashAlgorithm"], f"{path}.hashAlgorithm")
        if algorithm != "SHA2_256":  # 4
            fail(f"{path}.hashAlgorithm", f"{shown(algorithm)} is not supported (SHA2_256 only)")
        key_path = f"{path}.publicKey"
        key_doc = members(
            log["publicKey"], key_path, required=_KEY_REQUIRED, optional=_KEY_OPTIONAL
        )
        details = string(key_doc["keyDetails"], f"{key_path}.keyDetails")
        raw = base64_bytes(key_doc["rawBytes"], f"{key_path}.rawBytes", limit=_MAX_DER)
        window = _window(key_doc.get("validFor"), f"{key_path}.validFor", required=False)
        key = _public_key(raw, details, f"{key_path}")  # 5
        if key is None:
            self.skipped.append(f"{path} ({details})")
            return None
        candidates = _key_ids(key, base_url)  # 6
        log_id = _key_id(log["logId"], f"{path}.logId")
        if log_id not in candidates:
            fail(f"{path}.logId.keyId", f"does not identify the log's public key ({base_url})")
        if "checkpointKeyId" in log:
            checkpoint_id = _key_id(log["checkpointKeyId"], f"{path}.checkpointKeyId")
            if checkpoint_id not in candidates:
                fail(f"{path}.checkpointKeyId.keyId", "does not identify the log's public key")
        return RekorKey(key, log_id, window, f"{self.origin} {path} ({base_url})")

    # --- certificate authorities (rule 7) ---

    def _authorities(self, top: Mapping[str, Any], name: str) -> tuple[FulcioAuthority, ...]:
        entries = array(top.get(name, []), f"$.{name}", limit=MAX_ENTRIES)  # 3
        return tuple(self._authority(entry, f"$.{name}[{i}]") for i, entry in enumerate(entries))

    def _authority(self, value: Any, path: str) -> FulcioAuthority:
        ca = members(value, path, required=_CA_REQUIRED, optional=_CA_OPTIONAL)
        uri = string(ca["uri"], f"{path}.uri") if "uri" in ca else ""
        if "operator" in ca:
            string(ca["operator"], f"{path}.operator")
        if "subject" in ca:
            subject = members(
                ca["subject"], f"{path}.subject", required=frozenset(), optional=_SUBJECT_OPTIONAL
            )
            for member, text in subject.items():
                string(text, f"{path}.subject.{member}")
        chain = _chain(ca["certChain"], f"{path}.certChain")
        window = _window(ca["validFor"], f"{path}.validFor", required=True)
        roots = tuple(cert for cert in chain if _self_signed(cert))
        intermediates = tuple(cert for cert in chain if not _self_signed(cert))
        where = f"{self.origin} {path}" + (f" ({uri})" if uri else "")
        return FulcioAuthority(roots, intermediates, window, where)


def _key_id(value: Any, path: str) -> bytes:
    document = members(value, path, required=_KEY_ID)
    return base64_bytes(document["keyId"], f"{path}.keyId", limit=64)


def _public_key(raw: bytes, details: str, path: str) -> PublicKeyTypes | None:
    """The key ``raw`` holds, checked against ``details``; None for a known algorithm we do
    not verify (rule 5)."""
    if details in _KNOWN_UNSUPPORTED:
        return None
    if details not in _EC and details not in _RSA and details != _ED25519:
        fail(f"{path}.keyDetails", f"{shown(details)} is not a known key type")
    try:
        # cryptography also reads a PKCS #1 RSAPublicKey here, which the PKCS1_ name means.
        key = load_der_public_key(raw)
    except (ValueError, TypeError):
        fail(f"{path}.rawBytes", "is not a DER public key")
    if details in _EC:
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != _EC[details]:
            fail(f"{path}.rawBytes", f"is not the ECDSA {_EC[details]} key {details} names")
    elif details in _RSA:
        if not isinstance(key, rsa.RSAPublicKey):
            fail(f"{path}.rawBytes", f"is not the RSA key {details} names")
        if not _RSA[details] <= key.key_size <= _MAX_RSA_BITS:
            fail(f"{path}.rawBytes", f"RSA key of {key.key_size} bits, {details} names another")
    elif not isinstance(key, ed25519.Ed25519PublicKey):
        fail(f"{path}.rawBytes", f"is not the Ed25519 key {details} names")
    return key


def _key_ids(key: PublicKeyTypes, base_url: str) -> frozenset[bytes]:
    """The IDs a log with this key may have (rule 6)."""
    spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ids = {hashlib.sha256(spki).digest()}
    if isinstance(key, ed25519.Ed25519PublicKey):
        note_origin = base_url.partition("://")[2].rstrip("/") or base_url
        raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        ids.add(hashlib.sha256(note_origin.encode() + b"\n\x01" + raw).digest())
    return frozenset(ids)


def _chain(value: Any, path: str) -> tuple[x509.Certificate, ...]:
    document = members(value, path, required=frozenset({"certificates"}))
    entries = array(document["certificates"], f"{path}.certificates", limit=MAX_CHAIN)
    if not entries:
        fail(f"{path}.certificates", "is empty")
    chain: list[x509.Certificate] = []
    for i, entry in enumerate(entries):
        where = f"{path}.certificates[{i}]"
        cert_doc = members(entry, where, required=frozenset({"rawBytes"}))
        der = base64_bytes(cert_doc["rawBytes"], f"{where}.rawBytes", limit=_MAX_DER)
        try:
            chain.append(x509.load_der_x509_certificate(der))
        except ValueError:
            fail(f"{where}.rawBytes", "is not a DER X.509 certificate")
    last = len(chain) - 1
    if not _self_signed(chain[last]):
        fail(
            f"{path}.certificates[{last}]",
            "the last certificate of a chain must be a self-signed root",
        )
    for i, cert in enumerate(chain):
        where = f"{path}.certificates[{i}]"
        issuer = chain[i + 1] if i < last else cert
        if cert.issuer != issuer.subject:
            fail(where, "is not issued by the next certificate of the chain")
        try:
            cert.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            fail(where, "its signature does not verify with the next certificate's key")
    return tuple(chain)


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _window(value: Any, path: str, *, required: bool) -> ValidityWindow:
    if value is None and not required:
        return ValidityWindow()
    document = members(value, path, required=_RANGE_REQUIRED, optional=_RANGE_OPTIONAL)
    start = _timestamp(document["start"], f"{path}.start")
    end = _timestamp(document["end"], f"{path}.end") if "end" in document else None
    if end is not None and end < start:
        fail(f"{path}.end", "is before the start")
    return ValidityWindow(start, end)


def _timestamp(value: Any, path: str) -> int:
    """RFC 3339 (protobuf's Timestamp in JSON) to unix seconds (rule 8)."""
    text = string(value, path, limit=64)
    match = _RFC3339.fullmatch(text)
    if match is None:
        fail(path, f"{shown(text)} is not an RFC 3339 timestamp")
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    zone = match.group(8)
    if not (
        1 <= month <= 12
        and 1 <= day <= calendar.monthrange(year, month)[1]
        and hour < 24
        and minute < 60
        and second < 60
    ):
        fail(path, f"{shown(text)} is not a valid date and time")
    offset = 0
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) - offset
