"""What ``policy explain`` and ``policy check`` add for ClusterImagePolicy/ImagePolicy
objects: the policy.json the Machine Config Operator writes, and the scopes it ignores."""

from __future__ import annotations

from pathlib import Path

from sigpolicy.policy.engine import Policy
from sigpolicy.policy.load import build_policy, read_policy_document
from sigpolicy.policy.openshift_policy import OpenShiftPolicy, translation_text


def openshift_translation(path: Path, namespace: str | None) -> str:
    """The translation for a pod of ``namespace``; empty unless ``path`` holds such objects
    (the policy was loaded once already, so it loads again without error)."""
    text, document = read_policy_document(path)
    policy = build_policy(path, text, document, None) if _is_openshift(document) else None
    return "" if policy is None else translation_text(policy, namespace)


def openshift_warnings(policy: Policy) -> list[str]:
    if not isinstance(policy, OpenShiftPolicy):
        return []
    return [f"{policy.origin}: {c.describe()}" for c in policy.translation.conflicts]


def _is_openshift(document: object) -> bool:
    from sigpolicy.policy.openshift_policy import looks_like_openshift_objects

    return looks_like_openshift_objects(document)
