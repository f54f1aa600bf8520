#!/usr/bin/env python3
"""Building the policy from ClusterImagePolicy/ImagePolicy objects, as the cluster grows.

    .venv/bin/python -m benchmarks.bench_openshift_policy [--repeat 5]

What ``serve --cluster-image-policies`` does on every change of any object: check every
object, translate them to the MCO's files (the cluster's and one per namespace), load those
with the containers-policy.json loader. Sizes: 10 to 200 ClusterImagePolicies of 5 scopes,
10 to 1,000 namespaces of 3 ImagePolicies each. Prints the median time per build.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sigpolicy.policy.openshift_objects import parse_policy_object
from sigpolicy.policy.openshift_policy import build_openshift_policy

SIZES = ((10, 10), (50, 100), (200, 1000))


def objects(clusters: int, namespaces: int, key: str) -> list[dict[str, Any]]:
    trust = {"policyType": "PublicKey", "publicKey": {"keyData": key}}
    out: list[dict[str, Any]] = []
    for i in range(clusters):
        scopes = [f"r{i}.example.com/team{j}" for j in range(5)]
        out.append(
            {
                "apiVersion": "config.openshift.io/v1",
                "kind": "ClusterImagePolicy",
                "metadata": {"name": f"c{i}"},
                "spec": {"scopes": scopes, "policy": {"rootOfTrust": trust}},
            }
        )
    for n in range(namespaces):
        for k in range(3):
            out.append(
                {
                    "apiVersion": "config.openshift.io/v1",
                    "kind": "ImagePolicy",
                    "metadata": {"name": f"p{k}", "namespace": f"ns{n}"},
                    "spec": {"scopes": [f"quay.io/ns{n}/app{k}"], "policy": {"rootOfTrust": trust}},
                }
            )
    return out


def build(raw: list[dict[str, Any]]) -> int:
    parsed = [parse_policy_object(obj, origin="bench") for obj in raw]
    policy = build_openshift_policy(parsed, None, origin="bench", base_dir=Path("."))
    return len(policy.index.scopes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    key = base64.b64encode(pem).decode()
    for clusters, namespaces in SIZES:
        raw = objects(clusters, namespaces, key)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            scopes = build(raw)
            times.append(time.perf_counter() - start)
        print(
            f"{clusters:4d} ClusterImagePolicies, {namespaces:5d} namespaces x 3 ImagePolicies"
            f" ({len(raw)} objects, {scopes} scopes): {statistics.median(times) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
