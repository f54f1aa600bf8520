"""An async client of the OCI distribution / Docker Registry HTTP API v2.

Trust rules (nothing a registry says is believed):

1. A manifest's digest is always recomputed from the body
   (:func:`sigpolicy.reference.manifest.manifest_digest`, signed schema 1 included). Asked by
   digest, a body that digests otherwise is :class:`ManifestDigestMismatchError`; asked by tag,
   the digest is the recomputed one, never ``Docker-Content-Digest``.
2. A blob is hashed and compared with the digest asked for in the same way.
3. :meth:`RegistryClient.resolve_tag` may take the digest of a HEAD answer's
   ``Docker-Content-Digest``, but only as the name of what to fetch next: whoever acts on the
   tag fetches the manifest *by that digest* (rule 1 then checks the body), so a lying header
   yields a mismatch or a manifest that really has that digest, never an unverified body.
   (A tag's target is the registry's word however it is read; admission pins the digest.)
4. Every body is read under a size cap, decoded with the cap on the decoded size; every call
   ends by its ``deadline`` (an absolute ``clock()`` value), sleeps and token fetches included.
5. Credentials and tokens go only where :mod:`sigpolicy.sources.registry._tokens` allows.

``docker.io`` is reached at ``registry-1.docker.io``; every other host as the reference names it,
over HTTPS unless :attr:`RegistryOptions.insecure_hosts` lists it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import httpx2

from sigpolicy.errors import InputError, SigpolicyError, VerificationError
from sigpolicy.reference.digest import Digest, InvalidDigestError, parse_digest
from sigpolicy.reference.docker import DEFAULT_DOMAIN, Reference
from sigpolicy.reference.manifest import manifest_digest
from sigpolicy.sources.registry._exchange import Answer, Exchange, one_line
from sigpolicy.sources.registry._tokens import AuthState, host_of, origin_of
from sigpolicy.sources.registry.auth import CredentialSet
from sigpolicy.sources.registry.errors import (
    ManifestDigestMismatchError,
    RegistryError,
    RegistryNotFoundError,
    RegistryProtocolError,
    RegistryTimeoutError,
)
from sigpolicy.sources.registry.tls import RegistryOptions

T = TypeVar("T")

OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX: Final = "application/vnd.oci.image.index.v1+json"
DOCKER_V2S2: Final = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST: Final = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_V2S1_SIGNED: Final = "application/vnd.docker.distribution.manifest.v1+prettyjws"
DOCKER_V2S1: Final = "application/vnd.docker.distribution.manifest.v1+json"
#: Every manifest type asked for, in containers/image's order of preference.
MANIFEST_MEDIA_TYPES: Final = (
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_V2S2,
    DOCKER_LIST,
    DOCKER_V2S1_SIGNED,
    DOCKER_V2S1,
)
_ACCEPT_MANIFEST: Final = ", ".join(MANIFEST_MEDIA_TYPES)
_DOCKER_HUB_API: Final = "registry-1.docker.io"
_TAG_RE: Final = re.compile(r"[\w][\w.-]{0,127}")
_LINK_NEXT_RE: Final = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?')
_MAX_REFERRER_PAGES: Final = 16
_SIGNATURES_SUPPORT_TTL: Final = 300.0
_OK: Final = "ok"
_NOT_FOUND: Final = "not-found"


@dataclass(frozen=True)
class Manifest:
    """A manifest as fetched; ``digest`` is recomputed from ``body`` (trust rule 1)."""

    digest: Digest
    media_type: str
    body: bytes = field(repr=False)


@dataclass(frozen=True)
class Descriptor:
    """One entry of an OCI index (a referrers answer)."""

    media_type: str
    digest: Digest
    size: int
    annotations: Mapping[str, str]
    artifact_type: str | None


@dataclass(frozen=True)
class _Target:
    host: str  # as the reference names it: stats, messages, insecure_hosts
    base: str  # scheme://api-host
    insecure: bool


class RegistryClient:
    """See the module docstring. One instance per process; use it from one event loop."""

    def __init__(
        self,
        options: RegistryOptions | None = None,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options if options is not None else RegistryOptions()
        self._clock = clock
        self._exchange = Exchange(self.options, transport, clock)
        self._stats: Counter[tuple[str, str]] = Counter()
        self._supports_signatures: dict[str, tuple[bool, float]] = {}

    # -- public API -------------------------------------------------------------------------

    async def get_manifest(
        self, repository: Reference, reference: str, *, credentials: CredentialSet, deadline: float
    ) -> Manifest:
        """The manifest for a tag or a ``algorithm:hex`` digest (trust rule 1).

        Raises :class:`RegistryNotFoundError` on 404, :class:`ManifestDigestMismatchError`,
        and the other :class:`RegistryError` classes.
        """
        target = self._target(repository)
        digest = _tag_or_digest(reference)
        separator = "@" if digest is not None else ":"
        what = f"manifest {repository.repository}{separator}{reference}"

        async def work() -> Manifest:
            answer = await self._request(
                target,
                repository,
                credentials,
                "GET",
                f"/v2/{repository.path}/manifests/{reference}",
                accept=_ACCEPT_MANIFEST,
                cap=self.options.max_manifest_bytes,
                what=what,
                deadline=deadline,
            )
            if answer.status == 404:
                raise RegistryNotFoundError(target.host, f"{what}: not found at {target.host}")
            _expect_ok(answer, target.host, what)
            return _manifest_of(answer, digest, target.host, what)

        return await self._run(target.host, deadline, what, work)

    async def resolve_tag(
        self, repository: Reference, tag: str, *, credentials: CredentialSet, deadline: float
    ) -> Digest:
        """The digest ``tag`` names: HEAD's ``Docker-Content-Digest``, else GET and recompute.

        Trust rule 3: the digest returned is only a name to fetch by; the manifest used for
        any decision must be fetched with :meth:`get_manifest` by this digest, which checks it.
        GET is used when HEAD is refused (405, 501, any other non-2xx but 404 and the auth,
        rate-limit and server errors every request handles) or carries no valid digest.
        """
        target = self._target(repository)
        if not _TAG_RE.fullmatch(tag):
            raise InputError(f"{repository.repository}: {tag[:200]!r} is not a valid tag")
        what = f"tag {repository.repository}:{tag}"
        path = f"/v2/{repository.path}/manifests/{tag}"

        async def work() -> Digest:
            head = await self._request(
                target,
                repository,
                credentials,
                "HEAD",
                path,
                accept=_ACCEPT_MANIFEST,
                cap=0,
                what=what,
                deadline=deadline,
            )
            if head.status == 404:
                raise RegistryNotFoundError(target.host, f"{what}: not found at {target.host}")
            if 200 <= head.status < 300:
                header = head.headers.get("docker-content-digest", "").strip()
                try:
                    return parse_digest(header)
                except InvalidDigestError:
                    pass  # no usable header: read the manifest itself
            answer = await self._request(
                target,
                repository,
                credentials,
                "GET",
                path,
                accept=_ACCEPT_MANIFEST,
                cap=self.options.max_manifest_bytes,
                what=what,
                deadline=deadline,
            )
            if answer.status == 404:
                raise RegistryNotFoundError(target.host, f"{what}: not found at {target.host}")
            _expect_ok(answer, target.host, what)
            return _manifest_of(answer, None, target.host, what).digest

        return await self._run(target.host, deadline, what, work)

    async def get_blob(
        self,
        repository: Reference,
        digest: Digest,
        *,
        credentials: CredentialSet,
        deadline: float,
        max_bytes: int,
    ) -> bytes:
        """A blob, at most ``max_bytes``, hashed and checked against ``digest`` (rule 2).

        The registry may redirect to a storage host; no credential follows it there.
        """
        target = self._target(repository)
        what = f"blob {repository.repository}@{digest}"

        async def work() -> bytes:
            answer = await self._request(
                target,
                repository,
                credentials,
                "GET",
                f"/v2/{repository.path}/blobs/{digest}",
                accept=None,
                cap=max_bytes,
                what=what,
                deadline=deadline,
            )
            if answer.status == 404:
                raise RegistryNotFoundError(target.host, f"{what}: not found at {target.host}")
            _expect_ok(answer, target.host, what)
            actual = hashlib.new(digest.algorithm, answer.body).hexdigest()
            if actual != digest.hex:
                raise ManifestDigestMismatchError(
                    target.host,
                    f"{what}: {target.host} sent content that digests to"
                    f" {digest.algorithm}:{actual}",
                )
            return answer.body

        return await self._run(target.host, deadline, what, work)

    async def get_referrers(
        self,
        repository: Reference,
        digest: Digest,
        *,
        credentials: CredentialSet,
        deadline: float,
        artifact_type: str | None = None,
    ) -> list[Descriptor] | None:
        """The OCI 1.1 referrers of ``digest``; ``None`` when the registry lacks the API.

        Lacking it means 404 (or 400/405) on the first page, or an answer that is not an OCI
        index. Pages (``Link: <...>; rel="next"``) are followed on the same origin, at most
        16. When the registry did not apply the ``artifactType`` filter (no
        ``OCI-Filters-Applied: artifactType``), it is applied here. The descriptors are the
        registry's claims: whoever uses one fetches it by its digest, which is checked.
        """
        target = self._target(repository)
        what = f"referrers of {repository.repository}@{digest}"

        async def work() -> list[Descriptor] | None:
            path = f"/v2/{repository.path}/referrers/{digest}"
            url = httpx2.URL(target.base + path)
            if artifact_type is not None:
                url = url.copy_merge_params({"artifactType": artifact_type})
            found: list[Descriptor] = []
            filtered = True
            for page in range(_MAX_REFERRER_PAGES):
                answer = await self._request_url(
                    target,
                    repository,
                    credentials,
                    "GET",
                    url,
                    accept=OCI_INDEX,
                    cap=self.options.max_json_bytes,
                    what=what,
                    deadline=deadline,
                )
                if page == 0 and answer.status in (400, 404, 405):
                    return None
                _expect_ok(answer, target.host, what)
                descriptors = _index_descriptors(answer, target.host, what)
                if descriptors is None:
                    if page == 0:
                        return None
                    raise RegistryProtocolError(target.host, f"{what}: a page is not an index")
                found += descriptors
                applied = answer.headers.get("oci-filters-applied", "")
                filtered = filtered and "artifactType" in {p.strip() for p in applied.split(",")}
                next_url = _next_page(answer, url)
                if next_url is None:
                    break
                if origin_of(next_url) != origin_of(url):
                    raise RegistryProtocolError(
                        target.host, f"{what}: the next page is on another host"
                    )
                url = next_url
            else:
                raise RegistryProtocolError(
                    target.host, f"{what}: more than {_MAX_REFERRER_PAGES} pages"
                )
            if artifact_type is not None and not filtered:
                found = [d for d in found if d.artifact_type == artifact_type]
            return found

        return await self._run(target.host, deadline, what, work)

    async def get_signatures_extension(
        self, repository: Reference, digest: Digest, *, credentials: CredentialSet, deadline: float
    ) -> list[tuple[str, str, bytes]] | None:
        """``(name, type, content)`` from ``GET /extensions/v2/<repo>/signatures/<digest>``.

        As containers/image: only a registry whose ``/v2/`` answer carries
        ``X-Registry-Supports-Signatures: 1`` is asked (remembered for 5 minutes per host);
        otherwise, or on 404, ``None``. Entries whose ``schemaVersion`` is not 2 are skipped;
        ``content`` is base64-decoded. Nothing in them is believed before verification.
        """
        target = self._target(repository)
        what = f"signatures of {repository.repository}@{digest}"

        async def work() -> list[tuple[str, str, bytes]] | None:
            if not await self._supports_signatures_api(target, repository, credentials, deadline):
                return None
            answer = await self._request(
                target,
                repository,
                credentials,
                "GET",
                f"/extensions/v2/{repository.path}/signatures/{digest}",
                accept="application/json",
                cap=self.options.max_json_bytes,
                what=what,
                deadline=deadline,
            )
            if answer.status == 404:
                return None
            _expect_ok(answer, target.host, what)
            return _extension_signatures(answer.body, target.host, what)

        return await self._run(target.host, deadline, what, work)

    async def get_url(
        self,
        url: str,
        *,
        credentials: CredentialSet | None,
        deadline: float,
        max_bytes: int,
    ) -> bytes | None:
        """The body at an ``http(s)://`` URL (a lookaside signature); ``None`` on 404.

        A credential (looked up by the URL's ``host[:port]``) is sent only to that origin,
        and only in answer to its own 401 challenge.
        """
        try:
            parsed = httpx2.URL(url)
        except httpx2.InvalidURL:
            raise RegistryProtocolError("", f"{one_line(url)[:200]!r}: not a valid URL") from None
        host = host_of(parsed) if parsed.host else ""
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise RegistryProtocolError(host, f"{one_line(url)[:200]!r}: not an http(s) URL")
        # Credentials come from the credential set only: a user:password in the URL is
        # neither sent (httpx would) nor shown; the query may hold a signed URL's secret.
        parsed = parsed.copy_with(userinfo=b"", fragment=None)
        what = f"GET {parsed.copy_with(query=None)}"
        credential = credentials.lookup(host) if credentials is not None else None
        auth = AuthState(
            host=host,
            origin=origin_of(parsed),
            insecure=parsed.scheme == "http",
            credential=credential,
            scope=None,
        )

        async def work() -> bytes | None:
            answer = await self._exchange.request(
                "GET", parsed, auth=auth, accept=None, cap=max_bytes, what=what, deadline=deadline
            )
            if answer.status == 404:
                return None
            _expect_ok(answer, host, what)
            return answer.body

        return await self._run(host, deadline, what, work)

    async def aclose(self) -> None:
        await self._exchange.aclose()

    def stats(self) -> Mapping[tuple[str, str], int]:
        """Calls by (host, outcome); outcomes: ok, not-found, and each error's ``outcome``."""
        return dict(self._stats)

    # -- internals --------------------------------------------------------------------------

    def _target(self, repository: Reference) -> _Target:
        host = repository.domain
        if not host:
            raise InputError(f"{repository}: the reference names no registry host")
        api_host = _DOCKER_HUB_API if host == DEFAULT_DOMAIN else host
        insecure = self.options.is_insecure(host)
        return _Target(host, f"{'http' if insecure else 'https'}://{api_host}", insecure)

    def _auth(
        self, target: _Target, repository: Reference, credentials: CredentialSet
    ) -> AuthState:
        auth = AuthState(
            host=target.host,
            origin=origin_of(httpx2.URL(target.base)),
            insecure=target.insecure,
            credential=credentials.lookup(repository.repository),
            scope=f"repository:{repository.path}:pull",
        )
        self._exchange.attach_cached_token(auth)
        return auth

    async def _request(
        self,
        target: _Target,
        repository: Reference,
        credentials: CredentialSet,
        method: str,
        path: str,
        **kwargs: Any,
    ) -> Answer:
        url = httpx2.URL(target.base + path)
        return await self._request_url(target, repository, credentials, method, url, **kwargs)

    async def _request_url(
        self,
        target: _Target,
        repository: Reference,
        credentials: CredentialSet,
        method: str,
        url: httpx2.URL,
        *,
        accept: str | None,
        cap: int,
        what: str,
        deadline: float,
    ) -> Answer:
        auth = self._auth(target, repository, credentials)
        return await self._exchange.request(
            method, url, auth=auth, accept=accept, cap=cap, what=what, deadline=deadline
        )

    async def _supports_signatures_api(
        self,
        target: _Target,
        repository: Reference,
        credentials: CredentialSet,
        deadline: float,
    ) -> bool:
        known = self._supports_signatures.get(target.host)
        if known is not None and self._clock() < known[1]:
            return known[0]
        answer = await self._request(
            target,
            repository,
            credentials,
            "GET",
            "/v2/",
            accept="application/json",
            cap=self.options.max_json_bytes,
            what=f"API check of {target.host}",
            deadline=deadline,
        )
        supported = (
            200 <= answer.status < 300
            and answer.headers.get("x-registry-supports-signatures", "").strip() == "1"
        )
        self._supports_signatures[target.host] = (
            supported,
            self._clock() + _SIGNATURES_SUPPORT_TTL,
        )
        return supported

    async def _run(
        self, host: str, deadline: float, what: str, work: Callable[[], Awaitable[T]]
    ) -> T:
        """Run ``work`` before ``deadline``, map every failure to a RegistryError, count it."""
        try:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise RegistryTimeoutError(host, f"{what}: the deadline passed before asking")
            timer = asyncio.timeout(remaining)
            try:
                async with timer:
                    result = await work()
            except TimeoutError:
                if not timer.expired():
                    raise
                raise RegistryTimeoutError(
                    host, f"{what}: no complete answer from {host} before the deadline"
                ) from None
        except RegistryError as exc:
            self._stats[(host, exc.outcome)] += 1
            raise
        except SigpolicyError:
            raise
        except Exception as exc:
            # Fail closed: whatever else broke (a malformed answer the HTTP stack choked on)
            # is a protocol error of this host, not a traceback.
            self._stats[(host, RegistryProtocolError.outcome)] += 1
            detail = one_line(str(exc))[:200] or type(exc).__name__
            raise RegistryProtocolError(host, f"{what}: {type(exc).__name__}: {detail}") from None
        self._stats[(host, _NOT_FOUND if result is None else _OK)] += 1
        return result


def _tag_or_digest(reference: str) -> Digest | None:
    """The digest of an ``algorithm:hex`` reference, None for a tag; InputError otherwise."""
    if ":" in reference:
        return parse_digest(reference)
    if not _TAG_RE.fullmatch(reference):
        raise InputError(f"{reference[:200]!r} is neither a tag nor a digest")
    return None


def _expect_ok(answer: Answer, host: str, what: str) -> None:
    if not 200 <= answer.status < 300:
        raise RegistryProtocolError(host, f"{what}: {host} answered HTTP {answer.status}")


def _manifest_of(answer: Answer, asked: Digest | None, host: str, what: str) -> Manifest:
    body = answer.body
    try:
        actual = manifest_digest(body, asked.algorithm if asked is not None else "sha256")
    except VerificationError as exc:
        raise RegistryProtocolError(
            host, f"{what}: the manifest cannot be digested: {exc.message}"
        ) from None
    if asked is not None and actual != asked:
        raise ManifestDigestMismatchError(
            host, f"{what}: {host} sent a manifest whose digest is {actual}"
        )
    return Manifest(actual, _media_type(answer, host, what), body)


def _media_type(answer: Answer, host: str, what: str) -> str:
    """The body's ``mediaType``, else a manifest type the header names, else guessed."""
    try:
        document = json.loads(answer.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RegistryProtocolError(host, f"{what}: the manifest is not JSON") from None
    if not isinstance(document, dict):
        raise RegistryProtocolError(host, f"{what}: the manifest is not a JSON object")
    declared = document.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    header = answer.headers.get("content-type", "").partition(";")[0].strip().lower()
    if header in MANIFEST_MEDIA_TYPES:
        return header
    # containers/image GuessMIMEType, reduced to what a manifest without mediaType can be.
    if document.get("schemaVersion") == 1:
        return DOCKER_V2S1_SIGNED if "signatures" in document else DOCKER_V2S1
    return OCI_INDEX if "manifests" in document else OCI_MANIFEST


def _index_descriptors(answer: Answer, host: str, what: str) -> list[Descriptor] | None:
    """The descriptors of an OCI index answer; None when the answer is not an index."""
    content_type = answer.headers.get("content-type", "").partition(";")[0].strip().lower()
    try:
        document = json.loads(answer.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("manifests"), list):
        return None
    if document.get("mediaType", content_type) != OCI_INDEX:
        return None
    descriptors = []
    for entry in document["manifests"]:
        descriptor = _descriptor(entry)
        if descriptor is None:
            raise RegistryProtocolError(host, f"{what}: {host} sent a malformed descriptor")
        descriptors.append(descriptor)
    return descriptors


def _descriptor(entry: object) -> Descriptor | None:
    if not isinstance(entry, dict):
        return None
    media_type, digest, size = entry.get("mediaType"), entry.get("digest"), entry.get("size")
    annotations = entry.get("annotations", {})
    artifact_type = entry.get("artifactType")
    if (
        not isinstance(media_type, str)
        or not isinstance(digest, str)
        or not isinstance(size, int)
        or isinstance(size, bool)
        or size < 0
        or not isinstance(annotations, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in annotations.items())
        or not (artifact_type is None or isinstance(artifact_type, str))
    ):
        return None
    try:
        parsed = parse_digest(digest)
    except InvalidDigestError:
        return None
    return Descriptor(media_type, parsed, size, dict(annotations), artifact_type)


def _next_page(answer: Answer, url: httpx2.URL) -> httpx2.URL | None:
    for link in answer.headers.get_list("link"):
        match = _LINK_NEXT_RE.search(link)
        if match is not None:
            try:
                return url.join(match[1])
            except httpx2.InvalidURL:
                return None
    return None


def _extension_signatures(body: bytes, host: str, what: str) -> list[tuple[str, str, bytes]]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RegistryProtocolError(host, f"{what}: the answer is not JSON") from None
    entries = document.get("signatures") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise RegistryProtocolError(host, f"{what}: the answer has no 'signatures' list")
    found: list[tuple[str, str, bytes]] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise RegistryProtocolError(host, f"{what}: a signature entry is not an object")
        if entry.get("schemaVersion") != 2:
            continue
        name, kind, content = entry.get("name"), entry.get("type"), entry.get("content")
        if not (isinstance(name, str) and isinstance(kind, str) and isinstance(content, str)):
            raise RegistryProtocolError(host, f"{what}: a signature entry lacks name/type/content")
        try:
            found.append((name, kind, base64.b64decode(content, validate=True)))
        except binascii.Error:
            raise RegistryProtocolError(
                host, f"{what}: signature {name[:100]!r} is not base64"
            ) from None
    return found
