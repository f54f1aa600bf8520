"""sigpolicy: verify container image signatures and enforce a cluster-wide image policy.

The package root stays import-light on purpose: the one-shot ``sigpolicy verify`` must start
faster than a skopeo process, so the public names below load their modules on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from sigpolicy.errors import (
        InputError,
        PolicyError,
        SigpolicyError,
        SourceError,
        VerificationError,
    )
    from sigpolicy.reasons import Reason

__all__ = [
    "InputError",
    "PolicyError",
    "Reason",
    "SigpolicyError",
    "SourceError",
    "VerificationError",
    "__version__",
]

_LAZY = {
    "InputError": "sigpolicy.errors",
    "PolicyError": "sigpolicy.errors",
    "SigpolicyError": "sigpolicy.errors",
    "SourceError": "sigpolicy.errors",
    "VerificationError": "sigpolicy.errors",
    "Reason": "sigpolicy.reasons",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sigpolicy' has no attribute {name!r}")
    return getattr(import_module(module), name)
