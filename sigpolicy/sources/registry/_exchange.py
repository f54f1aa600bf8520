"""One logical HTTP request to a registry: auth, redirects, retries, caps, all bounded.

:meth:`Exchange.request` does, in a loop that ends after a bounded number of rounds:

1. Send the request, with ``Authorization`` only when the URL's origin is the one the
   :class:`~sigpolicy.sources.registry._tokens.AuthState` is for; under the host's semaphore;
   with connect/read timeouts computed from the deadline; the body of a 2xx read with
   :func:`~sigpolicy.sources.registry._bodies.read_capped`.
2. 3xx with ``Location``: follow it by hand, at most ``max_redirects`` times; a URL seen before
   is a loop; a redirect from HTTPS to plain HTTP only to an insecure host; a user:password
   in the target is dropped.
3. 401: answer the challenge once (a cached token earns one fresh token first); a 401 after a
   fresh credential or token is :class:`RegistryAuthError`. 403 is :class:`RegistryAuthError`
   naming what was sent (``anonymous`` when nothing was).
4. 429 and 503 with ``Retry-After`` (seconds or an HTTP date): wait and retry, at most twice,
   only when the wait ends before the deadline; else :class:`RegistryRateLimitedError`.
5. Other 5xx (and 503 without ``Retry-After``): one retry, then
   :class:`RegistryUnreachableError`. 501 is returned as is (a HEAD the registry lacks).
6. Anything else is returned to the caller, who decides what 404 or 200 means.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import os
import ssl
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

import httpx2

from sigpolicy.sources.registry._bodies import read_capped
from sigpolicy.sources.registry._challenge import parse_challenges
from sigpolicy.sources.registry._tokens import (
    AuthState,
    TokenCache,
    basic_header,
    host_of,
    origin_of,
    valid_token,
)
from sigpolicy.sources.registry.errors import (
    RegistryAuthError,
    RegistryError,
    RegistryProtocolError,
    RegistryRateLimitedError,
    RegistryTimeoutError,
    RegistryUnreachableError,
)
from sigpolicy.sources.registry.tls import RegistryOptions, ssl_context_for

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RATE_LIMITED = frozenset({429, 503})
_RATE_LIMIT_RETRIES = 2
_SERVER_RETRIES = 1
_MAX_CLIENTS = 256
_MAX_HOSTS = 1024
_DRAINED_ERROR_BODY = 16384
_DRAIN_SECONDS = 0.5
USER_AGENT = "sigpolicy"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx2.Headers
    body: bytes
    url: httpx2.URL


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from now (``now`` is wall-clock time), or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - now, 0.0)


def one_line(text: str) -> str:
    return " ".join(text.split())


class Exchange:
    """HTTP clients per origin, semaphores per host, tokens; see the module docstring."""

    def __init__(
        self,
        options: RegistryOptions,
        transport: httpx2.AsyncBaseTransport | None,
        clock: Callable[[], float],
    ) -> None:
        self.options = options
        self.clock = clock
        self.tokens = TokenCache(clock)
        self._transport = transport
        self._cert_dir = options.effective_cert_dir()
        self._clients: OrderedDict[str, httpx2.AsyncClient] = OrderedDict()
        # host -> (its semaphore, tasks using or waiting for it)
        self._slots: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}
        # Origins that asked for Basic: the credential goes along at once the next time.
        self._basic_origins: set[str] = set()

    # -- plumbing ---------------------------------------------------------------------------

    def _client_for(self, url: httpx2.URL) -> httpx2.AsyncClient:
        key = "*" if self._transport is not None else origin_of(url)
        client = self._clients.get(key)
        if client is not None:
            self._clients.move_to_end(key)
            return client
        verify: ssl.SSLContext | bool = (
            ssl_context_for(host_of(url), self._cert_dir) if url.scheme == "https" else False
        )
        client = httpx2.AsyncClient(
            verify=verify,
            transport=self._transport,
            follow_redirects=False,
            # Proxies and CA bundles from the environment would make what is trusted depend
            # on the process's environment instead of the options.
            trust_env=False,
            limits=httpx2.Limits(max_connections=self.options.per_host_concurrency),
        )
        self._clients[key] = client
        while len(self._clients) > _MAX_CLIENTS:
            # Bounded even when hostile redirects name host after host.
            _, oldest = self._clients.popitem(last=False)
            task = asyncio.get_running_loop().create_task(oldest.aclose())
            task.add_done_callback(lambda _t: None)
        return client

    @contextlib.asynccontextmanager
    async def _host_slot(self, host: str) -> AsyncIterator[None]:
        """One of the host's ``per_host_concurrency`` slots, held for one request."""
        slot = self._slots.get(host)
        if slot is None:
            slot = self._slots[host] = (asyncio.Semaphore(self.options.per_host_concurrency), [0])
        semaphore, users = slot
        users[0] += 1
        try:
            async with semaphore:
                yield
        finally:
            users[0] -= 1
            # An idle host's semaphore is as good as a new one: past the bound it is dropped,
            # so hosts named by hostile redirects do not pile up.
            if users[0] == 0 and len(self._slots) > _MAX_HOSTS:
                del self._slots[host]

    def _timeout(self, deadline: float) -> httpx2.Timeout:
        remaining = max(deadline - self.clock(), 0.001)
        return httpx2.Timeout(remaining, connect=min(self.options.connect_timeout, remaining))

    async def aclose(self) -> None:
        clients = list(self._clients.values())
        self._clients.clear()
        for client in clients:
            await client.aclose()

    # -- one request --------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url: httpx2.URL,
        *,
        auth: AuthState | None,
        accept: str | None,
        cap: int,
        what: str,
        deadline: float,
        form: Mapping[str, str] | None = None,
    ) -> Answer:
        seen = {str(url)}
        redirects = limited = server_errors = 0
        while True:
            # 1.
            answer = await self._send(method, url, auth, accept, cap, what, deadline, form)
            status = answer.status
            host = host_of(url)
            # 2.
            if status in _REDIRECTS and "location" in answer.headers:
                url = self._redirect_target(url, answer.headers["location"], what)
                if redirects >= self.options.max_redirects:
                    raise RegistryProtocolError(
                        host, f"{what}: more than {self.options.max_redirects} redirects"
                    )
                if str(url) in seen:
                    raise RegistryProtocolError(host, f"{what}: redirect loop at {host}")
                seen.add(str(url))
                redirects += 1
                if status == 303 or (status in (301, 302) and method == "POST"):
                    method, form = ("HEAD" if method == "HEAD" else "GET"), None
                continue
            # 3.
            if status == 401:
                await self._answer_challenge(url, auth, answer, what, deadline)
                continue
            if status == 403:
                sent = auth is not None and auth.applies_to(url) and auth.header is not None
                label = auth.label if sent and auth is not None else "anonymous"
                raise RegistryAuthError(
                    host, f"{what}: {host} refused access with {label} (HTTP 403)", credential=label
                )
            # 4.
            if status in _RATE_LIMITED:
                wait = retry_after_seconds(answer.headers.get("retry-after"), time.time())
                if wait is not None:
                    if limited < _RATE_LIMIT_RETRIES and self.clock() + wait < deadline:
                        limited += 1
                        await asyncio.sleep(wait)
                        continue
                    raise RegistryRateLimitedError(
                        host,
                        f"{what}: {host} is rate limiting (HTTP {status}, retry after {wait:g} s)",
                        retry_after=wait,
                    )
                if status == 429:
                    raise RegistryRateLimitedError(
                        host, f"{what}: {host} is rate limiting (HTTP 429)", retry_after=None
                    )
            # 5.
            if status >= 500 and status != 501:
                if server_errors < _SERVER_RETRIES:
                    server_errors += 1
                    continue
                raise RegistryUnreachableError(
                    host, f"{what}: {host} answered HTTP {status} {server_errors + 1} times"
                )
            # 6.
            return answer

    def _redirect_target(self, url: httpx2.URL, location: str, what: str) -> httpx2.URL:
        host = host_of(url)
        try:
            target = url.join(location)
        except httpx2.InvalidURL:
            raise RegistryProtocolError(
                host, f"{what}: {host} redirected to an invalid URL"
            ) from None
        # A user:password in Location would make the HTTP stack send Basic auth of its own.
        target = target.copy_with(userinfo=b"")
        if target.scheme not in ("http", "https") or not target.host:
            raise RegistryProtocolError(host, f"{what}: {host} redirected to a non-HTTP URL")
        downgrade = url.scheme == "https" and target.scheme == "http"
        if downgrade and not self.options.is_insecure(host_of(target)):
            raise RegistryProtocolError(
                host, f"{what}: {host} redirected to plain HTTP at {host_of(target)}"
            )
        return target

    async def _send(
        self,
        method: str,
        url: httpx2.URL,
        auth: AuthState | None,
        accept: str | None,
        cap: int,
        what: str,
        deadline: float,
        form: Mapping[str, str] | None,
    ) -> Answer:
        host = host_of(url)
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}
        if accept is not None:
            headers["Accept"] = accept
        if auth is not None and auth.applies_to(url):
            credential = auth.credential
            if (
                auth.header is None
                and auth.origin in self._basic_origins
                and credential is not None
                and credential.identity_token is None
            ):
                auth.header = basic_header(credential)
                auth.rounds = 1  # the credential itself went along: a 401 to it is final
            if auth.header is not None:
                headers["Authorization"] = auth.header
        client = self._client_for(url)
        async with self._host_slot(host):
            try:
                request = client.build_request(
                    method, url, headers=headers, data=form, timeout=self._timeout(deadline)
                )
                response = await client.send(request, stream=True)
            except httpx2.HTTPError as exc:
                raise self._transport_error(host, what, exc) from None
            try:
                body = b""
                if 200 <= response.status_code < 300 and method != "HEAD":
                    body = await read_capped(response, cap, host=host, what=what)
                elif method == "HEAD":
                    # A HEAD answer has no body, but the HTTP stack keeps the connection only
                    # once it has seen the answer's end.
                    async for _nothing in response.aiter_raw():
                        break
                elif _small_error_body(response):
                    await self._drain(response, host, what)
            except httpx2.HTTPError as exc:
                raise self._transport_error(host, what, exc) from None
            finally:
                await response.aclose()
        return Answer(response.status_code, response.headers, body, url)

    async def _drain(self, response: httpx2.Response, host: str, what: str) -> None:
        """Read a small error body and drop it, so the connection is kept for the next request
        (the anonymous try's 401 comes before every authenticated one). A body that does not
        come within a moment is given up on: the status is what counts."""
        try:
            async with asyncio.timeout(_DRAIN_SECONDS):
                await read_capped(response, _DRAINED_ERROR_BODY, host=host, what=what)
        except (TimeoutError, RegistryProtocolError):
            pass

    def _transport_error(self, host: str, what: str, exc: httpx2.HTTPError) -> RegistryError:
        if isinstance(exc, httpx2.ConnectTimeout):
            return RegistryUnreachableError(
                host,
                f"{what}: cannot connect to {host}: no answer within"
                f" {self.options.connect_timeout:g} s",
            )
        if isinstance(exc, httpx2.TimeoutException):
            return RegistryTimeoutError(host, f"{what}: {host} did not answer before the deadline")
        if isinstance(exc, httpx2.ConnectError):
            return RegistryUnreachableError(host, f"{what}: {_connect_failure(host, exc)}")
        detail = one_line(str(exc)) or type(exc).__name__
        return RegistryUnreachableError(host, f"{what}: connection to {host} failed: {detail}")

    # -- authentication -------------------------------------------------------------------

    async def _answer_challenge(
        self,
        url: httpx2.URL,
        auth: AuthState | None,
        answer: Answer,
        what: str,
        deadline: float,
    ) -> None:
        host = host_of(url)
        if auth is None or not auth.applies_to(url):
            # A server we hold no credential for (a blob CDN): nothing may be sent to it.
            raise RegistryAuthError(
                host, f"{what}: {host} requires authentication (HTTP 401)", credential="anonymous"
            )
        label = auth.label
        if auth.rounds >= 1:
            raise RegistryAuthError(
                host, f"{what}: {host} refused {label} (HTTP 401)", credential=label
            )
        auth.rounds += 1
        challenges = parse_challenges(", ".join(answer.headers.get_list("www-authenticate")))
        bearer = next((c for c in challenges if c.scheme == "bearer" and "realm" in c.params), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        if bearer is not None:
            token = await self._fetch_token(auth, bearer.params, what, deadline)
            auth.header = f"Bearer {token}"
            auth.cached = False
            return
        if basic is not None and auth.credential is not None:
            if auth.credential.identity_token is not None:
                raise RegistryAuthError(
                    host,
                    f"{what}: {host} asks for a password; {label} holds only an identity token",
                    credential=label,
                )
            self._basic_origins.add(auth.origin)
            auth.header = basic_header(auth.credential)
            return
        if auth.credential is None:
            raise RegistryAuthError(
                host,
                f"{what}: {host} requires authentication and no credential is configured for it",
                credential=label,
            )
        raise RegistryAuthError(
            host, f"{what}: {host} refused {label} with no usable challenge", credential=label
        )

    async def _fetch_token(
        self, auth: AuthState, params: Mapping[str, str], what: str, deadline: float
    ) -> str:
        host = auth.host
        try:
            realm = httpx2.URL(params["realm"])
        except httpx2.InvalidURL:
            raise RegistryProtocolError(
                host, f"{what}: {host} names an invalid token realm"
            ) from None
        if not realm.host or not (
            realm.scheme == "https" or (realm.scheme == "http" and auth.insecure)
        ):
            raise RegistryProtocolError(
                host, f"{what}: {host} names a token realm that is not HTTPS"
            )
        scope = params.get("scope") or auth.scope or ""
        credential = auth.credential
        token_auth = AuthState(
            host=host_of(realm),
            origin=origin_of(realm),
            insecure=auth.insecure,
            credential=credential,
            scope=None,
            rounds=1,  # the realm gets the credential once; its 401 is final
        )
        form: dict[str, str] | None = None
        query = {k: v for k, v in (("service", params.get("service")), ("scope", scope)) if v}
        if credential is not None and credential.identity_token is not None:
            method = "POST"
            form = dict(
                query,
                grant_type="refresh_token",
                refresh_token=credential.identity_token,
                client_id=USER_AGENT,
            )
            target = realm
        else:
            method = "GET"
            target = realm.copy_merge_params(query)
            if credential is not None:
                token_auth.header = basic_header(credential)
        answer = await self.request(
            method,
            target,
            auth=token_auth,
            accept="application/json",
            cap=self.options.max_json_bytes,
            what=f"{what}: token from {token_auth.host}",
            deadline=deadline,
            form=form,
        )
        if answer.status != 200:
            raise RegistryProtocolError(
                host, f"{what}: token realm {token_auth.host} answered HTTP {answer.status}"
            )
        token, expires_in = _token_of(answer.body)
        if token is None:
            raise RegistryProtocolError(
                host, f"{what}: token realm {token_auth.host} sent no usable token"
            )
        # Cached under the scope this client asks for, which is what the next call looks up;
        # a registry whose challenge names another scope still gets one token per lifetime.
        self.tokens.put((auth.host, auth.scope or scope, credential), token, expires_in)
        return token

    def attach_cached_token(self, auth: AuthState) -> None:
        """Before the first request: a token still valid for this host, scope and credential."""
        if auth.scope is None:
            return
        token = self.tokens.get((auth.host, auth.scope, auth.credential))
        if token is not None:
            auth.header = f"Bearer {token}"
            auth.cached = True


def _small_error_body(response: httpx2.Response) -> bool:
    """An error body announced small enough to read; a chunked one is not waited for."""
    length = response.headers.get("content-length", "")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    return length.isdigit() and int(length) <= _DRAINED_ERROR_BODY and encoding == "identity"


def _token_of(body: bytes) -> tuple[str | None, object]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    return valid_token(data.get("token") or data.get("access_token")), data.get("expires_in")


def _connect_failure(host: str, exc: BaseException) -> str:
    """Which connect failure: TLS verification, another TLS error, or the OS's words."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message or one_line(str(cause))
            return f"TLS verification failed for {host}: {detail}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake with {host} failed: {cause.reason or one_line(str(cause))}"
        if isinstance(cause, OSError) and cause.errno is not None:
            return f"cannot connect to {host}: {os.strerror(cause.errno).lower()}"
        cause = cause.__cause__ or cause.__context__
    detail = one_line(str(exc))
    if "CERTIFICATE_VERIFY_FAILED" in detail:
        return f"TLS verification failed for {host}: {detail}"
    return f"cannot connect to {host}: {detail or type(exc).__name__}"
