"""Fulcio certificates: the corpus's (``fulcio-cert``, ``fulcio-chain``), Go-made test
certificates rebuilt as containers/image's ``signature/fulcio_cert_test.go`` builds them, and
a test CA playing Fulcio with a test key playing Rekor, through :func:`explain_sigstore`.

Every refusal is a named case with its reason class.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.fulcio import (
    FulcioRequirement,
    TextPattern,
    oidc_issuer,
    read_certificate,
    verify_fulcio,
)
from sigpolicy.signature.keyless import SigstoreTrust
from sigpolicy.signature.sigstore_roots import FulcioAuthority, RekorKey, ValidityWindow
from sigpolicy.signature.x509chain import PEMError, parse_certificates
from tests.conformance.corpus import CORPUS
from tests.keyless.corpus_material import FULCIO_EMAIL, GITHUB_ISSUER, REKOR_SET_TIME
from tests.keyless.judge import PAYLOAD, judge
from tests.support.sigstore_kit import (
    EMAIL,
    ISSUER_V1,
    ISSUER_V2,
    NOW,
    OIDC_ISSUER,
    FakeFulcio,
    FakeRekor,
    Leaf,
    der_utf8,
    issue_leaf,
    keyless_signature,
    make_ca,
    name,
)

# -- TestFulcioIssuerInCertificate ---------------------------------------------------------

ROOT = make_ca("go test root", key_usage=False)


def go_leaf(
    extensions: list[tuple[x509.ExtensionType, bool]],
    emails: tuple[str, ...] = ("test-user@example.com",),
) -> Leaf:
    """As the Go test makes them: subject CN=leaf, no EKU, the extensions given."""
    return issue_leaf(
        ROOT, (ROOT.cert,), emails=emails, subject=name("leaf"), san_critical=False, eku=None,
        extensions=extensions,
    )  # fmt: skip


def v1(value: str | bytes) -> tuple[x509.ExtensionType, bool]:
    raw = value.encode() if isinstance(value, str) else value
    return (x509.UnrecognizedExtension(ISSUER_V1, raw), False)


def v2(value: str | bytes) -> tuple[x509.ExtensionType, bool]:
    raw = der_utf8(value) if isinstance(value, str) else value
    return (x509.UnrecognizedExtension(ISSUER_V2, raw), False)


ISSUER_CASES: dict[str, tuple[list[tuple[x509.ExtensionType, bool]], str | Reason]] = {
    "Missing issuer": ([], Reason.UNKNOWN_KEY),
    "Completely invalid issuer v2 extension - error parsing": (
        [v2(b"\x02\x01\x01")],  # an INTEGER
        Reason.MALFORMED,
    ),
    "Completely invalid issuer v2 extension - trailing data": (
        [v2(der_utf8("https://") + der_utf8("example.com"))],
        Reason.MALFORMED,
    ),
    "One valid issuer v1": ([v1(GITHUB_ISSUER)], GITHUB_ISSUER),
    "One valid issuer v2": ([v2(GITHUB_ISSUER)], GITHUB_ISSUER),
    "Inconsistent issuer v1 and v2": (
        [v1(GITHUB_ISSUER), v2("this does not match")],
        Reason.MALFORMED,
    ),
    "Both issuer v1 and v2": ([v1(GITHUB_ISSUER), v2(GITHUB_ISSUER)], GITHUB_ISSUER),
    # Beyond upstream: the other DER strings Go's asn1 reads into a string.
    "issuer v2 as IA5String": ([v2(b"\x16\x05https")], "https"),
    "issuer v2 as PrintableString": ([v2(b"\x13\x03abc")], "abc"),
    "issuer v2 with a long-form length": (
        [v2(b"\x0c\x81\x80" + b"a" * 128)],
        "a" * 128,
    ),
    "issuer v2 with a non-minimal length": ([v2(b"\x0c\x81\x05https")], Reason.MALFORMED),
    "issuer v2 invalid UTF-8": ([v2(b"\x0c\x02\xff\xfe")], Reason.MALFORMED),
}


@pytest.mark.parametrize(("extensions", "expected"), ISSUER_CASES.values(), ids=ISSUER_CASES.keys())
def test_issuer_in_certificate(
    extensions: list[tuple[x509.ExtensionType, bool]], expected: str | Reason
) -> None:
    leaf = go_leaf(extensions)
    if not isinstance(expected, Reason):
        assert oidc_issuer(leaf.cert) == expected
        return
    with pytest.raises(VerificationError) as caught:
        oidc_issuer(leaf.cert)
    assert caught.value.reason == expected


def test_fulcio_interoperability_issuer() -> None:
    # "Fulcio interoperability": certificate.Extensions{Issuer}.Render() writes both.
    leaf = FakeFulcio().issue(issuer=GITHUB_ISSUER)
    assert oidc_issuer(leaf.cert) == GITHUB_ISSUER


@pytest.mark.parametrize("oid", [ISSUER_V1, ISSUER_V2], ids=["v1", "v2"])
def test_duplicate_issuer_extension_is_refused(oid: x509.ObjectIdentifier) -> None:
    # "Duplicate issuer v1/v2 extension": cryptography's builder refuses duplicates, so the
    # DER of a certificate with both extensions is patched to name one OID twice.
    leaf = go_leaf([v1(GITHUB_ISSUER), v2(GITHUB_ISSUER)])
    der = leaf.cert.public_bytes(Encoding.DER)
    other = ISSUER_V2 if oid == ISSUER_V1 else ISSUER_V1
    encoded = {ISSUER_V1: b"\x2b\x06\x01\x04\x01\x83\xbf\x30\x01\x01"}
    encoded[ISSUER_V2] = encoded[ISSUER_V1][:-1] + b"\x08"
    assert der.count(encoded[other]) == 1
    patched = der.replace(encoded[other], encoded[oid])
    text = "-----BEGIN CERTIFICATE-----\n" + _b64(patched) + "\n-----END CERTIFICATE-----\n"
    with pytest.raises(PEMError, match=r"(?i)duplicate"):
        parse_certificates(text, "the certificate annotation")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- TestFulcioTrustRootVerifyFulcioCertificateAtTime ---------------------------------------

CORPUS_CAS = tuple(x509.load_pem_x509_certificates((CORPUS / "fulcio_v1.crt.pem").read_bytes()))
CORPUS_CERT = (CORPUS / "fulcio-cert").read_text()
CORPUS_CHAIN = (CORPUS / "fulcio-chain").read_text()


def corpus_fulcio(
    when: int = REKOR_SET_TIME,
    *,
    cert: str = CORPUS_CERT,
    chain: str | None = CORPUS_CHAIN,
    cas: tuple[x509.Certificate, ...] = CORPUS_CAS,
    email: str = FULCIO_EMAIL,
) -> str:
    requirement = FulcioRequirement((FulcioAuthority(cas),), GITHUB_ISSUER, email)
    leaf, offered = read_certificate(cert, chain)
    return verify_fulcio(requirement, leaf, offered, when).subject


CHAIN_AS_ROOTS = tuple(x509.load_pem_x509_certificates(CORPUS_CHAIN.encode()))

CORPUS_CASES: dict[str, tuple[Callable[[], str], Reason | None]] = {
    "A successful verification": (corpus_fulcio, None),
    "Invalid intermediate certificates": (
        lambda: corpus_fulcio(chain="not a certificate"),
        Reason.MALFORMED,
    ),
    "Invalid leaf certificate": (lambda: corpus_fulcio(cert="not a certificate"), Reason.MALFORMED),
    "No intermediate certificates": (lambda: corpus_fulcio(chain=""), Reason.UNKNOWN_KEY),
    "... but succeeds if we add the intermediate certificates to the root of trust": (
        lambda: corpus_fulcio(chain="", cas=CHAIN_AS_ROOTS),
        None,
    ),
    "Unexpected relevantTime: a second before notBefore": (
        lambda: corpus_fulcio(1670870897),  # 2022-12-12T18:48:17Z
        Reason.EXPIRED_KEY,
    ),
    "Unexpected relevantTime: a second after notAfter": (
        lambda: corpus_fulcio(1670871499),  # 2022-12-12T18:58:19Z
        Reason.EXPIRED_KEY,
    ),
    "notBefore itself is inside the validity": (lambda: corpus_fulcio(1670870898), None),
    "notAfter itself is inside the validity": (lambda: corpus_fulcio(1670871498), None),
    "TestVerifyRekorFulcio: Fulcio failure (email)": (
        lambda: corpus_fulcio(email="this-does-not-match@example.com"),
        Reason.UNKNOWN_KEY,
    ),
    "two certificates in the certificate annotation": (
        lambda: corpus_fulcio(cert=CORPUS_CERT + CORPUS_CERT),
        Reason.MALFORMED,
    ),
}


@pytest.mark.parametrize(("run", "reason"), CORPUS_CASES.values(), ids=CORPUS_CASES.keys())
def test_corpus_certificate(run: Callable[[], str], reason: Reason | None) -> None:
    if reason is None:
        assert run() == FULCIO_EMAIL
        return
    with pytest.raises(VerificationError) as caught:
        run()
    assert caught.value.reason == reason, caught.value.message


GO_CA = make_ca("root CA", key_usage=False, not_before=NOW - 60, not_after=NOW + 3600)
OTHERNAME_SAN = x509.SubjectAlternativeName(
    [x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.7"), der_utf8("user"))]
)
UNKNOWN_CRITICAL = x509.UnrecognizedExtension(
    x509.ObjectIdentifier("2.999.99998.99997.99996"), b"whatever"
)

# (emails, extensions) of the leaf -> expected failure, from the Go test's table.
GO_LEAF_CASES: dict[
    str, tuple[tuple[str, ...], list[tuple[x509.ExtensionType, bool]], Reason | None]
] = {
    "OtherName in SAN": ((), [v1(GITHUB_ISSUER), (OTHERNAME_SAN, True)], Reason.UNKNOWN_KEY),
    "Unhandled critical extension": (
        ("test-user@example.com",),
        [v1(GITHUB_ISSUER), (UNKNOWN_CRITICAL, True)],
        Reason.UNKNOWN_KEY,
    ),
    "Missing issuer": (("test-user@example.com",), [], Reason.UNKNOWN_KEY),
    "Issuer mismatch": (
        ("test-user@example.com",),
        [v1("this does not match")],
        Reason.UNKNOWN_KEY,
    ),
    "Missing subject email": ((), [v1(GITHUB_ISSUER)], Reason.UNKNOWN_KEY),
    "Multiple emails, one matches": (
        ("a@example.com", "test-user@example.com", "c@example.com"),
        [v1(GITHUB_ISSUER)],
        None,
    ),
    "Email mismatch": (("a@example.com",), [v1(GITHUB_ISSUER)], Reason.UNKNOWN_KEY),
    "Multiple emails, no matches": (
        ("a@example.com", "b@example.com", "c@example.com"),
        [v1(GITHUB_ISSUER)],
        Reason.UNKNOWN_KEY,
    ),
}


# The failing check, as the Go test's errorFragment names it.
GO_FRAGMENTS = {
    "OtherName in SAN": "required email 'test-user@example.com' not found",
    "Unhandled critical extension": "does not chain to the trusted CA",
    "Missing issuer": "missing the OIDC issuer extension",
    "Issuer mismatch": "OIDC issuer is 'this does not match'",
    "Missing subject email": "required email",
    "Email mismatch": "required email",
    "Multiple emails, no matches": "required email",
}


@pytest.mark.parametrize(
    ("case", "emails", "extensions", "reason"),
    [(name, *values) for name, values in GO_LEAF_CASES.items()],
    ids=GO_LEAF_CASES.keys(),
)
def test_go_made_leaf(
    case: str,
    emails: tuple[str, ...],
    extensions: list[tuple[x509.ExtensionType, bool]],
    reason: Reason | None,
) -> None:
    leaf = issue_leaf(
        GO_CA, (), emails=emails, subject=name("leaf"), san_critical=False, eku=None,
        extensions=extensions,
    )  # fmt: skip
    requirement = FulcioRequirement(
        (FulcioAuthority((GO_CA.cert,)),), GITHUB_ISSUER, "test-user@example.com"
    )
    if reason is None:
        assert verify_fulcio(requirement, leaf.cert, (), NOW).issuer == GITHUB_ISSUER
        return
    with pytest.raises(VerificationError) as caught:
        verify_fulcio(requirement, leaf.cert, (), NOW)
    assert caught.value.reason == reason, caught.value.message
    assert GO_FRAGMENTS[case] in caught.value.message


# -- A test CA playing Fulcio, a test key playing Rekor --------------------------------------

FULCIO = FakeFulcio()
OTHER_FULCIO = FakeFulcio("another fulcio")
EXPIRED_CA = FakeFulcio("expired fulcio", not_before=NOW - 86400, not_after=NOW - 10)
REKOR = FakeRekor()
OTHER_REKOR = FakeRekor()


def rekor(log: FakeRekor = REKOR, window: ValidityWindow | None = None) -> tuple[RekorKey, ...]:
    return (RekorKey(log.key.public_key(), bytes.fromhex(log.log_id), window or ValidityWindow()),)


def trust(
    *,
    issuer: str | None = OIDC_ISSUER,
    email: str | None = EMAIL,
    issuer_pattern: TextPattern | None = None,
    subject_pattern: TextPattern | None = None,
    authorities: tuple[FulcioAuthority, ...] | None = None,
    logs: tuple[RekorKey, ...] | None = None,
) -> SigstoreTrust:
    cas = authorities or (FulcioAuthority((FULCIO.root.cert,), origin="fake fulcio"),)
    requirement = FulcioRequirement(cas, issuer, email, issuer_pattern, subject_pattern)
    return SigstoreTrust(fulcio=requirement, rekor_keys=logs or rekor())


@dataclass(frozen=True)
class Fresh:
    leaf: Callable[[], Leaf] = FULCIO.issue
    trust: Callable[[], SigstoreTrust] = trust
    sign: dict[str, object] = field(default_factory=dict)
    expect: Reason | None = None


FRESH: dict[str, Fresh] = {
    "valid, both issuer OIDs": Fresh(),
    "valid, issuer v1 only": Fresh(leaf=lambda: FULCIO.issue(issuer=None, issuer_v1=OIDC_ISSUER)),
    "valid, issuer v2 only": Fresh(leaf=lambda: FULCIO.issue(issuer=None, issuer_v2=OIDC_ISSUER)),
    "issuer v1 and v2 disagree": Fresh(
        leaf=lambda: FULCIO.issue(issuer_v1=OIDC_ISSUER, issuer_v2="https://other.test"),
        expect=Reason.MALFORMED,
    ),
    "no issuer extension": Fresh(leaf=lambda: FULCIO.issue(issuer=None), expect=Reason.UNKNOWN_KEY),
    "another OIDC issuer": Fresh(
        leaf=lambda: FULCIO.issue(issuer="https://accounts.example.test"), expect=Reason.UNKNOWN_KEY
    ),
    "another email": Fresh(
        leaf=lambda: FULCIO.issue(email="mallory@example.test"), expect=Reason.UNKNOWN_KEY
    ),
    "URI SAN only, an email required": Fresh(
        leaf=lambda: FULCIO.issue(email=None, uris=("https://github.com/org/repo/.github/w.yml",)),
        expect=Reason.UNKNOWN_KEY,
    ),
    "URI SAN matched by subjectRegExp": Fresh(
        leaf=lambda: FULCIO.issue(email=None, uris=("https://github.com/org/repo/.github/w.yml",)),
        trust=lambda: trust(email=None, subject_pattern=re.compile(r"https://github\.com/org/.*")),
    ),
    "subjectRegExp is anchored": Fresh(
        leaf=lambda: FULCIO.issue(email=None, uris=("https://evil.test/https://github.com/org/x",)),
        trust=lambda: trust(email=None, subject_pattern=re.compile(r"https://github\.com/org/.*")),
        expect=Reason.UNKNOWN_KEY,
    ),
    "issuerRegExp matches": Fresh(
        trust=lambda: trust(issuer=None, issuer_pattern=re.compile(r"https://oidc\.example\..*")),
    ),
    "issuerRegExp does not match": Fresh(
        trust=lambda: trust(issuer=None, issuer_pattern=re.compile(r"https://accounts\..*")),
        expect=Reason.UNKNOWN_KEY,
    ),
    "no EKU at all (Go: unrestricted)": Fresh(leaf=lambda: FULCIO.issue(eku=None)),
    "EKU without code signing": Fresh(
        leaf=lambda: FULCIO.issue(eku=(ExtendedKeyUsageOID.SERVER_AUTH,)), expect=Reason.UNKNOWN_KEY
    ),
    "EKU anyExtendedKeyUsage": Fresh(
        leaf=lambda: FULCIO.issue(eku=(ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,))
    ),
    "expired at the integrated time": Fresh(
        leaf=lambda: FULCIO.issue(not_before=NOW - 1200, not_after=NOW - 600),
        expect=Reason.EXPIRED_KEY,
    ),
    "not yet valid at the integrated time": Fresh(
        leaf=lambda: FULCIO.issue(not_before=NOW + 60, not_after=NOW + 660),
        expect=Reason.EXPIRED_KEY,
    ),
    "integrated time after the certificate's window": Fresh(
        sign={"integrated_time": NOW + 3600}, expect=Reason.EXPIRED_KEY
    ),
    "integrated time before the certificate's window": Fresh(
        sign={"integrated_time": NOW - 3600}, expect=Reason.EXPIRED_KEY
    ),
    "the CA expired before the integrated time": Fresh(
        leaf=lambda: EXPIRED_CA.issue(),
        trust=lambda: trust(authorities=(FulcioAuthority((EXPIRED_CA.root.cert,)),)),
        expect=Reason.EXPIRED_KEY,
    ),
    "issued by another CA": Fresh(
        leaf=lambda: FULCIO.issue(signer=OTHER_FULCIO.issuer), expect=Reason.UNKNOWN_KEY
    ),
    "another CA's certificate and chain": Fresh(leaf=OTHER_FULCIO.issue, expect=Reason.UNKNOWN_KEY),
    "chain annotation missing": Fresh(sign={"chain": False}, expect=Reason.UNKNOWN_KEY),
    "SET by another log key": Fresh(sign={"signer": OTHER_REKOR.key}, expect=Reason.BAD_SIGNATURE),
    "SET body tampered before the log signed (another payload hash)": Fresh(
        sign={"body_edit": lambda b: b["spec"]["data"]["hash"].__setitem__("value", "0" * 64)},
        expect=Reason.BAD_SIGNATURE,
    ),
    "log key outside its window": Fresh(
        trust=lambda: trust(logs=rekor(window=ValidityWindow(NOW + 1, None))),
        expect=Reason.EXPIRED_KEY,
    ),
    "Fulcio CA outside its window": Fresh(
        trust=lambda: trust(
            authorities=(
                FulcioAuthority((FULCIO.root.cert,), window=ValidityWindow(None, NOW - 1)),
            )
        ),
        expect=Reason.EXPIRED_KEY,
    ),
    "second of two CAs": Fresh(
        trust=lambda: trust(
            authorities=(
                FulcioAuthority((OTHER_FULCIO.root.cert,)),
                FulcioAuthority((FULCIO.root.cert,)),
            )
        )
    ),
    "signed by another key than the certificate's": Fresh(
        sign={"signing_key": OTHER_FULCIO.issue().key}, expect=Reason.BAD_SIGNATURE
    ),
}


@pytest.mark.parametrize("case", FRESH.values(), ids=FRESH.keys())
def test_fresh_fulcio(case: Fresh) -> None:
    signed = keyless_signature(case.leaf(), REKOR, payload=PAYLOAD, **case.sign)  # type: ignore[arg-type]
    verdict = judge(signed, case.trust())
    assert verdict.reason == case.expect, verdict.message
    if case.expect is None:
        assert verdict.authenticated is not None and verdict.authenticated.entry is not None
        assert verdict.authenticated.entry.integrated_time == NOW


def test_intermediate_without_code_signing_is_refused() -> None:
    root = make_ca("eku root")
    intermediate = make_ca(
        "eku intermediate", parent=root, path_length=0, eku=(ExtendedKeyUsageOID.SERVER_AUTH,)
    )
    leaf = issue_leaf(
        intermediate, (intermediate.cert, root.cert), emails=(EMAIL,), extensions=[v1(OIDC_ISSUER)]
    )
    signed = keyless_signature(leaf, REKOR, payload=PAYLOAD)
    authority = FulcioAuthority((root.cert,))
    verdict = judge(signed, trust(authorities=(authority,)))
    assert verdict.reason == Reason.UNKNOWN_KEY, verdict.message


def test_intermediate_that_is_not_a_ca_is_refused() -> None:
    root = make_ca("bc root")
    not_ca = make_ca("not a CA", parent=root, ca=False)
    leaf = issue_leaf(
        not_ca, (not_ca.cert, root.cert), emails=(EMAIL,), extensions=[v1(OIDC_ISSUER)]
    )
    verdict = judge(
        keyless_signature(leaf, REKOR, payload=PAYLOAD),
        trust(authorities=(FulcioAuthority((root.cert,)),)),
    )
    assert verdict.reason == Reason.UNKNOWN_KEY, verdict.message


def test_payload_and_identity_checks_come_after_authentication() -> None:
    signed = keyless_signature(FULCIO.issue(), REKOR, payload=PAYLOAD)
    assert judge(signed, trust(), digest="sha256:" + "cd" * 32).reason == Reason.DIGEST_MISMATCH
    assert judge(signed, trust(), reference="quay.io/other/app").reason == Reason.IDENTITY_MISMATCH


def test_chains_are_cached_per_certificate() -> None:
    requirement_trust = trust()
    assert requirement_trust.fulcio is not None
    verifier = requirement_trust.fulcio.verifiers[0]
    leaf = FULCIO.issue()
    for _ in range(3):
        assert judge(keyless_signature(leaf, REKOR, payload=PAYLOAD), requirement_trust).trusted
    assert (verifier.misses, verifier.hits) == (1, 2)
    # Outside the cached chain's validity the chain is checked again (and refused).
    late = keyless_signature(leaf, REKOR, payload=PAYLOAD, integrated_time=NOW + 3600)
    assert judge(late, requirement_trust).reason == Reason.EXPIRED_KEY
