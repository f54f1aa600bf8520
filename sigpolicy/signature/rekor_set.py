"""A Rekor signed entry timestamp (SET), verified offline as containers/image does.

cosign attaches the SET as the ``dev.sigstore.cosign/bundle`` annotation:
``{"SignedEntryTimestamp": base64, "Payload": {"body", "integratedTime", "logIndex",
"logID"}}``. It proves that the log (whose key we trust) integrated, at ``integratedTime``,
an entry whose body names this very signature, public key or certificate, and payload.
The rules, in order (containers/image ``signature/internal/rekor_set.go``); the first that
fails raises :class:`~sigpolicy.errors.VerificationError` with the reason given:

1. The annotation is at most :data:`MAX_SET_BYTES`; it is one JSON object with exactly the
   members ``SignedEntryTimestamp`` (a base64 string) and ``Payload`` (any JSON value), no
   duplicate key anywhere (``malformed``).
2. The SET is an ECDSA signature (SHA-256, as upstream; a P-384 or P-521 key from a trusted
   root may also sign with its curve's hash) over the RFC 8785 canonical form of ``Payload``
   exactly as it arrived (:mod:`sigpolicy.signature.canonical_json`); one of the trusted
   log keys must verify it (``bad-signature``: another log's SET, or an altered one).
   Ed25519 and RSA log keys (a trusted root may hold them) verify as sigstore's
   ``LoadVerifier`` does.
3. Only then is the *canonical* form parsed, with exactly ``body`` (base64), and
   ``integratedTime``, ``logIndex`` (integers that fit 64 bits), ``logID`` (a string)
   (``malformed``). ``logID`` is not compared with the key, as upstream does not.
4. A log key counts only inside its validity window at ``integratedTime`` (a trusted
   root's ``validFor``; ``expired-key``).
5. The body is JSON (no duplicate key; members upstream ignores are ignored, but a member
   whose name differs from a known one only by case is refused, since Go would read it
   as that member): ``kind`` ``hashedrekord`` and ``apiVersion`` ``0.0.1``, the only entry
   kind upstream accepts (``unsupported`` otherwise; missing: ``malformed``).
6. ``spec.signature.publicKey.content`` is base64 of one PEM block whose DER equals the
   DER of the certificate or public key the signature is checked with (``bad-signature``).
7. ``spec.signature.content`` equals the signature annotation's bytes (``bad-signature``).
8. ``spec.data.hash`` is ``sha256`` (``unsupported`` otherwise) with the hex SHA-256 of
   the payload (``bad-signature``).

The result is the entry's integrated time, index and the log key that signed it.
"""

from __future__ import annotations

import binascii
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature._gobase64 import Base64Error, go_b64decode
from sigpolicy.signature.canonical_json import CanonicalJSONError, canonical_form, parse
from sigpolicy.signature.sigstore_roots import RekorKey
from sigpolicy.signature.x509chain import PEMError, parse_pem_blocks

#: The biggest SET annotation read: a body holds one certificate (a few kB) twice encoded.
MAX_SET_BYTES: Final = 256 * 1024
HASHEDREKORD_KIND: Final = "hashedrekord"
HASHEDREKORD_VERSION: Final = "0.0.1"
_INT64: Final = 1 << 63
_MAX_SHOWN: Final = 40


@dataclass(frozen=True, slots=True)
class RekorEntry:
    """What a verified SET proves: the log ``key`` integrated the entry at that time."""

    integrated_time: int
    log_index: int
    log_id: str
    key: RekorKey


def verify_rekor_set(
    keys: Sequence[RekorKey],
    annotation: str,
    *,
    key_or_cert_der: bytes,
    signature: bytes,
    payload: bytes,
) -> RekorEntry:
    """Rules 1-8 for one SET; ``key_or_cert_der`` is what the signature is checked with,
    ``signature`` the decoded signature annotation, ``payload`` the signed bytes."""
    signed, set_signature = _parse_annotation(annotation)  # 1
    canonical = _canonical(signed)
    verifying = [key for key in keys if _verifies(key, set_signature, canonical)]  # 2
    if not verifying:
        count = len(keys)
        raise VerificationError(
            Reason.BAD_SIGNATURE,
            f"the Rekor SET does not verify with the {count} trusted Rekor key"
            f"{'s' * (count != 1)} (another log's entry, or altered)",
        )
    fields = _payload_fields(canonical)  # 3
    integrated_time = fields["integratedTime"]
    in_window = [key for key in verifying if key.window.contains(integrated_time)]  # 4
    if not in_window:
        raise VerificationError(
            Reason.EXPIRED_KEY,
            f"the Rekor key that signed the SET ({verifying[0].origin or 'trusted'}) is not"
            f" valid at the entry's integrated time {integrated_time}",
        )
    body = _json_object(fields["body"], "the Rekor entry body")  # 5
    spec = _hashedrekord_spec(body)
    _match_public_key(spec, key_or_cert_der)  # 6
    _match_signature(spec, signature)  # 7
    _match_payload(spec, payload)  # 8
    return RekorEntry(integrated_time, fields["logIndex"], fields["logID"], in_window[0])


