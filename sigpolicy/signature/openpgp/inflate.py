"""Bounded decompression of a compressed data packet (OPENPGP.md §2).

Decompression runs before any signature check, so the output cap is the only defence
against a compression bomb: output is produced incrementally and refused one octet past the
cap, without inflating the rest.
"""

from __future__ import annotations

import zlib

from sigpolicy.signature.openpgp.errors import PacketError, UnsupportedError

# Text tools append a newline to files they touch, and GnuPG and x/crypto both ignore what
# follows the end of a compressed stream; containers/image's corrupt.signature fixture has
# exactly that. Whitespace is tolerated there, anything else is trailing garbage.
_TOLERATED_TRAILER = b" \t\r\n"
_MAX_TOLERATED_TRAILER = 16

ZIP = 1
ZLIB = 2
BZIP2 = 3


def inflate(body: bytes, cap: int) -> bytes:
    """Decompress a compressed-data packet body (algorithm octet + stream) to at most ``cap``."""
    if not body:
        raise PacketError("empty compressed packet")
    algorithm, stream = body[0], body[1:]
    if algorithm == ZIP:
        return _inflate_zlib(stream, -15, cap)
    if algorithm == ZLIB:
        return _inflate_zlib(stream, 15, cap)
    if algorithm == BZIP2:
        return _inflate_bzip2(stream, cap)
    if algorithm == 0:
        raise PacketError("compression algorithm 0 (uncompressed) inside a compressed packet")
    raise UnsupportedError(f"compression algorithm {algorithm}")


def _inflate_zlib(stream: bytes, wbits: int, cap: int) -> bytes:
    decompressor = zlib.decompressobj(wbits)
    out: list[bytes] = []
    produced = 0
    pending = stream
    try:
        while True:
            # max_length is never 0 here: zlib would read 0 as "unlimited".
            chunk = decompressor.decompress(pending, cap - produced + 1)
            produced += len(chunk)
            if produced > cap:
                raise PacketError(f"decompressed data exceeds {cap} octets")
            out.append(chunk)
            if decompressor.eof:
                break
            pending = decompressor.unconsumed_tail
            if not pending:
                break
    except zlib.error as exc:
        raise PacketError(f"corrupt compressed data: {exc}") from None
    if not decompressor.eof:
        raise PacketError("truncated compressed data")
    _check_trailer(decompressor.unused_data)
    return b"".join(out)


def _check_trailer(trailer: bytes) -> None:
    if len(trailer) > _MAX_TOLERATED_TRAILER or trailer.strip(_TOLERATED_TRAILER):
        raise PacketError("data after the end of the compressed stream")


def _inflate_bzip2(stream: bytes, cap: int) -> bytes:
    # Imported here: BZip2 is rare, and the one-shot ``sigpolicy verify`` starts faster without.
    import bz2

    decompressor = bz2.BZ2Decompressor()
    out: list[bytes] = []
    produced = 0
    pending = stream
    try:
        while not decompressor.eof:
            chunk = decompressor.decompress(pending, cap - produced + 1)
            pending = b""
            produced += len(chunk)
            if produced > cap:
                raise PacketError(f"decompressed data exceeds {cap} octets")
            out.append(chunk)
            if decompressor.needs_input:
                break
    except (OSError, ValueError, EOFError) as exc:
        raise PacketError(f"corrupt compressed data: {exc}") from None
    if not decompressor.eof:
        raise PacketError("truncated compressed data")
    _check_trailer(decompressor.unused_data)
    return b"".join(out)
