"""Keyless cosign signatures for the tests: a CA playing Fulcio, a key playing Rekor, a PKI.

Everything is made fresh with ``cryptography`` (no private key is kept in a file). The
signatures are what ``cosign sign`` attaches to an image (one OCI layer: the payload and the
``dev.cosignproject.cosign/signature`` / ``dev.sigstore.cosign/{certificate,chain,bundle}``
annotations), as :class:`~sigpolicy.signature.envelope.SigstoreSignature` or as the
``dir:`` signature file containers/image writes.

Usage::

    from tests.support.sigstore_kit import FakeFulcio, FakeRekor, FakePKI, keyless_signature

    fulcio = FakeFulcio()                        # root + intermediate, valid for a year
    rekor = FakeRekor()                          # an ECDSA P-256 log key
    leaf = fulcio.issue(email="dev@example.test", issuer="https://oidc.example.test")
    sig = keyless_signature(leaf, rekor, payload=cosign_payload(DIGEST, "quay.io/ns/app"))
    sig.attachment                               # a SigstoreSignature
    sig.file                                     # the dir: signature-N bytes
    fulcio.roots_pem, fulcio.chain_pem           # for fulcio.caData / the chain annotation
    rekor.public_pem                             # for rekorPublicKeyData

- :meth:`FakeFulcio.issue` takes ``email`` / ``uris`` (SANs), ``issuer_v1`` / ``issuer_v2``
  (the raw and the DER UTF8String OIDC issuer extensions; ``issuer=`` sets both),
  ``eku`` (``None`` leaves the extension out), ``not_before`` / ``not_after`` (unix
  seconds), ``extra`` extensions, and ``signer`` (another CA's, for "wrong CA" cases).
- :meth:`FakeRekor.bundle` makes the ``dev.sigstore.cosign/bundle`` annotation (a SET over
  the RFC 8785 canonical form of ``{body, integratedTime, logIndex, logID}``), with hooks to
  alter the hashedrekord body (``body_edit``) or the signed payload (``payload_edit``)
  *before* signing, or the annotation after (``tamper``).
- :class:`FakePKI`: root, optional intermediate, and :meth:`FakePKI.issue` of leaves with
  emails and DNS names (containers/image's ``pki``).
- :func:`key_signature`: a key-based signature with (optionally) a Rekor bundle.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sigpolicy.signature.envelope import SigstoreSignature

SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
CHAIN_ANNOTATION = "dev.sigstore.cosign/chain"
BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
MIME_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
OIDC_ISSUER = "https://oidc.example.test"
EMAIL = "dev@example.test"
CODE_SIGNING = ExtendedKeyUsageOID.CODE_SIGNING

#: A fixed "now" the tests judge at: certificates are issued around it.
NOW = int(time.time())


def utc(when: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(when, dt.UTC)


def pem(*certs: x509.Certificate) -> str:
    return "".join(c.public_bytes(Encoding.PEM).decode() for c in certs)


def public_pem(key: Any) -> str:
    text: bytes = key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return text.decode()


def der_utf8(text: str) -> bytes:
    """A DER UTF8String (tag 12), as Fulcio writes the v2 issuer extension."""
    data = text.encode()
    if len(data) < 0x80:
        return bytes([0x0C, len(data)]) + data
    length = len(data).to_bytes((len(data).bit_length() + 7) // 8, "big")
    return bytes([0x0C, 0x80 | len(length)]) + length + data


def name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigpolicy tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def key_usage_of(*, ca: bool) -> x509.KeyUsage:
    """Certificate signing for a CA, digital signatures for a leaf."""
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def cosign_payload(digest: str, reference: str) -> bytes:
    """What ``cosign sign`` signs: the identity without a tag, ``optional: null``."""
    document = {
        "critical": {
            "identity": {"docker-reference": reference},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": None,
    }
    return json.dumps(document, separators=(",", ":")).encode()


def sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


@dataclass
class CA:
    """One CA certificate and its key."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