def _malformed(message: str) -> VerificationError:
    return VerificationError(Reason.MALFORMED, f"Rekor SET: {message}")


def _mismatch(message: str) -> VerificationError:
    return VerificationError(Reason.BAD_SIGNATURE, f"Rekor SET: {message}")


def _parse_annotation(annotation: str) -> tuple[Any, bytes]:
    data = annotation.encode("utf-8", "surrogatepass")
    if len(data) > MAX_SET_BYTES:
        raise _malformed(f"{len(data)} bytes, over the {MAX_SET_BYTES}-byte limit")
    try:
        document = parse(data)
    except CanonicalJSONError as exc:
        raise _malformed(f"the dev.sigstore.cosign/bundle annotation: {exc}") from None
    _exact(
        document, "the dev.sigstore.cosign/bundle annotation", ("SignedEntryTimestamp", "Payload")
    )
    timestamp = document["SignedEntryTimestamp"]
    if not isinstance(timestamp, str):
        raise _malformed("SignedEntryTimestamp must be a string")
    try:
        return document["Payload"], go_b64decode(timestamp)
    except Base64Error:
        raise _malformed("SignedEntryTimestamp is not base64") from None


def _canonical(value: Any) -> bytes:
    try:
        return canonical_form(value)
    except CanonicalJSONError as exc:
        raise _malformed(f"canonicalizing the payload: {exc}") from None


def _exact(value: Any, where: str, names: tuple[str, ...]) -> None:
    if not isinstance(value, dict):
        raise _malformed(f"{where} is not a JSON object")
    unknown = sorted(set(value) - set(names))
    if unknown:
        raise _malformed(f"{where}: unknown member {_shown(unknown[0])}")
    missing = [n for n in names if n not in value]
    if missing:
        raise _malformed(f"{where}: missing member {missing[0]!r}")


def _verifies(key: RekorKey, signature: bytes, data: bytes) -> bool:
    public_key = key.public_key
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            if _ecdsa_verifies(public_key, signature, data, hashes.SHA256()):
                return True
            # upstream hashes with SHA-256 whatever the curve; a trusted root's P-384 or
            # P-521 log signs with its curve's hash (PKIX_ECDSA_P384_SHA_384, ...).
            curve_hash = _CURVE_HASHES.get(public_key.curve.name)
            return curve_hash is not None and _ecdsa_verifies(
                public_key, signature, data, curve_hash
            )
        elif isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, data)
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    except Exception:
        # Fail closed (STYLE.md 5): whatever else hostile input makes a primitive raise.
        return False
    return True


_CURVE_HASHES: Final[dict[str, hashes.HashAlgorithm]] = {
    "secp384r1": hashes.SHA384(),
    "secp521r1": hashes.SHA512(),
}


def _ecdsa_verifies(
    key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes, digest: hashes.HashAlgorithm
) -> bool:
    try:
        key.verify(signature, data, ec.ECDSA(digest))
    except InvalidSignature:
        return False
    except Exception:
        return False  # fail closed, as _verifies
    return True


def _payload_fields(canonical: bytes) -> dict[str, Any]:
    document = parse(canonical)
    _exact(document, "the SET payload", ("body", "integratedTime", "logIndex", "logID"))
    body = document["body"]
    if not isinstance(body, str):
        raise _malformed("payload.body must be a string")
    try:
        raw_body = go_b64decode(body)
    except Base64Error:
        raise _malformed("payload.body is not base64") from None
    log_id = document["logID"]
    if not isinstance(log_id, str):
        raise _malformed("payload.logID must be a string")
    return {
        "body": raw_body,
        "integratedTime": _int64(document["integratedTime"], "payload.integratedTime"),
        "logIndex": _int64(document["logIndex"], "payload.logIndex"),
        "logID": log_id,
    }


def _int64(value: Any, where: str) -> int:
    # Go reads the canonical text into an int64: integral values below 1e21 are written
    # as plain digits there, anything else (1.5, 1e+21) is refused.
    if isinstance(value, bool) or not isinstance(value, float):
        raise _malformed(f"{where} must be an integer")
    if not value.is_integer() or abs(value) >= 1e21 or not -_INT64 <= int(value) < _INT64:
        raise _malformed(f"{where} must be a 64-bit integer")
    return int(value)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _malformed(f"the Rekor entry body: duplicate key {_shown(key)}")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise _malformed(f"the Rekor entry body: {name} is not JSON")


