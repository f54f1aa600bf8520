"""The project's YAML policy (``docs/policy.md``): parsed into frozen models, unknown fields
refused, then built into the engine's objects by :mod:`.build`.

The JSON Schema in ``policies/schema/`` is generated from these models
(``python -m sigpolicy.policy.schema``), so the documentation and the validation never drift.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

API_VERSION = "sigpolicy.io/v1alpha1"
KIND = "ImagePolicy"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class IdentitySpec(_Model):
    """A signedIdentity rule (SEMANTICS.md §3); default ``matchRepoDigestOrExact``."""

    type: Literal[
        "matchExact",
        "matchRepoDigestOrExact",
        "matchRepository",
        "exactReference",
        "exactRepository",
        "remapIdentity",
    ]
    docker_reference: str | None = Field(None, alias="dockerReference")
    docker_repository: str | None = Field(None, alias="dockerRepository")
    prefix: str | None = None
    signed_prefix: str | None = Field(None, alias="signedPrefix")


class NameSpec(_Model):
    organization: str | None = None
    common_name: str | None = Field(None, alias="commonName")


class SignedBySpec(_Model):
    """Simple-signing signatures by keys of the trust store."""

    trust: list[str] | None = Field(None, description="trust entries accepted (default: all)")
    threshold: int = Field(1, ge=1, description="distinct trusted keys needed (k of n)")
    required: list[str] = Field(default_factory=list, description="entries that must sign")
    issuer: NameSpec | None = None
    subject: NameSpec | None = None
    identity: IdentitySpec | None = None


class FulcioSpec(_Model):
    """Keyless signatures through Fulcio: the CA, and who must have signed."""

    ca_path: str | None = Field(
        None, alias="caPath", description="PEM file of the Fulcio CAs (default: the trustedRoot's)"
    )
    ca_data: str | None = Field(None, alias="caData", description="the same, inline PEM")
    oidc_issuer: str | None = Field(None, alias="oidcIssuer", description="exact OIDC issuer")
    issuer_reg_exp: str | None = Field(
        None, alias="issuerRegExp", description="RE2 pattern the whole OIDC issuer must match"
    )
    subject_email: str | None = Field(
        None, alias="subjectEmail", description="an email SAN the certificate must have"
    )
    subject_reg_exp: str | None = Field(
        None,
        alias="subjectRegExp",
        description="RE2 pattern one whole email or URI SAN must match",
    )

    @model_validator(mode="after")
    def _complete(self) -> FulcioSpec:
        if self.ca_path is not None and self.ca_data is not None:
            raise ValueError("caPath and caData cannot be used simultaneously")
        if not self.oidc_issuer and not self.issuer_reg_exp:
            raise ValueError("oidcIssuer or issuerRegExp is required")
        if not self.subject_email and not self.subject_reg_exp:
            raise ValueError("subjectEmail or subjectRegExp is required")
        return self


class PKISpec(_Model):
    """Signatures by certificates of an organisation's own CAs (containers/image ``pki``)."""

    ca_roots_path: str | None = Field(None, alias="caRootsPath")
    ca_roots_data: str | None = Field(None, alias="caRootsData")
    ca_intermediates_path: str | None = Field(None, alias="caIntermediatesPath")
    ca_intermediates_data: str | None = Field(None, alias="caIntermediatesData")
    subject_email: str | None = Field(None, alias="subjectEmail")
    subject_hostname: str | None = Field(None, alias="subjectHostname")

    @model_validator(mode="after")
    def _complete(self) -> PKISpec:
        if (self.ca_roots_path is None) == (self.ca_roots_data is None):
            raise ValueError("exactly one of caRootsPath and caRootsData is required")
        if self.ca_intermediates_path is not None and self.ca_intermediates_data is not None:
            raise ValueError("caIntermediatesPath and caIntermediatesData cannot be used together")
        if not self.subject_email and not self.subject_hostname:
            raise ValueError("at least one of subjectEmail and subjectHostname is required")
        return self


