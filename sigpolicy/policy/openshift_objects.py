"""OpenShift's ClusterImagePolicy and ImagePolicy (``config.openshift.io/v1``), parsed.

These are wire objects the cluster owns: unknown fields (``status``, managed fields, fields a
newer OpenShift adds) are ignored. The fields sigpolicy uses are checked strictly, with the
rules the API server's schema applies, so a file that the cluster would refuse is refused here
too, in one line naming the object and the field
(``team.yaml: ImagePolicy shop/p0: spec.scopes[1]: ...``):

- ``spec.scopes``: 1 to 256 distinct image scopes: a host with a dot (or ``localhost``), an
  optional port and path, tag or digest; or ``*.`` and a domain (a wildcard is only a host);
- ``spec.policy.rootOfTrust.policyType``: ``PublicKey`` (``publicKey.keyData``, optional
  ``rekorKeyData``), ``FulcioCAWithRekor`` (``fulcioCAWithRekor.fulcioCAData``,
  ``rekorKeyData``, ``fulcioSubject.{oidcIssuer, signedEmail}``) or ``PKI``
  (``pki.caRootsData``, optional ``caIntermediatesData``, ``pkiCertificateSubject.{email,
  hostname}``, at least one); only the member the type names may be present;
- the data fields are base64 of PEM (the API's ``[]byte``): public keys for ``keyData`` and
  ``rekorKeyData``, certificates for the CA fields; each is decoded and parsed here;
- ``spec.policy.signedIdentity.matchPolicy``: ``MatchRepoDigestOrExact`` (the default),
  ``MatchRepository``, ``ExactRepository`` (``exactRepository.repository``) or
  ``RemapIdentity`` (``remapIdentity.{prefix, signedPrefix}``), repositories without tag or
  digest.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from sigpolicy.errors import PolicyError

GROUP = "config.openshift.io"
API_VERSIONS = frozenset({f"{GROUP}/v1", f"{GROUP}/v1alpha1"})
CLUSTER_KIND = "ClusterImagePolicy"
NAMESPACED_KIND = "ImagePolicy"
KINDS = frozenset({CLUSTER_KIND, NAMESPACED_KIND})

MAX_SCOPES = 256
MAX_SCOPE_LENGTH = 512
# The API allows 8192 characters; newer releases raised it to 32768 (post-quantum keys).
MAX_DATA_CHARACTERS = 32768

_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})+(?::[0-9]+)?|localhost(?::[0-9]+)?)"
_PATH = r"(?:/[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*)*"
_SCOPE = re.compile(
    rf"{_HOST}{_PATH}(?::[\w][\w.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)
_WILDCARD = re.compile(rf"\*(?:\.{_LABEL})+")
_REPOSITORY = re.compile(rf"{_HOST}{_PATH}")
_EMAIL = re.compile(r"\S+@\S+")
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_HOSTNAME = re.compile(rf"(?:\*\.)?{_DNS_LABEL}(?:\.{_DNS_LABEL})*")


@dataclass(frozen=True, slots=True)
class PublicKeyTrust:
    key: bytes
    rekor_key: bytes | None


@dataclass(frozen=True, slots=True)
class FulcioTrust:
    ca: bytes
    rekor_key: bytes
    oidc_issuer: str
    signed_email: str


@dataclass(frozen=True, slots=True)
class PKITrust:
    roots: bytes
    intermediates: bytes | None
    email: str | None
    hostname: str | None


RootOfTrust = PublicKeyTrust | FulcioTrust | PKITrust


@dataclass(frozen=True, slots=True)
class SignedIdentity:
    """``matchPolicy`` and, for the two that take one, its argument(s)."""

    match_policy: str
    repository: str | None = None
    prefix: str | None = None
    signed_prefix: str | None = None


@dataclass(frozen=True, slots=True)
class ImagePolicyObject:
    """One ClusterImagePolicy (``namespace`` None) or ImagePolicy, checked."""

    kind: str
    name: str
    namespace: str | None
    scopes: tuple[str, ...]
    trust: RootOfTrust
    identity: SignedIdentity
    origin: str

    @property
    def label(self) -> str:
        """``ClusterImagePolicy p1`` or ``ImagePolicy shop/p0``."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


def is_openshift_policy_object(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("apiVersion") in API_VERSIONS
        and value.get("kind") in KINDS
    )


