"""Who may see a credential, and the bearer tokens obtained with it.

Trust rules:

1. An :class:`AuthState` belongs to one origin (scheme, host, port): its ``Authorization``
   header is sent to that origin only, never after a redirect to another one.
2. A credential (Basic) is sent to the registry origin itself, or to the token realm that the
   registry's own challenge names (the documented token flow; the realm may be on another
   host), and only over HTTPS unless the registry host is listed as insecure.
3. Tokens are cached per (registry host, scope, credential) until ``expires_in`` (60 s when
   absent or smaller, as Docker does), in a bounded map.
4. A token is a header value: anything but printable ASCII without spaces is refused, so a
   registry cannot inject headers through it.
"""

from __future__ import annotations

import base64
import math
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import httpx2

from sigpolicy.sources.registry.auth import Credential

ANONYMOUS = "anonymous"
_MIN_TOKEN_SECONDS = 60.0
_MAX_CACHED_TOKENS = 4096
# A token said to live longer is still asked for again after a day.
_MAX_TOKEN_SECONDS = 86400.0
_TOKEN_RE = re.compile(r"[\x21-\x7e]{1,16384}")

TokenKey = tuple[str, str, Credential | None]


def origin_of(url: httpx2.URL) -> str:
    """``scheme://host:port`` with the port made explicit, so equal origins compare equal."""
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.scheme}://{url.host}:{port}"


def host_of(url: httpx2.URL) -> str:
    """``host[:port]`` as certs.d, insecure_hosts and messages name a server."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{url.port}" if url.port is not None else host


def basic_header(credential: Credential) -> str:
    pair = f"{credential.username}:{credential.password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def valid_token(token: object) -> str | None:
    """Rule 4: the token if it can be a header value, else None."""
    if isinstance(token, str) and _TOKEN_RE.fullmatch(token):
        return token
    return None


@dataclass
class AuthState:
    """The authentication of one logical request (and its retries) to one origin."""

    host: str
    origin: str
    insecure: bool
    credential: Credential | None
    scope: str | None
    header: str | None = None
    #: True when ``header`` came from the token cache (a 401 then earns one fresh token).
    cached: bool = False
    #: 401s answered with a fresh credential or token; a second one ends the request.
    rounds: int = 0

    @property
    def label(self) -> str:
        """The credential by name, for messages: its origin label, or ``anonymous``."""
        return self.credential.origin if self.credential is not None else ANONYMOUS

    def applies_to(self, url: httpx2.URL) -> bool:
        """Rule 1."""
        return origin_of(url) == self.origin


class TokenCache:
    """Rule 3."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._tokens: OrderedDict[TokenKey, tuple[str, float]] = OrderedDict()

    def get(self, key: TokenKey) -> str | None:
        entry = self._tokens.get(key)
        if entry is None:
            return None
        token, expires = entry
        if self._clock() >= expires:
            del self._tokens[key]
            return None
        return token

    def put(self, key: TokenKey, token: str, expires_in: object) -> None:
        seconds = (
            float(expires_in)
            if isinstance(expires_in, int | float) and not isinstance(expires_in, bool)
            else 0.0
        )
        if not math.isfinite(seconds):  # json.loads accepts NaN and Infinity
            seconds = 0.0
        seconds = min(max(seconds, _MIN_TOKEN_SECONDS), _MAX_TOKEN_SECONDS)
        self._tokens[key] = (token, self._clock() + seconds)
        self._tokens.move_to_end(key)
        while len(self._tokens) > _MAX_CACHED_TOKENS:
            self._tokens.popitem(last=False)

    def drop(self, key: TokenKey) -> None:
        self._tokens.pop(key, None)
