"""containers-policy.json(5), with containers/image's exact semantics (SEMANTICS.md §3-4).

Loading is strict as upstream's: unknown fields, duplicate keys (refused by the reader) and
empty requirement lists are errors; ``signedBy`` needs ``keyType`` and exactly one of
``keyPath``, ``keyPaths``, ``keyData``; ``sigstoreSigned`` exactly one of ``keyPath``,
``keyPaths``, ``keyData``, ``keyDatas``, ``fulcio`` and ``pki``, at most one Rekor key source
(required with ``fulcio``, refused with ``pki``), with upstream's messages. Scopes of
the ``docker`` transport are taken as written (upstream accepts any string there; one that can
never be selected is reported by ``policy check``). Other transports parse and are not used:
sigpolicy judges container images, which come through ``docker``.

Differences, all refusals rather than relaxations:

- in ``sigstoreSigned``, empty strings (``"keyPath": ""``) are refused where upstream takes
  them for "not given" (and then refuses the requirement anyway);
- ``signedBy`` with a ``keyType`` other than ``GPGKeys``, and ``signedBaseLayer``, load and deny,
  as upstream does.

Key files are read when the requirement is first evaluated, as upstream does, so a policy
naming keys that are not on this machine still loads.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sigpolicy.errors import InputError, PolicyError
from sigpolicy.policy.decision import RequirementOutcome
from sigpolicy.policy.engine import Policy
from sigpolicy.policy.evidence import ImageEvidence
from sigpolicy.policy.identity_rules import identity_rule
from sigpolicy.policy.patterns import ImagePattern, parse_pattern
from sigpolicy.policy.requirements import AcceptAnything, AllOf, Reject, Requirement, SignedBy
from sigpolicy.policy.scopes import Scope
from sigpolicy.policy.selectors import EVERY_NAMESPACE
from sigpolicy.policy.sigstore_requirement import Authority, SigstoreSigned
from sigpolicy.policy.sigstore_trust import FulcioSources, PKISources, TrustSources
from sigpolicy.reasons import Reason
from sigpolicy.trust.store import TrustStore

_REQUIREMENT_FIELDS: dict[str, set[str]] = {
    "insecureAcceptAnything": set(),
    "reject": set(),
    "signedBy": {"keyType", "keyPath", "keyPaths", "keyData", "signedIdentity"},
    "signedBaseLayer": {"baseLayerIdentity"},
    "sigstoreSigned": {
        "keyPath", "keyPaths", "keyData", "keyDatas", "fulcio", "pki",
        "rekorPublicKeyPath", "rekorPublicKeyPaths", "rekorPublicKeyData", "rekorPublicKeyDatas",
        "signedIdentity",
    },
}  # fmt: skip
_KEY_SOURCES = ("keyPath", "keyPaths", "keyData", "keyDatas")
_REKOR_SOURCES = (
    "rekorPublicKeyPath", "rekorPublicKeyPaths", "rekorPublicKeyData", "rekorPublicKeyDatas",
)  # fmt: skip
_PKI_FIELDS = (
    "caRootsPath", "caRootsData", "caIntermediatesPath", "caIntermediatesData",
    "subjectEmail", "subjectHostname",
)  # fmt: skip
_KEY_TYPES = {"GPGKeys", "signedByGPGKeys", "X509Certificates", "signedByX509CAs"}


def looks_like_containers_policy(document: Any) -> bool:
    return isinstance(document, dict) and "default" in document and "kind" not in document


def load_containers_policy(document: Any, *, origin: str, base: Path) -> Policy:
    """Build the engine's policy; PolicyError with the JSON path of the first problem."""
    if not isinstance(document, dict):
        raise PolicyError(f"{origin}: a policy.json is a JSON object")
    _fields(document, {"default", "transports"}, "$")
    if "default" not in document:
        raise PolicyError(f"{origin}: $.default: Default policy is missing")
    loader = _Loader(origin, base)
    default = loader.requirements(document["default"], "$.default")
    scopes: list[Scope] = []
    transports = document.get("transports") or {}
    if not isinstance(transports, dict):
        raise PolicyError(f"{origin}: $.transports: expected an object")
    for transport, entries in transports.items():
        where = f"$.transports.{transport}"
        if not isinstance(entries, dict):
            raise PolicyError(f"{origin}: {where}: expected an object of scopes")
        for scope, requirements in entries.items():
            requirement = loader.requirements(requirements, f"{where}[{scope!r}]")
            if transport != "docker":
                continue
            pattern = containers_scope(scope)
            scopes.append(
                Scope(scope or '""', (pattern,), EVERY_NAMESPACE, None, requirement, len(scopes))
            )
    return Policy(scopes, default=default, origin=origin, format_name="containers-policy.json")


