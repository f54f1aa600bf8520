"""A Sigstore deployment in miniature for the tests, made with ``cryptography`` (no files kept).

- :class:`TestCA`: a Fulcio-like CA (self-signed root, optional intermediate) issuing
  short-lived code-signing certificates with the Fulcio OIDC issuer extensions and an email
  or URI SAN;
- :class:`TestLog`: a Rekor-like log key (ECDSA P-256 or Ed25519) signing inclusion
  promises (SETs) and signed-note checkpoints over a real RFC 6962 Merkle tree;
- :func:`trusted_root_json`: a ``trusted_root.json`` of those, in the layout the
  public-good root ships (tests/trusted_root compare the two);
- :func:`make_bundle`: a message-signature bundle (v0.1 to v0.3) as cosign v3 writes it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ISSUER_V1_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
ISSUER_V2_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
OIDC_ISSUER = "https://issuer.example.test"
EMAIL = "signer@example.test"
TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"

LogPrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def rfc3339(when: int) -> str:
    return dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def spki(key: Any) -> bytes:
    der: bytes = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return der


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigpolicy tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _time(when: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(when, dt.UTC)


@dataclass
class TestCA:
    """A Fulcio-like CA valid from ``not_before`` to ``not_after`` (unix seconds)."""

    not_before: int
    not_after: int
    name: str = "test fulcio"
    with_intermediate: bool = True
    root_key: ec.EllipticCurvePrivateKey = field(init=False)
    root: x509.Certificate = field(init=False)
    issuing_key: ec.EllipticCurvePrivateKey = field(init=False)
    intermediate: x509.Certificate | None = field(init=False, default=None)

    __test__ = False  # not a pytest test class

    def __post_init__(self) -> None:
        self.root_key = ec.generate_private_key(ec.SECP384R1())
        self.root = self._ca_cert(
            _name(self.name + " root"),
            self.root_key.public_key(),
            _name(self.name + " root"),
            self.root_key,
            path_length=1,
        )
        self.issuing_key = self.root_key
        if self.with_intermediate:
            self.issuing_key = ec.generate_private_key(ec.SECP384R1())
            self.intermediate = self._ca_cert(
                _name(self.name + " intermediate"),
                self.issuing_key.public_key(),
                self.root.subject,
                self.root_key,
                path_length=0,
            )

    def _ca_cert(
        self,
        subject: x509.Name,
        public_key: ec.EllipticCurvePublicKey,
        issuer: x509.Name,
        signer: ec.EllipticCurvePrivateKey,
        *,
        path_length: int,
    ) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(_time(self.not_before))
            .not_valid_after(_time(self.not_after))
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .sign(signer, hashes.SHA384())
        )

    @property
    def chain(self) -> list[x509.Certificate]:
        """Intermediates first, root last, as trusted_root.json and bundles order them."""
        return [self.intermediate, self.root] if self.intermediate is not None else [self.root]

    @property
    def issuer_cert(self) -> x509.Certificate:
        return self.intermediate if self.intermediate is not None else self.root

    def issue(
        self,
        public_key: Any,
        *,
        not_before: int,
        not_after: int,
        email: str | None = EMAIL,
        uri: str | None = None,
        oidc_issuer: str | None = OIDC_ISSUER,
    ) -> x509.Certificate:
        """A Fulcio-style signing certificate for ``public_key``."""
        names: list[x509.GeneralName] = []
        if email is not None:
            names.append(x509.RFC822Name(email))
        if uri is not None:
            names.append(x509.UniformResourceIdentifier(uri))
        issuer = self.issuer_cert
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(issuer.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(_time(not_before))
            .not_valid_after(_time(not_after))
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    issuer.public_key()  # type: ignore[arg-type]
                ),
                critical=False,
            )
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=True)
        if oidc_issuer is not None:
            builder = builder.add_extension(
                x509.UnrecognizedExtension(ISSUER_V1_OID, oidc_issuer.encode()), critical=False
            )
            builder = builder.add_extension(
                x509.UnrecognizedExtension(ISSUER_V2_OID, _der_utf8(oidc_issuer)), critical=False
            )
        return builder.sign(self.issuing_key, hashes.SHA384())


def _der_utf8(text: str) -> bytes:
    data = text.encode()
    assert len(data) < 128
    return bytes([0x0C, len(data)]) + data


@dataclass
class TestLog:
    """A Rekor-like log key; ``base_url`` gives the signed-note origin of an Ed25519 log."""

    kind: str = "p256"
    base_url: str = "https://rekor.example.test"
    key: LogPrivateKey = field(init=False)

    __test__ = False

    def __post_init__(self) -> None:
        self.key = (
            ed25519.Ed25519PrivateKey.generate()
            if self.kind == "ed25519"
            else ec.generate_private_key(ec.SECP256R1())
        )

    @property
    def key_details(self) -> str:
        return "PKIX_ED25519" if self.kind == "ed25519" else "PKIX_ECDSA_P256_SHA_256"

    @property
    def log_id(self) -> bytes:
        """Rekor v1's ID (SHA-256 of the SPKI); a Rekor v2 Ed25519 log's signed-note key ID."""
        if self.kind == "ed25519":
            raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            return hashlib.sha256(self.origin.encode() + b"\n\x01" + raw).digest()
        return hashlib.sha256(spki(self.key.public_key())).digest()

    @property
    def origin(self) -> str:
        return self.base_url.partition("://")[2]

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            return self.key.sign(data)
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))


def trusted_root_json(
    cas: Sequence[tuple[TestCA, int, int | None]] = (),
    tlogs: Sequence[tuple[TestLog, int, int | None]] = (),
    ctlogs: Sequence[tuple[TestLog, int, int | None]] = (),
    *,
    media_type: str = TRUSTED_ROOT_MEDIA_TYPE,
) -> dict[str, Any]:
    """A trusted root document: each entry with its validFor (start, end or None)."""

    def valid_for(start: int, end: int | None) -> dict[str, str]:
        window = {"start": rfc3339(start)}
        if end is not None:
            window["end"] = rfc3339(end)
        return window

    def log_entry(log: TestLog, start: int, end: int | None) -> dict[str, Any]:
        return {
            "baseUrl": log.base_url,
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": b64(spki(log.key.public_key())),
                "keyDetails": log.key_details,
                "validFor": valid_for(start, end),
            },
            "logId": {"keyId": b64(log.log_id)},
        }

    return {
        "mediaType": media_type,
        "tlogs": [log_entry(*entry) for entry in tlogs],
        "certificateAuthorities": [
            {
                "subject": {"organization": "sigpolicy tests", "commonName": ca.name},
                "uri": "https://fulcio.example.test",
                "certChain": {
                    "certificates": [
                        {"rawBytes": b64(cert.public_bytes(Encoding.DER))} for cert in ca.chain
                    ]
                },
                "validFor": valid_for(start, end),
            }
            for ca, start, end in cas
        ],
        "ctlogs": [log_entry(*entry) for entry in ctlogs],
        "timestampAuthorities": [],
    }


def dumps(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=2).encode()


# --- transparency log: Merkle tree, checkpoints, entries ---


def _leaf(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (RFC 6962 §2.1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def merkle_root(entries: Sequence[bytes]) -> bytes:
    """RFC 6962 MTH, by its recursive definition (independent of the verifier's loop)."""
    if len(entries) == 1:
        return _leaf(entries[0])
    k = _split(len(entries))
    return _node(merkle_root(entries[:k]), merkle_root(entries[k:]))


def merkle_path(index: int, entries: Sequence[bytes]) -> list[bytes]:
    """RFC 6962 PATH(m, D[n]): the audit path of leaf ``index``, leaf side first."""
    if len(entries) == 1:
        return []
    k = _split(len(entries))
    if index < k:
        return [*merkle_path(index, entries[:k]), merkle_root(entries[k:])]
    return [*merkle_path(index - k, entries[k:]), merkle_root(entries[:k])]


def signed_checkpoint(
    log: TestLog,
    size: int,
    root: bytes,
    *,
    origin: str | None = None,
    extensions: Sequence[str] = (),
    signer: TestLog | None = None,
    witnesses: Sequence[TestLog] = (),
) -> str:
    """A C2SP signed note: the note text, a blank line, a signature line per key. The key
    hint is the first 4 bytes of the log ID, as Rekor writes it."""
    note = f"{origin or log.origin}\n{size}\n{b64(root)}\n" + "".join(f"{e}\n" for e in extensions)
    key = signer or log
    lines = [f"\u2014 {log.origin} {b64(key.log_id[:4] + key.sign(note.encode()))}\n"]
    lines += [f"\u2014 witness {b64(w.log_id[:4] + w.sign(note.encode()))}\n" for w in witnesses]
    return note + "\n" + "".join(lines)


def canonical(value: Any) -> bytes:
    """RFC 8785 for what the kit writes (ASCII strings, small integers, objects)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def pem_of(item: Any) -> bytes:
    if isinstance(item, x509.Certificate):
        return item.public_bytes(Encoding.PEM)
    pem: bytes = item.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return pem


def hashedrekord_body(payload: bytes, signature: bytes, verifier: Any) -> bytes:
    """The hashedrekord 0.0.1 entry Rekor logs for a message signature, canonicalized."""
    return canonical(
        {
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {
                    "hash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}
                },
                "signature": {
                    "content": b64(signature),
                    "publicKey": {"content": b64(pem_of(verifier))},
                },
            },
        }
    )


def set_of(log: TestLog, body: bytes, integrated_time: int, log_index: int) -> bytes:
    """The inclusion promise: the log's signature over the canonical
    ``{body, integratedTime, logID, logIndex}``."""
    return log.sign(
        canonical(
            {
                "body": b64(body),
                "integratedTime": integrated_time,
                "logID": log.log_id.hex(),
                "logIndex": log_index,
            }
        )
    )


BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
BUNDLE_V02 = "application/vnd.dev.sigstore.bundle+json;version=0.2"
BUNDLE_V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
BUNDLE_V03_ALT = "application/vnd.dev.sigstore.bundle+json;version=0.3"


def sign_message(key: Any, payload: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(payload)
    signature: bytes = key.sign(payload, ec.ECDSA(hashes.SHA256()))
    return signature


def tlog_entry(
    log: TestLog,
    body: bytes,
    *,
    integrated_time: int,
    others: int = 4,
    position: int = 2,
    promise: bool = True,
    proof: bool = True,
    log_index_offset: int = 1000,
) -> dict[str, Any]:
    """One ``tlogEntries`` item: ``body`` at ``position`` in a tree of ``others`` + 1 real
    leaves (the others are made-up entries), a SET and an inclusion proof with a checkpoint."""
    entries = [canonical({"other": i}) for i in range(others)]
    entries.insert(position, body)
    root = merkle_root(entries)
    entry: dict[str, Any] = {
        "logIndex": str(log_index_offset + position),
        "logId": {"keyId": b64(log.log_id)},
        "kindVersion": {"kind": "hashedrekord", "version": "0.0.1"},
        "integratedTime": str(integrated_time),
        "canonicalizedBody": b64(body),
    }
    if promise:
        entry["inclusionPromise"] = {
            "signedEntryTimestamp": b64(
                set_of(log, body, integrated_time, log_index_offset + position)
            )
        }
    if proof:
        entry["inclusionProof"] = {
            "logIndex": str(position),
            "rootHash": b64(root),
            "treeSize": str(len(entries)),
            "hashes": [b64(h) for h in merkle_path(position, entries)],
            "checkpoint": {"envelope": signed_checkpoint(log, len(entries), root)},
        }
    return entry


def message_bundle(
    payload: bytes,
    key: Any,
    log: TestLog,
    *,
    integrated_time: int,
    certificate: x509.Certificate | None = None,
    chain: Sequence[x509.Certificate] = (),
    media_type: str = BUNDLE_V03,
    promise: bool = True,
    proof: bool = True,
) -> dict[str, Any]:
    """A message-signature bundle over ``payload`` signed by ``key``: with ``certificate``
    (v0.3: ``certificate``; older: ``x509CertificateChain`` of it and ``chain``), else a
    ``publicKey`` hint; one log entry."""
    signature = sign_message(key, payload)
    verifier = certificate if certificate is not None else key.public_key()
    body = hashedrekord_body(payload, signature, verifier)
    material: dict[str, Any]
    if certificate is None:
        material = {"publicKey": {"hint": b64(hashlib.sha256(spki(key.public_key())).digest())}}
    elif media_type in (BUNDLE_V03, BUNDLE_V03_ALT):
        material = {"certificate": {"rawBytes": b64(certificate.public_bytes(Encoding.DER))}}
    else:
        material = {
            "x509CertificateChain": {
                "certificates": [
                    {"rawBytes": b64(c.public_bytes(Encoding.DER))} for c in (certificate, *chain)
                ]
            }
        }
    material["tlogEntries"] = [
        tlog_entry(log, body, integrated_time=integrated_time, promise=promise, proof=proof)
    ]
    return {
        "mediaType": media_type,
        "verificationMaterial": material,
        "messageSignature": {
            "messageDigest": {
                "algorithm": "SHA2_256",
                "digest": b64(hashlib.sha256(payload).digest()),
            },
            "signature": b64(signature),
        },
    }
