"""A certificate of an organisation's own PKI (containers/image ``pki``), checked now.

As containers/image ``signature/pki_cert.go`` does; the first failure raises
:class:`~sigpolicy.errors.VerificationError`:

1. The certificate and chain annotations are read as for Fulcio
   (:func:`~sigpolicy.signature.fulcio.read_certificate`): all of the chain but its last
   are offered as intermediates, together with the policy's ``caIntermediates``.
2. The certificate chains to ``caRoots`` *now* (the decision's time), with code-signing
   usage as Go reads it (:class:`~sigpolicy.signature.x509chain.ChainVerifier`). Upstream
   checks the subject first and the chain second; here nothing the certificate says is
   looked at before it is verified, so only the message of a doubly bad certificate differs.
3. ``subject_email``, when set, is one of its email SANs, exactly (``unknown-key``).
4. ``subject_hostname``, when set, matches as Go's ``VerifyHostname`` matches: an IP address
   against the IP SANs; a name against the DNS SANs, ASCII case-insensitive, a trailing dot
   ignored, ``*`` as the whole first label of a pattern matching one label; an invalid name
   or pattern only matches exactly (``unknown-key``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.fulcio import CertificateIdentity, identity_of
from sigpolicy.signature.sigstore_roots import PKIAuthority
from sigpolicy.signature.x509chain import ChainVerifier


@dataclass(frozen=True)
class PKIRequirement:
    """Who may sign through the PKI: its CAs, and the email and/or hostname required."""

    authority: PKIAuthority
    subject_email: str | None = None
    subject_hostname: str | None = None
    verifier: ChainVerifier = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.subject_email and not self.subject_hostname:
            raise ValueError("a PKI requirement needs a subject email or hostname")
        verifier = ChainVerifier(self.authority.roots, self.authority.intermediates)
        object.__setattr__(self, "verifier", verifier)


def verify_pki(
    requirement: PKIRequirement,
    leaf: x509.Certificate,
    offered: Sequence[x509.Certificate],
    now: int,
) -> CertificateIdentity:
    """Rules 2-4 for a certificate :func:`read_certificate` read (rule 1)."""
    requirement.verifier.verify(leaf, offered, now)  # 2
    identity = identity_of(leaf)
    email = requirement.subject_email
    if email and email not in identity.emails:  # 3
        raise VerificationError(
            Reason.UNKNOWN_KEY,
            f"required email {email!r} not found in the certificate"
            f" (it has {', '.join(repr(e) for e in identity.emails[:4]) or 'none'})",
        )
    hostname = requirement.subject_hostname
    if hostname and not verify_hostname(leaf, identity, hostname):  # 4
        raise VerificationError(
            Reason.UNKNOWN_KEY,
            f"the certificate is not for host {hostname!r}"
            f" (it names {', '.join(repr(d) for d in identity.dns_names[:4]) or 'no host'})",
        )
    return identity


def verify_hostname(leaf: x509.Certificate, identity: CertificateIdentity, host: str) -> bool:
    """Rule 4, Go's ``x509.Certificate.VerifyHostname``."""
    candidate = host[1:-1] if len(host) >= 3 and host[0] == "[" and host[-1] == "]" else host
    address = _ip(candidate)
    if address is not None:
        return any(_ip_equal(address, ip) for ip in _ip_sans(leaf))
    name = _lower_ascii(host)
    valid_name = _valid_hostname(name, pattern=False)
    for match in identity.dns_names:
        if valid_name and _valid_hostname(match, pattern=True):
            if _match_hostnames(match, name):
                return True
        elif _match_exactly(match, name):
            return True
    return False


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if "%" in text:  # Go's ParseIP knows no IPv6 zones
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _ip_equal(
    a: ipaddress.IPv4Address | ipaddress.IPv6Address,
    b: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> bool:
    # Go's net.IP.Equal: an IPv4 address equals its IPv4-mapped IPv6 form.
    def v4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> object:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        return ip

    return v4(a) == v4(b)


def _ip_sans(leaf: x509.Certificate) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [
        ip
        for ip in names.get_values_for_type(x509.IPAddress)
        if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address)
    ]


def _lower_ascii(text: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def _valid_hostname(host: str, *, pattern: bool) -> bool:
    if not pattern:
        host = host.removesuffix(".")
    if not host or host == "*":
        return False
    for index, part in enumerate(host.split(".")):
        if not part:
            return False
        if pattern and index == 0 and part == "*":
            continue
        for position, char in enumerate(part):
            if char.isascii() and (char.isalnum() or char == "_"):
                continue
            if char == "-" and position != 0:
                continue
            return False
    return True


def _match_exactly(a: str, b: str) -> bool:
    if a in ("", ".") or b in ("", "."):
        return False
    return _lower_ascii(a) == _lower_ascii(b)


def _match_hostnames(pattern: str, host: str) -> bool:
    pattern = _lower_ascii(pattern)
    host = _lower_ascii(host.removesuffix("."))
    if not pattern or not host:
        return False
    pattern_parts, host_parts = pattern.split("."), host.split(".")
    if len(pattern_parts) != len(host_parts):
        return False
    return all(
        (index == 0 and part == "*") or part == host_parts[index]
        for index, part in enumerate(pattern_parts)
    )
