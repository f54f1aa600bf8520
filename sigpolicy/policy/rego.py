"""Rego: ask OPA whether an image may run (docs/rego.md).

Two engines answer the same question, "what is ``data.<path>`` for this input document?":

- :class:`OpaServerEvaluator`: an OPA server's Data API, through opa-python-client;
- :class:`EmbeddedEvaluator`: in process, through regopy (the optional extra ``rego``).

:func:`rego_input` builds the input document; :func:`rego_evaluator` makes either engine
from settings. Every evaluation returns a :class:`RegoOutcome` and never raises (only a
cancelled caller sees ``CancelledError``); configuration errors raise :class:`PolicyError`
when the evaluator is made.

The decision rules, in order (anything not allowed by rule 3 or 4 is denied, fail closed):

1. The input document must be JSON; otherwise deny.
2. No answer within ``timeout`` seconds, an unreachable server, an HTTP error, an answer
   that is not OPA's, or an evaluation error: deny, with the cause in words.
3. The document is ``true``: allow. ``false``, undefined (no value for this input, as for a
   rule without a ``default``), ``null``, a string, a number or an array: deny.
4. The document is an object: allow if and only if its ``allow`` is ``true``; its
   ``reason`` (or else ``message``), when a string, is the cause either way.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable, Mapping
from functools import partial
from types import TracebackType
from typing import Any, Literal, NamedTuple, NoReturn, Protocol, Self, overload

from sigpolicy.errors import PolicyError
from sigpolicy.policy._rego_answer import (
    Defined,
    EngineAnswer,
    Failed,
    RegoRef,
    Undefined,
    parse_ref,
)
from sigpolicy.policy._rego_input import (
    RegoImage,
    RegoInput,
    RegoSignature,
    RegoSignatureDoc,
    RegoWorkload,
    RegoWorkloadDoc,
    rego_input,
)
from sigpolicy.policy._rego_opa import OpaDataClient
from sigpolicy.policy._rego_regopy import RegopyEngine
from sigpolicy.policy._rego_worker import BoundedWorkers
from sigpolicy.reasons import Reason

__all__ = [
    "DEFAULT_TIMEOUT",
    "EmbeddedEvaluator",
    "OpaServerEvaluator",
    "RegoEvaluator",
    "RegoImage",
    "RegoInput",
    "RegoOutcome",
    "RegoSignature",
    "RegoSignatureDoc",
    "RegoWorkload",
    "RegoWorkloadDoc",
    "rego_evaluator",
    "rego_input",
]

DEFAULT_TIMEOUT = 2.0
# Threads per OPA server evaluator: enough for a busy webhook at a few ms per request, and a
# hard bound on the threads that an unresponsive server can hold (each for one timeout).
SERVER_WORKERS = 8
_MAX_CAUSE = 1000


class RegoOutcome(NamedTuple):
    """What the Rego engine decided, and why.

    - ``allowed``: rules 3 and 4 of the module docstring; ``False`` for everything else.
    - ``cause``: why, in words (the policy's own ``reason`` or ``message`` when it gave one).
    - ``value``: the queried document as answered; ``None`` when undefined or failed.
    - ``reason``: ``None`` when allowed; otherwise ``timeout`` (no answer in time),
      ``source-unavailable`` (the OPA server could not be reached) or ``policy-denied``
      (the policy said no, gave no usable answer, or failed).
    """

    allowed: bool
    cause: str
    value: Any
    reason: Reason | None = None

    def __bool__(self) -> NoReturn:
        raise TypeError("a RegoOutcome has no truth value: test .allowed")


class RegoEvaluator(Protocol):
    """Anything that decides an input document with Rego."""

    async def evaluate(self, input_doc: Mapping[str, Any]) -> RegoOutcome: ...


class OpaServerEvaluator:
    """Asks an OPA server: ``POST <url>/v1/data/<path>`` with ``{"input": <input_doc>}``.

    ``url`` is ``http[s]://host[:port]``; ``path`` is ``sigpolicy/allow`` or
    ``data.sigpolicy.allow``; ``token`` is sent as ``Authorization: Bearer <token>``.
    Each evaluation is one request (no retries) answered within ``timeout`` seconds or denied.
    """

    def __init__(
        self, url: str, path: str, *, timeout: float = DEFAULT_TIMEOUT, token: str | None = None
    ) -> None:
        self.ref = parse_ref(path)
        self.timeout = _checked_timeout(timeout)
        self._client = OpaDataClient(url, self.ref, timeout=self.timeout, token=token or None)
        self._workers = BoundedWorkers("sigpolicy-opa", SERVER_WORKERS)

    @property
    def description(self) -> str:
        return f"OPA at {self._client.location}, {self.ref.dotted}"

    async def evaluate(self, input_doc: Mapping[str, Any]) -> RegoOutcome:
        document = _json_document(input_doc)
        if isinstance(document, Failed):
            return decide(self.ref, document)
        answer = await self._workers.run(
            partial(self._client.query, document), self.timeout, f"OPA at {self._client.location}"
        )
        return decide(self.ref, answer)

    def close(self) -> None:
        self._workers.close()
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class EmbeddedEvaluator:
    """Evaluates Rego ``modules`` (file name to source) in process with regopy.

    ``query`` names the document to decide with (``data.sigpolicy.allow``); ``data`` is an
    optional base document. Loading (each failure is a :class:`PolicyError`):

    1. regopy is installed (``pip install sigpolicy[rego]``);
    2. every module parses and the query compiles (the engine's message, with file, line
       and column);
    3. one evaluation without input runs (within ``timeout``) without an error, so that
       errors the engine reports only when it evaluates (an unknown function) show at load,
       where they do not depend on ``input``.

    Evaluations run one at a time on one worker thread. A Rego evaluation that runs away
    cannot be stopped: the caller gets ``timeout`` after ``timeout`` seconds, the thread runs
    on until the evaluation ends, and evaluations queued behind it time out too (denied).
    """

    def __init__(
        self,
        modules: Mapping[str, str],
        query: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        if not modules:
            raise PolicyError("an embedded Rego policy needs at least one module")
        self.ref = parse_ref(query)
        self.timeout = _checked_timeout(timeout)
        self._engine = RegopyEngine(modules, self.ref, data)
        self._workers = BoundedWorkers("sigpolicy-rego", 1)
        probe = self._workers.run_blocking(
            partial(self._engine.query, None), self.timeout, "embedded Rego"
        )
        if isinstance(probe, Failed) and probe.reason is not Reason.TIMEOUT:
            self._workers.close()
            raise PolicyError(f"the Rego policy fails to evaluate {self.ref.dotted}: {probe.cause}")

    @property
    def description(self) -> str:
        return f"embedded Rego, {self.ref.dotted}"

    async def evaluate(self, input_doc: Mapping[str, Any]) -> RegoOutcome:
        document = _json_document(input_doc)
        if isinstance(document, Failed):
            return decide(self.ref, document)
        answer = await self._workers.run(
            partial(self._engine.query, document), self.timeout, "embedded Rego"
        )
        return decide(self.ref, answer)

    def close(self) -> None:
        self._workers.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


@overload
def rego_evaluator(
    kind: Literal["server"],
    *,
    url: str,
    path: str,
    timeout: float = ...,
    token: str | None = ...,
) -> OpaServerEvaluator: ...


@overload
def rego_evaluator(
    kind: Literal["embedded"],
    *,
    modules: Mapping[str, str],
    query: str,
    timeout: float = ...,
    data: Mapping[str, Any] | None = ...,
) -> EmbeddedEvaluator: ...


def rego_evaluator(
    kind: Literal["server", "embedded"], **settings: Any
) -> OpaServerEvaluator | EmbeddedEvaluator:
    """An evaluator of ``kind`` made from ``settings``; :class:`PolicyError` if they do not fit."""
    factory = _KINDS.get(kind)
    if factory is None:
        raise PolicyError(f"unknown Rego engine {kind!r}: use 'server' or 'embedded'")
    try:
        inspect.signature(factory).bind(**settings)
    except TypeError as exc:
        raise PolicyError(f"Rego {kind} settings: {exc}") from exc
    return factory(**settings)


_KINDS: dict[str, Callable[..., OpaServerEvaluator | EmbeddedEvaluator]] = {
    "server": OpaServerEvaluator,
    "embedded": EmbeddedEvaluator,
}


def decide(ref: RegoRef, answer: EngineAnswer) -> RegoOutcome:
    """Read an engine's answer as a decision (rules 2 to 4 of the module docstring)."""
    name = ref.dotted
    if isinstance(answer, Failed):
        return RegoOutcome(False, answer.cause, None, answer.reason)
    if isinstance(answer, Undefined):
        return RegoOutcome(
            False, f"undefined: {name} has no value for this input", None, Reason.POLICY_DENIED
        )
    return _read_decision(name, answer)


def _read_decision(name: str, answer: Defined) -> RegoOutcome:
    value = answer.value
    if value is True:
        return RegoOutcome(True, f"{name} is true", value, None)
    if value is False:
        return RegoOutcome(False, f"{name} is false", value, Reason.POLICY_DENIED)
    if not isinstance(value, dict):
        words = f"{name} is {_kind_of(value)}, not true or an object with a boolean allow"
        return RegoOutcome(False, words, value, Reason.POLICY_DENIED)
    allow = value.get("allow")
    said = _explanation(value)
    if allow is True:
        return RegoOutcome(True, said or f"{name}.allow is true", value, None)
    if allow is False:
        return RegoOutcome(False, said or f"{name}.allow is false", value, Reason.POLICY_DENIED)
    missing = "has no allow" if "allow" not in value else f"has allow {_kind_of(allow)}"
    words = f"{name} {missing}, not a boolean" + (f" ({said})" if said else "")
    return RegoOutcome(False, words, value, Reason.POLICY_DENIED)


def _explanation(value: Mapping[str, Any]) -> str | None:
    for key in ("reason", "message"):
        text = value.get(key)
        if isinstance(text, str) and text.strip():
            text = text.strip()
            return text if len(text) <= _MAX_CAUSE else text[: _MAX_CAUSE - 1] + "…"
    return None


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if value is False:
        return "false"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"


def _json_document(input_doc: Mapping[str, Any]) -> dict[str, Any] | Failed:
    """A private JSON copy of the input (rule 1), so later changes by the caller cannot leak."""
    try:
        document = json.loads(json.dumps(input_doc, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        return Failed(Reason.POLICY_DENIED, f"the input document is not JSON: {exc}")
    if not isinstance(document, dict):
        return Failed(Reason.POLICY_DENIED, "the input document is not a JSON object")
    return document


def _checked_timeout(timeout: float) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise PolicyError(f"Rego timeout must be a number of seconds, not {timeout!r}")
    seconds = float(timeout)
    if not math.isfinite(seconds) or seconds <= 0:
        raise PolicyError(f"Rego timeout must be a positive number of seconds, not {timeout!r}")
    return seconds
