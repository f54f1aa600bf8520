"""The signed payload of a Docker schema-1 manifest, as containers/image derives it.

containers/image ``manifest.Digest`` hashes a manifest as is, except when ``GuessMIMEType``
says it is a *signed* schema-1 manifest; then libtrust ``ParsePrettySignature(m,
"signatures")`` gives the payload to hash. Both read the manifest with Go's
``encoding/json`` into typed structs, so this module reproduces the Go behaviours that
decide the outcome:

- object members are matched to struct fields exactly first, else case-insensitively (simple
  Unicode folding: U+017F long s is ``s``, U+212A Kelvin is ``k``); for a ``map`` target keys are
  exact; a repeated key overwrites (the last one wins);
- JSON ``null`` leaves a string, int or struct field untouched, sets ``any`` to nil;
- a value of the wrong type (a string where an int goes, ``1.0`` for an int, a number out of
  float64 range inside ``any``) fails the whole decode;
- invalid UTF-8 inside strings is replaced, not refused; ``NaN``/``Infinity`` are syntax
  errors.

Signed schema-1 (``GuessMIMEType``): the manifest decodes into ``{mediaType string,
schemaVersion int, signatures any}``; ``mediaType`` is not one of the four schema-2/OCI
types; ``schemaVersion`` is 1; ``signatures`` is not nil. A manifest that fails to decode is
*not* schema-1 (hashed as is).

Payload (libtrust ``ParsePrettySignature``), every failure an error:

1. The manifest is a JSON object with a ``signatures`` member holding an array of objects
   ``{header: {jwk, alg string, x5c []string}, signature string, protected string}``.
2. Each ``protected`` is base64url (padding optional) of a JSON object with a number
   ``formatLength`` (truncated to an integer) and a string ``formatTail`` (base64url).
3. All signatures agree on both, where a zero length or an empty tail counts as "not set yet".
4. A present ``jwk`` must be a usable EC (P-256/384/521) or RSA public key whose ``kid``, if
   present, is its libtrust key ID.
5. ``0 <= formatLength <= len(manifest)``; the payload is ``manifest[:formatLength] + tail``.

Where Go would panic (negative length, an RSA exponent over 4 bytes) we fail. We also refuse an
empty ``signatures`` array, which upstream turns into an empty payload (the digest of nothing):
no signature can have been made over it, so it can only hide a mistake or an attack.
"""

from __future__ import annotations

# base64 and hashlib are imported where they are used: only signed schema-1 manifests need
# them, and the one-shot ``sigpolicy verify`` starts milliseconds faster without them.
import binascii
import json
import math
import re
from collections.abc import Callable
from typing import Any, Final

_SCHEMA2_OR_OCI_MEDIA_TYPES: Final = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    }
)

# A signed schema-1 manifest needs a member that folds to "signatures"; a key can also be
# spelled with \u escapes. Without either, decoding the JSON cannot change the answer.
_SIGNATURES_HINT_RE: Final = re.compile(
    rb"(?:[sS]|\xc5\xbf)[iI][gG][nN][aA][tT][uU][rR][eE](?:[sS]|\xc5\xbf)"
)

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_GO_FOLD: Final = {"\u017f": "s", "\u212a": "k"}
_MISSING: Final = object()


class JWSError(ValueError):
    """The JWS signatures of a signed schema-1 manifest cannot be parsed."""


class _TooDeepError(JWSError):
    """The JSON nests deeper than Python's parser goes (Go allows 10000 levels)."""


class _Object(list[tuple[str, Any]]):
    """A decoded JSON object: its members in document order, repeats kept."""


class _GoTypeError(ValueError):
    """A JSON value does not fit the Go type it is decoded into."""


def is_signed_schema1(manifest: bytes) -> bool:
    """containers/image ``GuessMIMEType(manifest) == DockerV2Schema1SignedMediaType``.

    Raises :class:`JWSError` only when the JSON nests too deeply to tell.
    """
    if _SIGNATURES_HINT_RE.search(manifest) is None and b"\\u" not in manifest:
        return False
    try:
        document = _decode(manifest)
    except _TooDeepError:
        # Go might have decoded it; computing a digest on a guess is not an option.
        raise
    except ValueError:
        return False
    if document is None:
        return False
    try:
        fields = _struct(document, ("mediaType", "schemaVersion", "signatures"))
        media_type = _go_string(fields.get("mediaType"))
        schema_version = _go_int(fields.get("schemaVersion"))
        signatures_set = "signatures" in fields and fields["signatures"] is not None
        if signatures_set:
            _go_any(fields["signatures"])
    except _GoTypeError:
        return False
    if media_type in _SCHEMA2_OR_OCI_MEDIA_TYPES:
        return False
    return schema_version == 1 and signatures_set


