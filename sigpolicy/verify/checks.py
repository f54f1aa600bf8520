"""What a signature must match besides its key: the image's manifest digest and identity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol

from sigpolicy.errors import InputError, VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.reference.digest import Digest, parse_digest
from sigpolicy.reference.docker import InvalidReferenceError, Reference, parse_reference
from sigpolicy.reference.manifest import manifest_matches_digest

if TYPE_CHECKING:
    from sigpolicy.reference.identity import IdentityRule


class DigestCheck(Protocol):
    def check(self, signed_digest: str) -> None:
        """Raise VerificationError unless the signed digest is this image's."""
        ...


# Plain classes, not dataclasses or NamedTuples: generating their code at import would slow
# down the start-up of the one-shot ``sigpolicy verify``. ``Final`` keeps fields read-only.
class ManifestBytes:
    """The image is the manifest itself; the digest is computed with the signed algorithm."""

    __slots__ = ("_matched", "manifest")

    def __init__(self, manifest: bytes) -> None:
        self.manifest: Final = manifest
        # Signed digests this manifest matched: a batch of signatures of one manifest
        # computes its digest once, not once per signature.
        self._matched: set[str] = set()

    def check(self, signed_digest: str) -> None:
        if signed_digest in self._matched:
            return
        if not manifest_matches_digest(self.manifest, parse_digest(signed_digest)):
            raise VerificationError(
                Reason.DIGEST_MISMATCH, f"signed for manifest digest {signed_digest}"
            )
        self._matched.add(signed_digest)


class KnownDigest:
    """The image is known by its manifest digest (an Image name, a digest reference)."""

    __slots__ = ("_text", "digest")

    def __init__(self, digest: Digest) -> None:
        self.digest: Final = digest
        self._text: Final = str(digest)

    def check(self, signed_digest: str) -> None:
        if signed_digest == self._text:  # the canonical spelling: nothing to parse
            return
        if parse_digest(signed_digest) != self.digest:
            raise VerificationError(
                Reason.DIGEST_MISMATCH,
                f"signed for manifest digest {signed_digest}, the image is {self.digest}",
            )


class ImageDigest:
    """An Image known by its digest, possibly a child of manifest lists.

    A signature on a manifest list vouches for the images it lists, so a signed digest equal
    to one of ``lists`` (the lists that contain this image) is accepted too.
    """

    __slots__ = ("digest", "lists")

    def __init__(self, digest: Digest, lists: tuple[Digest, ...] = ()) -> None:
        self.digest: Final = digest
        self.lists: Final = lists

    def check(self, signed_digest: str) -> None:
        self.matched_list(signed_digest)

    def matched_list(self, signed_digest: str) -> Digest | None:
        """None when the signature is for the image itself, else the list it was signed for."""
        try:
            signed = parse_digest(signed_digest)
        except InputError:
            signed = None
        if signed == self.digest:
            return None
        if signed is not None and signed in self.lists:
            return signed
        raise VerificationError(
            Reason.DIGEST_MISMATCH,
            f"signed for manifest digest {signed_digest}, the image is {self.digest}",
        )


class IdentityCheck(Protocol):
    def matches(self, signed_reference: str) -> bool: ...

    def describe(self) -> str:
        """What was expected, for messages."""
        ...


class SameReference:
    """Exact equality after normalization, as ``skopeo standalone-verify`` checks.

    ``busybox`` and ``docker.io/library/busybox`` are the same; ``busybox`` and
    ``busybox:latest`` are not (normalization never adds a tag).
    """

    __slots__ = ("expected",)

    def __init__(self, expected: str) -> None:
        self.expected: Final = expected

    @classmethod
    def parse(cls, reference: str) -> SameReference:
        try:
            return cls(str(parse_reference(reference)))
        except InvalidReferenceError as exc:
            raise InputError(f"expected identity: {exc}") from None

    def matches(self, signed_reference: str) -> bool:
        if signed_reference == self.expected:  # already normalized: normalizing changes nothing
            return True
        try:
            return str(parse_reference(signed_reference)) == self.expected
        except InvalidReferenceError:
            return False

    def describe(self) -> str:
        return self.expected


class RuleIdentity:
    """A signedIdentity rule (SEMANTICS.md §3) applied for one image reference."""

    __slots__ = ("image", "rule")

    def __init__(self, rule: IdentityRule, image: Reference) -> None:
        self.rule: Final = rule
        self.image: Final = image

    def matches(self, signed_reference: str) -> bool:
        return self.rule.matches(self.image, signed_reference)

    def describe(self) -> str:
        return f"{self.rule.name} against {self.image}"
