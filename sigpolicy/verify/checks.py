"""What a signature must match besides its key: the image's manifest digest and identity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sigpolicy.errors import InputError, VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.reference.digest import Digest, parse_digest
from sigpolicy.reference.docker import InvalidReferenceError, Reference, parse_reference
from sigpolicy.reference.identity import IdentityRule
from sigpolicy.reference.manifest import manifest_matches_digest


class DigestCheck(Protocol):
    def check(self, signed_digest: str) -> None:
        """Raise VerificationError unless the signed digest is this image's."""
        ...


@dataclass(frozen=True, slots=True)
class ManifestBytes:
    """The image is the manifest itself; the digest is computed with the signed algorithm."""

    manifest: bytes

    def check(self, signed_digest: str) -> None:
        if not manifest_matches_digest(self.manifest, parse_digest(signed_digest)):
            raise VerificationError(
                Reason.DIGEST_MISMATCH, f"signed for manifest digest {signed_digest}"
            )


@dataclass(frozen=True, slots=True)
class KnownDigest:
    """The image is known by its manifest digest (an Image name, a digest reference)."""

    digest: Digest

    def check(self, signed_digest: str) -> None:
        if parse_digest(signed_digest) != self.digest:
            raise VerificationError(
                Reason.DIGEST_MISMATCH,
                f"signed for manifest digest {signed_digest}, the image is {self.digest}",
            )


@dataclass(frozen=True, slots=True)
class ImageDigest:
    """An Image known by its digest, possibly a child of manifest lists.

    A signature on a manifest list vouches for the images it lists, so a signed digest equal
    to one of ``lists`` (the lists that contain this image) is accepted too.
    """

    digest: Digest
    lists: tuple[Digest, ...] = ()

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


@dataclass(frozen=True, slots=True)
class SameReference:
    """Exact equality after normalization, as ``skopeo standalone-verify`` checks.

    ``busybox`` and ``docker.io/library/busybox`` are the same; ``busybox`` and
    ``busybox:latest`` are not (normalization never adds a tag).
    """

    expected: str

    @classmethod
    def parse(cls, reference: str) -> SameReference:
        try:
            return cls(str(parse_reference(reference)))
        except InvalidReferenceError as exc:
            raise InputError(f"expected identity: {exc}") from None

    def matches(self, signed_reference: str) -> bool:
        try:
            return str(parse_reference(signed_reference)) == self.expected
        except InvalidReferenceError:
            return False

    def describe(self) -> str:
        return self.expected


@dataclass(frozen=True, slots=True)
class RuleIdentity:
    """A signedIdentity rule (SEMANTICS.md §3) applied for one image reference."""

    rule: IdentityRule
    image: Reference

    def matches(self, signed_reference: str) -> bool:
        return self.rule.matches(self.image, signed_reference)

    def describe(self) -> str:
        return f"{self.rule.name} against {self.image}"
