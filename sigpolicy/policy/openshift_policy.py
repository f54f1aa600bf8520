"""ClusterImagePolicy and ImagePolicy objects as a policy: the decision CRI-O would make.

1. The objects come from a file (one object, several YAML documents, or a ``kind: List``), a
   folder of such files, or the cluster (:mod:`sigpolicy.sources.config_policies`). One
   containers-policy.json document among them (an object with ``default``) is the cluster's own
   policy.json, the base the MCO edits; without one, the MCO's template is the base.
2. :func:`~sigpolicy.policy.openshift_translate.translate` gives the documents the MCO writes:
   the cluster's ``policy.json`` and one ``<namespace>.json`` per namespace with ImagePolicies.
3. Each document is loaded by the containers-policy.json loader (containers/image's semantics).
4. One engine policy holds them all: the cluster file's scopes for every namespace, and each
   namespace file's own scopes (those it adds or changes) limited to that namespace. Lookup is
   containers/image's first match, most specific first, and a namespace-limited scope wins over
   an unlimited one of the same text, so a pod of namespace N is judged by exactly N's file and
   every other pod by the cluster's file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sigpolicy.errors import InputError, PolicyError
from sigpolicy.policy.containers import load_containers_policy, looks_like_containers_policy
from sigpolicy.policy.engine import Policy
from sigpolicy.policy.openshift_objects import (
    ImagePolicyObject,
    is_openshift_policy_object,
    parse_policy_object,
)
from sigpolicy.policy.openshift_translate import JsonObject, Translation, translate
from sigpolicy.policy.scopes import Scope
from sigpolicy.policy.selectors import NamespaceCondition
from sigpolicy.yamlfile import iter_items, load_documents

FORMAT_NAME = "ClusterImagePolicy/ImagePolicy"
MAX_FOLDER_FILES = 10_000
MAX_FOLDER_BYTES = 64 * 1024 * 1024
MAX_FILE_BYTES = 8 * 1024 * 1024
SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True, slots=True)
class PolicyItem:
    """One object of the sources, with where it was read."""

    origin: str
    data: Any


@dataclass(frozen=True, slots=True)
class PolicyObjects:
    """What a multi-document file or a folder holds, before it is checked."""

    items: tuple[PolicyItem, ...]


class OpenShiftPolicy(Policy):
    """The engine policy, plus the translation it came from (for ``policy explain``)."""

    translation: Translation
    objects: tuple[ImagePolicyObject, ...]


def looks_like_openshift_objects(document: Any) -> bool:
    """A ClusterImagePolicy or ImagePolicy, a ``kind: List`` of them, or a folder's objects."""
    if isinstance(document, PolicyObjects):
        return True
    items = list(iter_items(document))
    return bool(items) and all(is_openshift_policy_object(item) for item in items)


def objects_of_documents(
    origin: str, documents: Iterable[Any], lines: Sequence[int] | None = None
) -> PolicyObjects:
    """The objects of a file's documents (``kind: List`` items one by one); each is named by
    its file and the line its document starts on, when known."""
    items: list[PolicyItem] = []
    for index, document in enumerate(documents):
        where = f"{origin}:{lines[index]}" if lines else origin
        listed = list(iter_items(document))
        items.extend(
            PolicyItem(where if item is document else f"{where}: items[{n}]", item)
            for n, item in enumerate(listed)
        )
    return PolicyObjects(tuple(items))


def read_policy_folder(path: Path) -> tuple[str, PolicyObjects]:
    """Every ``*.yaml``, ``*.yml`` and ``*.json`` file at the top of ``path`` (hidden ones,
    such as a mounted ConfigMap's ``..data``, skipped); the text returned changes whenever a
    file does (it is what a reload compares)."""
    try:
        names = sorted(
            p
            for p in path.iterdir()
            if p.suffix in SUFFIXES and not p.name.startswith(".") and p.is_file()
        )
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the folder: {exc.strerror}") from None
    if len(names) > MAX_FOLDER_FILES:
        raise PolicyError(f"{path}: more than {MAX_FOLDER_FILES} policy files")
    texts: list[str] = []
    items: list[PolicyItem] = []
    total = 0
    for file in names:
        text = _read_text(file)
        total += len(text)
        if total > MAX_FOLDER_BYTES:
            raise PolicyError(f"{path}: more than {MAX_FOLDER_BYTES} bytes of policy files")
        texts.append(f"--- {file.name}\n{text}")
        try:
            documents = load_documents(text, where=str(file))
        except InputError as exc:
            raise PolicyError(str(exc)) from None
        items.extend(
            objects_of_documents(
                str(file), [d.data for d in documents], [d.line for d in documents]
            ).items
        )
    if not items:
        raise PolicyError(f"{path}: no ClusterImagePolicy or ImagePolicy objects in the folder")
    return "\n".join(texts), PolicyObjects(tuple(items))


