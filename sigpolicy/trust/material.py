"""Key material (a key file, inline data, a Secret's key) split into one item per certificate.

A trust item may hold several certificates (an exported keyring). Splitting them lets a
``publicKeyID`` pin keep exactly one, and lets the store hand any backend exactly the
certificates it trusts: each certificate's packets are framed again (new-format headers,
same bodies) into a standalone binary key file. Packet bodies are what signatures cover,
so re-framing changes nothing a verifier checks.

Copies of one certificate within the material are kept together: the verifier merges them
packet by packet, so a revocation carried by either copy still applies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sigpolicy.signature.openpgp.certificate import load_certificates
from sigpolicy.signature.openpgp.errors import PacketError, UnsupportedError
from sigpolicy.signature.openpgp.keyring import read_key_file
from sigpolicy.signature.openpgp.packets import TAG_PUBLIC_KEY, TAG_SECRET_KEY, Packet
from sigpolicy.trust.pin import key_id_matches


class MaterialError(ValueError):
    """The material is not a usable OpenPGP keyring, or a pin does not select one key."""


@dataclass(frozen=True, slots=True)
class TrustedCertificate:
    """One certificate of the material: its primary fingerprint, every key's, and its bytes."""

    fingerprint: str
    key_fingerprints: tuple[str, ...]
    data: bytes

    def matches_pin(self, pin: str) -> bool:
        """A pin matches the primary key or any bound subkey of the certificate."""
        return any(key_id_matches(pin, fpr) for fpr in self.key_fingerprints)


def split_certificates(data: bytes) -> tuple[TrustedCertificate, ...]:
    """Every certificate in ``data``, in order of first appearance; raises MaterialError."""
    try:
        packets = read_key_file(data)
        found: dict[str, TrustedCertificate] = {}
        for group in _by_certificate(packets):
            for cert in load_certificates(group):
                fingerprints = tuple(key.fingerprint_hex for key in cert.all_keys())
                framed = _frame(group)
                seen = found.get(cert.fingerprint)
                if seen is not None:
                    framed = seen.data + framed
                found[cert.fingerprint] = TrustedCertificate(cert.fingerprint, fingerprints, framed)
    except (PacketError, UnsupportedError) as exc:
        raise MaterialError(f"not a usable OpenPGP keyring: {exc}") from None
    if not found:
        raise MaterialError("holds no public key")
    return tuple(found.values())


def select_pinned(
    certificates: tuple[TrustedCertificate, ...], pin: str | None
) -> tuple[TrustedCertificate, ...]:
    """All certificates without a pin; with one, the single certificate it matches.

    A pin that matches none is a configuration error (a wrong key was shipped, or the pin
    is stale); one that matches several is ambiguous, and refused rather than guessed.
    """
    if pin is None:
        return certificates
    matching = tuple(cert for cert in certificates if cert.matches_pin(pin))
    if not matching:
        held = ", ".join(cert.fingerprint for cert in certificates)
        raise MaterialError(f"0x{pin} matches no key in the material (holds {held})")
    if len(matching) > 1:
        held = ", ".join(cert.fingerprint for cert in matching)
        raise MaterialError(f"0x{pin} matches several keys ({held})")
    return matching


def _by_certificate(packets: Iterable[Packet]) -> list[list[Packet]]:
    # A transferable key starts at its primary key packet; packets before the first one
    # (marker, trust) form their own group, which yields no certificate or an error.
    groups: list[list[Packet]] = []
    for packet in packets:
        if packet.tag in (TAG_PUBLIC_KEY, TAG_SECRET_KEY) or not groups:
            groups.append([])
        groups[-1].append(packet)
    return groups


def _frame(packets: Iterable[Packet]) -> bytes:
    out = bytearray()
    for packet in packets:
        out.append(0xC0 | packet.tag)
        size = len(packet.body)
        if size < 192:
            out.append(size)
        elif size < 8384:
            size -= 192
            out += bytes(((size >> 8) + 192, size & 0xFF))
        else:
            out.append(0xFF)
            out += size.to_bytes(4, "big")
        out += packet.body
    return bytes(out)
