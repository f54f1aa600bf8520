"""The one adapter over regopy, the embedded Rego engine (STYLE.md 10): nothing else imports it.

regopy (rego-cpp) is an optional extra (``pip install sigpolicy[rego]``). Its traps, and
how this adapter avoids them:

1. A query whose document is undefined answers the string ``undefined``, never a
   ``default`` value of a rule that has none, and reading the *expressions* of such an
   answer (``Output.expressions()``, ``Output.binding()``) aborts the whole process from
   native code (``std::out_of_range``). So the adapter queries a *binding*
   (``decision := data.sigpolicy.allow``), reads only the answer's JSON text, and takes the
   value from ``bindings``; an answer without the binding is undefined.
2. An evaluation error can come back as text that is not JSON (``(error (errormsg ...))``),
   which ``Output``'s constructor fails to parse, or as ``<error>`` with no message; and a
   result can be written as invalid JSON (``sprintf("%s", [s])`` of a computed string keeps
   its quotes). All are read as failures here; the message is recovered where there is one.
3. Parse errors in a module raise ``RegoError`` carrying an S-expression; the adapter turns
   it into ``file:line:col: message`` (rego-cpp also prints its own report on stdout).

The modules are compiled once into a bundle; each evaluation runs the bundle in a fresh
interpreter. Calls are blocking and meant for one worker thread (the evaluator's), since
rego-cpp does not document its interpreters as thread-safe.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sigpolicy.errors import PolicyError
from sigpolicy.policy._rego_answer import Defined, EngineAnswer, Failed, RegoRef, Undefined
from sigpolicy.reasons import Reason

INSTALL_HINT = "the embedded Rego engine needs `pip install sigpolicy[rego]` (regopy)"
_BINDING = "sigpolicy_decision"
_MAX_MESSAGES = 3


def _regopy() -> Any:
    try:
        import regopy  # an optional extra: imported only when an embedded policy is loaded
    except ImportError as exc:
        raise PolicyError(INSTALL_HINT) from exc
    except OSError as exc:  # the native library is there but cannot be loaded
        raise PolicyError(f"{INSTALL_HINT}; its native library failed to load: {exc}") from exc
    return regopy


class RegopyEngine:
    """The compiled modules, ready to answer ``data.<ref>`` for an input document.

    Loading, in order (each failure is a :class:`PolicyError`):

    1. regopy is importable;
    2. the base documents (``data``), if any, are added;
    3. every module parses (the engine's messages, with file, line and column);
    4. the binding query ``sigpolicy_decision := data.<ref>`` compiles into a bundle.
    """

    def __init__(
        self, modules: Mapping[str, str], ref: RegoRef, data: Mapping[str, Any] | None = None
    ) -> None:
        regopy = _regopy()
        self._regopy = regopy
        self._modules = dict(modules)
        builder = regopy.Interpreter()
        if data:
            try:
                builder.add_data_json(json.dumps(data, allow_nan=False))
            except (TypeError, ValueError) as exc:
                raise PolicyError(f"Rego data is not a JSON document: {exc}") from exc
            except regopy.RegoError as exc:
                raise PolicyError(f"Rego data was refused: {self.describe(str(exc))}") from exc
        for name, source in self._modules.items():
            try:
                builder.add_module(name, source)
            except regopy.RegoError as exc:
                raise PolicyError(
                    f"Rego module {name} does not compile: {self.describe(str(exc))}"
                ) from exc
        query = f"{_BINDING} := {ref.dotted}"
        try:
            bundle = builder.build(query)
        except regopy.RegoError as exc:
            raise PolicyError(
                f"Rego query {ref.dotted} does not compile: {self.describe(str(exc))}"
            ) from exc
        if not bundle.ok():
            raise PolicyError(f"Rego query {ref.dotted} does not compile")
        self._bundle = bundle

    def query(self, input_doc: dict[str, Any] | None) -> EngineAnswer:
        """Evaluate with this input (``None``: no input at all); blocking. Never raises."""
        regopy = self._regopy
        try:
            interpreter = regopy.Interpreter()
            if input_doc is not None:
                interpreter.set_input(input_doc)
            output = interpreter.query_bundle(self._bundle)
            ok = bool(output.ok())
            text = str(output)
        except json.JSONDecodeError as exc:  # an answer that Output could not parse
            return Failed(Reason.POLICY_DENIED, self._unparsable(exc.doc))
        except Exception as exc:  # RegoError, a value the input converter refuses, ...
            return Failed(
                Reason.POLICY_DENIED, f"Rego evaluation failed: {self.describe(str(exc))}"
            )
        if not ok:
            return Failed(Reason.POLICY_DENIED, f"Rego evaluation failed: {self.describe(text)}")
        return _read_output(text)

    def _unparsable(self, text: str) -> str:
        """An error answer (``(error ...)``), or a result rego-cpp wrote as invalid JSON."""
        if text.lstrip().startswith(("{", "[")):
            snippet = text if len(text) <= 300 else text[:299] + "…"
            return f"the Rego engine's answer is not valid JSON: {snippet}"
        return f"Rego evaluation failed: {self.describe(text)}"

    def describe(self, text: str) -> str:
        """The engine's error text as ``file:line:col: message; ...``, else the text itself."""
        found = _error_messages(text.encode("utf-8", "replace"), self._modules)
        if not found:
            plain = text.strip()
            if not plain or plain == "<error>":
                return "the engine reported an error without a message"
            return plain if len(plain) <= 300 else plain[:299] + "…"
        unique = list(dict.fromkeys(found))
        shown = "; ".join(unique[:_MAX_MESSAGES])
        more = len(unique) - _MAX_MESSAGES
        return f"{shown} (and {more} more)" if more > 0 else shown


def _read_output(text: str) -> EngineAnswer:
    if text.strip() == "undefined":
        return Undefined()
    try:
        parsed = json.loads(text)
    except ValueError:
        return Failed(Reason.POLICY_DENIED, "the Rego engine's answer is not JSON")
    if isinstance(parsed, list):
        if len(parsed) != 1:
            return Failed(
                Reason.POLICY_DENIED, f"the Rego query had {len(parsed)} results, not one"
            )
        parsed = parsed[0]
    if not isinstance(parsed, dict):
        return Failed(Reason.POLICY_DENIED, "the Rego engine's answer is not a result object")
    bindings = parsed.get("bindings")
    if not isinstance(bindings, dict) or _BINDING not in bindings:
        return Undefined()
    return Defined(bindings[_BINDING])


def _error_messages(raw: bytes, modules: Mapping[str, str]) -> list[str]:
    """Each ``(error [N:file|offset|length] (errormsg N:message) ...)``, read by length prefix."""
    messages: list[str] = []
    position = 0
    while (start := raw.find(b"(error", position)) >= 0:
        position = start + len(b"(error")
        if raw[position : position + 1] not in (b" ", b"\n", b"\r", b"\t"):
            continue  # (errormsg, (errorast, (errorseq, (errorcode
        name: str | None = None
        offset: int | None = None
        if raw[position : position + 1] == b" ":
            name, after = _counted(raw, position + 1)
            if name is not None:
                offset = _offset(raw, after)
                position = after
        marker = raw.find(b"(errormsg ", position)
        following = raw.find(b"(error", position)
        while following >= 0 and raw[following : following + len(b"(errormsg")] == b"(errormsg":
            following = raw.find(b"(error", following + 1)
        if marker < 0 or (0 <= following < marker):
            continue
        message, position = _counted(raw, marker + len(b"(errormsg "))
        if message is None:
            continue
        where = _location(name, offset, modules) if name else ""
        messages.append(f"{where}: {message}" if where else message)
    return messages


def _counted(raw: bytes, position: int) -> tuple[str | None, int]:
    """Read ``N:<N bytes>`` at ``position``."""
    colon = raw.find(b":", position)
    digits = raw[position:colon]
    if colon < 0 or not digits.isdigit():
        return None, position
    end = colon + 1 + int(digits)
    return raw[colon + 1 : end].decode("utf-8", "replace"), end


def _offset(raw: bytes, position: int) -> int | None:
    if raw[position : position + 1] != b"|":
        return None
    digits = raw[position + 1 : raw.find(b"|", position + 1)]
    return int(digits) if digits.isdigit() else None


def _location(name: str, offset: int | None, modules: Mapping[str, str]) -> str:
    source = modules.get(name)
    if source is None or offset is None:
        return name
    data = source.encode("utf-8")
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return f"{name}:{line}:{column}"
