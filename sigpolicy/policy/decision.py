"""Decisions that explain themselves (STYLE.md 2): frozen, no truth value, every reason kept.

A :class:`Decision` says what happens (``allowed``), what the policy itself concluded
(``would_allow``: the two differ in ``warn`` and ``audit`` mode), which scope matched and why,
each requirement's outcome with each signature's verdict, and the exemption if one applied.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, NoReturn

from sigpolicy.reasons import Reason

Mode = Literal["enforce", "warn", "audit"]
MODES: tuple[Mode, ...] = ("enforce", "warn", "audit")
# How a tag no image stream serves may become a digest: at its registry, or not at all.
TagResolution = Literal["registry", "digest-only"]


class SignatureFinding(NamedTuple):
    """One signature as one requirement saw it."""

    name: str
    kind: str
    accepted: bool
    reason: Reason | None
    message: str
    signer: str | None = None
    key_id: str | None = None
    trust_entry: str | None = None
    identity: str | None = None


class RequirementOutcome(NamedTuple):
    requirement: str
    satisfied: bool
    reason: Reason | None
    message: str
    signatures: tuple[SignatureFinding, ...] = ()
    children: tuple[RequirementOutcome, ...] = ()
    unsafe: bool = False

    def __bool__(self) -> NoReturn:
        raise TypeError("a RequirementOutcome has no truth value: test .satisfied")


class ScopeMatch(NamedTuple):
    name: str
    pattern: str
    why: str
    pin_digests: bool = False


class Exemption(NamedTuple):
    name: str
    reason: str
    why: str


class Decision(NamedTuple):
    """One image's decision. ``allowed`` is what the admission answer does."""

    allowed: bool
    would_allow: bool
    mode: Mode
    image: str
    namespace: str | None
    scope: ScopeMatch | None
    exemption: Exemption | None
    outcome: RequirementOutcome | None
    reason: Reason | None
    message: str

    def __bool__(self) -> NoReturn:
        raise TypeError("a Decision has no truth value: test .allowed or .would_allow")

    @property
    def warning(self) -> str | None:
        """What a ``warn`` or ``audit`` decision would have denied, for warnings and logs."""
        if self.would_allow:
            return None
        return f"{self.image}: would be denied ({self.reason}): {self.message}"
