"""The roots of trust of keyless and PKI sigstore signatures, whatever file they came from.

A policy names them inline (``fulcio.caPath``, ``rekorPublicKeyPath``, ``pki.caRootsPath``),
in OpenShift's ClusterImagePolicy objects, or as a Sigstore ``trusted_root.json``; each form
is loaded into these types, and the verifiers only ever see these. Validity windows are
unix seconds, ``None`` meaning unbounded on that side: a Fulcio CA or Rekor key outside its
window at the time a signature is judged against (the Rekor entry's integrated time) does
not count, as sigstore clients honour ``validFor`` in a trusted root.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

__all__ = ["FulcioAuthority", "PKIAuthority", "RekorKey", "ValidityWindow", "log_id_of"]


@dataclass(frozen=True, slots=True)
class ValidityWindow:
    start: int | None = None
    end: int | None = None

    def contains(self, when: int) -> bool:
        return (self.start is None or self.start <= when) and (self.end is None or when <= self.end)


UNBOUNDED = ValidityWindow()


@dataclass(frozen=True, slots=True)
class FulcioAuthority:
    """One Fulcio CA: self-signed roots and the intermediates that may sit between a signing
    certificate and them."""

    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()
    window: ValidityWindow = UNBOUNDED
    origin: str = ""  # where it was read from, for messages


@dataclass(frozen=True, slots=True)
class RekorKey:
    """One transparency log key; ``log_id`` is the SHA-256 of its DER SubjectPublicKeyInfo,
    as Rekor names its logs."""

    public_key: PublicKeyTypes
    log_id: bytes
    window: ValidityWindow = UNBOUNDED
    origin: str = ""


@dataclass(frozen=True, slots=True)
class PKIAuthority:
    """containers/image's ``pki``: CA roots and intermediates of an organisation's own PKI."""

    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()
    origin: str = ""


def log_id_of(public_key: PublicKeyTypes) -> bytes:
    der = public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).digest()
