"""Key files (binary or ASCII-armored, any number of keys each) to an index of certificates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from sigpolicy.errors import InputError
from sigpolicy.signature.openpgp.armor import dearmor_keys, is_armored
from sigpolicy.signature.openpgp.certificate import Certificate, load_certificates
from sigpolicy.signature.openpgp.errors import PacketError, UnsupportedError
from sigpolicy.signature.openpgp.keymaterial import KeyPacket
from sigpolicy.signature.openpgp.limits import MAX_KEYFILE_BYTES, MAX_KEYFILE_PACKETS
from sigpolicy.signature.openpgp.packets import Packet, read_packets

_KEYBOX_MAGIC = b"KBXf"


# Plain classes, not dataclasses or NamedTuples: generating their code at import would slow
# down the start-up of the one-shot ``sigpolicy verify``. ``Final`` keeps fields read-only.
class KeyEntry:
    __slots__ = ("certificate", "key")

    def __init__(self, certificate: Certificate, key: KeyPacket) -> None:
        self.certificate: Final = certificate
        self.key: Final = key


class Keyring:
    """An immutable set of trusted certificates, indexed by key ID and fingerprint."""

    def __init__(self, certificates: Iterable[Certificate]) -> None:
        merged: dict[str, Certificate] = {}
        for cert in certificates:
            merged.setdefault(cert.fingerprint, cert)
        self.certificates: tuple[Certificate, ...] = tuple(merged.values())
        self._by_key_id: dict[bytes, list[KeyEntry]] = {}
        self._by_fingerprint: dict[bytes, KeyEntry] = {}
        for cert in self.certificates:
            for key in cert.all_keys():
                entry = KeyEntry(cert, key)
                self._by_key_id.setdefault(key.key_id, []).append(entry)
                self._by_fingerprint[key.fingerprint] = entry

    @classmethod
    def from_files(cls, files: Sequence[tuple[str, bytes]], *, allow_sha1: bool = True) -> Keyring:
        """Load ``(name, content)`` key files; ``name`` only appears in error messages.

        Copies of one certificate in several files are merged packet by packet, so a
        revocation carried by either copy applies.
        """
        packets: list[Packet] = []
        for name, data in files:
            try:
                packets.extend(read_key_file(data))
            except (PacketError, UnsupportedError) as exc:
                raise InputError(f"{name}: not a usable OpenPGP keyring: {exc}") from None
        try:
            certificates = load_certificates(packets, allow_sha1=allow_sha1)
        except (PacketError, UnsupportedError) as exc:
            names = ", ".join(name for name, _ in files)
            raise InputError(f"{names}: not a usable OpenPGP keyring: {exc}") from None
        return cls(certificates)

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(
            cert.fingerprint for cert in self.certificates if cert.primary.key is not None
        )

    def by_key_id(self, key_id: bytes) -> list[KeyEntry]:
        return self._by_key_id.get(key_id, [])

    def by_fingerprint(self, fingerprint: bytes) -> KeyEntry | None:
        return self._by_fingerprint.get(fingerprint)


def read_key_file(data: bytes) -> list[Packet]:
    """Frame a key file's packets; armored files may hold several key blocks."""
    if len(data) > MAX_KEYFILE_BYTES:
        raise PacketError(f"key file larger than {MAX_KEYFILE_BYTES} octets")
    if data[8:12] == _KEYBOX_MAGIC:
        raise PacketError("a GnuPG keybox (pubring.kbx); export the keys with gpg --export")
    if is_armored(data):
        blocks = dearmor_keys(data)
    elif data[:1] and data[0] & 0x80:
        blocks = [data]
    else:
        raise PacketError("neither a binary nor an ASCII-armored OpenPGP key file")
    packets: list[Packet] = []
    for block in blocks:
        packets.extend(
            read_packets(block, max_packets=MAX_KEYFILE_PACKETS, max_size=MAX_KEYFILE_BYTES)
        )
    if not packets:
        raise PacketError("no packets")
    return packets
