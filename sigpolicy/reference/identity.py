"""The ``signedIdentity`` rules of containers-policy.json.

Each rule answers one question: may a signature whose payload names ``signed_reference``
vouch for the image the pod pulls (``image``, already normalized)? They mirror
containers/image ``signature/policy_reference_match.go``. In all of them the signed
reference is parsed with the normalizing parser (``testing/manifest`` is
``docker.io/testing/manifest``); one that does not parse matches nothing. "Name-only" means
no tag and no digest.

- :class:`MatchExact`: neither is name-only and both are equal, tag and digest included.
- :class:`MatchRepoDigestOrExact` (the default): the signed reference is not name-only; if
  the image has a tag (with or without a digest) both are equal; if the image has a digest
  only, the same repository is enough, since the manifest digest check binds the image.
- :class:`MatchRepository`: same repository; any tag or digest, or none, on either side.
- :class:`ExactReference`: the signed reference equals a fixed, non-name-only reference.
- :class:`ExactRepository`: the signed reference is in a fixed repository.
- :class:`RemapIdentity`: an image under ``prefix`` is first renamed under ``signed_prefix``,
  then :class:`MatchRepoDigestOrExact` applies.

The constructors validate their arguments as upstream does when it loads policy.json and
raise :class:`~sigpolicy.reference.docker.InvalidReferenceError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from sigpolicy.reference._grammar import DOMAIN_PREFIX_RE, DOMAIN_RE, NAME_RE
from sigpolicy.reference._text import shown
from sigpolicy.reference.docker import (
    InvalidReferenceError,
    Reference,
    parse_reference,
    try_parse_reference,
)


class IdentityRule(Protocol):
    """What every ``signedIdentity`` rule offers."""

    @property
    def name(self) -> str:
        """The containers-policy.json ``type`` of the rule."""
        ...

    def matches(self, image: Reference, signed_reference: str) -> bool:
        """Whether a signature for ``signed_reference`` may vouch for ``image``."""
        ...

    def describe(self) -> str:
        """The rule in a short sentence, for explanations."""
        ...


def _exact(intended: Reference, signed: Reference) -> bool:
    # Default tags are never added: the image reference already has what the pod pulls,
    # and a signed reference is meant to be exact.
    if intended.is_name_only or signed.is_name_only:
        return False
    return str(signed) == str(intended)


def _repo_digest_or_exact(intended: Reference, signed: Reference) -> bool:
    if signed.is_name_only:
        return False
    if intended.tag is not None:
        return str(signed) == str(intended)
    if intended.digest is not None:
        # The signature's digest is checked against the manifest, and the manifest against
        # the image's digest, so the repository is all that is left to compare.
        return signed.repository == intended.repository
    return False


@dataclass(frozen=True, slots=True)
class MatchExact:
    """``matchExact``: the signed reference equals the image's, tag and digest included."""

    name: ClassVar[str] = "matchExact"

    def matches(self, image: Reference, signed_reference: str) -> bool:
        signed = try_parse_reference(signed_reference)
        return signed is not None and _exact(image, signed)

    def describe(self) -> str:
        return "the signed identity must equal the image reference, tag and digest included"


@dataclass(frozen=True, slots=True)
class MatchRepoDigestOrExact:
    """``matchRepoDigestOrExact``: exact for tagged images, same repository for digest-only ones."""

    name: ClassVar[str] = "matchRepoDigestOrExact"

    def matches(self, image: Reference, signed_reference: str) -> bool:
        signed = try_parse_reference(signed_reference)
        return signed is not None and _repo_digest_or_exact(image, signed)

    def describe(self) -> str:
        return (
            "the signed identity must equal the image reference"
            " (for an image pulled by digest only, the same repository is enough)"
        )


@dataclass(frozen=True, slots=True)
class MatchRepository:
    """``matchRepository``: the signed reference names the image's repository."""

    name: ClassVar[str] = "matchRepository"

    def matches(self, image: Reference, signed_reference: str) -> bool:
        signed = try_parse_reference(signed_reference)
        return signed is not None and signed.repository == image.repository

    def describe(self) -> str:
        return "the signed identity must name the image's repository (any tag or digest)"


