"""Loading a policy with the trust store it needs, for the commands that decide."""

from __future__ import annotations

from pathlib import Path

from sigpolicy.policy.engine import Policy
from sigpolicy.policy.load import build_policy, policy_trust_path, read_policy_document
from sigpolicy.trust.load import load_trust_store
from sigpolicy.trust.store import TrustStore


def load_policy_and_trust(path: Path, trust_file: str | None) -> tuple[Policy, TrustStore | None]:
    """The policy, and the trust store from ``--trust`` or the policy's own ``trust:``."""
    text, document = read_policy_document(path)
    trust_path = Path(trust_file) if trust_file else policy_trust_path(path, document)
    store = load_trust_store(trust_path) if trust_path is not None else None
    policy = build_policy(path, text, document, None if store is None else lambda: store)
    return policy, store
