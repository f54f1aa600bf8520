"""``publicKeyID`` values: pins in the trust store and declarations on ImageSignatures.

A key ID names a key by the low bits of its fingerprint, written as hex digits with an
optional ``0x`` prefix, in any case. Rules:

1. At least 16 hex digits (64 bits): shorter IDs are cheap to collide (a 32-bit "short key
   ID" can be forged in seconds), so a pin that short is refused as too weak.
2. At most 40 hex digits, the length of a v4 fingerprint.
3. A key ID matches a fingerprint when it equals the fingerprint's trailing digits.
"""

from __future__ import annotations

import re

MIN_PIN_DIGITS = 16
MAX_PIN_DIGITS = 40

_HEX = re.compile(r"[0-9A-Fa-f]*")
_PREFIX = re.compile(r"0[xX]")


class PinError(ValueError):
    """A key ID that is not 16 to 40 hex digits; the message says which rule it breaks."""


def parse_key_id(text: str) -> str:
    """The key ID's digits, uppercase and without ``0x``; raises :class:`PinError`."""
    digits = text[2:] if _PREFIX.match(text) else text
    if not _HEX.fullmatch(digits):
        raise PinError(f"{text!r} is not hexadecimal")
    required = f"({MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} required)"
    if len(digits) < MIN_PIN_DIGITS:
        raise PinError(f"{len(digits)} hex digits is too weak {required}")
    if len(digits) > MAX_PIN_DIGITS:
        raise PinError(f"{len(digits)} hex digits is too long {required}")
    return digits.upper()


def key_id_matches(key_id: str, fingerprint: str) -> bool:
    """Whether ``key_id`` (as returned by :func:`parse_key_id`) ends ``fingerprint``."""
    return fingerprint.upper().endswith(key_id)