_BODY_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_no_duplicates, parse_constant=_reject_constant
)


def _json_object(data: bytes, where: str) -> dict[str, Any]:
    try:
        value = _BODY_DECODER.decode(data.decode("utf-8"))
    except VerificationError:
        raise
    except UnicodeDecodeError:
        raise _malformed(f"{where} is not UTF-8") from None
    except (ValueError, RecursionError):
        raise _malformed(f"{where} is not JSON") from None
    if not isinstance(value, dict):
        raise _malformed(f"{where} is not a JSON object")
    return value


def _member(obj: Mapping[str, Any], name: str, where: str) -> Any:
    """``obj[name]`` or None; a member spelled with other letter cases is refused, since
    Go's decoder would take it for ``name`` (and the last of several)."""
    for key in obj:
        if key != name and key.lower() == name.lower():
            raise _malformed(f"{where}: member {_shown(key)} is a case variant of {name!r}")
    return obj.get(name)


def _field(obj: Mapping[str, Any], path: str, check: Callable[[Any], bool], kind: str) -> Any:
    """The value at ``path`` (dotted, below ``obj``); missing or null: ``malformed``."""
    value: Any = obj
    where = "hashedrekord"
    for part in path.split("."):
        if not isinstance(value, dict):
            raise _malformed(f"{where} must be an object")
        value = _member(value, part, where)
        where = f"{where}.{part}"
        if value is None:
            raise _malformed(f'missing "{where.removeprefix("hashedrekord.")}" in hashedrekord')
    if not check(value):
        raise _malformed(f"{where} must be {kind}")
    return value


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _hashedrekord_spec(body: dict[str, Any]) -> dict[str, Any]:
    kind = _member(body, "kind", "the Rekor entry body")
    if not isinstance(kind, str):
        raise _malformed("the Rekor entry body has no kind")
    if kind != HASHEDREKORD_KIND:
        raise VerificationError(
            Reason.UNSUPPORTED,
            f"Rekor SET: entry kind {_shown(kind)} is not supported (only hashedrekord)",
        )
    version = _member(body, "apiVersion", "the Rekor entry body")
    if version is None:
        raise _malformed("missing Rekor SET Payload API version")
    if not isinstance(version, str):
        raise _malformed("apiVersion must be a string")
    if version != HASHEDREKORD_VERSION:
        raise VerificationError(
            Reason.UNSUPPORTED,
            f"Rekor SET: hashedrekord version {_shown(version)} is not supported (only 0.0.1)",
        )
    spec = _member(body, "spec", "the Rekor entry body")
    if not isinstance(spec, dict):
        raise _malformed("hashedrekord.spec must be an object")
    return spec


def _base64_field(spec: dict[str, Any], path: str) -> bytes:
    text = _field(spec, path, _is_str, "a base64 string")
    try:
        return go_b64decode(text)
    except Base64Error:
        raise _malformed(f"hashedrekord.{path} is not base64") from None


def _match_public_key(spec: dict[str, Any], expected_der: bytes) -> None:
    pem = _base64_field(spec, "signature.publicKey.content")
    try:
        blocks = parse_pem_blocks(pem.decode("utf-8"), "the public key in the Rekor entry")
    except (PEMError, UnicodeDecodeError):
        raise _malformed("publicKey in the Rekor entry is not in PEM format") from None
    if len(blocks) != 1:
        raise _malformed("publicKey in the Rekor entry has trailing data")
    if blocks[0][1] != expected_der:
        raise _mismatch(
            "the logged public key or certificate is not the one this signature is checked with"
        )


def _match_signature(spec: dict[str, Any], signature: bytes) -> None:
    if _base64_field(spec, "signature.content") != signature:
        raise _mismatch("the logged signature is not this signature")


def _match_payload(spec: dict[str, Any], payload: bytes) -> None:
    algorithm = _field(spec, "data.hash.algorithm", _is_str, "a string")
    if algorithm != "sha256":
        raise VerificationError(
            Reason.UNSUPPORTED,
            f"Rekor SET: data.hash.algorithm {_shown(algorithm)} is not supported (only sha256)",
        )
    value = _field(spec, "data.hash.value", _is_str, "a hex string")
    try:
        logged = binascii.unhexlify(value)
    except (binascii.Error, ValueError):
        raise _malformed("hashedrekord.data.hash.value is not hex") from None
    if logged != hashlib.sha256(payload).digest():
        raise _mismatch("the logged payload hash is not this payload's")


def _shown(value: str) -> str:
    """``value`` quoted and cut short: it is untrusted and may be long or hostile."""
    if len(value) > _MAX_SHOWN:
        return repr(value[:_MAX_SHOWN])[:-1] + "...'"
    return repr(value)
