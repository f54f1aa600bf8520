"""Registries as a source: an async OCI distribution (Docker Registry HTTP API v2) client,
with containers-auth.json(5) credentials and containers-certs.d(5) TLS.

Public surface: :class:`RegistryClient` (:mod:`.client`), :class:`CredentialSet` and
:class:`Credential` (:mod:`.auth`), :class:`RegistryOptions` (:mod:`.tls`), and the errors of
:mod:`.errors`. Modules starting with ``_`` are private.
"""

from __future__ import annotations

from sigpolicy.sources.registry.auth import Credential, CredentialSet
from sigpolicy.sources.registry.client import (
    MANIFEST_MEDIA_TYPES,
    Descriptor,
    Manifest,
    RegistryClient,
)
from sigpolicy.sources.registry.errors import (
    ManifestDigestMismatchError,
    RegistryAuthError,
    RegistryError,
    RegistryNotFoundError,
    RegistryProtocolError,
    RegistryRateLimitedError,
    RegistryTimeoutError,
    RegistryUnreachableError,
)
from sigpolicy.sources.registry.tls import RegistryOptions

__all__ = [
    "MANIFEST_MEDIA_TYPES",
    "Credential",
    "CredentialSet",
    "Descriptor",
    "Manifest",
    "ManifestDigestMismatchError",
    "RegistryAuthError",
    "RegistryClient",
    "RegistryError",
    "RegistryNotFoundError",
    "RegistryOptions",
    "RegistryProtocolError",
    "RegistryRateLimitedError",
    "RegistryTimeoutError",
    "RegistryUnreachableError",
]