@dataclass(frozen=True, slots=True)
class ExactReference:
    """``exactReference``: the signed reference equals ``docker_reference``.

    ``docker_reference`` must parse and must have a tag or a digest (upstream
    ``newPRMExactReference``); the image reference plays no part.
    """

    name: ClassVar[str] = "exactReference"

    docker_reference: str
    _parsed: Reference = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = parse_reference(self.docker_reference)
        if parsed.is_name_only:
            raise InvalidReferenceError(
                f"exactReference {shown(self.docker_reference)} has neither a tag nor a digest"
            )
        object.__setattr__(self, "_parsed", parsed)

    def matches(self, image: Reference, signed_reference: str) -> bool:
        signed = try_parse_reference(signed_reference)
        return signed is not None and _exact(self._parsed, signed)

    def describe(self) -> str:
        return f"the signed identity must be exactly {self._parsed}"


@dataclass(frozen=True, slots=True)
class ExactRepository:
    """``exactRepository``: the signed reference is in the repository ``docker_repository``.

    ``docker_repository`` must parse. As upstream (``newPRMExactRepository`` only parses it,
    and its own tests use ``library/busybox:latest``), a tag or digest in it is accepted and
    ignored, so policy files that containers/image loads load here too.
    """

    name: ClassVar[str] = "exactRepository"

    docker_repository: str
    _parsed: Reference = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_parsed", parse_reference(self.docker_repository))

    def matches(self, image: Reference, signed_reference: str) -> bool:
        signed = try_parse_reference(signed_reference)
        return signed is not None and signed.repository == self._parsed.repository

    def describe(self) -> str:
        return f"the signed identity must name repository {self._parsed.repository}"


def is_valid_remap_prefix(value: str) -> bool:
    """Upstream ``validateIdentityRemappingPrefix``.

    A prefix is ``host[:port]`` alone, or a ``host[:port]/path`` name without tag or digest.
    As upstream, a bare word (``busybox``) passes as a host name and a short ``ns/name``
    passes too; neither can ever match a normalized repository, so they are harmless.
    """
    if DOMAIN_RE.fullmatch(value):
        return True
    return NAME_RE.fullmatch(value) is not None and DOMAIN_PREFIX_RE.match(value) is not None


@dataclass(frozen=True, slots=True)
class RemapIdentity:
    """``remapIdentity``: match as if the image were under ``signed_prefix`` instead of ``prefix``.

    Steps (upstream ``prmRemapIdentity.matchesDockerReference``):

    1. The image's repository equals ``prefix`` or starts with ``prefix + "/"`` (a host
       prefix matches only that exact ``host[:port]``); otherwise the image is used as is.
    2. The first ``prefix`` in the image's full reference string is replaced by
       ``signed_prefix``.
    3. The result must already be a normalized reference (``ParseNamed``): nothing is
       expanded, so a result like ``notlocalhost:tag`` (which would mean
       ``docker.io/library/notlocalhost``) matches nothing.
    4. :class:`MatchRepoDigestOrExact` applies to the result.
    """

    name: ClassVar[str] = "remapIdentity"

    prefix: str
    signed_prefix: str

    def __post_init__(self) -> None:
        for label, value in (("prefix", self.prefix), ("signedPrefix", self.signed_prefix)):
            if not is_valid_remap_prefix(value):
                raise InvalidReferenceError(
                    f"remapIdentity {label} {shown(value)} is not a host[:port] or host/path"
                )

    def remap(self, image: Reference) -> Reference | None:
        """The reference matched in place of ``image``; ``None`` when the rewrite is invalid."""
        # 1.
        repository = image.repository
        if repository != self.prefix and not repository.startswith(self.prefix + "/"):
            return image
        # 2.
        rewritten = str(image).replace(self.prefix, self.signed_prefix, 1)
        # 3.
        parsed = try_parse_reference(rewritten)
        if parsed is None or str(parsed) != rewritten:
            return None
        return parsed

    def matches(self, image: Reference, signed_reference: str) -> bool:
        signed = try_parse_reference(signed_reference)
        if signed is None:
            return False
        intended = self.remap(image)
        # 4.
        return intended is not None and _repo_digest_or_exact(intended, signed)

    def describe(self) -> str:
        return (
            f"images under {self.prefix} are matched as if under {self.signed_prefix},"
            " then the signed identity must equal that reference"
            " (for an image pulled by digest only, the same repository is enough)"
        )
