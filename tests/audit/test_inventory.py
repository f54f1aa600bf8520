"""Grouping workloads by owner (sigpolicy.audit.inventory): named cases."""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

import pytest

from sigpolicy.audit.inventory import group_by_owner, group_by_owner_async
from sigpolicy.errors import InputError


def obj(
    kind: str,
    name: str,
    images: tuple[str, ...] = ("img:1",),
    *,
    owner: tuple[str, str] | None = None,
    namespace: str = "ns",
    by_uid: bool = True,
    controller: bool = True,
) -> dict[str, Any]:
    spec = {"containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]}
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": f"uid-{kind}-{name}"}
    if owner is not None:
        ref = {"kind": owner[0], "name": owner[1], "controller": controller}
        ref["uid"] = f"uid-{owner[0]}-{owner[1]}" if by_uid else "not-the-uid"
        meta["ownerReferences"] = [ref]
    if kind == "Pod":
        body: dict[str, Any] = {"spec": spec}
    elif kind == "CronJob":
        body = {"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}
    else:
        body = {"spec": {"template": {"spec": spec}}}
    return {"apiVersion": "v1", "kind": kind, "metadata": meta, **body}


class Case(NamedTuple):
    name: str
    objects: list[dict[str, Any]]
    # (owner kind/name, image, members naming it)
    expected: set[tuple[str, str, int]]


def pods(owner: tuple[str, str], count: int, images: tuple[str, ...] = ("img:1",)) -> list[Any]:
    return [obj("Pod", f"{owner[1]}-{i}", images, owner=owner) for i in range(count)]


CASES = [
    Case(
        "a Deployment's ten pods are one finding",
        [
            obj("Deployment", "web"),
            obj("ReplicaSet", "web-1", owner=("Deployment", "web")),
            *pods(("ReplicaSet", "web-1"), 10),
        ],
        {("Deployment/web", "img:1", 12)},
    ),
    Case(
        "an old ReplicaSet's image stays a finding of its Deployment",
        [
            obj("Deployment", "web", ("img:2",)),
            obj("ReplicaSet", "web-2", ("img:2",), owner=("Deployment", "web")),
            obj("ReplicaSet", "web-1", ("img:1",), owner=("Deployment", "web")),
            *pods(("ReplicaSet", "web-1"), 2, ("img:1",)),
        ],
        {("Deployment/web", "img:2", 2), ("Deployment/web", "img:1", 3)},
    ),
    Case(
        "CronJob -> Job -> Pod",
        [
            obj("CronJob", "nightly"),
            obj("Job", "nightly-1", owner=("CronJob", "nightly")),
            *pods(("Job", "nightly-1"), 1),
        ],
        {("CronJob/nightly", "img:1", 3)},
    ),
    Case(
        "DeploymentConfig -> ReplicationController -> Pod",
        [
            obj("DeploymentConfig", "fe"),
            obj("ReplicationController", "fe-3", owner=("DeploymentConfig", "fe")),
            *pods(("ReplicationController", "fe-3"), 4),
        ],
        {("DeploymentConfig/fe", "img:1", 6)},
    ),
    Case(
        "StatefulSet, DaemonSet: pods fold into them",
        [
            obj("StatefulSet", "db"),
            *pods(("StatefulSet", "db"), 3),
            obj("DaemonSet", "agent"),
            *pods(("DaemonSet", "agent"), 5),
        ],
        {("StatefulSet/db", "img:1", 4), ("DaemonSet/agent", "img:1", 6)},
    ),
    Case(
        "a pod whose owner is not listed is its own finding",
        pods(("Workflow", "etl"), 2),
        {("Pod/etl-0", "img:1", 1), ("Pod/etl-1", "img:1", 1)},
    ),
    Case(
        "an ownerReference that is not the controller does not fold",
        [obj("Deployment", "web"), obj("Pod", "p", owner=("Deployment", "web"), controller=False)],
        {("Deployment/web", "img:1", 1), ("Pod/p", "img:1", 1)},
    ),
    Case(
        "an owner found by kind and name when the uid does not match",
        [obj("StatefulSet", "db"), obj("Pod", "db-0", owner=("StatefulSet", "db"), by_uid=False)],
        {("StatefulSet/db", "img:1", 2)},
    ),
    Case(
        "owners are per namespace",
        [
            obj("StatefulSet", "db", namespace="a"),
            obj("Pod", "db-0", owner=("StatefulSet", "db"), namespace="b"),
        ],
        {("StatefulSet/db", "img:1", 1), ("Pod/db-0", "img:1", 1)},
    ),
    Case(
        "the members of a loop of ownerReferences share one owner",
        [
            obj("ReplicaSet", "a", owner=("ReplicaSet", "b")),
            obj("ReplicaSet", "b", owner=("ReplicaSet", "a")),
        ],
        {("ReplicaSet/a", "img:1", 2)},
    ),
    Case(
        "two containers with one image are one finding",
        [obj("Pod", "p", ("img:1", "img:1", "img:2"))],
        {("Pod/p", "img:1", 1), ("Pod/p", "img:2", 1)},
    ),
    Case(
        "objects without a pod spec are not workloads",
        [{"kind": "Service", "metadata": {"name": "s", "namespace": "ns"}, "spec": {}}],
        set(),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_grouping(case: Case) -> None:
    uses = group_by_owner(case.objects)
    found = {(f"{u.owner.kind}/{u.owner.name}", u.image, u.members) for u in uses}
    assert found == case.expected
    assert len(uses) == len(found)  # each (owner, image) once


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_grouping_in_steps_gives_the_same(case: Case) -> None:
    stepped = asyncio.run(group_by_owner_async(case.objects, step=1))
    assert stepped == group_by_owner(case.objects)


def test_loop_resolution_is_not_order_dependent_for_owners() -> None:
    # Whichever object of the loop is met first, every member ends with one owner.
    case = next(c for c in CASES if c.name.startswith("the members of a loop"))
    forward = {(u.owner, u.members) for u in group_by_owner(case.objects)}
    backward = {(u.owner, u.members) for u in group_by_owner(list(reversed(case.objects)))}
    assert forward == backward


def test_namespaces_filter() -> None:
    objects = [obj("Pod", "p", namespace="a"), obj("Pod", "q", namespace="b")]
    uses = group_by_owner(objects, frozenset({"b"}))
    assert [(u.owner.namespace, u.owner.name) for u in uses] == [("b", "q")]


def test_source_is_the_owner_when_it_names_the_image() -> None:
    objects = [
        obj("Deployment", "web"),
        obj("ReplicaSet", "web-1", owner=("Deployment", "web")),
    ]
    (use,) = group_by_owner(list(reversed(objects)))
    assert use.source["kind"] == "Deployment"


def test_containers_are_named_with_their_field() -> None:
    pod = obj("Pod", "p")
    pod["spec"]["initContainers"] = [{"name": "init", "image": "img:1"}]
    (use,) = group_by_owner([pod])
    assert use.containers == ("containers/c0", "initContainers/init")


def test_a_workload_without_a_name_is_an_input_error() -> None:
    bad = obj("Pod", "p")
    del bad["metadata"]["name"]
    with pytest.raises(InputError, match=r"without metadata\.name"):
        group_by_owner([bad])
