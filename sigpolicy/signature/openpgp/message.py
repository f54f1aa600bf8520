"""The signed-message grammar (OPENPGP.md §1 "Accepted shapes", §3 literal data).

Accepted, after dropping marker and padding packets (COMP{...} is what a compressed packet
inflates to; BODY is LIT or COMP{LIT}):

1. ``COMP{OPS LIT SIG}``: what ``gpg --sign`` writes, and so skopeo, podman and atomic;
2. ``OPS BODY SIG``;
3. ``SIG BODY`` or ``COMP{SIG BODY}``: the "signature first" form. GnuPG verifies it; the
   x/crypto backend of containers/image ignores that signature. We accept it for GnuPG
   parity: the signature is checked exactly like the others.

At most one compressed packet along the whole path, exactly one literal and exactly one
signature. A bare literal (or ``COMP{LIT}``) and encrypted messages are ``unsigned``; every
other shape, cleartext and detached signatures among them, is ``malformed``.
"""

from __future__ import annotations

from typing import Final

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.openpgp.armor import dearmor_message, is_armored
from sigpolicy.signature.openpgp.errors import PacketError, UnsupportedError
from sigpolicy.signature.openpgp.inflate import inflate
from sigpolicy.signature.openpgp.limits import (
    MAX_INFLATED_BYTES,
    MAX_MESSAGE_BYTES,
    MAX_MESSAGE_PACKETS,
)
from sigpolicy.signature.openpgp.packets import (
    TAG_AEAD,
    TAG_COMPRESSED,
    TAG_LITERAL,
    TAG_MARKER,
    TAG_ONE_PASS,
    TAG_PADDING,
    TAG_PKESK,
    TAG_SED,
    TAG_SEIPD,
    TAG_SIGNATURE,
    TAG_SKESK,
    Packet,
    read_packets,
)
from sigpolicy.signature.openpgp.sigpacket import (
    OnePassSignature,
    Signature,
    parse_one_pass,
    parse_signature,
)

_ENCRYPTED = frozenset({TAG_PKESK, TAG_SKESK, TAG_SED, TAG_SEIPD, TAG_AEAD})
_LITERAL_FORMATS = frozenset(b"butl1m")
_MARKER_BODY = b"PGP"


# Plain classes, not dataclasses or NamedTuples: generating their code at import would slow
# down the start-up of the one-shot ``sigpolicy verify``. ``Final`` keeps fields read-only.
class ParsedMessage:
    """A message of an accepted shape; nothing in it is authenticated yet."""

    __slots__ = ("data", "one_pass", "signature")

    def __init__(
        self, signature: Signature, one_pass: OnePassSignature | None, data: bytes
    ) -> None:
        self.signature: Final = signature
        self.one_pass: Final = one_pass
        self.data: Final = data


def parse_message(blob: bytes) -> ParsedMessage:
    """Frame and match ``blob``; raise VerificationError(unsigned|malformed|unsupported)."""
    try:
        return _parse(blob)
    except _UnsignedError as exc:
        raise VerificationError(Reason.UNSIGNED, str(exc)) from None
    except UnsupportedError as exc:
        raise VerificationError(Reason.UNSUPPORTED, str(exc)) from None
    except PacketError as exc:
        raise VerificationError(Reason.MALFORMED, str(exc)) from None


def _parse(blob: bytes) -> ParsedMessage:
    if not blob:
        raise PacketError("empty signature")
    if len(blob) > MAX_MESSAGE_BYTES:
        raise PacketError(f"signature larger than {MAX_MESSAGE_BYTES} octets")
    if is_armored(blob):
        blob = dearmor_message(blob)
    top = _significant(read_packets(blob, max_packets=MAX_MESSAGE_PACKETS, max_size=len(blob)))
    budget = _Budget()
    if not top:
        raise PacketError("no packets")
    if top[0].tag in _ENCRYPTED:
        raise _unsigned("the message is encrypted, not signed")
    if len(top) == 1 and top[0].tag == TAG_COMPRESSED:
        inner = budget.inflate(top[0])
        return _match(inner, budget, compression_allowed=False)
    return _match(top, budget, compression_allowed=True)


class _UnsignedError(PacketError):
    pass


