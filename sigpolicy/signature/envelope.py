"""The envelope of a signature file in a ``dir:`` layout or a lookaside store (SEMANTICS.md §1).

containers/image stores simple signing raw (for compatibility with old layouts) and every
other format as ``0x00`` + format name + ``\\n`` + data (``internal/signature/signature.go``).
:func:`parse_signature_file` tells them apart; nothing here is authenticated, so every field
of the result is untrusted until a verifier has checked it.

Rules, in order; the first that fails decides the reason class:

1. At most :data:`MAX_SIGNATURE_FILE` bytes (containers/image's ``MaxSignatureBodySize``)
   and not empty: ``malformed``.
2. A first byte with bit 7 set is an OpenPGP packet header, and text starting (after blank
   space) with ``-----BEGIN PGP `` is ASCII armor: both are a raw OpenPGP simple-signing
   blob, :class:`SimpleSigningSignature`. Which packets are acceptable is the OpenPGP
   verifier's business; containers/image only takes the compressed, one-pass and signature
   tags here and the verifier refuses the others anyway.
3. A first byte ``0x00`` starts a format name that ends at the first ``\\n`` (missing:
   ``malformed``) and is printable ASCII (else ``malformed``).
4. ``simple-signing`` gives a :class:`SimpleSigningSignature` of the rest; ``sigstore-json``
   gives a :class:`SigstoreSignature` (rule 5); any other name is ``unsupported``.
5. ``sigstore-json`` is one UTF-8 JSON object, nothing after it, parsed strictly
   (``malformed`` otherwise):

   a. no duplicate key anywhere, no NaN or Infinity, no lone surrogate in a string;
   b. exactly the members ``mimeType`` (string), ``payload`` (standard base64 with padding,
      no line breaks) and ``annotations`` (an object of strings).

   containers/image reads it with Go's lenient ``json.Unmarshal``, which matches member
   names case-insensitively and lets the last duplicate win. Refusing duplicates and unknown
   members (``MimeType`` is one) means no file is read one way here and another way there.
   The mime type and the annotations are kept as found: which of them make a signature is
   the cosign verifier's business (:mod:`sigpolicy.signature.cosign`).
6. Any other first byte: ``malformed``.
"""

from __future__ import annotations

import binascii
import json
from typing import Any, Final

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.openpgp.armor import is_armored

#: containers/image ``iolimits.MaxSignatureBodySize``: no signature file is bigger.
MAX_SIGNATURE_FILE: Final = 4 * 1024 * 1024

SIMPLE_SIGNING_FORMAT: Final = "simple-signing"
SIGSTORE_FORMAT: Final = "sigstore-json"
#: The cosign annotation that holds the signature (``pkg/oci/static.SignatureAnnotationKey``).
SIGNATURE_ANNOTATION: Final = "dev.cosignproject.cosign/signature"

_SIGSTORE_MEMBERS: Final = frozenset(("mimeType", "payload", "annotations"))
_MAX_SHOWN: Final = 40


# Plain classes, not dataclasses or NamedTuples: generating their code at import would slow
# down the start-up of the one-shot ``sigpolicy verify``. ``Final`` keeps fields read-only.
class SimpleSigningSignature:
    """An OpenPGP simple-signing blob, raw or armored, for the OpenPGP verifier."""

    __slots__ = ("blob",)

    def __init__(self, blob: bytes) -> None:
        self.blob: Final = blob

    def __repr__(self) -> str:
        return f"SimpleSigningSignature(<{len(self.blob)} bytes>)"


class SigstoreSignature:
    """A cosign attachment: what an OCI layer of a ``sha256-<hex>.sig`` tag carries.

    ``payload`` is the decoded layer blob (the exact bytes that were signed), ``signature``
    the ``dev.cosignproject.cosign/signature`` annotation as written (base64), or None when
    absent; ``annotations`` holds every annotation, that one included. All untrusted.
    """

    __slots__ = ("annotations", "mime_type", "payload", "signature")

    def __init__(
        self,
        mime_type: str,
        payload: bytes,
        signature: str | None,
        annotations: dict[str, str],
    ) -> None:
        self.mime_type: Final = mime_type
        self.payload: Final = payload
        self.signature: Final = signature
        self.annotations: Final = annotations

    def __repr__(self) -> str:
        return f"SigstoreSignature(mime_type={self.mime_type!r}, <{len(self.payload)} bytes>)"


