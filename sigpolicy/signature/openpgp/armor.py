"""ASCII armor (OPENPGP.md §8; RFC 4880 §6, RFC 9580 §6).

The armor is transport, not trust: headers are ignored and a CRC-24 mismatch is reported
but never fatal (RFC 9580 §6.1); the signature check is what counts.
"""

from __future__ import annotations

import binascii
import re

from sigpolicy.signature.openpgp.errors import PacketError

ARMOR_PREFIX = b"-----BEGIN PGP "
_BLOCK = re.compile(
    rb"^-----BEGIN PGP ([A-Z0-9 ,/]+)-----[ \t]*\r?$"
    rb"(.*?)"
    rb"^-----END PGP ([A-Z0-9 ,/]+)-----[ \t]*\r?$",
    re.MULTILINE | re.DOTALL,
)
_MAX_LINE = 4096
_MAX_CRC_CHECKED = 1024 * 1024


def is_armored(data: bytes) -> bool:
    return data.lstrip()[: len(ARMOR_PREFIX)] == ARMOR_PREFIX


def dearmor_message(data: bytes) -> bytes:
    """The binary form of a blob that must be exactly one ``PGP MESSAGE`` block."""
    blocks = _blocks(data)
    if len(blocks) != 1:
        raise PacketError(f"expected one armored PGP MESSAGE block, found {len(blocks)}")
    label, body, start, end = blocks[0]
    if label != "MESSAGE":
        raise PacketError(f"armored PGP {label} is not a signed message")
    if data[:start].strip() or data[end:].strip():
        raise PacketError("text outside the armored PGP MESSAGE block")
    return body


def dearmor_keys(data: bytes) -> list[bytes]:
    """Every ``PGP PUBLIC KEY BLOCK`` of a key file; text between blocks is ignored."""
    blocks = _blocks(data)
    if not blocks:
        raise PacketError("no armored PGP block found")
    out: list[bytes] = []
    for label, body, _, _ in blocks:
        if label == "PRIVATE KEY BLOCK":
            raise PacketError("a secret key block cannot be a trust anchor")
        if label != "PUBLIC KEY BLOCK":
            raise PacketError(f"armored PGP {label} is not a public key block")
        out.append(body)
    return out


def _blocks(data: bytes) -> list[tuple[str, bytes, int, int]]:
    try:
        data.decode("ascii")
    except UnicodeDecodeError:
        raise PacketError("armored data contains non-ASCII octets") from None
    if b"\x00" in data:
        raise PacketError("armored data contains NUL octets")
    found: list[tuple[str, bytes, int, int]] = []
    for match in _BLOCK.finditer(data):
        label = match.group(1).decode()
        if match.group(3).decode() != label:
            raise PacketError(f"armor header PGP {label} ends with PGP {match.group(3).decode()}")
        found.append((label, _decode_body(match.group(2), label), match.start(), match.end()))
    if not found and b"-----BEGIN PGP " in data:
        raise PacketError("armored block without a matching END line")
    return found


def _decode_body(text: bytes, label: str) -> bytes:
    lines = text.split(b"\n")
    # Headers run up to the first blank line; a block without headers starts with it.
    for index, line in enumerate(lines[1:], start=1):
        if not line.strip():
            data_lines = lines[index + 1 :]
            break
        if b":" not in line:
            raise PacketError(f"armored PGP {label}: header line without ':'")
    else:
        raise PacketError(f"armored PGP {label}: no blank line after the headers")
    checksum: bytes | None = None
    payload: list[bytes] = []
    for line in data_lines:
        line = line.strip()
        if len(line) > _MAX_LINE:
            raise PacketError(f"armored PGP {label}: line too long")
        if len(line) == 5 and line.startswith(b"="):
            checksum = line[1:]
            continue
        if line:
            payload.append(line)
    # binascii, which base64.b64decode(validate=True) calls, without importing base64.
    try:
        binary = binascii.a2b_base64(b"".join(payload), strict_mode=True)
    except binascii.Error:
        raise PacketError(f"armored PGP {label}: invalid base64") from None
    # The CRC is advisory (RFC 9580 §6.1); checking it on huge key files would only cost time.
    if checksum is not None and len(binary) <= _MAX_CRC_CHECKED:
        _check_crc(binary, checksum, label)
    return binary


def _check_crc(binary: bytes, checksum: bytes, label: str) -> None:
    try:
        expected = int.from_bytes(binascii.a2b_base64(checksum, strict_mode=True), "big")
    except binascii.Error:
        _warn("armored PGP %s: unreadable CRC-24 line ignored", label)
        return
    if crc24(binary) != expected:
        _warn("armored PGP %s: CRC-24 mismatch ignored (RFC 9580 §6.1)", label)


def _warn(message: str, label: str) -> None:
    # logging is imported only when there is something to log: importing it costs the
    # one-shot ``sigpolicy verify`` several milliseconds of start-up.
    import logging

    logging.getLogger(__name__).warning(message, label)


def _crc_table() -> tuple[int, ...]:
    table = []
    for octet in range(256):
        crc = octet << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
        table.append(crc & 0xFFFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc24(data: bytes) -> int:
    """CRC-24 of RFC 4880 §6.1 (init 0xB704CE, generator 0x864CFB), one table step per octet."""
    crc = 0xB704CE
    table = _CRC_TABLE
    for octet in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ table[(crc >> 16) ^ octet]
    return crc
