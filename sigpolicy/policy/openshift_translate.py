"""What the Machine Config Operator writes for ClusterImagePolicy and ImagePolicy objects.

The MCO (``pkg/controller/container-runtime-config``) renders the objects into the nodes'
containers-policy.json files, which CRI-O enforces at pull time:

1. Each object becomes one ``sigstoreSigned`` requirement: ``keyData`` (+ ``rekorPublicKeyData``)
   for ``PublicKey``; ``fulcio: {caData, oidcIssuer, subjectEmail}`` + ``rekorPublicKeyData``
   for ``FulcioCAWithRekor``; ``pki: {caRootsData, caIntermediatesData, subjectEmail,
   subjectHostname}`` for ``PKI``; ``signedIdentity`` from ``matchPolicy``.
2. Every ClusterImagePolicy scope gets the requirements of every object that lists it (all of
   them must hold), in ``/etc/containers/policy.json``'s ``docker`` transport.
3. An ImagePolicy scope that equals or nests inside any ClusterImagePolicy scope is ignored
   (the object's status says "Pending", ``ConflictScopes``): a cluster policy overrides a
   namespace's. The others, per namespace, go into ``/etc/crio/policies/<namespace>.json``: the
   cluster file plus that namespace's scopes. CRI-O uses that file for the pods of that
   namespace and the cluster file for every other pod.
4. The base is the cluster's own policy.json before the objects: by default the MCO's template
   (``default: insecureAcceptAnything``). A scope the base accepts anything for (an allowed
   registry) is replaced by the objects' requirements; any other base scope keeps its own
   requirements, and the objects' are added to them.
5. The ``atomic`` transport gets the same scopes as ``docker``, less those with three or more
   ``/`` (which it cannot express).

The result is plain JSON documents: :mod:`.openshift_policy` loads them with the
containers-policy.json loader, so every decision is the one containers/image makes.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass, field
from typing import Any

from sigpolicy.policy.openshift_objects import (
    FulcioTrust,
    ImagePolicyObject,
    PKITrust,
    PublicKeyTrust,
    SignedIdentity,
)

JsonObject = dict[str, Any]

ACCEPT_ANYTHING: JsonObject = {"type": "insecureAcceptAnything"}
# The MCO's templates/*/01-*-container-runtime/_base/files/policy.yaml.
MCO_TEMPLATE: JsonObject = {
    "default": [ACCEPT_ANYTHING],
    "transports": {"docker-daemon": {"": [ACCEPT_ANYTHING]}},
}


@dataclass(frozen=True, slots=True)
class Conflict:
    """An ImagePolicy scope the MCO ignores, and the ClusterImagePolicy scope it nests in."""

    policy: ImagePolicyObject
    scope: str
    cluster_scope: str

    def describe(self) -> str:
        return (
            f"{self.policy.label}: scope {self.scope!r} equals or nests inside ClusterImagePolicy"
            f" scope {self.cluster_scope!r}; only the cluster policy applies (as on the nodes)"
        )


@dataclass(frozen=True)
class Translation:
    """The cluster's policy.json, each namespace's, and where every scope came from.

    A namespace's file is the cluster's plus its own scopes: only those are kept
    (``namespace_scopes``), and the whole file is made when asked for."""

    cluster: JsonObject
    namespace_scopes: dict[str, dict[str, list[JsonObject]]]
    conflicts: tuple[Conflict, ...]
    # (namespace or None, scope) -> labels of the objects that set it
    provenance: dict[tuple[str | None, str], tuple[str, ...]] = field(default_factory=dict)

    @property
    def namespaces(self) -> dict[str, JsonObject]:
        """Every namespace's whole file, as the MCO writes ``/etc/crio/policies/<ns>.json``."""
        return {namespace: self.document_for(namespace) for namespace in self.namespace_scopes}

    def document_for(self, namespace: str | None) -> JsonObject:
        """The file CRI-O uses for a pod of ``namespace``."""
        if namespace is None or namespace not in self.namespace_scopes:
            return self.cluster
        document = copy.deepcopy(self.cluster)
        transports = document.setdefault("transports", {})
        docker = {**(transports.get("docker") or {}), **self.namespace_scopes[namespace]}
        transports["docker"] = docker
        transports["atomic"] = _atomic(docker)
        return document


def requirement(policy: ImagePolicyObject) -> JsonObject:
    """Step 1: the ``sigstoreSigned`` requirement of one object, as the MCO renders it."""
    out: JsonObject = {"type": "sigstoreSigned"}
    trust = policy.trust
    if isinstance(trust, PublicKeyTrust):
        out["keyData"] = _b64(trust.key)
        if trust.rekor_key is not None:
            out["rekorPublicKeyData"] = _b64(trust.rekor_key)
    elif isinstance(trust, FulcioTrust):
        out["fulcio"] = {
            "caData": _b64(trust.ca),
            "oidcIssuer": trust.oidc_issuer,
            "subjectEmail": trust.signed_email,
        }
        out["rekorPublicKeyData"] = _b64(trust.rekor_key)
    else:
        out["pki"] = _pki(trust)
    out["signedIdentity"] = _identity(policy.identity)
    return out