def load_openshift_policy(origin: str, document: Any, base_dir: Path) -> OpenShiftPolicy:
    """Steps 1-4 of the module docstring, for what a ``--policy`` file or folder holds."""
    if not isinstance(document, PolicyObjects):
        document = objects_of_documents(origin, [document])
    objects: list[ImagePolicyObject] = []
    base: tuple[str, JsonObject] | None = None
    seen: dict[str, str] = {}
    for item in document.items:
        if looks_like_containers_policy(item.data):
            if base is not None:
                raise PolicyError(
                    f"{item.origin}: a second containers-policy.json (the first is in"
                    f" {base[0]}): give one base policy"
                )
            base = (item.origin, item.data)
            continue
        if not is_openshift_policy_object(item.data):
            raise PolicyError(
                f"{item.origin}: neither a ClusterImagePolicy/ImagePolicy"
                " (apiVersion config.openshift.io/v1) nor a containers-policy.json: only these"
                " share a file of several documents or a folder"
            )
        parsed = parse_policy_object(item.data, origin=item.origin)
        if parsed.label in seen:
            raise PolicyError(f"{item.origin}: {parsed.label} is also in {seen[parsed.label]}")
        seen[parsed.label] = item.origin
        objects.append(parsed)
    if not objects:
        raise PolicyError(f"{origin}: no ClusterImagePolicy or ImagePolicy objects")
    return build_openshift_policy(objects, base, origin=origin, base_dir=base_dir)


def build_openshift_policy(
    objects: list[ImagePolicyObject],
    base: tuple[str, JsonObject] | None,
    *,
    origin: str,
    base_dir: Path,
) -> OpenShiftPolicy:
    if base is not None:  # the base alone must be a valid policy.json first
        load_containers_policy(base[1], origin=base[0], base=base_dir)
    translation = translate(objects, None if base is None else base[1])  # 2
    cluster = _load(translation.cluster, f"{origin}: the policy.json the MCO writes", base_dir)
    scopes = list(cluster.index.scopes)
    renamed = [_named(scope, translation, None, i) for i, scope in enumerate(scopes)]
    default = translation.cluster["default"]
    for namespace, own in translation.namespace_scopes.items():  # 4
        # Only what the namespace's file adds or changes: the rest is the cluster file's,
        # already loaded (loading each namespace's whole file would cost namespaces x scopes).
        mini = {"default": default, "transports": {"docker": own}}
        loaded = _load(mini, f"{origin}: the {namespace}.json the MCO writes", base_dir)
        for scope in loaded.index.scopes:
            limited = scope._replace(namespaces=NamespaceCondition(frozenset({namespace}), None))
            renamed.append(_named(limited, translation, namespace, len(renamed)))
    policy = OpenShiftPolicy(
        renamed, default=cluster.default, origin=origin, format_name=FORMAT_NAME
    )
    policy.translation = translation
    policy.objects = tuple(objects)
    return policy


def translation_text(policy: Policy, namespace: str | None) -> str:
    """For ``policy explain``: the file CRI-O would use for ``namespace``, and the ignored
    ImagePolicy scopes; empty for other policies."""
    if not isinstance(policy, OpenShiftPolicy):
        return ""
    translation = policy.translation
    if namespace is not None and namespace in translation.namespace_scopes:
        title = f"/etc/crio/policies/{namespace}.json, as the MCO writes it (pods of {namespace}):"
    else:
        title = "/etc/containers/policy.json, as the MCO writes it"
        if translation.namespace_scopes:
            names = ", ".join(translation.namespace_scopes)
            title += f" (namespaces {names} have their own file)"
        title += ":"
    lines = [title, json.dumps(translation.document_for(namespace), indent=2)]
    lines.extend(f"ignored: {conflict.describe()}" for conflict in translation.conflicts)
    return "\n".join(lines) + "\n\n"


def _load(document: JsonObject, origin: str, base_dir: Path) -> Policy:
    # The documents are ours; a refusal here is the loader's (e.g. a requirement it does not
    # support), and its message names the translated document's JSON path.
    return load_containers_policy(document, origin=origin, base=base_dir)


def _named(scope: Scope, translation: Translation, namespace: str | None, position: int) -> Scope:
    text = scope.name if scope.name != '""' else ""
    labels = translation.provenance.get((namespace, text)) or ()
    where = ", ".join(labels) if labels else "the base policy.json"
    if namespace is not None:
        where = f"{where}; namespace {namespace}"
    return scope._replace(name=f"{scope.name} ({where})", position=position)


def _read_text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise PolicyError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror}") from None
