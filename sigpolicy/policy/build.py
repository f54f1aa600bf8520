"""From the project's YAML policy (:mod:`.schema`) to the engine (:mod:`.engine`).

Checks that need more than the schema happen here, each with its JSON path: image patterns
must be able to match, trust entries named by ``signedBy`` must exist in the trust store,
``required`` entries must be among the accepted ones, thresholds must be reachable, and scope
names must be unique. Permissive requirements (``insecureAcceptAnything``) are named unsafe
and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sigpolicy.errors import InputError, PolicyError
from sigpolicy.policy import schema as s
from sigpolicy.policy.engine import ExemptionRule, Policy
from sigpolicy.policy.identity_rules import identity_rule
from sigpolicy.policy.patterns import ImagePattern, parse_pattern
from sigpolicy.policy.requirements import (
    AcceptAnything,
    AllOf,
    Reject,
    Requirement,
    SignedBy,
    Threshold,
    any_of,
)
from sigpolicy.policy.safe_regexp import compile_anchored
from sigpolicy.policy.scopes import Scope
from sigpolicy.policy.selectors import Expression, LabelSelector, NamespaceCondition
from sigpolicy.policy.sigstore_requirement import Authority, SigstoreSigned
from sigpolicy.policy.sigstore_trust import FulcioSources, PKISources, TrustSources
from sigpolicy.reference.identity import IdentityRule, MatchRepoDigestOrExact
from sigpolicy.signature.fulcio import TextPattern
from sigpolicy.trust.identity import Identity
from sigpolicy.trust.store import TrustStore

log = logging.getLogger(__name__)

TrustProvider = Callable[[], TrustStore]


class Builder:
    def __init__(self, origin: str, base: Path, trust: TrustProvider | None) -> None:
        self.origin = origin
        self.base = base
        self.trust = trust

    def error(self, where: str, message: str) -> PolicyError:
        return PolicyError(f"{self.origin}: {where}: {message}")

    def policy(self, spec: s.PolicySpec) -> Policy:
        names = [scope.name for scope in spec.scopes]
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate:
            raise self.error("$.scopes", f"scope name {duplicate!r} is used twice")
        scopes = [self.scope(scope, f"$.scopes[{i}]", i) for i, scope in enumerate(spec.scopes)]
        exemptions = [
            self.exemption(e, f"$.exemptions[{i}]") for i, e in enumerate(spec.exemptions)
        ]
        policy = Policy(
            scopes,
            mode=spec.mode,
            no_match=spec.no_match,
            exemptions=exemptions,
            origin=self.origin,
            format_name="sigpolicy",
        )
        for name in policy.unsafe_scopes:
            log.warning(
                "%s: scope %s accepts images without any signature (unsafe)", self.origin, name
            )
        return policy

    def patterns(self, texts: list[str], where: str) -> tuple[ImagePattern, ...]:
        out = []
        for index, text in enumerate(texts):
            try:
                out.append(parse_pattern(text))
            except PolicyError as exc:
                raise self.error(f"{where}[{index}]", str(exc)) from None
        return tuple(out)

    def namespaces(
        self, names: list[str] | None, selector: s.LabelSelectorSpec | None
    ) -> NamespaceCondition:
        built = None
        if selector is not None:
            built = LabelSelector(
                dict(selector.match_labels),
                tuple(
                    Expression(e.key, e.operator, frozenset(e.values))
                    for e in selector.match_expressions
                ),
            )
        return NamespaceCondition(None if names is None else frozenset(names), built)

    def scope(self, spec: s.ScopeSpec, where: str, position: int) -> Scope:
        requirement = self.all_of(spec.require, f"{where}.require")
        return Scope(
            spec.name,
            self.patterns(spec.images, f"{where}.images"),
            self.namespaces(spec.namespaces, spec.namespace_selector),
            spec.mode,
            requirement,
            position,
            spec.pin_digests,
            spec.tag_resolution,
        )

    def exemption(self, spec: s.ExemptionSpec, where: str) -> ExemptionRule:
        namespaces = None
        if spec.namespaces is not None or spec.namespace_selector is not None:
            namespaces = self.namespaces(spec.namespaces, spec.namespace_selector)
        images = self.patterns(spec.images, f"{where}.images") if spec.images else ()
        return ExemptionRule(spec.name, spec.reason, namespaces, images)

    def all_of(self, specs: list[s.RequirementSpec], where: str) -> Requirement:
        children = [self.requirement(r, f"{where}[{i}]") for i, r in enumerate(specs)]
        return children[0] if len(children) == 1 else AllOf(children)

    def requirement(self, spec: s.RequirementSpec, where: str) -> Requirement:
        if spec.signed_by is not None:
            return self.signed_by(spec.signed_by, f"{where}.signedBy")
        if spec.sigstore_signed is not None:
            return self.sigstore(spec.sigstore_signed, f"{where}.sigstoreSigned")
        if spec.rego is not None:
            from sigpolicy.policy.rego_requirement import rego_requirement

            return rego_requirement(spec.rego, self, f"{where}.rego")
        if spec.all_of is not None:
            return AllOf(
                [self.requirement(r, f"{where}.allOf[{i}]") for i, r in enumerate(spec.all_of)]
            )
        if spec.any_of is not None:
            return any_of(
                [self.requirement(r, f"{where}.anyOf[{i}]") for i, r in enumerate(spec.any_of)]
            )
        if spec.threshold is not None:
            children = [
                self.requirement(r, f"{where}.threshold.of[{i}]")
                for i, r in enumerate(spec.threshold.of)
            ]
            try:
                return Threshold(spec.threshold.count, children)
            except PolicyError as exc:
                raise self.error(f"{where}.threshold", str(exc)) from None
        if spec.reject is not None:
            return Reject()
        return AcceptAnything()

    def identity(self, spec: s.IdentitySpec | None, where: str) -> IdentityRule:
        if spec is None:
            return MatchRepoDigestOrExact()
        return identity_rule(
            spec.model_dump(by_alias=True, exclude_none=True), where=f"{self.origin}: {where}"
        )

    def signed_by(self, spec: s.SignedBySpec, where: str) -> Requirement:
        if self.trust is None:
            raise self.error(
                where, "signedBy needs a trust store: set trust: in the policy or pass --trust"
            )
        store = self.trust()
        known = {entry.name for entry in store.entries}
        for field, names in (("trust", spec.trust or []), ("required", spec.required)):
            unknown = [n for n in names if n not in known]
            if unknown:
                raise self.error(
                    f"{where}.{field}",
                    f"no trust entry named {unknown[0]!r} (known: {', '.join(sorted(known))})",
                )
        entries = None if spec.trust is None else frozenset(spec.trust)
        keys = sum(
            len(e.fingerprints) for e in store.entries if entries is None or e.name in entries
        )
        if spec.threshold > keys:
            raise self.error(
                f"{where}.threshold",
                f"{spec.threshold} distinct keys can never sign: the accepted entries hold {keys}",
            )
        try:
            return SignedBy(
                self.trust,
                self.identity(spec.identity, f"{where}.identity"),
                entries=entries,
                threshold=spec.threshold,
                required=frozenset(spec.required),
                issuer=_identity(spec.issuer),
                subject=_identity(spec.subject),
            )
        except PolicyError as exc:
            raise self.error(where, str(exc)) from None

    def sigstore(self, spec: s.SigstoreSignedSpec, where: str) -> Requirement:
        """One authority inline, or several (k of n); every file is read and every key,
        certificate and pattern checked now: a policy that cannot verify is refused at load."""
        entries: list[tuple[s.SigstoreAuthoritySpec, str]] = [(spec, where)]
        if spec.authorities is not None:
            entries = [(a, f"{where}.authorities[{i}]") for i, a in enumerate(spec.authorities)]
        authorities = []
        for entry, at in entries:
            authority = Authority(entry.name or _kind(entry), self.trust_sources(entry, at).load)
            try:
                authority.trust()
            except InputError as exc:
                raise self.error(at, str(exc)) from None
            authorities.append(authority)
        label = "sigstoreSigned" if spec.authorities else f"sigstoreSigned {_kind(spec)}"
        try:
            return SigstoreSigned(
                authorities,
                self.identity(spec.identity, f"{where}.identity"),
                threshold=spec.threshold,
                required=frozenset(spec.required),
                label=label,
            )
        except PolicyError as exc:
            raise self.error(where, str(exc)) from None

    def trust_sources(self, spec: s.SigstoreAuthoritySpec, where: str) -> TrustSources:
        keys = self.files(spec.key_paths, spec.key_data, where, "keyPaths", "keyData")
        rekor = self.files(
            spec.rekor_public_key_paths,
            spec.rekor_public_key_data,
            where,
            "rekorPublicKeyPaths",
            "rekorPublicKeyData",
        )
        fulcio = None
        if spec.fulcio is not None:
            f, at = spec.fulcio, f"{where}.fulcio"
            ca = self.files(
                [f.ca_path] if f.ca_path else [], [f.ca_data] if f.ca_data else [], at,
                "caPath", "caData", single=True,
            )  # fmt: skip
            fulcio = FulcioSources(
                ca,
                f.oidc_issuer,
                f.subject_email,
                self.pattern(f.issuer_reg_exp, f"{at}.issuerRegExp"),
                self.pattern(f.subject_reg_exp, f"{at}.subjectRegExp"),
            )
        pki = None
        if spec.pki is not None:
            p, at = spec.pki, f"{where}.pki"
            roots = self.files(
                [p.ca_roots_path] if p.ca_roots_path else [],
                [p.ca_roots_data] if p.ca_roots_data else [],
                at, "caRootsPath", "caRootsData", single=True,
            )  # fmt: skip
            intermediates = self.files(
                [p.ca_intermediates_path] if p.ca_intermediates_path else [],
                [p.ca_intermediates_data] if p.ca_intermediates_data else [],
                at, "caIntermediatesPath", "caIntermediatesData", single=True,
            )  # fmt: skip
            assert roots is not None  # noqa: S101 - the schema requires one of them
            pki = PKISources(roots, intermediates, p.subject_email, p.subject_hostname)
        trusted_root = None
        if spec.trusted_root is not None:
            trusted_root = self.files(
                [spec.trusted_root], [], where, "trustedRoot", "", single=True
            )
        return TrustSources(keys, fulcio, pki, rekor, trusted_root)

    def files(
        self,
        paths: list[str],
        data: list[str],
        where: str,
        paths_name: str,
        data_name: str,
        *,
        single: bool = False,
    ) -> Callable[[], list[tuple[str, bytes]]] | None:
        """The contents of ``paths`` (relative to the policy) and inline ``data``, read now;
        None when both are empty."""
        if not paths and not data:
            return None
        out: list[tuple[str, bytes]] = []
        for index, path in enumerate(paths):
            full = self.base / path
            at = f"{where}.{paths_name}" if single else f"{where}.{paths_name}[{index}]"
            try:
                out.append((str(full), full.read_bytes()))
            except OSError as exc:
                raise self.error(at, f"{full}: {exc.strerror}") from None
        for index, text in enumerate(data):
            at = f"{where}.{data_name}" if single else f"{where}.{data_name}[{index}]"
            out.append((at, text.encode()))
        return lambda: out

    def pattern(self, text: str | None, where: str) -> TextPattern | None:
        if text is None:
            return None
        try:
            return compile_anchored(text)
        except PolicyError as exc:
            raise self.error(where, str(exc)) from None


def _kind(spec: s.SigstoreAuthoritySpec) -> str:
    kind = "fulcio" if spec.fulcio else "pki" if spec.pki else "keys"
    if spec.rekor_public_key_paths or spec.rekor_public_key_data or spec.trusted_root:
        kind += "+rekor"
    return kind


def _identity(spec: s.NameSpec | None) -> Identity | None:
    return None if spec is None else Identity(spec.organization, spec.common_name)