def translate(policies: list[ImagePolicyObject], base: JsonObject | None = None) -> Translation:
    """Steps 2-5 over every object; ``base`` is the cluster's own policy.json."""
    clusters = sorted((p for p in policies if p.namespace is None), key=lambda p: p.name)
    namespaced = sorted(
        (p for p in policies if p.namespace is not None),
        key=lambda p: (p.namespace or "", p.name),
    )
    provenance: dict[tuple[str | None, str], tuple[str, ...]] = {}
    cluster_scopes: dict[str, list[JsonObject]] = {}
    for policy in clusters:  # 2
        item = requirement(policy)
        for scope in policy.scopes:
            cluster_scopes.setdefault(scope, []).append(item)
            provenance[(None, scope)] = (*provenance.get((None, scope), ()), policy.label)
    namespace_scopes: dict[str, dict[str, list[JsonObject]]] = {}
    conflicts: list[Conflict] = []
    parents = frozenset(cluster_scopes)
    for policy in namespaced:  # 3
        item = requirement(policy)
        namespace = str(policy.namespace)
        for scope in policy.scopes:
            nest = nesting_parent(scope, parents)
            if nest is not None:
                conflicts.append(Conflict(policy, scope, nest))
                continue
            namespace_scopes.setdefault(namespace, {}).setdefault(scope, []).append(item)
            key = (namespace, scope)
            provenance[key] = (*provenance.get(key, ()), policy.label)
    cluster = _merge(copy.deepcopy(base if base is not None else MCO_TEMPLATE), cluster_scopes)
    docker = (cluster.get("transports") or {}).get("docker") or {}
    own = {
        namespace: {
            scope: _merged(docker.get(scope), items) for scope, items in sorted(scopes.items())
        }
        for namespace, scopes in sorted(namespace_scopes.items())
    }
    return Translation(cluster, own, tuple(conflicts), provenance)


def nesting_parent(sub: str, parents: frozenset[str]) -> str | None:
    """One of ``parents`` that ``sub`` nests inside (:func:`scope_is_nested_inside`), found by
    looking up ``sub``'s own parents rather than comparing it with every one."""
    candidates = [sub]
    candidates.extend(sub[:i] for i, c in enumerate(sub) if c == "/")
    head = sub.split(":")[0] if ":" in sub else sub.split("/")[0]
    if ":" not in sub or "/" not in head:
        candidates.extend("*" + head[i:] for i, c in enumerate(head) if c == ".")
    return next((c for c in candidates if c in parents), None)


def scope_is_nested_inside(sub: str, sup: str) -> bool:
    """openshift/runtime-utils' ``ScopeIsNestedInsideScope``, quirks included.

    Equal scopes nest; so does ``sup/...``. Under ``*.domain`` a scope nests when its host ends
    in ``.domain`` (the host being the text before the first ``:`` when there is a port or tag,
    which must hold no ``/``, else before the first ``/``). A tag or digest scope does not nest
    in its own repository (``repo:tag`` is not ``repo/...``), as upstream decides.
    """
    if sub == sup:
        return True
    if len(sub) > len(sup) and sub.startswith(sup) and sub[len(sup)] == "/":
        return True
    if sup.startswith("*."):
        if ":" in sub:
            head = sub.split(":")[0]
            return head.endswith(sup[1:]) and "/" not in head
        return sub.split("/")[0].endswith(sup[1:])
    return False


def _merge(document: JsonObject, scopes: dict[str, list[JsonObject]]) -> JsonObject:
    """Steps 4 and 5: the objects' scopes into ``document``'s docker and atomic transports."""
    if not scopes:
        return document
    transports = document.setdefault("transports", {})
    docker: dict[str, list[JsonObject]] = dict(transports.get("docker") or {})
    for scope, items in sorted(scopes.items()):
        docker[scope] = _merged(docker.get(scope), items)
    transports["docker"] = docker
    transports["atomic"] = _atomic(docker)
    return document


def _merged(existing: list[JsonObject] | None, items: list[JsonObject]) -> list[JsonObject]:
    """Step 4: an accept-anything scope gives way; any other keeps its own requirements."""
    if existing is None or existing == [ACCEPT_ANYTHING]:
        return list(items)
    return [*existing, *items]


def _atomic(docker: dict[str, list[JsonObject]]) -> dict[str, list[JsonObject]]:
    return {scope: items for scope, items in docker.items() if scope.count("/") < 3}


def _pki(trust: PKITrust) -> JsonObject:
    out: JsonObject = {"caRootsData": _b64(trust.roots)}
    if trust.intermediates is not None:
        out["caIntermediatesData"] = _b64(trust.intermediates)
    if trust.email is not None:
        out["subjectEmail"] = trust.email
    if trust.hostname is not None:
        out["subjectHostname"] = trust.hostname
    return out


def _identity(identity: SignedIdentity) -> JsonObject:
    if identity.match_policy == "ExactRepository":
        return {"type": "exactRepository", "dockerRepository": identity.repository}
    if identity.match_policy == "RemapIdentity":
        return {
            "type": "remapIdentity",
            "prefix": identity.prefix,
            "signedPrefix": identity.signed_prefix,
        }
    if identity.match_policy == "MatchRepository":
        return {"type": "matchRepository"}
    return {"type": "matchRepoDigestOrExact"}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