def make_ca(
    common_name: str,
    *,
    parent: CA | None = None,
    not_before: int = NOW - 86400,
    not_after: int = NOW + 365 * 86400,
    path_length: int | None = None,
    ca: bool = True,
    eku: Sequence[x509.ObjectIdentifier] | None = None,
    key_usage: bool = True,
) -> CA:
    """A CA certificate, self-signed without ``parent``."""
    key = ec.generate_private_key(ec.SECP384R1())
    issuer_name = parent.cert.subject if parent else name(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(common_name))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(utc(not_before))
        .not_valid_after(utc(not_after))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if key_usage:
        builder = builder.add_extension(key_usage_of(ca=True), critical=True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    signer = parent.key if parent else key
    return CA(key, builder.sign(signer, hashes.SHA384()))


@dataclass
class Leaf:
    """A signing certificate, its key, and the chain it came with (intermediates, root)."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    @property
    def cert_pem(self) -> str:
        return pem(self.cert)

    @property
    def chain_pem(self) -> str:
        return pem(*self.chain)


def issue_leaf(
    issuer: CA,
    chain: Sequence[x509.Certificate],
    *,
    emails: Sequence[str] = (),
    uris: Sequence[str] = (),
    dns_names: Sequence[str] = (),
    subject: x509.Name | None = None,
    san_critical: bool = True,
    eku: Sequence[x509.ObjectIdentifier] | None = (CODE_SIGNING,),
    not_before: int = NOW - 60,
    not_after: int = NOW + 540,
    extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
) -> Leaf:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject if subject is not None else x509.Name([]))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(utc(not_before))
        .not_valid_after(utc(not_after))
        .add_extension(key_usage_of(ca=False), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    names: list[x509.GeneralName] = [x509.RFC822Name(e) for e in emails]
    names += [x509.UniformResourceIdentifier(u) for u in uris]
    names += [x509.DNSName(d) for d in dns_names]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=san_critical)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return Leaf(key, builder.sign(issuer.key, hashes.SHA384()), tuple(chain))


class FakeFulcio:
    """A Fulcio-like hierarchy: a self-signed root and (by default) one intermediate."""

    def __init__(
        self,
        common_name: str = "fake fulcio",
        *,
        intermediate: bool = True,
        not_before: int = NOW - 86400,
        not_after: int = NOW + 365 * 86400,
    ) -> None:
        self.root = make_ca(common_name + " root", not_before=not_before, not_after=not_after)
        self.intermediate = (
            make_ca(
                common_name + " intermediate",
                parent=self.root,
                not_before=not_before,
                not_after=not_after,
                path_length=0,
                eku=(CODE_SIGNING,),
            )
            if intermediate
            else None
        )
        self.issuer = self.intermediate or self.root

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """Intermediates then the root, as cosign writes the chain annotation."""
        if self.intermediate is not None:
            return (self.intermediate.cert, self.root.cert)
        return (self.root.cert,)

    @property
    def roots_pem(self) -> str:
        return pem(self.root.cert)

    @property
    def chain_pem(self) -> str:
        return pem(*self.chain)

    def issue(
        self,
        *,
        email: str | None = EMAIL,
        uris: Sequence[str] = (),
        issuer: str | None = OIDC_ISSUER,
        issuer_v1: str | bytes | None = None,
        issuer_v2: str | bytes | None = None,
        eku: Sequence[x509.ObjectIdentifier] | None = (CODE_SIGNING,),
        not_before: int = NOW - 60,
        not_after: int = NOW + 540,
        extra: Sequence[tuple[x509.ExtensionType, bool]] = (),
        signer: CA | None = None,
    ) -> Leaf:
        """A Fulcio-style certificate. ``issuer`` fills both issuer extensions unless
        ``issuer_v1`` / ``issuer_v2`` are given (a ``bytes`` value is written as is)."""
        extensions = list(extra)
        v1 = issuer if issuer_v1 is None else issuer_v1
        v2 = issuer if issuer_v2 is None else issuer_v2
        if v1 is not None:
            raw = v1.encode() if isinstance(v1, str) else v1
            extensions.append((x509.UnrecognizedExtension(ISSUER_V1, raw), False))
        if v2 is not None:
            raw = der_utf8(v2) if isinstance(v2, str) else v2
            extensions.append((x509.UnrecognizedExtension(ISSUER_V2, raw), False))
        return issue_leaf(
            signer or self.issuer,
            self.chain,
            emails=() if email is None else (email,),
            uris=uris,
            eku=eku,
            not_before=not_before,
            not_after=not_after,
            extensions=extensions,
        )


class FakePKI:
    """containers/image's ``pki``: an organisation's root, and optionally an intermediate."""

    def __init__(self, common_name: str = "fake pki", *, intermediate: bool = True) -> None:
        self.root = make_ca(common_name + " root")
        self.intermediate = (
            make_ca(common_name + " intermediate", parent=self.root, path_length=0)
            if intermediate
            else None
        )
        self.issuer = self.intermediate or self.root

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        if self.intermediate is not None:
            return (self.intermediate.cert, self.root.cert)
        return (self.root.cert,)

    @property
    def roots_pem(self) -> str:
        return pem(self.root.cert)

    @property
    def intermediates_pem(self) -> str:
        return pem(self.intermediate.cert) if self.intermediate is not None else ""

    def issue(
        self,
        *,
        emails: Sequence[str] = (EMAIL,),
        dns_names: Sequence[str] = ("signer.example.test",),
        eku: Sequence[x509.ObjectIdentifier] | None = None,
        not_before: int = NOW - 86400,
        not_after: int = NOW + 86400,
        extra: Sequence[tuple[x509.ExtensionType, bool]] = (),
    ) -> Leaf:
        """A leaf as the corpus's PKI image has: a subject, non-critical SANs, no EKU."""
        return issue_leaf(
            self.issuer,
            self.chain,
            emails=emails,
            dns_names=dns_names,
            subject=name("pki signer"),
            san_critical=False,
            eku=eku,
            not_before=not_before,
            not_after=not_after,
            extensions=extra,
        )


def canonical_json(value: Any) -> bytes:
    """RFC 8785 for the documents the tests make (strings, ints, objects): sorted keys,
    no white space, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def hashedrekord(payload: bytes, signature: bytes, key_or_cert_pem: str) -> dict[str, Any]:
    """The hashedrekord v0.0.1 entry Rekor logs for a cosign signature."""
    return {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}},
            "signature": {
                "content": base64.b64encode(signature).decode(),
                "publicKey": {"content": base64.b64encode(key_or_cert_pem.encode()).decode()},
            },
        },
    }


@dataclass
class FakeRekor:
    """A transparency log's signing key; it signs SETs, nothing is logged anywhere."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    @property
    def public_pem(self) -> str:
        return public_pem(self.key.public_key())

    @property
    def log_id(self) -> str:
        der = self.key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return hashlib.sha256(der).hexdigest()

    def bundle(
        self,
        payload: bytes,
        signature: bytes,
        key_or_cert_pem: str,
        *,
        integrated_time: int = NOW,
        log_index: int = 1234,
        body_edit: Callable[[dict[str, Any]], None] | None = None,
        payload_edit: Callable[[dict[str, Any]], None] | None = None,
        body_bytes: bytes | None = None,
        signer: ec.EllipticCurvePrivateKey | None = None,
    ) -> str:
        """The ``dev.sigstore.cosign/bundle`` annotation; ``signer`` signs in the log's
        place (a wrong log key)."""
        body = hashedrekord(payload, signature, key_or_cert_pem)
        if body_edit is not None:
            body_edit(body)
        raw_body = body_bytes if body_bytes is not None else json.dumps(body).encode()
        signed: dict[str, Any] = {
            "body": base64.b64encode(raw_body).decode(),
            "integratedTime": integrated_time,
            "logIndex": log_index,
            "logID": self.log_id,
        }
        if payload_edit is not None:
            payload_edit(signed)
        set_signature = sign(signer or self.key, canonical_json(signed))
        return json.dumps(
            {
                "SignedEntryTimestamp": base64.b64encode(set_signature).decode(),
                "Payload": signed,
            }
        )


@dataclass
class Signed:
    """One signature, as an attachment and as a ``dir:`` signature file."""

    attachment: SigstoreSignature

    @property
    def file(self) -> bytes:
        document = {
            "mimeType": self.attachment.mime_type,
            "payload": base64.b64encode(self.attachment.payload).decode(),
            "annotations": self.attachment.annotations,
        }
        return b"\x00sigstore-json\n" + json.dumps(document).encode()

    def without(self, annotation: str) -> Signed:
        annotations = {k: v for k, v in self.attachment.annotations.items() if k != annotation}
        return self.replaced(annotations)

    def with_annotation(self, annotation: str, value: str) -> Signed:
        return self.replaced(self.attachment.annotations | {annotation: value})

    def replaced(self, annotations: dict[str, str]) -> Signed:
        a = self.attachment
        return Signed(
            SigstoreSignature(
                a.mime_type, a.payload, annotations.get(SIGNATURE_ANNOTATION), annotations
            )
        )


def attachment(payload: bytes, annotations: dict[str, str]) -> Signed:
    return Signed(
        SigstoreSignature(MIME_TYPE, payload, annotations.get(SIGNATURE_ANNOTATION), annotations)
    )


def keyless_signature(
    leaf: Leaf,
    rekor: FakeRekor | None,
    *,
    payload: bytes,
    chain: bool = True,
    integrated_time: int = NOW,
    signing_key: ec.EllipticCurvePrivateKey | None = None,
    **bundle_options: Any,
) -> Signed:
    """What ``cosign sign`` attaches with a Fulcio (or PKI) certificate: the signature by
    ``signing_key`` (default the leaf's), certificate, chain and (with ``rekor``) the SET."""
    signature = sign(signing_key or leaf.key, payload)
    annotations = {
        SIGNATURE_ANNOTATION: base64.b64encode(signature).decode(),
        CERTIFICATE_ANNOTATION: leaf.cert_pem,
    }
    if chain:
        annotations[CHAIN_ANNOTATION] = leaf.chain_pem
    if rekor is not None:
        annotations[BUNDLE_ANNOTATION] = rekor.bundle(
            payload, signature, leaf.cert_pem, integrated_time=integrated_time, **bundle_options
        )
    return attachment(payload, annotations)


def key_signature(
    key: ec.EllipticCurvePrivateKey,
    rekor: FakeRekor | None,
    *,
    payload: bytes,
    integrated_time: int = NOW,
    **bundle_options: Any,
) -> Signed:
    """``cosign sign --key``, with the SET of the log when ``rekor`` is given."""
    signature = sign(key, payload)
    annotations = {SIGNATURE_ANNOTATION: base64.b64encode(signature).decode()}
    if rekor is not None:
        annotations[BUNDLE_ANNOTATION] = rekor.bundle(
            payload,
            signature,
            public_pem(key.public_key()),
            integrated_time=integrated_time,
            **bundle_options,
        )
    return attachment(payload, annotations)
