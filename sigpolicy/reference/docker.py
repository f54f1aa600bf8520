"""Docker image references, parsed and normalized like containers/image.

:func:`parse_reference` mirrors ``ParseNormalizedNamed`` of containers/image
``docker/reference/normalize.go`` (a copy of distribution/reference), step by step:

1. A bare 64-hex string is refused: it is an image ID, not a name.
2. The first ``/``-separated component is the registry host iff it contains ``.`` or ``:`` or
   is ``localhost``; otherwise the host is ``docker.io`` and the whole string is the path.
   ``index.docker.io`` becomes ``docker.io``; a one-component path on ``docker.io`` gains
   ``library/``.
3. The repository path (up to the tag's ``:``) must be lowercase.
4. ``host/rest`` must match the grammar of :mod:`sigpolicy.reference._grammar`, the name
   (host included) is at most 255 characters and the tag at most 128; a digest must pass
   :func:`~sigpolicy.reference.digest.parse_digest`.

Normalization never adds ``:latest``: ``busybox`` (name only) and ``busybox:latest`` are
different identities. A reference may carry both a tag and a digest.

Where upstream differs between its copies we follow containers/image (the runtime that
enforces policy.json): a first component in uppercase is not taken for a host, so
``UPPER/case`` is invalid (distribution/reference v0.6 would read ``UPPER`` as a host), and the
255-character limit counts the host. From distribution/reference we take bracketed IPv6
hosts (``[::1]:5000/x``).

One upstream quirk is kept on purpose: a first component with ``.`` that is not a valid host
but is a valid path component (``my_registry.local/app``) parses as a reference with an empty
:attr:`Reference.domain`, exactly as ``ParseNormalizedNamed`` returns it.
"""

from __future__ import annotations

import functools
from typing import Final

from sigpolicy.errors import InputError
from sigpolicy.reference._grammar import ANCHORED_NAME_RE, IDENTIFIER_RE, REFERENCE_RE
from sigpolicy.reference._text import shown
from sigpolicy.reference.digest import Digest, InvalidDigestError, parse_digest

DEFAULT_DOMAIN: Final = "docker.io"
LEGACY_DEFAULT_DOMAIN: Final = "index.docker.io"
OFFICIAL_REPOSITORY_NAMESPACE: Final = "library"
#: containers/image ``NameTotalLengthMax``: the whole name, host included.
NAME_TOTAL_LENGTH_MAX: Final = 255
_TAG_LENGTH_MAX: Final = 128
# No valid reference is longer (255 name + ":" + 128 tag + "@sha512:" + 128 hex, plus the
# 6 characters that "index." loses); refusing longer input early bounds the regex work and
# the parse cache's memory.
_INPUT_LENGTH_MAX: Final = 600


class InvalidReferenceError(InputError):
    """A value is not a valid Docker image reference."""


