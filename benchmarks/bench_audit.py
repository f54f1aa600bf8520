#!/usr/bin/env python3
"""``sigpolicy audit`` of 10,000 workloads over 2,000 distinct images, with 1 and with 10 pods
per workload side by side.

    .venv/bin/python -m benchmarks.bench_audit [--workloads 10000] [--images 2000] [--rounds 1]

The catalogs come from ``scripts/make_audit_catalog.py --scale`` (JSON Lists, one per
namespace; each image's Deployments in one namespace, each Deployment with a ReplicaSet and
its pods; a quarter of the images imported with the example signatures, which are verified
and found to be for another digest). Each catalog is audited in process, phase by phase
(reading the catalog, grouping workloads by owner, deciding), and as a ``sigpolicy audit``
process. Decisions are made once per distinct image and namespace, so the deciding phase
stays flat as pods multiply; reading and grouping follow the number of objects.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sigpolicy.admission.engine import Admission, AdmissionSettings
from sigpolicy.audit.engine import decide_uses
from sigpolicy.audit.inventory import group_by_owner
from sigpolicy.audit.listing import list_workloads
from sigpolicy.cli.policy_loading import load_policy_and_trust
from sigpolicy.sources.catalog import CatalogSource

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "sigpolicy" / "examples" / "policy.yaml"


def _script() -> object:
    spec = importlib.util.spec_from_file_location(
        "make_audit_catalog", ROOT / "scripts" / "make_audit_catalog.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def phases(folder: Path) -> tuple[float, float, float, int, int, int]:
    started = time.perf_counter()
    source = CatalogSource(folder)
    objects = await list_workloads(source)
    read = time.perf_counter()
    uses = group_by_owner(objects)
    grouped = time.perf_counter()
    policy, trust = load_policy_and_trust(POLICY, None)
    admission = Admission(lambda: policy, source, AdmissionSettings(check_owned_pods=True))
    run = await decide_uses(admission, uses, policy=policy)
    decided = time.perf_counter()
    if trust is not None:
        trust.close()
    return (
        read - started,
        grouped - read,
        decided - grouped,
        len(objects),
        len({u.owner for u in uses}),
        run.decisions,
    )


def process(folder: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "sigpolicy.cli.main", "audit", "--policy", str(POLICY),
         "--catalog", str(folder), "--output", "json", "--quiet"],
        stdout=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    if done.returncode not in (0, 1):
        raise SystemExit(f"sigpolicy audit failed with status {done.returncode}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workloads", type=int, default=10_000)
    parser.add_argument("--images", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=1, help="best of this many (1)")
    args = parser.parse_args()
    script = _script()
    rows = []
    with tempfile.TemporaryDirectory(prefix="sigpolicy-bench-audit-") as scratch:
        for pods in (1, 10):
            folder = Path(scratch) / f"pods-{pods}"
            script.write_scale(folder, args.workloads, args.images, pods)  # type: ignore[attr-defined]
            best = min(
                (asyncio.run(phases(folder)) for _ in range(args.rounds)),
                key=lambda r: r[0] + r[1] + r[2],
            )
            wall = min(process(folder) for _ in range(args.rounds))
            rows.append((pods, *best, wall))
    print(f"{args.workloads:,} workloads (Deployments), {args.images:,} distinct images")
    print()
    print("| pods per workload | objects | workloads | decisions | read catalog | group by owner"
          " | decide | in process | `sigpolicy audit` process |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for pods, read, group, decide, objects, owners, decisions, wall in rows:
        print(
            f"| {pods} | {objects:,} | {owners:,} | {decisions:,} | {read:.2f} s | {group:.2f} s"
            f" | {decide:.2f} s | {read + group + decide:.2f} s | {wall:.2f} s |"
        )


if __name__ == "__main__":
    main()