class SigstoreAuthoritySpec(_Model):
    """One root of trust: exactly one of keys (``keyPaths``/``keyData``), ``fulcio``,
    ``pki``; Rekor keys (``rekorPublicKeyPaths``/``rekorPublicKeyData``, or a
    ``trustedRoot``'s logs) make a Rekor SET required, and ``fulcio`` requires them."""

    name: str | None = Field(None, description="names it in decisions and in required")
    key_paths: list[str] = Field(default_factory=list, alias="keyPaths")
    key_data: list[str] = Field(default_factory=list, alias="keyData")
    fulcio: FulcioSpec | None = None
    pki: PKISpec | None = None
    rekor_public_key_paths: list[str] = Field(default_factory=list, alias="rekorPublicKeyPaths")
    rekor_public_key_data: list[str] = Field(default_factory=list, alias="rekorPublicKeyData")
    trusted_root: str | None = Field(
        None,
        alias="trustedRoot",
        description="a Sigstore trusted_root.json: Fulcio CAs and Rekor keys, with their windows",
    )

    def authority_problem(self) -> str | None:
        """Why these fields are not one usable root of trust, or None."""
        keys = bool(self.key_paths or self.key_data)
        if keys + (self.fulcio is not None) + (self.pki is not None) != 1:
            return "exactly one of keyPaths/keyData, fulcio and pki is required"
        rekor = bool(self.rekor_public_key_paths or self.rekor_public_key_data)
        if self.pki is not None and (rekor or self.trusted_root):
            return "pki takes no Rekor keys and no trustedRoot"
        if self.fulcio is not None:
            if not rekor and not self.trusted_root:
                return "fulcio needs rekorPublicKeyPaths, rekorPublicKeyData or a trustedRoot"
            has_ca = self.fulcio.ca_path is not None or self.fulcio.ca_data is not None
            if not has_ca and not self.trusted_root:
                return "fulcio needs caPath, caData or a trustedRoot"
        return None

    def has_authority_fields(self) -> bool:
        return bool(
            self.key_paths or self.key_data or self.fulcio or self.pki or self.trusted_root
            or self.rekor_public_key_paths or self.rekor_public_key_data
        )  # fmt: skip


class SigstoreSignedSpec(SigstoreAuthoritySpec):
    """Cosign signatures: one root of trust inline, or several ``authorities`` of which
    ``threshold`` distinct ones must each accept a signature (and every ``required`` one)."""

    authorities: list[SigstoreAuthoritySpec] | None = Field(None, min_length=1)
    threshold: int = Field(1, ge=1, description="distinct authorities needed (k of n)")
    required: list[str] = Field(default_factory=list, description="authorities that must accept")
    identity: IdentitySpec | None = None

    @model_validator(mode="after")
    def _some_authority(self) -> SigstoreSignedSpec:
        if self.authorities is None:
            if self.name is not None:
                raise ValueError("name is for the entries of authorities")
            if self.threshold != 1 or self.required:
                raise ValueError("threshold and required need authorities")
            if not self.has_authority_fields():
                raise ValueError("keyPaths or keyData must name at least one key")
            problem = self.authority_problem()
            if problem:
                raise ValueError(problem)
            return self
        if self.has_authority_fields():
            raise ValueError("give either authorities or one authority's fields, not both")
        names = [a.name for a in self.authorities]
        if any(n is None for n in names) or len(set(names)) != len(names):
            raise ValueError("every authority needs a name, each used once")
        for index, authority in enumerate(self.authorities):
            problem = authority.authority_problem()
            if problem:
                raise ValueError(f"authorities[{index}] ({authority.name}): {problem}")
        if self.threshold > len(self.authorities):
            raise ValueError(
                f"threshold {self.threshold} can never be met by {len(self.authorities)}"
                " authorities"
            )
        unknown = sorted(set(self.required) - {n for n in names if n})
        if unknown:
            raise ValueError(f"required names no authority: {unknown[0]!r}")
        return self


class RegoServerSpec(_Model):
    url: str
    path: str
    timeout: float = Field(2.0, gt=0, le=30)
    token_file: str | None = Field(None, alias="tokenFile")


class RegoEmbeddedSpec(_Model):
    modules: list[str] = Field(min_length=1, description="Rego files, relative to the policy")
    query: str = Field(description="the decision, e.g. data.sigpolicy.allow")
    timeout: float = Field(2.0, gt=0, le=30)


