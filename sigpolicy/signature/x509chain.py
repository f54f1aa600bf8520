"""Certificates from a signature's annotations, and their chain to trusted CAs at a given time.

PEM text is read as containers/image reads it (sigstore ``cryptoutils
.UnmarshalCertificatesFromPEM``): blocks one after another, white space around them; text
outside the blocks, PEM headers, or a block that is not a DER certificate is an error.
Here the label must also be ``CERTIFICATE`` (Go ignores it) and sizes are bounded
(:data:`MAX_PEM_TEXT`, :data:`MAX_CHAIN`): refusals, never relaxations.

:class:`ChainVerifier` checks a leaf against a set of trusted CAs at one instant, with
``cryptography``'s X.509 path validation (``PolicyBuilder``), configured to decide as Go's
``x509.Certificate.Verify`` does for containers/image:

1. The leaf is valid at that instant, both bounds inclusive (``expired-key``). Checked first
   here to name the failure; the path validation checks every certificate of the chain too.
2. Extended key usage, Go's rule: a certificate of the chain (leaf, intermediates, root)
   that carries the extension must list code signing or "any"; one without it is
   unrestricted (``unknown-key``).
3. A path from the leaf through the given intermediates (the signature's chain annotation
   and any intermediates the policy trusts) to one of the roots: signatures, names, the
   issuers' basicConstraints ``CA`` and path lengths, name constraints, at most
   :data:`MAX_DEPTH` certificates (``unknown-key``), every certificate valid at the instant
   (``expired-key`` when the only path found fails on that).

Where ``cryptography``'s defaults (the Web PKI profile) do not fit, the extension policies
are built from ``ExtensionPolicy.permit_all()``: Fulcio leaves have an empty subject, no
client-auth EKU, and critical SANs that may hold only an ``otherName``; Go ignores key
usage bits, and so do these policies; the CA policy requires basicConstraints with ``CA``
set (``cryptography`` insists on it, also for a root, where Go does not look: a root
without basicConstraints is refused here). Unknown critical extensions are still refused,
as by Go. The verification time is set per call (``PolicyBuilder.time``): the Rekor
integrated time for Fulcio, "now" for PKI.

Verified chains are cached per (leaf, offered intermediates), bounded, with the interval in
which all their certificates are valid: another instant inside it gives the same answer
without a path search; outside it the chain is checked again.
"""

from __future__ import annotations

import binascii
import datetime as dt
from collections import OrderedDict
from collections.abc import Sequence
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
)

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason

#: The biggest certificate or chain annotation read (an RSA-4096 chain of 8 fits).
MAX_PEM_TEXT: Final = 128 * 1024
#: The most certificates a chain annotation (or a policy's CA file) may hold.
MAX_CHAIN: Final = 16
#: The longest path accepted, leaf and root included.
MAX_DEPTH: Final = 8
CACHE_SIZE: Final = 1024

_DER: Final = Encoding.DER
_BEGIN: Final = "-----BEGIN "
_END: Final = "-----END "
_CODE_SIGNING_OR_ANY: Final = frozenset(
    (ExtendedKeyUsageOID.CODE_SIGNING, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE)
)


# parse_certificates' cache: at most 512 texts of at most 16 KiB each (8 MiB).
_PARSED: OrderedDict[str, tuple[x509.Certificate, ...]] = OrderedDict()
_PARSED_SIZE: Final = 512
_MAX_CACHED_TEXT: Final = 16 * 1024


class PEMError(ValueError):
    """Not PEM as accepted here; ``str()`` says what and where."""


def parse_pem_blocks(text: str, what: str) -> list[tuple[str, bytes]]:
    """``(label, DER)`` of each PEM block of ``text``; raise :class:`PEMError`."""
    if len(text) > MAX_PEM_TEXT:
        raise PEMError(f"{what} is {len(text)} characters, over the {MAX_PEM_TEXT} limit")
    blocks: list[tuple[str, bytes]] = []
    label: str | None = None
    body: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if label is None:
            if not line:
                continue
            if not (line.startswith(_BEGIN) and line.endswith("-----")):
                raise PEMError(f"{what}: text outside the PEM blocks")
            label, body = line[len(_BEGIN) : -5], []
        elif line == f"{_END}{label}-----":
            try:
                der = binascii.a2b_base64("".join(body).encode("ascii"), strict_mode=True)
            except (UnicodeEncodeError, binascii.Error):
                raise PEMError(f"{what}: PEM block {len(blocks) + 1} is not base64") from None
            blocks.append((label, der))
            label = None
        elif ":" in line:
            raise PEMError(f"{what}: PEM headers are not allowed")
        else:
            body.append(line)
    if label is not None:
        raise PEMError(f"{what}: PEM block {len(blocks) + 1} is not closed")
    return blocks


def parse_certificates(text: str, what: str) -> tuple[x509.Certificate, ...]:
    """The certificates of a PEM text (none for blank text); raise :class:`PEMError`.

    The same text gives the same (immutable) certificates, so small texts are kept in a
    bounded cache keyed by the whole text: a webhook sees one image's signatures again and
    again. Failures are not kept; their message names ``what``."""
    cached = _PARSED.get(text)
    if cached is not None:
        _PARSED.move_to_end(text)
        return cached
    certificates = _parse_certificates(text, what)
    if len(text) <= _MAX_CACHED_TEXT:
        _PARSED[text] = certificates
        if len(_PARSED) > _PARSED_SIZE:
            _PARSED.popitem(last=False)
    return certificates


