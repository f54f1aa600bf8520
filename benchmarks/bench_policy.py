#!/usr/bin/env python3
"""A policy decision for one image, signatures already verified, as the policy grows.

    .venv/bin/python -m benchmarks.bench_policy [--decisions 20000]

Policies of 10, 1,000 and 10,000 scopes (repositories, namespaces, hosts, globs; the one that
matches sits in the middle) over the example catalog's image (two trusted signatures, two
others): the first decision verifies the signatures, then each decision reuses them. Prints
the time per decision for each size: lookup proportional to the reference's depth shows as
flat figures.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from sigpolicy.policy.load import load_policy
from sigpolicy.resolve.resolver import resolve_evidence
from sigpolicy.sources.catalog import CatalogSource
from sigpolicy.trust.load import load_trust_store

EXAMPLES = Path(__file__).resolve().parents[1] / "sigpolicy" / "examples"
IMAGE = "image-registry.openshift-image-registry.svc:5000/shop/checkout:1.4.2"


def policy_text(scopes: int) -> str:
    lines = [
        "apiVersion: sigpolicy.io/v1alpha1",
        "kind: ImagePolicy",
        "trust: trust.yaml",
        "scopes:",
    ]
    for index in range(scopes):
        if index == scopes // 2:
            images = "['registry.example.com/shop/**']"
            require = "{signedBy: {trust: [release, ci], threshold: 2, required: [release]}}"
        else:
            kind = index % 4
            images = [
                f"['registry.example.com/team{index}/app']",
                f"['registry.example.com/team{index}']",
                f"['host{index}.example.com:5000']",
                f"['quay.io/team{index}/**']",
            ][kind]
            require = "{signedBy: {}}"
        lines += [
            f"  - name: s{index}",
            f"    images: {images}",
            "    require:",
            f"      - {require}",
        ]
    return "\n".join(lines) + "\n"


async def measure(folder: Path, scopes: int, decisions: int) -> tuple[float, bool]:
    path = folder / f"policy-{scopes}.yaml"
    path.write_text(policy_text(scopes))
    store = load_trust_store(folder / "trust.yaml")
    policy = load_policy(path, lambda: store)
    evidence = await resolve_evidence(CatalogSource(folder / "catalog"), IMAGE, namespace="shop")
    first = await policy.decide(evidence)  # verifies the signatures once
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(decisions):
            await policy.decide(evidence)
        best = min(best, (time.perf_counter() - start) / decisions)
    store.close()
    return best, first.allowed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--decisions", type=int, default=20000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sigpolicy-bench-policy-"))
    try:
        shutil.copytree(EXAMPLES, folder / "ex")
        print("| scopes in the policy | per decision (signatures verified) | allowed |")
        print("|---:|---:|---|")
        for scopes in (10, 1000, 10000):
            seconds, allowed = asyncio.run(measure(folder / "ex", scopes, args.decisions))
            print(f"| {scopes:,} | {seconds * 1e6:.1f} µs | {allowed} |")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