Signature = SimpleSigningSignature | SigstoreSignature


def parse_signature_file(data: bytes) -> Signature:
    """Parse one signature file by the rules of this module; raise VerificationError."""
    if len(data) > MAX_SIGNATURE_FILE:  # 1
        raise VerificationError(
            Reason.MALFORMED,
            f"the signature file is {len(data)} bytes, over the {MAX_SIGNATURE_FILE}-byte limit",
        )
    if not data:
        raise VerificationError(Reason.MALFORMED, "the signature file is empty")
    first = data[0]
    if first & 0x80 or is_armored(data):  # 2
        return SimpleSigningSignature(data)
    if first != 0x00:  # 6
        raise VerificationError(
            Reason.MALFORMED, f"unrecognized signature format, starting with byte {first:#04x}"
        )
    name_bytes, newline, chunk = data[1:].partition(b"\n")  # 3
    if not newline:
        raise VerificationError(
            Reason.MALFORMED, "invalid signature format: no newline after the format name"
        )
    if any(byte < 0x20 or byte >= 0x7F for byte in name_bytes):
        raise VerificationError(
            Reason.MALFORMED, "invalid signature format: the format name is not printable ASCII"
        )
    name = name_bytes.decode("ascii")
    if name == SIMPLE_SIGNING_FORMAT:  # 4
        return SimpleSigningSignature(chunk)
    if name == SIGSTORE_FORMAT:
        return parse_sigstore_json(chunk)
    raise VerificationError(Reason.UNSUPPORTED, f"unsupported signature format {_shown(name)}")


def parse_sigstore_json(chunk: bytes) -> SigstoreSignature:
    """The data of a ``sigstore-json`` envelope (rule 5); raise VerificationError(malformed)."""
    try:
        return _parse_sigstore(chunk)
    except _EnvelopeError as exc:
        raise VerificationError(Reason.MALFORMED, f"sigstore-json signature: {exc}") from None


class _EnvelopeError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _EnvelopeError(f"duplicate key {_shown(key)}")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise _EnvelopeError(f"{name} is not a valid JSON number")


def _parse_sigstore(chunk: bytes) -> SigstoreSignature:
    try:
        document = json.loads(
            chunk.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
        )
    except UnicodeDecodeError:
        raise _EnvelopeError("not UTF-8") from None
    except _EnvelopeError:
        raise
    except (ValueError, RecursionError) as exc:
        raise _EnvelopeError(f"not a JSON object ({exc.__class__.__name__})") from None
    if not isinstance(document, dict):  # 5b
        raise _EnvelopeError("not a JSON object")
    if set(document) != _SIGSTORE_MEMBERS:
        unknown = sorted(set(document) - _SIGSTORE_MEMBERS)
        missing = sorted(_SIGSTORE_MEMBERS - set(document))
        detail = f"unknown member {_shown(unknown[0])}" if unknown else f"missing {missing[0]!r}"
        raise _EnvelopeError(detail)
    mime_type = _string(document["mimeType"], "mimeType")
    payload = _base64(_string(document["payload"], "payload"), "payload")
    raw_annotations = document["annotations"]
    if not isinstance(raw_annotations, dict):
        raise _EnvelopeError("annotations must be an object")
    annotations = {
        _string(key, "an annotation name"): _string(value, f"annotation {_shown(key)}")
        for key, value in raw_annotations.items()
    }
    return SigstoreSignature(mime_type, payload, annotations.get(SIGNATURE_ANNOTATION), annotations)


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _EnvelopeError(f"{where} must be a string")
    try:
        # A lone surrogate (``"\ud800"``) is legal JSON escaping but no text: Go replaces it
        # with U+FFFD, so keeping it would make two implementations read different strings.
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _EnvelopeError(f"{where} holds an unpaired surrogate") from None
    return value


def _base64(value: str, where: str) -> bytes:
    try:
        # Strict mode refuses characters outside the alphabet (Go's decoder would skip line
        # breaks) and data after the padding; the padding itself must be there either way.
        return binascii.a2b_base64(value.encode("ascii"), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error):
        raise _EnvelopeError(f"{where} is not valid base64") from None


def _shown(value: str) -> str:
    """``value`` quoted and cut short: it is untrusted and may be long or hostile."""
    if len(value) > _MAX_SHOWN:
        return repr(value[:_MAX_SHOWN])[:-1] + "...'"
    return repr(value)
