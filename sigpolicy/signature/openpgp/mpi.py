"""Multiprecision integers (RFC 9580 §3.2)."""

from __future__ import annotations

from sigpolicy.signature.openpgp.errors import PacketError
from sigpolicy.signature.openpgp.limits import MAX_MPI_BITS


def read_mpi(data: bytes, pos: int) -> tuple[bytes, int]:
    """Return the MPI's magnitude octets (leading zero octets kept as sent) and the new offset.

    Leading zero bits are tolerated in v4 material, as GnuPG does; bits set above the
    stated count are not.
    """
    if pos + 2 > len(data):
        raise PacketError("truncated MPI")
    bits = int.from_bytes(data[pos : pos + 2], "big")
    if bits > MAX_MPI_BITS:
        raise PacketError(f"MPI of {bits} bits exceeds the limit")
    size = (bits + 7) // 8
    start = pos + 2
    if start + size > len(data):
        raise PacketError("MPI runs past the packet")
    value = data[start : start + size]
    if size and value[0] >> (bits - 8 * (size - 1)):
        raise PacketError("MPI has bits set above its stated length")
    return value, start + size