def containers_scope(scope: str) -> ImagePattern:
    """A docker-transport scope as written; never a glob (``*`` is literal but in ``*.``)."""
    if scope == "":
        return parse_pattern("")
    try:
        pattern = parse_pattern(scope)
    except PolicyError:
        pattern = None
    if pattern is not None and pattern.kind != "glob":
        return pattern
    # Upstream accepts any string; it is looked up verbatim and may never be selected.
    return ImagePattern(scope, "repository", float(scope.count("/") + 1), len(scope), None, None)


def _fields_at(origin: str, obj: Mapping[str, Any], allowed: set[str], where: str) -> None:
    try:
        _fields(obj, allowed, where)
    except PolicyError as exc:
        raise PolicyError(f"{origin}: {exc}") from None


def _fields(obj: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise PolicyError(f"{where}: unknown field {unknown[0]!r}")


class _Loader:
    def __init__(self, origin: str, base: Path) -> None:
        self.origin = origin
        self.base = base

    def error(self, where: str, message: str) -> PolicyError:
        return PolicyError(f"{self.origin}: {where}: {message}")

    def requirements(self, value: Any, where: str) -> Requirement:
        if not isinstance(value, list):
            raise self.error(where, "expected a list of requirements")
        if not value:
            raise self.error(where, "an empty list of requirements is not allowed")
        children = [self.requirement(item, f"{where}[{i}]") for i, item in enumerate(value)]
        return AllOf(children, label="all of") if len(children) > 1 else children[0]

    def requirement(self, value: Any, where: str) -> Requirement:
        if not isinstance(value, dict):
            raise self.error(where, "expected a requirement object")
        kind = value.get("type")
        if kind not in _REQUIREMENT_FIELDS:
            raise self.error(where, f"unknown requirement type {kind!r}")
        try:
            _fields(value, _REQUIREMENT_FIELDS[kind] | {"type"}, where)
        except PolicyError as exc:
            raise PolicyError(f"{self.origin}: {exc}") from None
        if kind == "insecureAcceptAnything":
            return AcceptAnything()
        if kind == "reject":
            return Reject()
        if kind == "signedBaseLayer":
            self.identity(
                value.get("baseLayerIdentity"), f"{where}.baseLayerIdentity", required=True
            )
            return _Denied(
                "signedBaseLayer", "signedBaseLayer is not implemented by containers/image either"
            )
        if kind == "signedBy":
            return self.signed_by(value, where)
        return self.sigstore_signed(value, where)

    def identity(self, value: Any, where: str, *, required: bool = False) -> Any:
        if value is None and not required:
            return identity_rule(
                {"type": "matchRepoDigestOrExact"}, where=f"{self.origin}: {where}"
            )
        return identity_rule(value, where=f"{self.origin}: {where}")

    def signed_by(self, value: dict[str, Any], where: str) -> Requirement:
        key_type = value.get("keyType")
        if key_type not in _KEY_TYPES:
            raise self.error(f"{where}.keyType", f"invalid keyType {key_type!r}")
        sources = [k for k in ("keyPath", "keyPaths", "keyData") if k in value]
        if len(sources) != 1:
            raise self.error(where, "exactly one of keyPath, keyPaths and keyData is required")
        rule = self.identity(value.get("signedIdentity"), f"{where}.signedIdentity")
        if key_type != "GPGKeys":
            return _Denied("signedBy", f"keyType {key_type} is not implemented (only GPGKeys)")
        read = self.key_reader(value, sources[0], where, binary_data=True)
        return SignedBy(_lazy_trust(read), rule, label=f"signedBy {sources[0]}")

    def sigstore_signed(self, value: dict[str, Any], where: str) -> Requirement:
        """containers/image ``newPRSigstoreSigned``: the key sources and Rekor rules."""
        sources = [k for k in (*_KEY_SOURCES, "fulcio", "pki") if k in value]
        if len(sources) != 1:
            raise self.error(
                where,
                "exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio, and pki must be"
                " specified",
            )
        rekor = [k for k in _REKOR_SOURCES if k in value]
        if len(rekor) > 1:
            raise self.error(
                where,
                "at most one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and"
                " rekorPublicKeyDatas can be used simultaneously",
            )
        if sources[0] == "fulcio" and not rekor:
            raise self.error(
                where,
                "At least one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and"
                " rekorPublicKeyDatas must be specified if fulcio is used",
            )
        if sources[0] == "pki" and rekor:
            raise self.error(
                where,
                "rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and"
                " rekorPublicKeyDatas are not supported for pki",
            )
        rule = self.identity(value.get("signedIdentity"), f"{where}.signedIdentity")
        trust = TrustSources(
            keys=(
                self.key_reader(value, sources[0], where, binary_data=False)
                if sources[0] in _KEY_SOURCES
                else None
            ),
            fulcio=self.fulcio(value["fulcio"], f"{where}.fulcio") if "fulcio" in value else None,
            pki=self.pki(value["pki"], f"{where}.pki") if "pki" in value else None,
            rekor_keys=(
                self.key_reader(value, rekor[0], where, binary_data=False) if rekor else None
            ),
        )
        label = f"sigstoreSigned {sources[0]}" + (f" {rekor[0]}" if rekor else "")
        return SigstoreSigned([Authority(sources[0], trust.load)], rule, label=label)

    def fulcio(self, value: Any, where: str) -> FulcioSources:
        """``newPRSigstoreSignedFulcio``."""
        if not isinstance(value, dict):
            raise self.error(where, "expected an object")
        _fields_at(self.origin, value, {"caPath", "caData", "oidcIssuer", "subjectEmail"}, where)
        if "caPath" in value and "caData" in value:
            raise self.error(where, "caPath and caData cannot be used simultaneously")
        ca = next((k for k in ("caPath", "caData") if k in value), None)
        if ca is None:
            raise self.error(where, "At least one of caPath and caData must be specified")
        for name in ("oidcIssuer", "subjectEmail"):
            if not value.get(name):
                raise self.error(where, f"{name} not specified")
            if not isinstance(value[name], str):
                raise self.error(f"{where}.{name}", "expected a string")
        return FulcioSources(
            self.key_reader(value, ca, where, binary_data=False),
            value["oidcIssuer"],
            value["subjectEmail"],
        )

    def pki(self, value: Any, where: str) -> PKISources:
        """``newPRSigstoreSignedPKI``."""
        if not isinstance(value, dict):
            raise self.error(where, "expected an object")
        _fields_at(self.origin, value, set(_PKI_FIELDS), where)
        for path, data in (
            ("caRootsPath", "caRootsData"),
            ("caIntermediatesPath", "caIntermediatesData"),
        ):
            if path in value and data in value:
                raise self.error(where, f"{path} and {data} cannot be used simultaneously")
        roots = next((k for k in ("caRootsPath", "caRootsData") if k in value), None)
        if roots is None:
            raise self.error(where, "At least one of caRootsPath and caRootsData must be specified")
        intermediates = next(
            (k for k in ("caIntermediatesPath", "caIntermediatesData") if k in value), None
        )
        for name in ("subjectEmail", "subjectHostname"):
            if name in value and not isinstance(value[name], str):
                raise self.error(f"{where}.{name}", "expected a string")
        if not value.get("subjectEmail") and not value.get("subjectHostname"):
            raise self.error(
                where, "At least one of subjectEmail, subjectHostname must be specified"
            )
        return PKISources(
            self.key_reader(value, roots, where, binary_data=False),
            self.key_reader(value, intermediates, where, binary_data=False)
            if intermediates
            else None,
            value.get("subjectEmail") or None,
            value.get("subjectHostname") or None,
        )

    def key_reader(
        self, value: dict[str, Any], source: str, where: str, *, binary_data: bool
    ) -> Callable[[], list[tuple[str, bytes]]]:
        raw = value[source]
        if source.endswith(("Paths", "Datas")):
            if not isinstance(raw, list) or not raw or not all(isinstance(x, str) for x in raw):
                raise self.error(f"{where}.{source}", "expected a non-empty list of strings")
            items = list(raw)
        else:
            if not isinstance(raw, str) or not raw:
                raise self.error(f"{where}.{source}", "expected a non-empty string")
            items = [raw]
        if "Data" in source:
            decoded = []
            for index, item in enumerate(items):
                try:
                    decoded.append(
                        (f"{where}.{source}[{index}]", base64.b64decode(item, validate=True))
                    )
                except (binascii.Error, ValueError):
                    raise self.error(f"{where}.{source}", "not valid base64") from None
            return lambda: decoded
        paths = [(self.base / item) for item in items]
        return lambda: [_read_key(path) for path in paths]


def _read_key(path: Path) -> tuple[str, bytes]:
    try:
        return str(path), path.read_bytes()
    except OSError as exc:
        raise InputError(f"key file {path}: {exc.strerror}") from None


def _lazy_trust(read: Callable[[], list[tuple[str, bytes]]]) -> Callable[[], TrustStore]:
    loaded: list[TrustStore] = []

    def trust() -> TrustStore:
        if not loaded:
            loaded.append(TrustStore.from_keyrings(read()))
        return loaded[0]

    return trust


class _Denied:
    """A requirement upstream parses but never satisfies."""

    unsafe = False

    def __init__(self, description: str, message: str) -> None:
        self.description = description
        self.message = message

    async def evaluate(self, evidence: ImageEvidence) -> RequirementOutcome:
        return RequirementOutcome(self.description, False, Reason.UNSUPPORTED, self.message)
