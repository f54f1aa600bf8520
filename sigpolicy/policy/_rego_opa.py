"""The one adapter over opa-python-client (STYLE.md 10): nothing else imports it.

:class:`OpaDataClient` asks an OPA server's Data API (``POST /v1/data/<path>`` with
``{"input": ...}``) through ``opa_client.OpaClient.query_rule`` and reduces whatever
happens to an :class:`EngineAnswer`; it never raises once built. The client is synchronous
(``requests``): :meth:`OpaDataClient.query` blocks and is meant for a worker thread. Each
worker thread gets its own client, since a ``requests`` session is not documented as
thread-safe. The client's own timeout (connect, and each read) is the evaluator's, so a
call that the evaluator stopped waiting for also ends in its thread; its retries are off,
so one decision is one request within one budget.

opa_client and requests are imported when a server evaluator is made, not with this module:
opa_client brings aiohttp along, a quarter of a second that a one-shot ``sigpolicy`` command
without an OPA requirement should not pay.
"""

from __future__ import annotations

import socket
import ssl
import threading
from typing import Any
from urllib.parse import urlsplit

from sigpolicy.errors import PolicyError
from sigpolicy.policy._rego_answer import Defined, EngineAnswer, Failed, RegoRef, Undefined
from sigpolicy.policy._rego_worker import timeout_words
from sigpolicy.reasons import Reason

_SNIPPET = 200


class OpaDataClient:
    """Queries one document of one OPA server."""

    def __init__(self, url: str, ref: RegoRef, *, timeout: float, token: str | None) -> None:
        scheme, host, port = _endpoint(url)
        self.location = f"{scheme}://{host}:{port}"
        self._ref = ref
        self._timeout = timeout
        self._settings: dict[str, Any] = {
            "host": host,
            "port": port,
            "ssl": scheme == "https",
            "token": token,
            "retries": 0,
            "timeout": timeout,
        }
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[Any] = []
        self._client_class = _opa_client_class()

    def query(self, input_doc: dict[str, Any]) -> EngineAnswer:
        """Ask for the document with this input; blocking. Never raises."""
        import requests  # already loaded by opa_client: a lookup, not an import

        try:
            body = self._client().query_rule(input_data=input_doc, package_path=self._ref.slashed)
        except requests.Timeout:
            return Failed(Reason.TIMEOUT, f"OPA at {self.location}: {timeout_words(self._timeout)}")
        except requests.HTTPError as exc:
            return Failed(Reason.POLICY_DENIED, _http_error_words(exc.response))
        except requests.JSONDecodeError:
            return Failed(Reason.POLICY_DENIED, f"OPA at {self.location} answered with non-JSON")
        except requests.ConnectionError as exc:
            if any(isinstance(e, TimeoutError) for e in _chain(exc)):
                return Failed(
                    Reason.TIMEOUT, f"OPA at {self.location}: {timeout_words(self._timeout)}"
                )
            return Failed(
                Reason.SOURCE_UNAVAILABLE,
                f"OPA at {self.location} is unreachable: {_connection_words(exc)}",
            )
        except Exception as exc:  # fail closed: whatever else the client raises denies
            return Failed(Reason.POLICY_DENIED, f"OPA client failed: {type(exc).__name__}: {exc}")
        return _read_body(body, self.location)

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close_connection()

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._client_class(**self._settings)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client


def _opa_client_class() -> Any:
    try:
        from opa_client import OpaClient
    except ImportError as exc:
        raise PolicyError(f"the OPA server engine needs opa-python-client: {exc}") from exc
    return OpaClient


def _endpoint(url: str) -> tuple[str, str, int]:
    """``http[s]://host[:port]``; the client cannot address OPA under a path prefix."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise PolicyError(f"OPA server URL {url!r} is not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise PolicyError(f"OPA server URL {url!r} must start with http:// or https://")
    if not parts.hostname:
        raise PolicyError(f"OPA server URL {url!r} names no host")
    if parts.username is not None or parts.password is not None:
        raise PolicyError(f"OPA server URL {url!r}: give the token as `token`, not in the URL")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise PolicyError(
            f"OPA server URL {url!r} must be scheme://host[:port] only: "
            "the policy path goes in `path`"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default_port = 443 if parts.scheme == "https" else 80
    return parts.scheme, host, port if port is not None else default_port


def _read_body(body: Any, location: str) -> EngineAnswer:
    """``{"result": value}`` is defined; an object without ``result`` is undefined."""
    if not isinstance(body, dict):
        return Failed(
            Reason.POLICY_DENIED,
            f"OPA at {location} answered {type(body).__name__}, not a Data API response object",
        )
    if "result" in body:
        return Defined(body["result"])
    return Undefined()


def _http_error_words(response: Any) -> str:
    """``OPA answered HTTP 500 (internal_error): <message>``, from OPA's error body."""
    if response is None:
        return "OPA answered with an HTTP error"
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        code = body.get("code")
        label = f" ({code})" if isinstance(code, str) and code else ""
        return f"OPA answered HTTP {status}{label}: {_shorten(body['message'])}"
    text = _shorten(str(response.text).strip())
    return f"OPA answered HTTP {status}: {text}" if text else f"OPA answered HTTP {status}"


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception under requests' and urllib3's wrappers, outermost first."""
    seen: set[int] = set()
    found: list[BaseException] = []
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        found.append(current)
        linked = (current.__cause__, current.__context__, getattr(current, "reason", None))
        pending.extend(e for e in (*linked, *current.args) if isinstance(e, BaseException))
    return found


def _connection_words(exc: BaseException) -> str:
    """The root cause of a connection failure, in a few words."""
    chain = _chain(exc)
    for current in chain:
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, socket.gaierror):
            return f"cannot resolve the host ({current.strerror})"
        if isinstance(current, ssl.SSLError):
            return f"TLS failed ({current.reason or current})"
    for current in chain:
        if isinstance(current, OSError) and current.strerror:
            return current.strerror.lower()
    return _shorten(str(exc))


def _shorten(text: str) -> str:
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"
