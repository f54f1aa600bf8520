"""Two policies on the same workloads: what the new one changes.

Findings are matched by (namespace, owner kind, owner name, image). A finding changes when
its result, scope or reason class differs:

- ``newly-denied``: the new policy would deny it (``fail``) and the baseline did not;
- ``newly-allowed``: the baseline denied it and the new policy does not;
- ``changed``: any other difference (a ``warn`` that becomes a ``pass``, another scope or
  reason with the same result).

A use only one side saw cannot occur: both policies are decided on one listing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

from sigpolicy.audit.engine import Finding
from sigpolicy.audit.summary import scope_of

__all__ = ["Change", "ChangeKind", "diff_findings"]

ChangeKind = Literal["newly-denied", "newly-allowed", "changed"]
CHANGE_KINDS: tuple[ChangeKind, ...] = ("newly-denied", "newly-allowed", "changed")


class Change(NamedTuple):
    kind: ChangeKind
    baseline: Finding
    policy: Finding


def _key(finding: Finding) -> tuple[str, str, str, str]:
    owner = finding.use.owner
    return owner.namespace, owner.kind, owner.name, finding.use.image


def _signature(finding: Finding) -> tuple[str, str, str | None]:
    return finding.result, scope_of(finding), finding.decision.reason


def diff_findings(baseline: Sequence[Finding], policy: Sequence[Finding]) -> list[Change]:
    """The changes from ``baseline`` to ``policy``, in ``policy``'s order."""
    before = {_key(f): f for f in baseline}
    changes: list[Change] = []
    for new in policy:
        old = before.get(_key(new))
        if old is None or _signature(old) == _signature(new):
            continue
        if new.result == "fail" and old.result != "fail":
            kind: ChangeKind = "newly-denied"
        elif old.result == "fail" and new.result != "fail":
            kind = "newly-allowed"
        else:
            kind = "changed"
        changes.append(Change(kind, old, new))
    return changes