def _parse_certificates(text: str, what: str) -> tuple[x509.Certificate, ...]:
    blocks = parse_pem_blocks(text, what)
    if len(blocks) > MAX_CHAIN:
        raise PEMError(f"{what} holds {len(blocks)} certificates, more than {MAX_CHAIN}")
    certificates = []
    for index, (label, der) in enumerate(blocks, 1):
        if label != "CERTIFICATE":
            raise PEMError(f"{what}: PEM block {index} is {label[:40]!r}, not a CERTIFICATE")
        try:
            certificate = x509.load_der_x509_certificate(der)
            certificate.extensions  # noqa: B018 - parsed now: a duplicate one is refused here
        except (ValueError, x509.DuplicateExtension) as exc:
            raise PEMError(f"{what}: certificate {index} is not valid ({exc})") from None
        certificates.append(certificate)
    return tuple(certificates)


def utc(when: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(when, dt.UTC)


def validity(certificate: x509.Certificate) -> tuple[int, int]:
    """The certificate's notBefore and notAfter, unix seconds."""
    return (
        int(certificate.not_valid_before_utc.timestamp()),
        int(certificate.not_valid_after_utc.timestamp()),
    )


def allows_code_signing(certificate: x509.Certificate) -> bool:
    """Rule 2 for one certificate."""
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return any(oid in _CODE_SIGNING_OR_ANY for oid in usage)


def _eku_rule(
    policy: Policy, certificate: x509.Certificate, usage: x509.ExtendedKeyUsage | None
) -> None:
    if usage is not None and not any(oid in _CODE_SIGNING_OR_ANY for oid in usage):
        raise ValueError("the extended key usage does not allow code signing")


def _must_be_ca(
    policy: Policy, certificate: x509.Certificate, constraints: x509.BasicConstraints
) -> None:
    if not constraints.ca:
        raise ValueError("basicConstraints does not make it a CA")


# Built once: they hold no state, only the rules.
CA_EXTENSION_POLICY: Final = (
    ExtensionPolicy.permit_all()
    .require_present(x509.BasicConstraints, Criticality.AGNOSTIC, _must_be_ca)
    .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _eku_rule)
)
EE_EXTENSION_POLICY: Final = ExtensionPolicy.permit_all().may_be_present(
    x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _eku_rule
)


class ChainVerifier:
    """The chain check of this module for one set of trusted roots (rules 1-3)."""

    def __init__(
        self,
        roots: Sequence[x509.Certificate],
        intermediates: Sequence[x509.Certificate] = (),
        *,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        if not roots:
            raise ValueError("a chain verifier needs at least one root")
        self._store: Final = Store(list(roots))
        self._intermediates: Final = tuple(intermediates)
        self._cache: OrderedDict[tuple[bytes, ...], tuple[int, int, tuple[x509.Certificate, ...]]]
        self._cache = OrderedDict()
        self._cache_size: Final = cache_size
        self.hits = 0
        self.misses = 0

    def verify(
        self,
        leaf: x509.Certificate,
        offered: Sequence[x509.Certificate],
        when: int,
        *,
        at: str = "now",
    ) -> tuple[x509.Certificate, ...]:
        """The verified chain, leaf first, root last; ``at`` names ``when`` in messages."""
        start, end = validity(leaf)
        if not start <= when <= end:  # 1
            raise VerificationError(
                Reason.EXPIRED_KEY,
                f"the certificate is valid from {_iso(start)} to {_iso(end)}, not at {at}"
                f" ({_iso(when)})",
            )
        if not allows_code_signing(leaf):  # 2
            raise VerificationError(
                Reason.UNKNOWN_KEY,
                "the certificate's extended key usage does not allow code signing",
            )
        key = (leaf.public_bytes(_DER), *(c.public_bytes(_DER) for c in offered))
        cached = self._cache.get(key)
        if cached is not None and cached[0] <= when <= cached[1]:
            self.hits += 1
            self._cache.move_to_end(key)
            return cached[2]
        self.misses += 1
        chain = self._build(leaf, offered, when, at)  # 3
        starts, ends = zip(*(validity(c) for c in chain), strict=True)
        self._cache[key] = (max(starts), min(ends), chain)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return chain

    def _build(
        self, leaf: x509.Certificate, offered: Sequence[x509.Certificate], when: int, at: str
    ) -> tuple[x509.Certificate, ...]:
        try:
            verifier = (
                PolicyBuilder()
                .store(self._store)
                .time(utc(when))
                .max_chain_depth(MAX_DEPTH)
                .extension_policies(ca_policy=CA_EXTENSION_POLICY, ee_policy=EE_EXTENSION_POLICY)
                .build_client_verifier()
            )
            verified = verifier.verify(leaf, [*self._intermediates, *offered])
        except Exception as exc:
            # Fail closed (STYLE.md 5): any error of the path validation is a refusal.
            if "not valid at validation time" in str(exc):
                raise VerificationError(
                    Reason.EXPIRED_KEY,
                    f"a CA certificate of the chain is not valid at {at} ({_iso(when)})",
                ) from None
            raise VerificationError(
                Reason.UNKNOWN_KEY,
                f"the certificate does not chain to the trusted CA at {at} ({_reason(exc)})",
            ) from None
        return tuple(verified.chain)


def _iso(when: int) -> str:
    return utc(when).strftime("%Y-%m-%dT%H:%M:%SZ")


def _reason(exc: Exception) -> str:
    text = str(exc).removeprefix("validation failed: ")
    return text if len(text) <= 160 else text[:157] + "..."