def signed_payload(manifest: bytes) -> bytes:
    """libtrust ``ParsePrettySignature(manifest, "signatures").Payload()``.

    Raises :class:`JWSError` when any step in this module's list fails.
    """
    try:
        return _signed_payload(manifest)
    except JWSError:
        raise
    except ValueError as exc:  # JSON syntax errors and _GoTypeError
        raise JWSError(str(exc)) from None


def _signed_payload(manifest: bytes) -> bytes:
    # 1.
    document = _decode(manifest)
    if not isinstance(document, _Object):
        raise JWSError("the manifest is not a JSON object")
    members = _last_wins(document)
    if "signatures" not in members:
        raise JWSError("the manifest has no signatures member")
    blocks = members["signatures"]
    if blocks is None:
        blocks = []
    if not isinstance(blocks, list) or isinstance(blocks, _Object):
        raise JWSError("signatures is not an array")
    if not blocks:
        raise JWSError("signatures is empty")
    format_length = 0
    format_tail = b""
    for block in blocks:
        protected = _parse_block(block)
        # 2.
        header = _decode(_jose_base64url_decode(protected, "protected header"))
        if header is not None and not isinstance(header, _Object):
            raise JWSError("the protected header is not a JSON object")
        header_map = _last_wins(header) if header is not None else {}
        for value in header_map.values():
            _go_any(value)
        length = _format_length(header_map.get("formatLength", _MISSING))
        tail_text = header_map.get("formatTail", _MISSING)
        if not isinstance(tail_text, str):
            raise JWSError("the protected header has no string formatTail")
        tail = _jose_base64url_decode(tail_text, "formatTail")
        # 3.
        if format_length == 0:
            format_length = length
        elif format_length != length:
            raise JWSError("the signatures disagree on formatLength")
        if not format_tail:
            format_tail = tail
        elif format_tail != tail:
            raise JWSError("the signatures disagree on formatTail")
    # 5.
    if format_length < 0 or format_length > len(manifest):
        raise JWSError(f"formatLength {format_length} is outside the manifest")
    return manifest[:format_length] + format_tail


def _parse_block(block: Any) -> str:
    """Decode one ``jsParsedSignature``; returns its ``protected`` string."""
    if block is None:
        return ""
    if not isinstance(block, _Object):
        raise JWSError("a signature is not a JSON object")
    fields = _struct(block, ("header", "signature", "protected"))
    _go_string(fields.get("signature"))
    header = fields.get("header")
    if header is not None:
        if not isinstance(header, _Object):
            raise JWSError("a signature header is not a JSON object")
        header_fields = _struct(header, ("jwk", "alg", "x5c"))
        _go_string(header_fields.get("alg"))
        chain = header_fields.get("x5c")
        if chain is not None:
            if not isinstance(chain, list) or isinstance(chain, _Object):
                raise JWSError("x5c is not an array")
            for cert in chain:
                _go_string(cert)
        # 4. A json.RawMessage field is set even by a JSON null, so presence is what counts.
        if "jwk" in header_fields:
            _check_jwk(header_fields["jwk"])
    return _go_string(fields.get("protected"))


def _format_length(value: Any) -> int:
    # libtrust readIntFromMap: a JSON number (float64), converted with Go's int(); anything
    # else counts as missing.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JWSError("the protected header has no numeric formatLength")
    as_float = float(value)
    return math.trunc(as_float)


# --- Go encoding/json emulation ---------------------------------------------------------


def _decode(data: bytes) -> Any:
    """``json.Unmarshal`` syntax: raises ValueError where Go reports a syntax error."""
    text = data.decode("utf-8", errors="replace")
    try:
        return json.loads(text, object_pairs_hook=_Object, parse_constant=_refuse_constant)
    except RecursionError:
        raise _TooDeepError("the JSON nests too deeply") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON literal {name}")


def _go_fold(key: str) -> str:
    return "".join(_GO_FOLD.get(c, c.lower() if c.isascii() else c) for c in key)