class RegoSpec(_Model):
    server: RegoServerSpec | None = None
    embedded: RegoEmbeddedSpec | None = None

    @model_validator(mode="after")
    def _one(self) -> RegoSpec:
        if (self.server is None) == (self.embedded is None):
            raise ValueError("exactly one of server and embedded is required")
        return self


class ThresholdSpec(_Model):
    count: int = Field(ge=1)
    of: list[RequirementSpec] = Field(min_length=1)


class Empty(_Model):
    pass


class RequirementSpec(_Model):
    """Exactly one of the fields."""

    signed_by: SignedBySpec | None = Field(None, alias="signedBy")
    sigstore_signed: SigstoreSignedSpec | None = Field(None, alias="sigstoreSigned")
    rego: RegoSpec | None = None
    all_of: list[RequirementSpec] | None = Field(None, alias="allOf", min_length=1)
    any_of: list[RequirementSpec] | None = Field(None, alias="anyOf", min_length=1)
    threshold: ThresholdSpec | None = None
    reject: Empty | None = None
    insecure_accept_anything: Empty | None = Field(None, alias="insecureAcceptAnything")

    @model_validator(mode="after")
    def _exactly_one(self) -> RequirementSpec:
        given = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "a requirement has exactly one of signedBy, sigstoreSigned, rego, allOf, anyOf,"
                " threshold, reject, insecureAcceptAnything"
            )
        return self


class SelectorRequirement(_Model):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = Field(default_factory=list)


class LabelSelectorSpec(_Model):
    match_labels: dict[str, str] = Field(default_factory=dict, alias="matchLabels")
    match_expressions: list[SelectorRequirement] = Field(
        default_factory=list, alias="matchExpressions"
    )


Mode = Literal["enforce", "warn", "audit"]


class ScopeSpec(_Model):
    name: Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    images: list[str] = Field(min_length=1, description="image patterns (docs/policy.md)")
    namespaces: list[str] | None = Field(None, min_length=1)
    namespace_selector: LabelSelectorSpec | None = Field(None, alias="namespaceSelector")
    mode: Mode | None = None
    pin_digests: bool = Field(
        False,
        alias="pinDigests",
        description="with `sigpolicy serve --mutate`, pin this scope's allowed images to the "
        "digests they resolved to",
    )
    tag_resolution: Literal["registry", "digest-only"] = Field(
        "registry",
        alias="tagResolution",
        description="for an image no image stream serves, looked up at its registry "
        "(`--registry`): `registry` resolves a tag to a digest there; `digest-only` denies "
        "a reference without a digest (`resolution-failed`) before asking the registry",
    )
    require: list[RequirementSpec] = Field(min_length=1)


class ExemptionSpec(_Model):
    name: Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    reason: str = Field(min_length=1, description="why; shown in every decision it makes")
    namespaces: list[str] | None = Field(None, min_length=1)
    namespace_selector: LabelSelectorSpec | None = Field(None, alias="namespaceSelector")
    images: list[str] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _narrow(self) -> ExemptionSpec:
        if self.namespaces is None and self.namespace_selector is None and self.images is None:
            raise ValueError("an exemption needs namespaces, namespaceSelector or images")
        return self


class PolicySpec(_Model):
    api_version: Literal["sigpolicy.io/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["ImagePolicy"]
    trust: str | None = Field(None, description="trust store file, relative to this file")
    mode: Mode = "enforce"
    no_match: Literal["deny", "warn", "allow"] = Field("deny", alias="noMatch")
    exemptions: list[ExemptionSpec] = Field(default_factory=list)
    scopes: list[ScopeSpec] = Field(min_length=1)


def policy_json_schema() -> dict[str, Any]:
    schema = PolicySpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://sigpolicy.io/schema/v1alpha1/image-policy.json"
    return schema


def main() -> None:
    """Write the JSON Schema: ``python -m sigpolicy.policy.schema [OUT]``."""
    out = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path("policies/schema/image-policy.schema.json")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(policy_json_schema(), indent=2) + "\n")


if __name__ == "__main__":
    main()
