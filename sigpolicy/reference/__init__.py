"""Docker references, digests, manifest digests, identity rules and policy scopes.

Pure functions and frozen values that mirror containers/image (see SEMANTICS.md §1-§4);
each module's docstring states its rules and the upstream code they follow.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sigpolicy.reference.digest import (
        SUPPORTED_ALGORITHMS,
        Digest,
        InvalidDigestError,
        parse_digest,
    )
    from sigpolicy.reference.docker import (
        InvalidReferenceError,
        Reference,
        parse_reference,
        try_parse_reference,
    )
    from sigpolicy.reference.identity import (
        ExactReference,
        ExactRepository,
        IdentityRule,
        MatchExact,
        MatchRepoDigestOrExact,
        MatchRepository,
        RemapIdentity,
        is_valid_remap_prefix,
    )
    from sigpolicy.reference.manifest import (
        MAX_MANIFEST_SIZE,
        manifest_digest,
        manifest_matches_digest,
    )
    from sigpolicy.reference.scopes import is_valid_scope, policy_scopes

# Loaded on first use: the one-shot ``sigpolicy verify`` needs digests and references, not
# the identity rules or scopes of the policy engine.
_LAZY: dict[str, str] = {
    "Digest": "sigpolicy.reference.digest",
    "ExactReference": "sigpolicy.reference.identity",
    "ExactRepository": "sigpolicy.reference.identity",
    "IdentityRule": "sigpolicy.reference.identity",
    "InvalidDigestError": "sigpolicy.reference.digest",
    "InvalidReferenceError": "sigpolicy.reference.docker",
    "MAX_MANIFEST_SIZE": "sigpolicy.reference.manifest",
    "MatchExact": "sigpolicy.reference.identity",
    "MatchRepoDigestOrExact": "sigpolicy.reference.identity",
    "MatchRepository": "sigpolicy.reference.identity",
    "Reference": "sigpolicy.reference.docker",
    "RemapIdentity": "sigpolicy.reference.identity",
    "SUPPORTED_ALGORITHMS": "sigpolicy.reference.digest",
    "is_valid_remap_prefix": "sigpolicy.reference.identity",
    "is_valid_scope": "sigpolicy.reference.scopes",
    "manifest_digest": "sigpolicy.reference.manifest",
    "manifest_matches_digest": "sigpolicy.reference.manifest",
    "parse_digest": "sigpolicy.reference.digest",
    "parse_reference": "sigpolicy.reference.docker",
    "policy_scopes": "sigpolicy.reference.scopes",
    "try_parse_reference": "sigpolicy.reference.docker",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sigpolicy.reference' has no attribute {name!r}")
    return getattr(import_module(module), name)


__all__ = [
    "MAX_MANIFEST_SIZE",
    "SUPPORTED_ALGORITHMS",
    "Digest",
    "ExactReference",
    "ExactRepository",
    "IdentityRule",
    "InvalidDigestError",
    "InvalidReferenceError",
    "MatchExact",
    "MatchRepoDigestOrExact",
    "MatchRepository",
    "Reference",
    "RemapIdentity",
    "is_valid_remap_prefix",
    "is_valid_scope",
    "manifest_digest",
    "manifest_matches_digest",
    "parse_digest",
    "parse_reference",
    "policy_scopes",
    "try_parse_reference",
]
