"""``serve --audit-interval``: the background audit on watch-kept caches, PolicyReports
written by the Lease holder only, and its metrics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from sigpolicy.admission.engine import Admission
from sigpolicy.audit.policyreport import REPORT_NAME
from sigpolicy.cli.policy_loading import load_policy_and_trust
from sigpolicy.cli.serve_cmd import parse_options
from sigpolicy.errors import InputError
from sigpolicy.sources.catalog import CatalogSource
from sigpolicy.sources.cluster import ClusterSource, WatchBackoff
from sigpolicy.sources.informer import WatchedSource
from tests.audit.support import (
    EXAMPLE_POLICY,
    WORKLOAD_KINDS,
    catalog_objects,
    json_lines,
    make_catalog,
    run_cli,
)
from tests.support.fakeapi import FakeApiServer
from webhook.audit_metrics import AuditCollector
from webhook.audit_task import start_background_audit

LEASE = "sigpolicy-system/sigpolicy-audit"


def _options(*extra: str) -> Any:
    return parse_options(
        ["--policy", str(EXAMPLE_POLICY), "--self-signed", "--audit-interval", "10s", *extra]
    )


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    return make_catalog(tmp_path / "catalog", replicas=2)


def _load(server: FakeApiServer, folder: Path) -> None:
    for obj in catalog_objects(folder):
        if obj["kind"] in (*WORKLOAD_KINDS, "Namespace", "Image", "ImageStream"):
            server.add(obj)


async def _until(check: Callable[[], bool], seconds: float = 20.0) -> None:
    async with asyncio.timeout(seconds):
        while not check():
            await asyncio.sleep(0.05)


async def _replica(kubeconfig: Path, identity: str, lease: bool) -> tuple[Any, list[Any], Any]:
    options = _options(
        "--kubeconfig", str(kubeconfig), *(("--audit-lease", LEASE) if lease else ())
    )
    cluster = ClusterSource.from_kubeconfig(kubeconfig, watch_backoff=WatchBackoff(0.05, 0.2))
    source = WatchedSource(cluster)
    policy, _ = load_policy_and_trust(EXAMPLE_POLICY, None)
    admission = Admission(lambda: policy, source, options.admission)
    background: list[Callable[[], Awaitable[None]]] = [source.run]
    status = start_background_audit(
        options, admission, source, lambda: 1_800_000_000.0, background, identity=identity
    )
    return status, background, source


def _reports(server: FakeApiServer) -> dict[str, dict[str, Any]]:
    items, _ = server.store.list("policyreports")
    return {item["metadata"]["namespace"]: item for item in items}


def test_only_the_lease_holder_writes_reports(
    fake_api: FakeApiServer, kubeconfig: Path, catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _load(fake_api, catalog)
    # A report of ours in a namespace whose workloads are gone, and someone else's report.
    stale = {
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": "PolicyReport",
        "results": [{"policy": "p"}],
    }
    fake_api.add(
        {**stale, "metadata": {"name": REPORT_NAME, "namespace": "gone",
                               "labels": {"app.kubernetes.io/managed-by": "sigpolicy"}}},
        {**stale, "metadata": {"name": "kyverno", "namespace": "gone"}},
    )  # fmt: skip

    async def scenario() -> tuple[Any, Any]:
        a = await _replica(kubeconfig, "replica-a", lease=True)
        b = await _replica(kubeconfig, "replica-b", lease=True)
        tasks = [asyncio.ensure_future(task()) for task in (*a[1], *b[1])]
        try:
            await _until(lambda: a[0].runs + b[0].runs >= 1 and len(_reports(fake_api)) > 2)
            await asyncio.sleep(0.5)  # the follower had time to write, were it to
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await a[2].close()
            await b[2].close()
        return a[0], b[0]

    first, second = asyncio.run(scenario())
    writers = [s for s in (first, second) if s.reports_written]
    assert len(writers) == 1
    assert [s.runs for s in (first, second) if not s.reports_written] == [0]
    holder = fake_api.store.get("leases", "sigpolicy-audit", "sigpolicy-system")["spec"]
    assert holder["holderIdentity"] in ("replica-a", "replica-b", "")
    # The reports say what `sigpolicy audit` says of the same workloads.
    _, out, _ = run_cli(
        capsys, "--policy", EXAMPLE_POLICY, "--catalog", catalog, "--output", "json", "--quiet"
    )
    findings = json_lines(out)
    reports = _reports(fake_api)
    for namespace in {f["namespace"] for f in findings}:
        mine = [f for f in findings if f["namespace"] == namespace]
        assert len(reports[namespace]["results"]) == len(mine)
        assert reports[namespace]["summary"]["fail"] == sum(f["result"] == "fail" for f in mine)
    assert reports["gone"]["results"] == []  # ours, emptied
    assert fake_api.store.get("policyreports", "kyverno", "gone")["results"] == [{"policy": "p"}]
    cluster, _ = fake_api.store.list("clusterpolicyreports")
    assert [c["metadata"]["name"] for c in cluster] == [REPORT_NAME]
    # Workloads were listed once per kind, then watched: no further list.
    assert fake_api.count("GET", "/api/v1/pods") == 2  # one per replica
    assert fake_api.count("WATCH", "/api/v1/pods") >= 1


def test_without_a_lease_reports_are_not_written(
    fake_api: FakeApiServer, kubeconfig: Path, catalog: Path
) -> None:
    _load(fake_api, catalog)

    async def scenario() -> Any:
        status, background, source = await _replica(kubeconfig, "solo", lease=False)
        tasks = [asyncio.ensure_future(task()) for task in background]
        try:
            await _until(lambda: status.runs >= 1)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await source.close()
        return status

    status = asyncio.run(scenario())
    assert status.reports_written == 0 and _reports(fake_api) == {}
    assert status.would_deny[("shop", "shop", "unsigned", "fail")] > 0


def test_catalog_background_audit_and_its_metrics(
    catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = _options("--catalog", str(catalog))
    source = CatalogSource(catalog)
    policy, _ = load_policy_and_trust(EXAMPLE_POLICY, None)
    admission = Admission(lambda: policy, source, options.admission)
    background: list[Callable[[], Awaitable[None]]] = []
    status = start_background_audit(options, admission, source, lambda: 1_800_000_000.0, background)

    async def once() -> None:
        task = asyncio.ensure_future(background[0]())
        with contextlib.suppress(TimeoutError):
            await _until(lambda: status.runs >= 1, 20)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(once())
    _, out, _ = run_cli(
        capsys, "--policy", EXAMPLE_POLICY, "--catalog", catalog, "--output", "json", "--quiet"
    )
    findings = json_lines(out)
    failing = {(f["namespace"], f["kind"], f["name"]) for f in findings if f["result"] == "fail"}
    fail_counts = sum(n for (_, _, _, result), n in status.would_deny.items() if result == "fail")
    # Per (namespace, scope, reason) a workload counts once; summed they cover every one.
    assert fail_counts >= len(failing)
    metrics = {m.name: m for m in AuditCollector(lambda: status).collect()}
    assert (
        metrics["sigpolicy_audit_last_complete_timestamp_seconds"].samples[0].value
        == 1_800_000_000.0
    )
    assert metrics["sigpolicy_audit_duration_seconds"].samples[0].value > 0
    labels = {
        tuple(s.labels.values()) for s in metrics["sigpolicy_audit_would_deny_workloads"].samples
    }
    assert ("team-a", "(no scope)", "policy-denied", "fail") in labels
    assert ("sandbox", "sandbox", "unsigned", "warn") in labels


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--catalog", "x", "--audit-interval", "10m", "--audit-lease", LEASE), "cluster source"),
        (("--in-cluster", "--audit-lease", LEASE), "goes with --audit-interval"),
        (
            ("--in-cluster", "--audit-interval", "10m", "--audit-lease", "no-slash"),
            "NAMESPACE/NAME",
        ),
    ],
    ids=["lease-needs-cluster", "lease-needs-interval", "lease-shape"],
)
def test_serve_audit_options_are_checked(args: tuple[str, ...], expected: str) -> None:
    with pytest.raises(InputError, match=expected):
        parse_options(["--policy", str(EXAMPLE_POLICY), "--self-signed", *args])


@pytest.mark.parametrize("text", ["5s", "0", "ten", "10x"])
def test_audit_interval_is_a_duration_of_ten_seconds_or_more(text: str) -> None:
    with pytest.raises(SystemExit):
        parse_options(
            [
                "--policy",
                str(EXAMPLE_POLICY),
                "--self-signed",
                "--in-cluster",
                "--audit-interval",
                text,
            ]
        )
