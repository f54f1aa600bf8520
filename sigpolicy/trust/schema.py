"""The trust file's schema: frozen pydantic models, unknown fields refused (STYLE.md 7).

```yaml
apiVersion: sigpolicy.io/v1alpha1
kind: TrustStore
entries:
  - name: release
    issuer: {organization: Example Corp, commonName: Example Release CA}
    subject: {organization: Example Corp, commonName: release pipeline}
    keys:
      - file: keys/release.asc            # relative to the trust file's folder
        publicKeyID: "0x2DA4F0DE1BCC8F5B"  # optional pin
      - data: |
          -----BEGIN PGP PUBLIC KEY BLOCK-----
      - secretKeyRef: {namespace: sigpolicy, name: trusted-keys, key: release.asc}
      - configMapKeyRef: {namespace: sigpolicy, name: trusted-keys, key: ci.asc}
```

Rules checked here, on the document alone: each key item has exactly one source; a pin is
16 to 40 hex digits; names are DNS labels. Rules that need the key material (pins match,
a key in one entry only) and unique entry names are checked by
:meth:`sigpolicy.trust.store.TrustStore.build`.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sigpolicy.trust.identity import Identity
from sigpolicy.trust.pin import MAX_PIN_DIGITS, MIN_PIN_DIGITS, parse_key_id

API_VERSION = "sigpolicy.io/v1alpha1"
KIND = "TrustStore"

_DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_DNS_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DATA_KEY = r"[-._a-zA-Z0-9]+"
_PIN = rf"(0[xX])?[0-9A-Fa-f]{{{MIN_PIN_DIGITS},{MAX_PIN_DIGITS}}}"
SOURCES = ("file", "data", "secretKeyRef", "configMapKeyRef")


class _Spec(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        field_title_generator=lambda name, info: info.alias or name,
    )


def _anchored(pattern: str) -> str:
    # JSON Schema patterns search; anchors make them match the whole value, as fullmatch does.
    return f"^{pattern}$"


def _matches(pattern: str, value: str, what: str) -> str:
    # Patterns are checked by validators rather than Field(pattern=...), so that errors
    # read as sentences; the pattern still appears in the JSON Schema.
    if not re.fullmatch(pattern, value):
        raise ValueError(f"{value!r} is not {what}")
    return value


class IdentitySpec(_Spec):
    """Who issued or holds a key, as recorded in ImageSignature issuedBy/issuedTo."""

    organization: str | None = Field(default=None, min_length=1)
    common_name: str | None = Field(default=None, alias="commonName", min_length=1)

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.organization is None and self.common_name is None:
            raise ValueError("give organization, commonName or both")
        return self

    def to_identity(self) -> Identity:
        return Identity(self.organization, self.common_name)


class KeyReference(_Spec):
    """One key of a Secret's or ConfigMap's data."""

    namespace: str = Field(json_schema_extra={"pattern": _anchored(_DNS_LABEL)})
    name: str = Field(json_schema_extra={"pattern": _anchored(_DNS_SUBDOMAIN)})
    key: str = Field(json_schema_extra={"pattern": _anchored(_DATA_KEY)})

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        return _matches(_DNS_LABEL, value, "a namespace name (a DNS label)")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _matches(_DNS_SUBDOMAIN, value, "an object name (a DNS subdomain)")

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        return _matches(_DATA_KEY, value, "a data key (letters, digits, '-', '_', '.')")


class TrustKeySpec(_Spec):
    """One key item: exactly one source of key material, and an optional pin.

    ``publicKeyID`` is normalized on load to uppercase hex digits without ``0x``.
    """

    file: str | None = Field(
        default=None, min_length=1, description="path, relative to the trust file's folder"
    )
    data: str | None = Field(default=None, min_length=1, description="armored key block(s)")
    secret_key_ref: KeyReference | None = Field(default=None, alias="secretKeyRef")
    config_map_key_ref: KeyReference | None = Field(default=None, alias="configMapKeyRef")
    public_key_id: str | None = Field(
        default=None,
        alias="publicKeyID",
        description="low bits of the key's fingerprint, 16 to 40 hex digits",
        json_schema_extra={"pattern": _anchored(_PIN)},
    )

    @field_validator("public_key_id", mode="before")
    @classmethod
    def _pin(cls, value: object) -> object:
        if value is None:
            return None
        if not isinstance(value, str):
            # YAML reads unquoted 0x2DA4... or all-digit IDs as numbers, losing leading zeros.
            raise ValueError("expected a quoted string (YAML reads unquoted hex as a number)")
        return parse_key_id(value)

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        given = [name for name, value in zip(SOURCES, self.sources, strict=True) if value]
        if not given:
            raise ValueError(f"one of {', '.join(SOURCES)} is required")
        if len(given) > 1:
            raise ValueError(f"give only one of {', '.join(SOURCES)} (got {' and '.join(given)})")
        return self

    @property
    def sources(self) -> tuple[object, ...]:
        return (self.file, self.data, self.secret_key_ref, self.config_map_key_ref)


class TrustEntrySpec(_Spec):
    """Keys trusted together, with who they belong to."""

    name: str = Field(
        description="unique; policies refer to trust by this name",
        json_schema_extra={"pattern": _anchored(_DNS_LABEL)},
    )
    issuer: IdentitySpec | None = None
    subject: IdentitySpec | None = Field(
        default=None, description="when absent, the key's primary user ID is the commonName"
    )
    keys: tuple[TrustKeySpec, ...] = Field(min_length=1, strict=False)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _matches(
            _DNS_LABEL, value, "a DNS label (lowercase letters, digits, '-', at most 63)"
        )


class TrustStoreSpec(_Spec):
    """A trust file."""

    api_version: Literal["sigpolicy.io/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["TrustStore"]
    entries: tuple[TrustEntrySpec, ...] = Field(min_length=1, strict=False)


def trust_store_json_schema() -> dict[str, Any]:
    """The JSON Schema of a trust file (draft 2020-12), generated from the models."""
    schema = TrustStoreSpec.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://sigpolicy.io/schemas/trust-store-v1alpha1.json",
        **schema,
    }
