"""Reading a ``sigstoreSigned`` root of trust from its files into a
:class:`~sigpolicy.signature.keyless.SigstoreTrust`, as containers/image's
``prepareTrustRoot`` does (``signature/policy_eval_sigstore.go``).

Both policy formats describe the material as :class:`TrustSources`: for each part, a
function returning ``(name, bytes)`` pairs (files are read when it is called, so a
policy.json naming files absent from this machine still loads, as upstream). Rules:

- public keys (``keyPath`` ...): PEM ``PUBLIC KEY`` blocks
  (:meth:`~sigpolicy.signature.cosign.CosignKeySet.from_files`);
- Rekor keys (``rekorPublicKey*``): one PEM public key per file or datum, ECDSA, as upstream
  ("Rekor public key is not using ECDSA"); a trusted root's logs may be Ed25519 too;
- Fulcio CAs (``caPath`` / ``caData``) and PKI roots (``caRootsPath`` / ``caRootsData``):
  every ``CERTIFICATE`` block of the PEM text, other text skipped, as Go's
  ``CertPool.AppendCertsFromPEM``; none is an error. Every certificate there is a trust
  anchor, self-signed or not, as in Go's root pool;
- PKI intermediates (``caIntermediatesPath`` / ``caIntermediatesData``): PEM certificates
  only, as sigstore's ``UnmarshalCertificatesFromPEM``;
- a Sigstore ``trusted_root.json`` (the project's YAML ``trustedRoot``): its Fulcio CAs and
  Rekor logs with their validity windows
  (:func:`~sigpolicy.signature.trusted_root.load_trusted_root`).

Every failure is an :class:`~sigpolicy.errors.InputError` of one line naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from sigpolicy.errors import InputError
from sigpolicy.signature.cosign import CosignKeySet
from sigpolicy.signature.fulcio import FulcioRequirement, TextPattern
from sigpolicy.signature.keyless import SigstoreTrust
from sigpolicy.signature.pki import PKIRequirement
from sigpolicy.signature.sigstore_roots import (
    FulcioAuthority,
    PKIAuthority,
    RekorKey,
    log_id_of,
)
from sigpolicy.signature.trusted_root import load_trusted_root
from sigpolicy.signature.x509chain import PEMError, parse_certificates

Files = Callable[[], list[tuple[str, bytes]]]

#: The biggest CA bundle read (a system bundle of a few hundred CAs fits).
MAX_CA_FILE: Final = 4 * 1024 * 1024
#: The most trust anchors one bundle may give.
MAX_CA_CERTIFICATES: Final = 1000
_CERTIFICATE_BLOCK: Final = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.*?-----END CERTIFICATE-----", re.DOTALL
)


@dataclass(frozen=True)
class FulcioSources:
    ca: Files | None  # None: the trusted root's CAs
    oidc_issuer: str | None
    subject_email: str | None
    issuer_pattern: TextPattern | None = None
    subject_pattern: TextPattern | None = None


@dataclass(frozen=True)
class PKISources:
    roots: Files
    intermediates: Files | None
    subject_email: str | None
    subject_hostname: str | None


@dataclass(frozen=True)
class TrustSources:
    """One root of trust as a policy names it; :meth:`load` reads it."""

    keys: Files | None = None
    fulcio: FulcioSources | None = None
    pki: PKISources | None = None
    rekor_keys: Files | None = None
    trusted_root: Files | None = None

    def load(self) -> SigstoreTrust:
        fulcio_cas: tuple[FulcioAuthority, ...] = ()
        rekor: tuple[RekorKey, ...] = ()
        if self.trusted_root is not None:
            fulcio_cas, rekor = _trusted_root(self.trusted_root)
            if not rekor and self.rekor_keys is None and self.pki is None:
                # A trusted root stands for "logged in these logs": none would mean none.
                raise InputError("the trusted root names no Rekor log (tlogs) this tool verifies")
        if self.rekor_keys is not None:
            rekor = load_rekor_keys(self.rekor_keys())
        keys = CosignKeySet.from_files(self.keys()) if self.keys is not None else None
        fulcio = None
        if self.fulcio is not None:
            f = self.fulcio
            if f.ca is not None:
                fulcio_cas = tuple(
                    FulcioAuthority(load_ca_bundle(name, data, "Fulcio CA"), origin=name)
                    for name, data in f.ca()
                )
            if not fulcio_cas:
                raise InputError("no Fulcio CA: the trusted root has no certificate authority")
            fulcio = FulcioRequirement(
                fulcio_cas, f.oidc_issuer, f.subject_email, f.issuer_pattern, f.subject_pattern
            )
        pki = None
        if self.pki is not None:
            p = self.pki
            (roots_name, roots_data), *_ = p.roots()
            roots = load_ca_bundle(roots_name, roots_data, "PKI CA roots")
            intermediates: tuple[x509.Certificate, ...] = ()
            if p.intermediates is not None:
                for name, data in p.intermediates():
                    intermediates += load_intermediates(name, data)
            authority = PKIAuthority(roots, intermediates, origin=roots_name)
            pki = PKIRequirement(authority, p.subject_email, p.subject_hostname)
        try:
            return SigstoreTrust(keys, fulcio, pki, rekor)
        except ValueError as exc:
            raise InputError(str(exc)) from None


def load_rekor_keys(files: list[tuple[str, bytes]]) -> tuple[RekorKey, ...]:
    out = []
    for index, (name, data) in enumerate(files, 1):
        keys = CosignKeySet.from_files([(name, data)]).keys
        if len(keys) != 1:
            raise InputError(f"{name}: Rekor public key {index}: one PEM public key expected")
        public_key = keys[0].public_key
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise InputError(f"{name}: Rekor public key {index} is not using ECDSA")
        out.append(RekorKey(public_key, log_id_of(public_key), origin=name))
    if not out:
        raise InputError("no Rekor public keys")
    return tuple(out)


def load_ca_bundle(name: str, data: bytes, what: str) -> tuple[x509.Certificate, ...]:
    """Every certificate block of a PEM bundle, other text skipped (Go's root pool)."""
    if len(data) > MAX_CA_FILE:
        raise InputError(f"{name}: {what}: larger than {MAX_CA_FILE} bytes")
    certificates = []
    for block in _CERTIFICATE_BLOCK.findall(data):
        try:
            certificates.append(x509.load_pem_x509_certificate(block))
        except ValueError:
            # Go's AppendCertsFromPEM skips what does not parse, too.
            continue
    if not certificates:
        raise InputError(f"{name}: error loading {what} certificates (none found)")
    if len(certificates) > MAX_CA_CERTIFICATES:
        raise InputError(f"{name}: {what}: more than {MAX_CA_CERTIFICATES} certificates")
    return tuple(certificates)


def load_intermediates(name: str, data: bytes) -> tuple[x509.Certificate, ...]:
    try:
        return parse_certificates(data.decode("utf-8"), f"{name}: intermediate certificates")
    except (PEMError, UnicodeDecodeError) as exc:
        raise InputError(f"{name}: loading trusted intermediate certificates: {exc}") from None


def _trusted_root(
    files: Files,
) -> tuple[tuple[FulcioAuthority, ...], tuple[RekorKey, ...]]:
    cas: tuple[FulcioAuthority, ...] = ()
    logs: tuple[RekorKey, ...] = ()
    for name, data in files():
        root = load_trusted_root(data, name)
        cas += root.fulcio
        logs += root.rekor
    return cas, logs
