"""A Fulcio certificate: its chain at the Rekor time, its OIDC issuer and its subject.

As containers/image ``signature/fulcio_cert.go`` does, in order; the first failure raises
:class:`~sigpolicy.errors.VerificationError`:

1. The ``dev.sigstore.cosign/certificate`` annotation holds exactly one certificate, and the
   ``dev.sigstore.cosign/chain`` annotation (optional) certificates; all of the chain but its
   last (the root, which must come from the policy) are offered as intermediates
   (``malformed``).
2. The certificate chains to the roots of one of the requirement's Fulcio authorities at
   ``when``, the integrated time of the verified Rekor SET, with code-signing usage
   (:class:`~sigpolicy.signature.x509chain.ChainVerifier`); an authority counts only
   inside its validity window at that time (a trusted root's ``validFor``).
3. The OIDC issuer (:func:`oidc_issuer`): extension 1.3.6.1.4.1.57264.1.1 holds it raw,
   1.3.6.1.4.1.57264.1.8 as a DER string; either is enough, both must agree, neither is an
   error. It equals ``oidc_issuer`` (``unknown-key``), or matches ``issuer_pattern`` in full.
4. The subject: ``subject_email`` is one of the certificate's email SANs, compared exactly
   as Go does (``unknown-key``); ``subject_pattern`` must match one email or URI SAN in full.

The certificate's public key is then what the payload signature is checked with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from cryptography import x509

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.sigstore_roots import FulcioAuthority
from sigpolicy.signature.x509chain import ChainVerifier, PEMError, parse_certificates

ISSUER_V1: Final = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
ISSUER_V2: Final = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
_MAX_SHOWN: Final = 60

# DER string types Go's encoding/asn1 reads into a string, by tag.
_UTF8, _NUMERIC, _PRINTABLE, _T61, _IA5, _BMP = 12, 18, 19, 20, 22, 30


class TextPattern(Protocol):
    """A compiled pattern (``re`` or ``re2``); only full matches are asked for."""

    @property
    def pattern(self) -> str: ...

    def fullmatch(self, text: str) -> object | None: ...


@dataclass(frozen=True)
class FulcioRequirement:
    """Who may sign through Fulcio: the CAs, and the OIDC issuer and subject required."""

    authorities: tuple[FulcioAuthority, ...]
    oidc_issuer: str | None = None
    subject_email: str | None = None
    issuer_pattern: TextPattern | None = None
    subject_pattern: TextPattern | None = None
    verifiers: tuple[ChainVerifier, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.authorities:
            raise ValueError("a Fulcio requirement needs at least one CA")
        if self.oidc_issuer is None and self.issuer_pattern is None:
            raise ValueError("a Fulcio requirement needs an OIDC issuer")
        if self.subject_email is None and self.subject_pattern is None:
            raise ValueError("a Fulcio requirement needs a subject")
        verifiers = tuple(ChainVerifier(a.roots, a.intermediates) for a in self.authorities)
        object.__setattr__(self, "verifiers", verifiers)


@dataclass(frozen=True, slots=True)
class CertificateIdentity:
    """What a verified certificate says of its holder."""

    certificate: x509.Certificate
    issuer: str | None
    emails: tuple[str, ...]
    uris: tuple[str, ...]
    dns_names: tuple[str, ...]

    @property
    def subject(self) -> str:
        """The first email or URI SAN, as signers are named in messages."""
        names = (*self.emails, *self.uris, *self.dns_names)
        return names[0] if names else "(no subject)"


def read_certificate(
    certificate_pem: str, chain_pem: str | None
) -> tuple[x509.Certificate, tuple[x509.Certificate, ...]]:
    """Rule 1: the leaf and the intermediates the signature offers."""
    try:
        leaves = parse_certificates(certificate_pem, "the certificate annotation")
        chain = parse_certificates(chain_pem, "the chain annotation") if chain_pem else ()
    except PEMError as exc:
        raise VerificationError(Reason.MALFORMED, str(exc)) from None
    if len(leaves) != 1:
        raise VerificationError(
            Reason.MALFORMED,
            "the certificate annotation holds no certificate"
            if not leaves
            else "the certificate annotation holds more than one certificate",
        )
    return leaves[0], chain[:-1]


def verify_fulcio(
    requirement: FulcioRequirement,
    leaf: x509.Certificate,
    offered: Sequence[x509.Certificate],
    when: int,
) -> CertificateIdentity:
    """Rules 2-4 for a certificate :func:`read_certificate` read (rule 1); ``when`` is the
    verified integrated time of the Rekor entry."""
    chain_to_authority(requirement.authorities, requirement.verifiers, leaf, offered, when)  # 2
    identity = identity_of(leaf)
    issuer = oidc_issuer(leaf)  # 3
    if requirement.oidc_issuer is not None and issuer != requirement.oidc_issuer:
        raise VerificationError(
            Reason.UNKNOWN_KEY,
            f"the certificate's OIDC issuer is {_shown(issuer)},"
            f" not {_shown(requirement.oidc_issuer)}",
        )
    pattern = requirement.issuer_pattern
    if pattern is not None and pattern.fullmatch(issuer) is None:
        raise VerificationError(
            Reason.UNKNOWN_KEY,
            f"the certificate's OIDC issuer {_shown(issuer)} does not match"
            f" {_shown(pattern.pattern)}",
        )
    email = requirement.subject_email  # 4
    if email is not None and email not in identity.emails:
        raise VerificationError(
            Reason.UNKNOWN_KEY,
            f"required email {_shown(email)} not found in the certificate"
            f" (it has {_names(identity.emails)})",
        )
    subject_pattern = requirement.subject_pattern
    if subject_pattern is not None and not any(
        subject_pattern.fullmatch(name) is not None for name in (*identity.emails, *identity.uris)
    ):
        raise VerificationError(
            Reason.UNKNOWN_KEY,
            f"no email or URI of the certificate matches {_shown(subject_pattern.pattern)}"
            f" (it has {_names((*identity.emails, *identity.uris))})",
        )
    return CertificateIdentity(leaf, issuer, identity.emails, identity.uris, identity.dns_names)


def chain_to_authority(
    authorities: Sequence[FulcioAuthority],
    verifiers: Sequence[ChainVerifier],
    leaf: x509.Certificate,
    offered: Sequence[x509.Certificate],
    when: int,
) -> tuple[x509.Certificate, ...]:
    """Rule 2: the first authority, valid at ``when``, that the leaf chains to."""
    failures: list[VerificationError] = []
    for authority, verifier in zip(authorities, verifiers, strict=True):
        if not authority.window.contains(when):
            failures.append(
                VerificationError(
                    Reason.EXPIRED_KEY,
                    f"the Fulcio CA{_origin(authority.origin)} is not valid at the"
                    f" integrated time {when}",
                )
            )
            continue
        try:
            return verifier.verify(leaf, offered, when, at="the Rekor integrated time")
        except VerificationError as exc:
            failures.append(exc)
    # The leaf's own failures (validity, usage) are the same for every authority; else the
    # first authority's answer is as good as any.
    raise failures[0]


def identity_of(leaf: x509.Certificate) -> CertificateIdentity:
    """The SAN names of ``leaf`` (no issuer yet)."""
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return CertificateIdentity(leaf, None, (), (), ())
    return CertificateIdentity(
        leaf,
        None,
        tuple(names.get_values_for_type(x509.RFC822Name)),
        tuple(names.get_values_for_type(x509.UniformResourceIdentifier)),
        tuple(names.get_values_for_type(x509.DNSName)),
    )


def oidc_issuer(certificate: x509.Certificate) -> str:
    """Rule 3's reading of the issuer; raise VerificationError when missing or inconsistent."""
    v1: bytes | None = None
    v2: bytes | None = None
    for extension in certificate.extensions:
        if extension.oid == ISSUER_V1:
            v1 = _raw(extension)
        elif extension.oid == ISSUER_V2:
            v2 = _der_string(_raw(extension))
    if v1 is not None and v2 is not None and v1 != v2:
        raise VerificationError(
            Reason.MALFORMED,
            f"inconsistent OIDC issuer extension values: v1 {_shown_bytes(v1)},"
            f" v2 {_shown_bytes(v2)}",
        )
    value = v1 if v1 is not None else v2
    if value is None:
        raise VerificationError(
            Reason.UNKNOWN_KEY, "the Fulcio certificate is missing the OIDC issuer extension"
        )
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise VerificationError(Reason.MALFORMED, "the OIDC issuer is not UTF-8") from None