def parse_policy_object(value: Any, *, origin: str) -> ImagePolicyObject:
    """Check one object; PolicyError ``origin: Kind name: field: problem``."""
    if not is_openshift_policy_object(value):
        raise PolicyError(
            f"{origin}: not a ClusterImagePolicy or ImagePolicy (apiVersion {GROUP}/v1)"
        )
    kind = str(value["kind"])
    metadata = value.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        raise PolicyError(f"{origin}: {kind}: metadata.name: required")
    name = metadata["name"]
    namespace = metadata.get("namespace")
    if kind == NAMESPACED_KIND and (not isinstance(namespace, str) or not namespace):
        raise PolicyError(f"{origin}: {kind} {name}: metadata.namespace: required")
    label = f"{kind} {namespace}/{name}" if kind == NAMESPACED_KIND else f"{kind} {name}"
    reader = _Reader(f"{origin}: {label}")
    spec = reader.mapping(value.get("spec"), "spec")
    policy = reader.mapping(spec.get("policy"), "spec.policy")
    return ImagePolicyObject(
        kind,
        name,
        namespace if kind == NAMESPACED_KIND else None,
        reader.scopes(spec.get("scopes"), "spec.scopes"),
        reader.root_of_trust(policy.get("rootOfTrust"), "spec.policy.rootOfTrust"),
        reader.identity(policy.get("signedIdentity"), "spec.policy.signedIdentity"),
        origin,
    )


