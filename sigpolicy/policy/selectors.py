"""Namespace conditions of scopes and exemptions: names, or a Kubernetes label selector."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple

Operator = Literal["In", "NotIn", "Exists", "DoesNotExist"]


class Expression(NamedTuple):
    key: str
    operator: Operator
    values: frozenset[str]

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return labels.get(self.key) in self.values
        if self.operator == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels


class LabelSelector(NamedTuple):
    """``metav1.LabelSelector``: every matchLabels pair and every expression must hold."""

    match_labels: Mapping[str, str]
    expressions: tuple[Expression, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels.items()) and all(
            e.matches(labels) for e in self.expressions
        )


class NamespaceCondition(NamedTuple):
    """Which namespaces a scope or exemption covers. Both parts, when given, must hold.

    A namespace whose labels are unknown (an offline check without ``--namespace-labels``)
    does not satisfy a selector: a rule is never applied on a guess.
    """

    names: frozenset[str] | None
    selector: LabelSelector | None

    def matches(self, namespace: str | None, labels: Mapping[str, str] | None) -> bool:
        if self.names is not None and namespace not in self.names:
            return False
        if self.selector is not None:
            return labels is not None and self.selector.matches(labels)
        return True

    def describe(self) -> str:
        parts = []
        if self.names is not None:
            parts.append(f"namespaces {', '.join(sorted(self.names))}")
        if self.selector is not None:
            parts.append("namespace label selector")
        return " and ".join(parts)


EVERY_NAMESPACE = NamespaceCondition(None, None)
