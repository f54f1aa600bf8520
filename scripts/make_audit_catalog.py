#!/usr/bin/env python3
"""Write a catalog folder of workloads of every kind, across namespaces, for ``sigpolicy audit``.

    python3 scripts/make_audit_catalog.py OUT [--replicas 10]
    python3 scripts/make_audit_catalog.py OUT --scale WORKLOADS IMAGES PODS

The first form (several hundred objects at the default) builds on the bundled examples
(``sigpolicy/examples/catalog``: the signed checkout Image and its stream): the example
catalog is copied in, Namespaces are added, and each namespace runs each kind of workload —
a Deployment with its current and previous ReplicaSets and their pods, a StatefulSet, a
DaemonSet, a CronJob with a Job and its pod, a Job of its own, a ReplicationController, a
DeploymentConfig with its ReplicationController, a bare Pod, and a Pod whose controller is
a kind the audit does not list — with ``--replicas`` pods per controller. What the images are
decided as follows from the example policy: signed images in ``shop`` pass, an unsigned one
fails, ``shop-staging`` warns, ``sandbox`` audits, ``kube-system`` is exempt, ``team-*``
namespaces run images no scope matches, and a reference to a tag that does not exist fails
to resolve. Workloads are written as ``oc get -o yaml`` prints them: one object per
document in some files, ``kind: List`` in others.

The second form is the benchmark's: WORKLOADS Deployments over IMAGES distinct images (each
image's Deployments in one namespace), each with a ReplicaSet and PODS pods, written as JSON
``List`` files (one per namespace).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "sigpolicy" / "examples"
CHECKOUT_DIGEST = "sha256:b3c238eeade5bf4be20e767324c89d5a1e6a6bb1a2eb0512bf8c977e91fc4bd7"
REGISTRY = "image-registry.openshift-image-registry.svc:5000"

Obj = dict[str, Any]

# namespace -> (labels, the images its workloads run)
NAMESPACES: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "shop": (
        {"team": "shop", "env": "production"},
        (
            f"registry.example.com/shop/checkout@{CHECKOUT_DIGEST}",
            "checkout:1.4.2",  # a bare name through the shop/checkout stream (lookupPolicy.local)
            "registry.example.com/shop/payments:2.0.1",  # unsigned
        ),
    ),
    "shop-staging": (
        {"team": "shop", "env": "staging"},
        (
            f"registry.example.com/shop/checkout@{CHECKOUT_DIGEST}",
            "registry.example.com/shop/payments:2.0.1",
        ),
    ),
    "sandbox": ({"env": "sandbox"}, ("quay.io/team/tool:1.0", "docker.io/library/busybox:1.36")),
    "kube-system": ({}, ("registry.k8s.io/pause:3.9",)),
    "team-a": ({"team": "a"}, ("registry.example.com/team-a/api:3",)),
    "team-b": (
        {"team": "b"},
        (
            "registry.example.com/team-b/worker:7",
            f"{REGISTRY}/shop/checkout:missing",  # no such tag: resolution-failed
        ),
    ),
}


def _uid(*parts: str) -> str:
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}"


def _meta(kind: str, namespace: str, name: str, owner: Obj | None = None) -> Obj:
    meta: Obj = {
        "name": name,
        "namespace": namespace,
        "uid": _uid(kind, namespace, name),
        "labels": {"app": name.split("-")[0]},
        "resourceVersion": "1",
    }
    if owner is not None:
        meta["ownerReferences"] = [
            {
                "apiVersion": owner["apiVersion"],
                "kind": owner["kind"],
                "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    return meta


def _pod_spec(images: tuple[str, ...]) -> Obj:
    containers = [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]
    return {"containers": containers}


def _template(images: tuple[str, ...]) -> Obj:
    return {"metadata": {"labels": {"app": "w"}}, "spec": _pod_spec(images)}


def _pods(owner: Obj, images: tuple[str, ...], count: int) -> Iterator[Obj]:
    name = owner["metadata"]["name"]
    namespace = owner["metadata"]["namespace"]
    for i in range(count):
        yield {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": _meta("Pod", namespace, f"{name}-{i:03d}", owner),
            "spec": _pod_spec(images),
            "status": {"phase": "Running"},
        }


def _controller(
    api: str, kind: str, namespace: str, name: str, spec: Obj, owner: Obj | None = None
) -> Obj:
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": _meta(kind, namespace, name, owner),
        "spec": spec,
    }


def namespace_workloads(namespace: str, images: tuple[str, ...], replicas: int) -> list[Obj]:
    """One namespace's workloads of every kind, each running ``images``."""
    out: list[Obj] = []
    old = images[:1]  # the previous revision ran only the first image
    deployment = _controller(
        "apps/v1",
        "Deployment",
        namespace,
        "web",
        {"replicas": replicas, "template": _template(images)},
    )
    current = _controller(
        "apps/v1", "ReplicaSet", namespace, "web-7d4b9", {"template": _template(images)}, deployment
    )
    previous = _controller(
        "apps/v1", "ReplicaSet", namespace, "web-5c8f1", {"template": _template(old)}, deployment
    )
    out += [
        deployment,
        current,
        previous,
        *_pods(current, images, replicas),
        *_pods(previous, old, 1),
    ]
    for api, kind, name in (
        ("apps/v1", "StatefulSet", "db"),
        ("apps/v1", "DaemonSet", "agent"),
        ("v1", "ReplicationController", "legacy"),
    ):
        controller = _controller(api, kind, namespace, name, {"template": _template(images)})
        out += [controller, *_pods(controller, images, replicas)]
    cron = _controller(
        "batch/v1", "CronJob", namespace, "nightly",
        {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": _template(images)}}},
    )  # fmt: skip
    job = _controller(
        "batch/v1", "Job", namespace, "nightly-29000000", {"template": _template(images)}, cron
    )
    out += [cron, job, *_pods(job, images, 1)]
    once = _controller("batch/v1", "Job", namespace, "migrate", {"template": _template(images)})
    out += [once, *_pods(once, images, 1)]
    config = _controller(
        "apps.openshift.io/v1", "DeploymentConfig", namespace, "frontend",
        {"replicas": replicas, "template": _template(images)},
    )  # fmt: skip
    rc = _controller(
        "v1",
        "ReplicationController",
        namespace,
        "frontend-3",
        {"template": _template(images)},
        config,
    )
    out += [config, rc, *_pods(rc, images, replicas)]
    out.append(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": _meta("Pod", namespace, "debug"),
            "spec": _pod_spec(images),
        }
    )
    operator = {
        "apiVersion": "example.com/v1",
        "kind": "Workflow",
        "metadata": _meta("Workflow", namespace, "etl"),
    }
    out += list(_pods(operator, images, 1))  # owned by a kind the audit does not list
    return out