def _unsigned(message: str) -> _UnsignedError:
    return _UnsignedError(message)


class _Budget:
    """Counts decompressed output across every layer (OPENPGP.md §2)."""

    def __init__(self) -> None:
        self.left = MAX_INFLATED_BYTES

    def inflate(self, packet: Packet) -> list[Packet]:
        data = inflate(packet.body, self.left)
        self.left -= len(data)
        return _significant(read_packets(data, max_packets=MAX_MESSAGE_PACKETS, max_size=len(data)))


def _significant(packets: list[Packet]) -> list[Packet]:
    out = []
    for packet in packets:
        if packet.tag == TAG_MARKER:
            if packet.body != _MARKER_BODY:
                raise PacketError("marker packet with a body other than 'PGP'")
            continue
        if packet.tag == TAG_PADDING or packet.tag >= 40:
            continue
        out.append(packet)
    return out


def _match(seq: list[Packet], budget: _Budget, *, compression_allowed: bool) -> ParsedMessage:
    tags = [p.tag for p in seq]
    if not tags:
        raise PacketError("empty compressed packet")
    if tags[0] in _ENCRYPTED:
        raise _unsigned("the message is encrypted, not signed")
    if tags == [TAG_LITERAL]:
        raise _unsigned("literal data without a signature")
    if tags == [TAG_COMPRESSED] and compression_allowed:
        if [p.tag for p in budget.inflate(seq[0])] == [TAG_LITERAL]:
            raise _unsigned("literal data without a signature")
        raise PacketError("unexpected contents in a compressed packet")
    if len(seq) == 3 and tags[0] == TAG_ONE_PASS and tags[2] == TAG_SIGNATURE:
        data = _body(seq[1], budget, compression_allowed)
        signature = parse_signature(seq[2].body)
        one_pass = parse_one_pass(seq[0].body)
        _check_pairing(one_pass, signature)
        return ParsedMessage(signature, one_pass, data)
    if len(seq) == 2 and tags[0] == TAG_SIGNATURE:
        data = _body(seq[1], budget, compression_allowed)
        return ParsedMessage(parse_signature(seq[0].body), None, data)
    raise PacketError(f"not a signed message (packet sequence {_describe(tags)})")


def _body(packet: Packet, budget: _Budget, compression_allowed: bool) -> bytes:
    if packet.tag == TAG_COMPRESSED and compression_allowed:
        inner = budget.inflate(packet)
        if len(inner) != 1 or inner[0].tag != TAG_LITERAL:
            raise PacketError("a compressed body must hold exactly one literal data packet")
        packet = inner[0]
    if packet.tag != TAG_LITERAL:
        raise PacketError(f"expected literal data, found packet tag {packet.tag}")
    return _literal_data(packet.body)


def _literal_data(body: bytes) -> bytes:
    # format(1) | n(1) | name(n) | date(4) | data. Format, name and date are not signed:
    # they are skipped, never acted on, and line endings are never converted.
    if len(body) < 6:
        raise PacketError("truncated literal data packet")
    if body[0] not in _LITERAL_FORMATS:
        raise PacketError(f"literal data format {body[0]:#04x} is not one of b, u, t, l, 1, m")
    start = 2 + body[1] + 4
    if start > len(body):
        raise PacketError("literal data header runs past the packet")
    return body[start:]


def _check_pairing(one_pass: OnePassSignature, signature: Signature) -> None:
    if one_pass.last == 0:
        raise PacketError("the one-pass signature announces more than one signature")
    if (one_pass.sig_type, one_pass.hash_algo, one_pass.pk_algo) != (
        signature.sig_type,
        signature.hash_algo,
        signature.pk_algo,
    ):
        raise PacketError("the one-pass signature and the signature disagree")
    issuer = signature.issuer_key_id()
    if issuer is not None and issuer != one_pass.key_id:
        raise PacketError("the one-pass signature and the signature name different keys")


def _describe(tags: list[int]) -> str:
    names = {TAG_ONE_PASS: "OPS", TAG_LITERAL: "LIT", TAG_SIGNATURE: "SIG", TAG_COMPRESSED: "COMP"}
    return " ".join(names.get(tag, str(tag)) for tag in tags)
