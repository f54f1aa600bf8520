"""Docker references, digests, manifest digests, identity rules and policy scopes.

Pure functions and frozen values that mirror containers/image (see SEMANTICS.md §1-§4);
each module's docstring states its rules and the upstream code they follow.
"""

from __future__ import annotations

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