def _struct(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """Members of ``obj`` assigned to struct fields ``names`` the way Go matches them."""
    if not isinstance(obj, _Object):
        raise _GoTypeError("not a JSON object")
    folded = {_go_fold(name): name for name in names}
    fields: dict[str, Any] = {}
    for key, value in obj:
        name = key if key in names else folded.get(_go_fold(key))
        if name is not None:
            fields[name] = value
    return fields


def _last_wins(obj: _Object) -> dict[str, Any]:
    return dict(obj)


def _go_string(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _GoTypeError("expected a JSON string")
    return value


def _go_int(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise _GoTypeError("expected a JSON integer")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise _GoTypeError("integer out of range")
    return value


def _go_any(value: Any) -> None:
    """Decoding into ``any`` turns every number into a float64, which may overflow."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Object):
            stack.extend(v for _, v in item)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, float):
            if math.isinf(item):
                raise _GoTypeError("number out of float64 range")
        elif isinstance(item, int) and not isinstance(item, bool):
            try:
                float(item)
            except OverflowError:
                raise _GoTypeError("number out of float64 range") from None


# --- libtrust --------------------------------------------------------------------------

_BASE64URL_RE: Final = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def _jose_base64url_decode(value: str, what: str) -> bytes:
    """libtrust ``joseBase64UrlDecode``: re-pad, then Go's padded URL-safe decoder.

    Go's decoder skips CR and LF, refuses any other character outside the alphabet, and
    does not insist that unused trailing bits are zero.
    """
    import base64

    remainder = len(value) % 4
    if remainder == 1:
        raise JWSError(f"{what} is not base64url")
    padded = value + "=" * ((4 - remainder) % 4)
    padded = padded.replace("\r", "").replace("\n", "")
    if len(padded) % 4 or not _BASE64URL_RE.fullmatch(padded):
        raise JWSError(f"{what} is not base64url")
    try:
        return base64.urlsafe_b64decode(padded)
    except binascii.Error:
        raise JWSError(f"{what} is not base64url") from None


# NIST curves (a = -3): field prime p, coefficient b, coordinate size in bytes, DER OID body.
_CURVES: Final[dict[str, tuple[int, int, int, bytes]]] = {
    "P-256": (
        0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF,
        0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
        32,
        bytes.fromhex("2a8648ce3d030107"),
    ),
    "P-384": (
        2**384 - 2**128 - 2**96 + 2**32 - 1,
        0xB3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF,
        48,
        bytes.fromhex("2b81040022"),
    ),
    "P-521": (
        2**521 - 1,
        0x0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00,
        66,
        bytes.fromhex("2b81040023"),
    ),
}
_OID_EC_PUBLIC_KEY: Final = bytes.fromhex("2a8648ce3d0201")
_OID_RSA_ENCRYPTION: Final = bytes.fromhex("2a864886f70d010101")


def _check_jwk(raw: Any) -> None:
    """libtrust ``UnmarshalPublicKeyJWK`` succeeds on ``raw``."""
    if not isinstance(raw, _Object):
        raise JWSError("the jwk header is not a JSON object")
    jwk = _last_wins(raw)
    for value in jwk.values():
        _go_any(value)
    kty = _jwk_string(jwk, "kty")
    checks: dict[str, Callable[[dict[str, Any]], bytes]] = {"EC": _ec_der, "RSA": _rsa_der}
    der_of = checks.get(kty)
    if der_of is None:
        raise JWSError(f"jwk key type {kty!r} is not supported")
    der = der_of(jwk)
    if "kid" in jwk and _jwk_string(jwk, "kid") != _key_id(der):
        raise JWSError("the jwk kid does not match the key")


def _jwk_string(jwk: dict[str, Any], name: str) -> str:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise JWSError(f"jwk {name} is missing or not a string")
    return value


def _ec_der(jwk: dict[str, Any]) -> bytes:
    curve = _CURVES.get(_jwk_string(jwk, "crv"))
    if curve is None:
        raise JWSError("jwk curve is not supported")
    p, b, size, curve_oid = curve
    x_bytes = _jose_base64url_decode(_jwk_string(jwk, "x"), "jwk x")
    y_bytes = _jose_base64url_decode(_jwk_string(jwk, "y"), "jwk y")
    if len(x_bytes) != size or len(y_bytes) != size:
        raise JWSError("jwk coordinates have the wrong length")
    x, y = int.from_bytes(x_bytes, "big"), int.from_bytes(y_bytes, "big")
    if not (x < p and y < p and (y * y - (x * x * x - 3 * x + b)) % p == 0):
        # Go's MarshalPKIXPublicKey refuses the point and libtrust's key ID becomes "".
        return b""
    algorithm = _der(0x30, _der(0x06, _OID_EC_PUBLIC_KEY) + _der(0x06, curve_oid))
    point = b"\x04" + x_bytes + y_bytes
    return _der(0x30, algorithm + _der(0x03, b"\x00" + point))


def _rsa_der(jwk: dict[str, Any]) -> bytes:
    modulus = int.from_bytes(_jose_base64url_decode(_jwk_string(jwk, "n"), "jwk n"), "big")
    exponent_bytes = _jose_base64url_decode(_jwk_string(jwk, "e"), "jwk e")
    if len(exponent_bytes) > 4:
        raise JWSError("jwk exponent is too long")
    exponent = int.from_bytes(exponent_bytes, "big")
    algorithm = _der(0x30, _der(0x06, _OID_RSA_ENCRYPTION) + b"\x05\x00")
    key = _der(0x30, _der_integer(modulus) + _der_integer(exponent))
    return _der(0x30, algorithm + _der(0x03, b"\x00" + key))


def _key_id(der: bytes) -> str:
    """libtrust ``keyIDFromCryptoKey``: base32 of SHA-256[:30], in 12 groups of four."""
    if not der:
        return ""
    import base64
    import hashlib

    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def _der(tag: int, body: bytes) -> bytes:
    length = len(body)
    if length < 0x80:
        return bytes([tag, length]) + body
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + body


def _der_integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return _der(0x02, body)