def write_example(out: Path, replicas: int) -> int:
    out.mkdir(parents=True, exist_ok=True)
    for path in (EXAMPLES / "catalog").iterdir():
        if path.suffix in (".yaml", ".yml", ".json"):
            shutil.copy(path, out / path.name)
    namespaces = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}}
        for ns, (labels, _) in NAMESPACES.items()
    ]
    (out / "namespaces.yaml").write_text(yaml.safe_dump_all(namespaces, sort_keys=False))
    written = 0
    for index, (namespace, (_, images)) in enumerate(NAMESPACES.items()):
        objects = namespace_workloads(namespace, images, replicas)
        written += len(objects)
        path = out / f"workloads-{namespace}.yaml"
        if index % 2:  # as `oc get all -o yaml` prints it
            path.write_text(
                yaml.safe_dump(
                    {"apiVersion": "v1", "kind": "List", "items": objects}, sort_keys=False
                )
            )
        else:  # as `oc get -o yaml` prints each object
            path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return written


def write_scale(
    out: Path,
    workloads: int,
    images: int,
    pods: int,
    namespaces: int = 20,
    *,
    with_examples: bool = True,
) -> int:
    """The benchmark's catalog (module docstring); returns how many objects it holds.
    ``with_examples=False`` leaves out the example catalog (for a folder inside one)."""
    out.mkdir(parents=True, exist_ok=True)
    for path in (EXAMPLES / "catalog").iterdir():
        if with_examples and path.suffix in (".yaml", ".yml", ".json"):
            shutil.copy(path, out / path.name)
    signed = json.loads(
        json.dumps(
            yaml.safe_load_all((EXAMPLES / "catalog" / "checkout.yaml").read_text()).__next__()
        )
    )
    by_namespace: dict[str, list[Obj]] = {}
    image_objects: list[Obj] = []
    for i in range(images):
        if i % 4 == 0:
            # An imported Image carrying the example signatures (made for another digest:
            # each is verified, and found not to match).
            digest = "sha256:" + hashlib.sha256(f"image-{i}".encode()).hexdigest()
            image = json.loads(json.dumps(signed))
            image["metadata"] = {"name": digest, "resourceVersion": "1"}
            image["dockerImageReference"] = f"registry.example.com/shop/app-{i}@{digest}"
            image.pop("dockerImageManifest", None)
            image["signatures"] = [
                {**s, "metadata": {"name": f"{digest}@{s['metadata']['name'].split('@')[1]}"}}
                for s in signed["signatures"]
            ]
            image_objects.append(image)
            reference = f"registry.example.com/shop/app-{i}@{digest}"
        elif i % 4 == 1:
            reference = f"registry.example.com/shop/app-{i}:1.{i}"
        else:
            reference = f"registry.example.com/team/app-{i}:{i}"
        namespace = f"ns-{i % namespaces:02d}"
        by_namespace.setdefault(namespace, [])
        for j in range(i, workloads, images):
            name = f"app-{j}"
            deployment = _controller(
                "apps/v1",
                "Deployment",
                namespace,
                name,
                {"replicas": pods, "template": _template((reference,))},
            )
            rs = _controller(
                "apps/v1",
                "ReplicaSet",
                namespace,
                f"{name}-6b7c",
                {"template": _template((reference,))},
                deployment,
            )
            by_namespace[namespace] += [deployment, rs, *_pods(rs, (reference,), pods)]
    (out / "images.json").write_text(
        json.dumps({"apiVersion": "v1", "kind": "List", "items": image_objects})
    )
    total = 0
    for namespace, objects in by_namespace.items():
        total += len(objects)
        (out / f"workloads-{namespace}.json").write_text(
            json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
        )
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the catalog folder to write")
    parser.add_argument("--replicas", type=int, default=10, help="pods per controller (10)")
    parser.add_argument("--scale", type=int, nargs=3, metavar=("WORKLOADS", "IMAGES", "PODS"))
    args = parser.parse_args()
    if args.scale:
        count = write_scale(args.out, *args.scale)
    else:
        count = write_example(args.out, args.replicas)
    print(f"{args.out}: {count} workload objects")


if __name__ == "__main__":
    main()