class _Reader:
    def __init__(self, where: str) -> None:
        self.where = where

    def error(self, field: str, message: str) -> PolicyError:
        return PolicyError(f"{self.where}: {field}: {message}")

    def mapping(self, value: Any, field: str) -> dict[str, Any]:
        if value is None:
            raise self.error(field, "required")
        if not isinstance(value, dict):
            raise self.error(field, "expected an object")
        return value

    def text(self, value: Any, field: str, *, limit: int = MAX_SCOPE_LENGTH) -> str:
        if value is None:
            raise self.error(field, "required")
        if not isinstance(value, str) or not value:
            raise self.error(field, "expected a non-empty string")
        if len(value) > limit:
            raise self.error(field, f"longer than {limit} characters")
        return value

    def scopes(self, value: Any, field: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.error(field, "expected a non-empty list of image scopes")
        if len(value) > MAX_SCOPES:
            raise self.error(field, f"more than {MAX_SCOPES} scopes")
        seen: list[str] = []
        for index, item in enumerate(value):
            where = f"{field}[{index}]"
            scope = self.text(item, where)
            if "*" in scope:
                if not _WILDCARD.fullmatch(scope):
                    raise self.error(
                        where, f"{scope!r}: a wildcard is only '*.' at the start of a domain"
                    )
            else:
                host = scope.split("/")[0]
                if "." not in host and host.split(":")[0] != "localhost":
                    raise self.error(
                        where, f"{scope!r}: needs a fully qualified registry host or localhost"
                    )
                if not _SCOPE.fullmatch(scope):
                    raise self.error(where, f"{scope!r}: not a valid image scope")
            if scope in seen:
                raise self.error(where, f"{scope!r} is listed twice")
            seen.append(scope)
        return tuple(seen)

    def data(self, value: Any, field: str) -> bytes:
        """A base64 ``[]byte`` field (Go's decoder skips line breaks, so do we)."""
        text = self.text(value, field, limit=MAX_DATA_CHARACTERS)
        try:
            return base64.b64decode(text.replace("\r", "").replace("\n", ""), validate=True)
        except (binascii.Error, ValueError):
            raise self.error(field, "not valid base64") from None

    def public_key(self, value: Any, field: str) -> bytes:
        data = self.data(value, field)
        try:
            load_pem_public_key(data)
        except UnsupportedAlgorithm:
            raise self.error(field, "a PEM public key of an unsupported type") from None
        except (ValueError, TypeError):
            raise self.error(
                field, "not a PEM public key (base64 of '-----BEGIN PUBLIC KEY-----...')"
            ) from None
        return data

    def certificates(self, value: Any, field: str) -> bytes:
        data = self.data(value, field)
        try:
            x509.load_pem_x509_certificates(data)
        except ValueError:
            raise self.error(
                field, "not PEM certificates (base64 of '-----BEGIN CERTIFICATE-----...')"
            ) from None
        return data

    def root_of_trust(self, value: Any, field: str) -> RootOfTrust:
        root = self.mapping(value, field)
        policy_type = root.get("policyType")
        members = {"PublicKey": "publicKey", "FulcioCAWithRekor": "fulcioCAWithRekor", "PKI": "pki"}
        if policy_type not in members:
            raise self.error(
                f"{field}.policyType",
                f"{policy_type!r}: expected PublicKey, FulcioCAWithRekor or PKI",
            )
        for kind, member in members.items():
            present = root.get(member) is not None
            if present != (kind == policy_type):
                state = "required" if kind == policy_type else "forbidden"
                raise self.error(f"{field}.{member}", f"{state} when policyType is {policy_type}")
        where = f"{field}.{members[policy_type]}"
        body = self.mapping(root[members[policy_type]], where)
        if policy_type == "PublicKey":
            key = self.public_key(body.get("keyData"), f"{where}.keyData")
            rekor = (
                None
                if body.get("rekorKeyData") is None
                else self.public_key(body["rekorKeyData"], f"{where}.rekorKeyData")
            )
            return PublicKeyTrust(key, rekor)
        if policy_type == "FulcioCAWithRekor":
            ca = self.certificates(body.get("fulcioCAData"), f"{where}.fulcioCAData")
            rekor = self.public_key(body.get("rekorKeyData"), f"{where}.rekorKeyData")
            subject = self.mapping(body.get("fulcioSubject"), f"{where}.fulcioSubject")
            issuer = self.text(
                subject.get("oidcIssuer"), f"{where}.fulcioSubject.oidcIssuer", limit=2048
            )
            if not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+", issuer):
                raise self.error(f"{where}.fulcioSubject.oidcIssuer", f"{issuer!r}: not a URL")
            email = self.email(subject.get("signedEmail"), f"{where}.fulcioSubject.signedEmail")
            return FulcioTrust(ca, rekor, issuer, email)
        roots = self.certificates(body.get("caRootsData"), f"{where}.caRootsData")
        intermediates = (
            None
            if body.get("caIntermediatesData") is None
            else self.certificates(body["caIntermediatesData"], f"{where}.caIntermediatesData")
        )
        subject = self.mapping(body.get("pkiCertificateSubject"), f"{where}.pkiCertificateSubject")
        pki_email = (
            None
            if subject.get("email") is None
            else self.email(subject["email"], f"{where}.pkiCertificateSubject.email")
        )
        hostname = subject.get("hostname")
        if hostname is not None:
            hostname = self.text(hostname, f"{where}.pkiCertificateSubject.hostname", limit=253)
            if not _HOSTNAME.fullmatch(hostname):
                raise self.error(
                    f"{where}.pkiCertificateSubject.hostname",
                    f"{hostname!r}: not a DNS name (optionally '*.'-prefixed)",
                )
        if pki_email is None and hostname is None:
            raise self.error(f"{where}.pkiCertificateSubject", "needs email or hostname (or both)")
        return PKITrust(roots, intermediates, pki_email, hostname)

    def email(self, value: Any, field: str) -> str:
        email = self.text(value, field, limit=320)
        if not _EMAIL.fullmatch(email):
            raise self.error(field, f"{email!r}: not an email address")
        return email

    def repository(self, value: Any, field: str) -> str:
        text = self.text(value, field)
        if not _REPOSITORY.fullmatch(text):
            raise self.error(
                field, f"{text!r}: expected a repository or prefix without tag or digest"
            )
        return text

    def identity(self, value: Any, field: str) -> SignedIdentity:
        if value is None:
            return SignedIdentity("MatchRepoDigestOrExact")
        body = self.mapping(value, field)
        match = body.get("matchPolicy", "MatchRepoDigestOrExact")
        allowed = ("MatchRepoDigestOrExact", "MatchRepository", "ExactRepository", "RemapIdentity")
        if match not in allowed:
            raise self.error(
                f"{field}.matchPolicy", f"{match!r}: expected one of {', '.join(allowed)}"
            )
        for kind, member in (
            ("ExactRepository", "exactRepository"),
            ("RemapIdentity", "remapIdentity"),
        ):
            present = body.get(member) is not None
            if present != (kind == match):
                state = "required" if kind == match else "forbidden"
                raise self.error(f"{field}.{member}", f"{state} when matchPolicy is {match}")
        if match == "ExactRepository":
            inner = self.mapping(body["exactRepository"], f"{field}.exactRepository")
            return SignedIdentity(
                match,
                repository=self.repository(
                    inner.get("repository"), f"{field}.exactRepository.repository"
                ),
            )
        if match == "RemapIdentity":
            inner = self.mapping(body["remapIdentity"], f"{field}.remapIdentity")
            return SignedIdentity(
                match,
                prefix=self.repository(inner.get("prefix"), f"{field}.remapIdentity.prefix"),
                signed_prefix=self.repository(
                    inner.get("signedPrefix"), f"{field}.remapIdentity.signedPrefix"
                ),
            )
        return SignedIdentity(str(match))