def _raw(extension: x509.Extension[x509.ExtensionType]) -> bytes:
    value = extension.value
    if not isinstance(value, x509.UnrecognizedExtension):
        raise VerificationError(Reason.MALFORMED, "unexpected OIDC issuer extension")
    return value.value


def _der_string(data: bytes) -> bytes:
    """The bytes of the one DER string ``data`` holds, as Go's ``asn1.Unmarshal`` into a
    ``string`` reads it (UTF8String, PrintableString, IA5String, NumericString,
    T61String, BMPString); anything else, or data after it, is ``malformed``."""

    def bad(problem: str) -> VerificationError:
        return VerificationError(
            Reason.MALFORMED, f"invalid ASN.1 in OIDC issuer v2 extension: {problem}"
        )

    if len(data) < 2:
        raise bad("truncated")
    tag, length, offset = data[0], data[1], 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or len(data) < 2 + count:
            raise bad("bad length")
        length = int.from_bytes(data[2 : 2 + count], "big")
        offset = 2 + count
        if length < 0x80 or data[2] == 0:
            raise bad("non-minimal length")
    content = data[offset : offset + length]
    if len(content) != length:
        raise bad("truncated")
    if offset + length != len(data):
        raise bad("trailing data")
    if tag == _UTF8:
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            raise bad("invalid UTF-8") from None
        return content
    if tag == _BMP:
        if len(content) % 2:
            raise bad("odd BMPString length")
        try:
            return content.decode("utf-16-be").encode("utf-8")
        except UnicodeError:
            raise bad("invalid BMPString") from None
    if tag in (_PRINTABLE, _IA5, _NUMERIC, _T61):
        if tag != _T61 and any(byte >= 0x80 for byte in content):
            raise bad("not ASCII")
        return content
    raise bad(f"structure error: tag {tag} is not a string")


def _origin(origin: str) -> str:
    return f" of {origin}" if origin else ""


def _names(names: Sequence[str]) -> str:
    if not names:
        return "none"
    shown = ", ".join(_shown(n) for n in names[:4])
    return shown + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def _shown(value: str) -> str:
    """``value`` quoted and cut short: it is untrusted and may be long or hostile."""
    if len(value) > _MAX_SHOWN:
        return repr(value[:_MAX_SHOWN])[:-1] + "...'"
    return repr(value)


def _shown_bytes(value: bytes) -> str:
    return _shown(value.decode("utf-8", "replace"))
