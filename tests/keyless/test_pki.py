"""PKI certificates (containers/image ``pki``): the corpus's ``pki-cert`` / ``pki-chain``
as ``signature/pki_cert_test.go`` ``TestPKIVerify`` judges them, its table of Go-made
leaves, and fresh chains with and without intermediates through :func:`explain_sigstore`.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.fulcio import read_certificate
from sigpolicy.signature.keyless import SigstoreTrust
from sigpolicy.signature.pki import PKIRequirement, verify_pki
from sigpolicy.signature.sigstore_roots import PKIAuthority
from tests.conformance.corpus import CORPUS
from tests.keyless.corpus_material import PKI_EMAIL, PKI_HOST
from tests.keyless.judge import PAYLOAD, judge
from tests.support.sigstore_kit import (
    EMAIL,
    NOW,
    FakePKI,
    Signed,
    issue_leaf,
    keyless_signature,
    make_ca,
    name,
)

ROOTS = tuple(x509.load_pem_x509_certificates((CORPUS / "pki_root_crts.pem").read_bytes()))
INTERMEDIATES = tuple(
    x509.load_pem_x509_certificates((CORPUS / "pki_intermediate_crts.pem").read_bytes())
)
CERT = (CORPUS / "pki-cert").read_text()
CHAIN = (CORPUS / "pki-chain").read_text()


def corpus_pki(
    *,
    chain: str | None = CHAIN,
    intermediates: bool = True,
    email: str | None = PKI_EMAIL,
    host: str | None = PKI_HOST,
) -> str:
    authority = PKIAuthority(ROOTS, INTERMEDIATES if intermediates else ())
    leaf, offered = read_certificate(CERT, chain)
    return verify_pki(PKIRequirement(authority, email, host), leaf, offered, NOW).subject


CORPUS_CASES: dict[str, tuple[Callable[[], str], Reason | None]] = {
    "Success": (corpus_pki, None),
    "Invalid intermediate certificate": (
        lambda: corpus_pki(chain="not a certificate"),
        Reason.MALFORMED,
    ),
    "Failure intermediates with neither signature nor config": (
        lambda: corpus_pki(chain="", intermediates=False, host=None),
        Reason.UNKNOWN_KEY,
    ),
    "Success intermediate certificate with policy config only": (
        lambda: corpus_pki(chain=""),
        None,
    ),
    "Success intermediate certificate with signature only": (
        lambda: corpus_pki(intermediates=False),
        None,
    ),
    "hostname only": (lambda: corpus_pki(email=None), None),
    "email only": (lambda: corpus_pki(host=None), None),
    "hostname in upper case": (lambda: corpus_pki(host="MyHost.Example.COM"), None),
    "hostname with a trailing dot": (lambda: corpus_pki(host="myhost.example.com."), None),
    "another hostname": (lambda: corpus_pki(host="other.example.com"), Reason.UNKNOWN_KEY),
    "another email": (lambda: corpus_pki(email="other@redhat.com"), Reason.UNKNOWN_KEY),
}


@pytest.mark.parametrize(("run", "reason"), CORPUS_CASES.values(), ids=CORPUS_CASES.keys())
def test_corpus_pki(run: Callable[[], str], reason: Reason | None) -> None:
    if reason is None:
        assert run() == PKI_EMAIL
        return
    with pytest.raises(VerificationError) as caught:
        run()
    assert caught.value.reason == reason, caught.value.message


GO_CA = make_ca("root CA", key_usage=False, not_before=NOW - 60, not_after=NOW + 3600)
OTHERNAME_SAN = x509.SubjectAlternativeName(
    [x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.7"), b"\x0c\x04user")]
)
UNKNOWN_CRITICAL = x509.UnrecognizedExtension(
    x509.ObjectIdentifier("2.999.99998.99997.99996"), b"whatever"
)

# TestPKIVerify's table: (emails, DNS names, extra extensions) -> the failing check.
GO_CASES: dict[
    str, tuple[tuple[str, ...], tuple[str, ...], list[tuple[x509.ExtensionType, bool]], str | None]
] = {
    "OtherName in SAN": ((), (), [(OTHERNAME_SAN, True)], "required email"),
    "Unhandled critical extension": (
        ("test-user@example.com",),
        ("myhost.example.com",),
        [(UNKNOWN_CRITICAL, True)],
        "does not chain to the trusted CA",
    ),
    "Missing subject hostname": (("test-user@example.com",), (), [], "not for host"),
    "Multiple hostnames, one matches": (
        ("test-user@example.com",),
        ("a.example.com", "myhost.example.com", "c.example.com"),
        [],
        None,
    ),
    "Hostname mismatch": (
        ("test-user@example.com",),
        ("this-does-not-match.example.com",),
        [],
        "not for host",
    ),
    "Multiple hostnames, no matches": (
        ("test-user@example.com",),
        ("a.example.com", "b.example.com", "c.example.com"),
        [],
        "not for host",
    ),
    "Missing subject email": ((), ("myhost.example.com",), [], "required email"),
    "Multiple emails, one matches": (
        ("a@example.com", "test-user@example.com", "c@example.com"),
        ("myhost.example.com",),
        [],
        None,
    ),
    "Email mismatch": (("a@example.com",), ("myhost.example.com",), [], "required email"),
    "Multiple emails, no matches": (
        ("a@example.com", "b@example.com", "c@example.com"),
        ("myhost.example.com",),
        [],
        "required email",
    ),
    # Go's VerifyHostname rules, beyond the Go test's table.
    "wildcard first label": (("test-user@example.com",), ("*.example.com",), [], None),
    "wildcard matches one label only": (
        ("test-user@example.com",),
        ("*.com",),
        [],
        "not for host",
    ),
}


@pytest.mark.parametrize(
    ("emails", "dns", "extensions", "fragment"), GO_CASES.values(), ids=GO_CASES.keys()
)
def test_go_made_leaf(
    emails: tuple[str, ...],
    dns: tuple[str, ...],
    extensions: list[tuple[x509.ExtensionType, bool]],
    fragment: str | None,
) -> None:
    leaf = issue_leaf(
        GO_CA, (), emails=emails, dns_names=dns, subject=name("leaf"), san_critical=False,
        eku=None, extensions=extensions,
    )  # fmt: skip
    requirement = PKIRequirement(
        PKIAuthority((GO_CA.cert,), INTERMEDIATES), "test-user@example.com", "myhost.example.com"
    )
    if fragment is None:
        verify_pki(requirement, leaf.cert, (), NOW)
        return
    with pytest.raises(VerificationError) as caught:
        verify_pki(requirement, leaf.cert, (), NOW)
    assert caught.value.reason == Reason.UNKNOWN_KEY
    assert fragment in caught.value.message


def test_ip_address_hostname() -> None:
    root = make_ca("ip root")
    leaf = issue_leaf(root, (), emails=(EMAIL,), subject=name("ip"), san_critical=False, eku=None)
    requirement = PKIRequirement(PKIAuthority((root.cert,)), None, "192.0.2.1")
    with pytest.raises(VerificationError, match="not for host"):
        verify_pki(requirement, leaf.cert, (), NOW)


WITH_INTERMEDIATE = FakePKI()
ROOT_ONLY = FakePKI("root-only pki", intermediate=False)
OTHER = FakePKI("another pki")


def pki_trust(
    pki: FakePKI, *, trusted_intermediates: bool = False, email: str | None = EMAIL
) -> SigstoreTrust:
    inter = (
        (pki.intermediate.cert,) if trusted_intermediates and pki.intermediate is not None else ()
    )
    authority = PKIAuthority((pki.root.cert,), inter)
    return SigstoreTrust(pki=PKIRequirement(authority, email, "signer.example.test"))


FRESH: dict[str, tuple[Callable[[], tuple[SigstoreTrust, Signed]], Reason | None]] = {
    "root and intermediate, chain annotation": (
        lambda: (pki_trust(WITH_INTERMEDIATE), keyless_signature(WITH_INTERMEDIATE.issue(), None, payload=PAYLOAD)),
        None,
    ),
    "root and intermediate, intermediate trusted, no chain annotation": (
        lambda: (
            pki_trust(WITH_INTERMEDIATE, trusted_intermediates=True),
            keyless_signature(WITH_INTERMEDIATE.issue(), None, payload=PAYLOAD, chain=False),
        ),
        None,
    ),
    "root and intermediate, neither offered nor trusted": (
        lambda: (
            pki_trust(WITH_INTERMEDIATE),
            keyless_signature(WITH_INTERMEDIATE.issue(), None, payload=PAYLOAD, chain=False),
        ),
        Reason.UNKNOWN_KEY,
    ),
    "leaf issued by the root itself": (
        lambda: (pki_trust(ROOT_ONLY), keyless_signature(ROOT_ONLY.issue(), None, payload=PAYLOAD, chain=False)),
        None,
    ),
    "another organisation's PKI": (
        lambda: (pki_trust(WITH_INTERMEDIATE), keyless_signature(OTHER.issue(), None, payload=PAYLOAD)),
        Reason.UNKNOWN_KEY,
    ),
    "expired now": (
        lambda: (
            pki_trust(WITH_INTERMEDIATE),
            keyless_signature(
                WITH_INTERMEDIATE.issue(not_before=NOW - 7200, not_after=NOW - 3600), None, payload=PAYLOAD
            ),
        ),
        Reason.EXPIRED_KEY,
    ),
    "not yet valid now": (
        lambda: (
            pki_trust(WITH_INTERMEDIATE),
            keyless_signature(
                WITH_INTERMEDIATE.issue(not_before=NOW + 3600, not_after=NOW + 7200), None, payload=PAYLOAD
            ),
        ),
        Reason.EXPIRED_KEY,
    ),
    "EKU without code signing": (
        lambda: (
            pki_trust(WITH_INTERMEDIATE),
            keyless_signature(
                WITH_INTERMEDIATE.issue(eku=(ExtendedKeyUsageOID.CLIENT_AUTH,)), None, payload=PAYLOAD
            ),
        ),
        Reason.UNKNOWN_KEY,
    ),
    "EKU with code signing": (
        lambda: (
            pki_trust(WITH_INTERMEDIATE),
            keyless_signature(
                WITH_INTERMEDIATE.issue(eku=(ExtendedKeyUsageOID.CODE_SIGNING,)), None, payload=PAYLOAD
            ),
        ),
        None,
    ),
    "another email": (
        lambda: (
            pki_trust(WITH_INTERMEDIATE, email="someone@example.test"),
            keyless_signature(WITH_INTERMEDIATE.issue(), None, payload=PAYLOAD),
        ),
        Reason.UNKNOWN_KEY,
    ),
}  # fmt: skip


@pytest.mark.parametrize(("make", "reason"), FRESH.values(), ids=FRESH.keys())
def test_fresh_pki(make: Callable[[], tuple[SigstoreTrust, Signed]], reason: Reason | None) -> None:
    trust, signed = make()
    verdict = judge(signed, trust)
    assert verdict.reason == reason, verdict.message
