"""Internal errors of the OpenPGP parser, mapped to the public tree at the module boundary.

The same framing code reads signatures (where a framing error is the verdict ``malformed``)
and key files (where it makes the invocation unusable), so the parser raises these and each
caller decides what they mean.
"""

from __future__ import annotations


class PacketError(ValueError):
    """The octets do not frame or parse as OpenPGP."""


class UnsupportedError(ValueError):
    """Well-formed, but uses a version, algorithm or shape that is refused."""
