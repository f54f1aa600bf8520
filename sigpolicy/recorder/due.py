"""Which signatures need verifying, and against which identity (pure).

A signature is due when:

1. it has no ``Trusted`` condition, or one without a ``lastProbeTime``;
2. its last probe is older than ``stale_after`` seconds;
3. its last probe predates the moment the current trust store took effect (a key added,
   rotated or removed changes the answer).

The expected identity of an Image is its own ``dockerImageReference`` repository, pinned by
the Image's digest: with ``matchRepoDigestOrExact`` any tag of that repository is accepted,
since the digest is what binds the content.
"""

from __future__ import annotations

from typing import NamedTuple

from sigpolicy.api import Image, SignatureConditionType, parse_timestamp
from sigpolicy.errors import InputError
from sigpolicy.reference.digest import parse_digest
from sigpolicy.reference.docker import parse_reference
from sigpolicy.reference.identity import MatchRepoDigestOrExact
from sigpolicy.verify.checks import RuleIdentity


class Freshness(NamedTuple):
    stale_after: int
    trust_since: int


def due_signatures(image: Image, freshness: Freshness, now: int) -> list[str]:
    due = []
    for signature in image.signatures or ():
        trusted = signature.condition(SignatureConditionType.TRUSTED)
        if trusted is None or trusted.last_probe_time is None:  # 1
            due.append(signature.name or "")
            continue
        probed = int(parse_timestamp(trusted.last_probe_time).timestamp())
        if probed <= now - freshness.stale_after or probed < freshness.trust_since:  # 2, 3
            due.append(signature.name or "")
    return due


def own_identity(image: Image) -> RuleIdentity:
    """``<dockerImageReference repository>@<image digest>`` with matchRepoDigestOrExact."""
    name = image.metadata.name if image.metadata else None
    if not image.docker_image_reference or not name:
        raise InputError(f"Image {name!r} has no dockerImageReference: its identity is unknown")
    repository = parse_reference(image.docker_image_reference).name_only()
    pinned = repository.with_digest(parse_digest(name))
    return RuleIdentity(MatchRepoDigestOrExact(), pinned)