# Plain classes, not dataclasses or NamedTuples: generating their code at import would slow
# down the start-up of the one-shot ``sigpolicy verify``. ``Final`` keeps fields read-only.
class Reference:
    """A normalized Docker reference; build it with :func:`parse_reference`.

    ``domain`` is the registry host (``docker.io`` when none was written), ``path`` the
    repository path within it, ``tag`` and ``digest`` are ``None`` when absent.
    """

    __slots__ = ("digest", "domain", "path", "tag")

    def __init__(
        self, domain: str, path: str, tag: str | None = None, digest: Digest | None = None
    ) -> None:
        self.domain: Final = domain
        self.path: Final = path
        self.tag: Final = tag
        self.digest: Final = digest

    def _key(self) -> tuple[str, str, str | None, Digest | None]:
        return (self.domain, self.path, self.tag, self.digest)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Reference):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Reference(domain={self.domain!r}, path={self.path!r}, tag={self.tag!r},"
            f" digest={self.digest!r})"
        )

    @property
    def repository(self) -> str:
        """``domain/path``: upstream's ``Name()``, the repository without tag or digest."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def is_name_only(self) -> bool:
        """True when there is neither a tag nor a digest."""
        return self.tag is None and self.digest is None

    @property
    def familiar(self) -> str:
        """The short form people type (``busybox:latest``, ``user/app``).

        Mirrors ``FamiliarString``: ``docker.io/`` is dropped, and ``library/`` too when the
        path has exactly two components.
        """
        name = self.repository
        if self.domain == DEFAULT_DOMAIN:
            namespace, _, rest = self.path.partition("/")
            name = (
                rest
                if namespace == OFFICIAL_REPOSITORY_NAMESPACE and "/" not in rest
                else self.path
            )
        return name + self._suffix()

    def __str__(self) -> str:
        return self.repository + self._suffix()

    def _suffix(self) -> str:
        tag = f":{self.tag}" if self.tag is not None else ""
        digest = f"@{self.digest}" if self.digest is not None else ""
        return tag + digest

    def with_digest(self, digest: Digest) -> Reference:
        """This reference pinned to ``digest``; a tag is kept, as upstream ``WithDigest`` does."""
        return Reference(self.domain, self.path, self.tag, digest)

    def without_tag(self) -> Reference:
        """This reference with its tag removed (its digest, if any, stays)."""
        return Reference(self.domain, self.path, None, self.digest)

    def name_only(self) -> Reference:
        """The repository alone, without tag or digest (upstream ``TrimNamed``)."""
        return Reference(self.domain, self.path)


def parse_reference(value: str) -> Reference:
    """Parse and normalize ``value`` by the rules of this module.

    Raises :class:`InvalidReferenceError` (one line, naming the value) and nothing else.
    Results are cached: the same few references recur on every admission request.
    """
    if len(value) > _INPUT_LENGTH_MAX:
        raise InvalidReferenceError(
            f"invalid reference {shown(value)}: longer than any valid reference"
        )
    result = _parse_cached(value)
    if isinstance(result, str):
        raise InvalidReferenceError(result)
    return result


def try_parse_reference(value: str) -> Reference | None:
    """:func:`parse_reference`, returning ``None`` instead of raising."""
    if len(value) > _INPUT_LENGTH_MAX:
        return None
    result = _parse_cached(value)
    return None if isinstance(result, str) else result


@functools.lru_cache(maxsize=4096)
def _parse_cached(value: str) -> Reference | str:
    # Failures are cached as their message: hostile input tends to repeat too.
    try:
        return _parse_normalized(value)
    except InvalidReferenceError as exc:
        return str(exc)


def _parse_normalized(value: str) -> Reference:
    if not value:
        raise InvalidReferenceError("invalid reference '': empty")
    # 1.
    if IDENTIFIER_RE.fullmatch(value):
        raise InvalidReferenceError(
            f"invalid reference {shown(value)}: a 64-hex image ID is not a repository name"
        )
    # 2.
    domain, remainder = _split_docker_domain(value)
    # 3.
    remote = remainder.partition(":")[0]
    if remote.lower() != remote:
        raise InvalidReferenceError(
            f"invalid reference {shown(value)}: the repository name must be lowercase"
        )
    # 4.
    return _parse_full(domain + "/" + remainder, original=value)


def _split_docker_domain(name: str) -> tuple[str, str]:
    """containers/image ``SplitDockerDomain``."""
    first, slash, rest = name.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost"):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPOSITORY_NAMESPACE + "/" + remainder
    return domain, remainder


def _parse_full(full: str, *, original: str) -> Reference:
    """Upstream ``Parse`` of the already-normalized string."""
    match = REFERENCE_RE.fullmatch(full)
    if match is None:
        tag = full.rpartition("/")[2].partition("@")[0].partition(":")[2]
        if full.lower() != full and REFERENCE_RE.fullmatch(full.lower()):
            reason = "the repository name must be lowercase"
        elif len(tag) > _TAG_LENGTH_MAX:
            reason = f"the tag is longer than {_TAG_LENGTH_MAX} characters"
        else:
            reason = "not a valid reference"
        raise InvalidReferenceError(f"invalid reference {shown(original)}: {reason}")
    name = match["name"]
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReferenceError(
            f"invalid reference {shown(original)}: the repository name is longer than"
            f" {NAME_TOTAL_LENGTH_MAX} characters"
        )
    name_match = ANCHORED_NAME_RE.fullmatch(name)
    if name_match is None:  # pragma: no cover - NAME is a subset of the anchored name grammar
        raise InvalidReferenceError(f"invalid reference {shown(original)}: not a valid name")
    digest: Digest | None = None
    if match["digest"] is not None:
        try:
            digest = parse_digest(match["digest"])
        except InvalidDigestError as exc:
            raise InvalidReferenceError(f"invalid reference {shown(original)}: {exc}") from None
    return Reference(name_match["domain"] or "", name_match["path"], match["tag"], digest)
