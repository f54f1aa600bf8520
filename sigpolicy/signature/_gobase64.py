"""Base64 as Go's ``base64.StdEncoding`` (and ``encoding/json`` for ``[]byte``) reads it.

containers/image decodes the signature annotation, the SET and the fields of a Rekor entry
with Go's standard decoder: the standard alphabet, padding required, and carriage returns
and line feeds skipped wherever they are (cosign wraps long RSA signatures at 76 columns).
Anything else outside the alphabet is an error, as is data after the padding.
"""

from __future__ import annotations

import binascii


class Base64Error(ValueError):
    """Not Go-readable standard base64."""


def go_b64decode(text: str) -> bytes:
    """The bytes ``text`` encodes; raise :class:`Base64Error`."""
    cleaned = text.replace("\r", "").replace("\n", "")
    try:
        return binascii.a2b_base64(cleaned.encode("ascii"), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error):
        raise Base64Error("not valid base64") from None
