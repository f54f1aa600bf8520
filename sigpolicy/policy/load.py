"""Reading a policy file of either format, told apart by content.

- ``apiVersion: sigpolicy.io/...`` with ``kind: ImagePolicy``: the project's YAML policy;
- an object with ``default``: containers-policy.json(5) (JSON, which is also YAML);
- anything else is refused, naming what was expected.

Every error is one line: the file, the JSON path, the line, and what is wrong
(``policy.yaml:14: $.scopes[1].require[0].signedBy.threshold: ...``).
:func:`check_policy` returns every error it can find rather than the first one, for
``sigpolicy policy check``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sigpolicy.errors import InputError, PolicyError
from sigpolicy.policy.build import Builder
from sigpolicy.policy.containers import load_containers_policy, looks_like_containers_policy
from sigpolicy.policy.engine import Policy
from sigpolicy.policy.locate import json_path, line_of
from sigpolicy.policy.schema import API_VERSION, KIND, PolicySpec
from sigpolicy.trust.store import TrustStore
from sigpolicy.yamlfile import load_documents, load_json_strict

MAX_POLICY_BYTES = 8 * 1024 * 1024
TrustProvider = Callable[[], TrustStore]


def read_policy_document(path: Path) -> tuple[str, Any]:
    if path.is_dir():  # a folder of ClusterImagePolicy/ImagePolicy objects
        from sigpolicy.policy.openshift_policy import read_policy_folder

        return read_policy_folder(path)
    try:
        if path.stat().st_size > MAX_POLICY_BYTES:
            raise PolicyError(f"{path}: larger than {MAX_POLICY_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        if text.lstrip().startswith("{"):
            return text, load_json_strict(text, where=str(path))
        documents = load_documents(text, where=str(path))
        if len(documents) > 1:  # only ClusterImagePolicy/ImagePolicy files have several
            from sigpolicy.policy.openshift_policy import objects_of_documents

            return text, objects_of_documents(
                str(path), [d.data for d in documents], [d.line for d in documents]
            )
        return text, documents[0].data if documents else None
    except InputError as exc:
        raise PolicyError(str(exc)) from None


def policy_trust_path(path: Path, document: Any) -> Path | None:
    """The trust store a YAML policy names (``trust:``), relative to the policy's folder."""
    trust = document.get("trust") if isinstance(document, dict) else None
    return path.parent / trust if isinstance(trust, str) else None


def load_policy(path: Path, trust: TrustProvider | None = None) -> Policy:
    """Load ``path`` (either format); ``trust`` serves ``signedBy`` trust names."""
    text, document = read_policy_document(path)
    return build_policy(path, text, document, trust)


def build_policy(path: Path, text: str, document: Any, trust: TrustProvider | None) -> Policy:
    origin = str(path)
    from sigpolicy.policy.openshift_policy import (
        load_openshift_policy,
        looks_like_openshift_objects,
    )

    if looks_like_openshift_objects(document):
        return load_openshift_policy(origin, document, path if path.is_dir() else path.parent)
    if looks_like_containers_policy(document):
        try:
            return load_containers_policy(document, origin=origin, base=path.parent)
        except PolicyError as exc:
            raise _with_line(exc, text, origin) from None
    if not isinstance(document, dict) or document.get("kind") != KIND:
        raise PolicyError(
            f"{origin}: neither a sigpolicy policy (apiVersion: {API_VERSION}, kind: {KIND})"
            " nor a containers-policy.json (an object with a 'default' member)"
            " nor ClusterImagePolicy/ImagePolicy objects (apiVersion config.openshift.io/v1)"
        )
    try:
        spec = PolicySpec.model_validate(document)
    except ValidationError as err:
        raise PolicyError(_validation_message(err, text, origin)) from None
    try:
        return Builder(origin, path.parent, trust).policy(spec)
    except PolicyError as exc:
        raise _with_line(exc, text, origin) from None


def _validation_message(err: ValidationError, text: str, origin: str) -> str:
    first = err.errors()[0]
    loc = [p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    line = line_of(text, loc)
    at = f":{line}" if line else ""
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    message = first["msg"].removeprefix("Value error, ")
    return f"{origin}{at}: {json_path(loc)}: {message}{more}"


def _with_line(exc: PolicyError, text: str, origin: str) -> PolicyError:
    """``origin: $.a.b: message`` becomes ``origin:LINE: $.a.b: message``."""
    message = str(exc)
    prefix = f"{origin}: $"
    if not message.startswith(prefix):
        return exc
    path_text, _, rest = message[len(origin) + 2 :].partition(": ")
    line = line_of(text, _parse_path(path_text))
    if line is None:
        return exc
    return PolicyError(f"{origin}:{line}: {path_text}: {rest}")


def _parse_path(path: str) -> list[int | str]:
    import re

    parts: list[int | str] = []
    for name, index, quoted in re.findall(r"\.([^.\[]+)|\[(\d+)\]|\['([^']*)'\]", path):
        if name:
            parts.append(name)
        elif index:
            parts.append(int(index))
        else:
            parts.append(quoted)
    return parts
