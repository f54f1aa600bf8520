"""From a cluster's workload objects to what the audit decides: owners and their images.

The webhook checks a pod's images when its controller is admitted (the template), and skips
the pods a built-in controller creates from it. The audit counts the same way:

1. Every object that carries a pod spec (:func:`sigpolicy.resolve.workloads.pod_spec`: Pods,
   and any kind with ``spec.template`` or ``spec.jobTemplate``) is a *member*.
2. A member's *owner* is found by following its controller ``ownerReferences``
   (``controller: true``; by uid, else by kind and name in the namespace) for as long as the
   owner is among the objects: Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob,
   Pod -> ReplicationController -> DeploymentConfig. A member whose owner is not listed is its
   own owner (what runs is what it says). The members of a loop of references share one
   owner: the first of them by kind and name.
3. Each distinct image of an owner and of every member under it is one :class:`ImageUse`:
   a Deployment's ten pods are one finding per image, not ten. It keeps the containers that
   name it and the member it was taken from: the owner itself when it names the image,
   else the first member that does (a pod of an old ReplicaSet still running an old image).

Pure: plain dicts in, named tuples out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Iterable, Mapping
from typing import Any, NamedTuple

from sigpolicy.errors import InputError
from sigpolicy.resolve.workloads import container_images, pod_spec

__all__ = ["ImageUse", "Owner", "group_by_owner", "group_by_owner_async"]

MAX_OWNER_DEPTH = 16


class Owner(NamedTuple):
    namespace: str
    kind: str
    name: str
    api_version: str
    uid: str | None


class ImageUse(NamedTuple):
    """One image of one owner: the unit the audit reports."""

    owner: Owner
    image: str
    containers: tuple[str, ...]  # "field/name", sorted
    members: int  # objects under the owner (itself included) that name this image
    source: Mapping[str, Any]  # the member whose metadata the image is decided with


class _Member(NamedTuple):
    obj: Mapping[str, Any]
    owner: Owner


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _owner_of(obj: Mapping[str, Any]) -> Owner:
    meta = _meta(obj)
    uid = meta.get("uid")
    return Owner(
        # A catalog document without a namespace is in "default", as kubectl would put it.
        str(meta.get("namespace") or "default"),
        str(obj.get("kind") or ""),
        str(meta.get("name") or ""),
        str(obj.get("apiVersion") or ""),
        uid if isinstance(uid, str) and uid else None,
    )


def _controller_ref(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for ref in _meta(obj).get("ownerReferences") or ():
        if isinstance(ref, Mapping) and ref.get("controller") is True:
            return ref
    return None


def group_by_owner(
    objects: Iterable[Mapping[str, Any]], namespaces: frozenset[str] | None = None
) -> list[ImageUse]:
    """The image uses of ``objects`` (only those in ``namespaces`` when given), sorted by
    namespace, owner kind and name, and image.

    Raises InputError for a pod-bearing object without a name.
    """
    steps = _grouping(objects, namespaces, step=1 << 30)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            found: list[ImageUse] = done.value
            return found


async def group_by_owner_async(
    objects: Iterable[Mapping[str, Any]],
    namespaces: frozenset[str] | None = None,
    *,
    step: int = 200,
    pause: float = 0.0,
) -> list[ImageUse]:
    """:func:`group_by_owner`, sleeping ``pause`` after every ``step`` objects, so that a
    background audit shares the event loop with live reviews."""
    steps = _grouping(objects, namespaces, step=step)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            found: list[ImageUse] = done.value
            return found
        await asyncio.sleep(pause)


def _grouping(
    objects: Iterable[Mapping[str, Any]], namespaces: frozenset[str] | None, *, step: int
) -> Generator[None, None, list[ImageUse]]:
    """Steps 1-3, yielding after every ``step`` objects of each pass."""
    # (object, its pod spec, its namespace)
    members: list[tuple[Mapping[str, Any], Mapping[str, Any], str]] = []
    by_uid: dict[tuple[str, str], Mapping[str, Any]] = {}
    by_name: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for index, obj in enumerate(objects):  # 1
        if index % step == step - 1:
            yield
        spec = pod_spec(obj)
        if spec is None:
            continue
        owner = _owner_of(obj)
        if namespaces is not None and owner.namespace not in namespaces:
            continue
        if not owner.name:
            raise InputError(f"a {owner.kind or 'workload'} without metadata.name")
        members.append((obj, spec, owner.namespace))
        if owner.uid:
            by_uid[(owner.namespace, owner.uid)] = obj
        by_name[(owner.namespace, owner.kind, owner.name)] = obj

    roots: dict[int, Mapping[str, Any]] = {}  # id(object) -> its owner, once known

    def parent_of(obj: Mapping[str, Any], namespace: str) -> Mapping[str, Any] | None:
        ref = _controller_ref(obj)
        if ref is None:
            return None
        return by_uid.get((namespace, str(ref.get("uid") or ""))) or by_name.get(
            (namespace, str(ref.get("kind") or ""), str(ref.get("name") or ""))
        )

    def top(obj: Mapping[str, Any], namespace: str) -> Mapping[str, Any]:  # 2
        path = [obj]
        root: Mapping[str, Any] | None = None
        while root is None and len(path) <= MAX_OWNER_DEPTH:
            current = path[-1]
            known = roots.get(id(current))
            if known is not None:
                root = known
                break
            parent = parent_of(current, namespace)
            if parent is None:
                root = current
            elif any(parent is seen for seen in path):
                # A loop: every member of it gets the same owner, whichever was met first.
                loop = path[next(i for i, seen in enumerate(path) if seen is parent) :]
                root = min(loop, key=lambda o: (_owner_of(o).kind, _owner_of(o).name))
            else:
                path.append(parent)
        if root is None:
            root = path[-1]
        for seen in path:
            roots[id(seen)] = root
        return root

    uses: dict[tuple[Owner, str], tuple[set[str], int, Mapping[str, Any], bool]] = {}
    owners: dict[int, Owner] = {}
    for index, (obj, spec, namespace) in enumerate(members):  # 3
        if index % step == step - 1:
            yield
        root = top(obj, namespace)
        if id(root) not in owners:
            owners[id(root)] = _owner_of(root)
        owner = owners[id(root)]
        counted: set[str] = set()
        for use in container_images(spec):
            key = (owner, use.image)
            entry = uses.get(key)
            if entry is None:
                entry = (set(), 0, obj, obj is root)
            containers, count, source, from_root = entry
            containers.add(f"{use.field}/{use.container}")
            if obj is root and not from_root:
                source, from_root = obj, True
            if use.image not in counted:
                counted.add(use.image)
                count += 1
            uses[key] = (containers, count, source, from_root)
    found = []
    for index, ((owner, image), (containers, count, source, _)) in enumerate(uses.items()):
        if index % step == step - 1:
            yield
        found.append(ImageUse(owner, image, tuple(sorted(containers)), count, source))
    # Sorted by one string per use ("\0" sorts below every character of a name), in steps:
    # comparing tuples of strings took tens of milliseconds at once for 10,000 uses.
    keys: list[str] = []
    for index, image_use in enumerate(found):
        if index % step == step - 1:
            yield
        owner = image_use.owner
        keys.append(f"{owner.namespace}\0{owner.kind}\0{owner.name}\0{image_use.image}")
    order = sorted(range(len(found)), key=keys.__getitem__)
    # Freeing the indexes is work too (tens of milliseconds for 100,000 objects): a step each.
    for index_of_something in (keys, uses, roots, owners, by_uid, by_name, members):
        index_of_something.clear()
        yield
    return [found[index] for index in order]
