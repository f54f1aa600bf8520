"""Packet framing (OPENPGP.md §1; RFC 4880 §4.2-4.3, RFC 9580 §4.1-4.3).

Turns octets into ``(tag, body)`` pairs and nothing more: what a packet means, and which
sequences are acceptable, is decided by the callers. Every length is checked against its
container before it is used, so truncated or lying lengths are framing errors, never reads
past the end.
"""

from __future__ import annotations

from typing import Final

from sigpolicy.signature.openpgp.errors import PacketError
from sigpolicy.signature.openpgp.limits import MAX_PARTIAL_CHUNKS

TAG_PKESK = 1
TAG_SIGNATURE = 2
TAG_SKESK = 3
TAG_ONE_PASS = 4
TAG_SECRET_KEY = 5
TAG_PUBLIC_KEY = 6
TAG_SECRET_SUBKEY = 7
TAG_COMPRESSED = 8
TAG_SED = 9
TAG_MARKER = 10
TAG_LITERAL = 11
TAG_TRUST = 12
TAG_USER_ID = 13
TAG_PUBLIC_SUBKEY = 14
TAG_USER_ATTRIBUTE = 17
TAG_SEIPD = 18
TAG_MDC = 19
TAG_AEAD = 20
TAG_PADDING = 21

# Only data packets may be split into partial chunks (RFC 9580 §4.2.1.4).
_PARTIAL_OK = frozenset({TAG_COMPRESSED, TAG_SED, TAG_LITERAL, TAG_SEIPD, TAG_AEAD})
# A legacy indeterminate length runs to the end of its container; GnuPG writes it for the
# compressed packet (0xA3) and we allow it on the data packets that can be last.
_INDETERMINATE_OK = frozenset({TAG_COMPRESSED, TAG_LITERAL})


# Plain classes, not dataclasses or NamedTuples: generating their code at import would slow
# down the start-up of the one-shot ``sigpolicy verify``. ``Final`` keeps fields read-only.
class Packet:
    __slots__ = ("body", "tag")

    def __init__(self, tag: int, body: bytes) -> None:
        self.tag: Final = tag
        self.body: Final = body


def read_packets(data: bytes, *, max_packets: int, max_size: int) -> list[Packet]:
    """Split ``data`` into packets; at most ``max_packets``, bodies of at most ``max_size``."""
    packets: list[Packet] = []
    pos = 0
    end = len(data)
    while pos < end:
        if len(packets) >= max_packets:
            raise PacketError(f"more than {max_packets} packets")
        tag, body, pos = _read_one(data, pos, end, max_size)
        packets.append(Packet(tag, body))
    return packets


def _read_one(data: bytes, pos: int, end: int, max_size: int) -> tuple[int, bytes, int]:
    header = data[pos]
    if not header & 0x80:
        raise PacketError(f"octet {pos}: not a packet header (bit 7 clear)")
    pos += 1
    if header & 0x40:
        tag = header & 0x3F
        return _read_new_format(data, tag, pos, end, max_size)
    tag = (header >> 2) & 0x0F
    length_type = header & 0x03
    if length_type == 3:
        if tag not in _INDETERMINATE_OK:
            raise PacketError(f"packet tag {tag}: indeterminate length not allowed")
        return tag, data[pos:end], end
    width = (1, 2, 4)[length_type]
    if pos + width > end:
        raise PacketError(f"packet tag {tag}: truncated length")
    length = int.from_bytes(data[pos : pos + width], "big")
    pos += width
    return tag, _take(data, pos, length, end, tag, max_size), pos + length


def _read_new_format(
    data: bytes, tag: int, pos: int, end: int, max_size: int
) -> tuple[int, bytes, int]:
    chunks: list[bytes] = []
    total = 0
    while True:
        length, partial, pos = _new_length(data, pos, end, tag)
        if partial and tag not in _PARTIAL_OK:
            raise PacketError(f"packet tag {tag}: partial length not allowed")
        chunk = _take(data, pos, length, end, tag, max_size - total)
        chunks.append(chunk)
        total += length
        pos += length
        if not partial:
            return tag, chunks[0] if len(chunks) == 1 else b"".join(chunks), pos
        if len(chunks) >= MAX_PARTIAL_CHUNKS:
            raise PacketError(f"packet tag {tag}: more than {MAX_PARTIAL_CHUNKS} partial chunks")


def _new_length(data: bytes, pos: int, end: int, tag: int) -> tuple[int, bool, int]:
    if pos >= end:
        raise PacketError(f"packet tag {tag}: truncated length")
    first = data[pos]
    if first < 192:
        return first, False, pos + 1
    if first < 224:
        if pos + 2 > end:
            raise PacketError(f"packet tag {tag}: truncated length")
        return ((first - 192) << 8) + data[pos + 1] + 192, False, pos + 2
    if first == 255:
        if pos + 5 > end:
            raise PacketError(f"packet tag {tag}: truncated length")
        return int.from_bytes(data[pos + 1 : pos + 5], "big"), False, pos + 5
    return 1 << (first & 0x1F), True, pos + 1


def _take(data: bytes, pos: int, length: int, end: int, tag: int, max_size: int) -> bytes:
    if length > max_size:
        raise PacketError(f"packet tag {tag}: body of {length} octets exceeds the limit")
    if pos + length > end:
        raise PacketError(f"packet tag {tag}: length runs past the end of the data")
    return data[pos : pos + length]
