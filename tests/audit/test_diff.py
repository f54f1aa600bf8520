"""``sigpolicy audit --baseline``: two policies with known differences on the same workloads."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.audit.support import (
    EXAMPLE_POLICY,
    example_policy_copy,
    json_lines,
    make_catalog,
    run_cli,
)

BASELINE = EXAMPLE_POLICY.read_text()
# Three known differences from the example policy:
NEW = (
    BASELINE
    # 1. shop-staging is enforced: its unsigned payments image becomes a denial;
    .replace("    namespaces: [shop-staging]\n    mode: warn\n", "    namespaces: [shop-staging]\n")
    # 2. sandbox rejects instead of asking for a signature: still audit mode, another reason;
    .replace(
        "    mode: audit\n    require:\n      - signedBy: {}\n",
        "    mode: audit\n    require:\n      - reject: {}\n",
    )
    # 3. team-a's registry gets a scope that accepts anything: its images become allowed.
    + """  - name: team-a
    images: ["registry.example.com/team-a/**"]
    require:
      - insecureAcceptAnything: {}
"""
)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_catalog(tmp_path_factory.mktemp("diff-catalog"), replicas=2)


@pytest.fixture
def policies(tmp_path: Path) -> tuple[Path, Path]:
    assert NEW.count("reject: {}") == 1 and "mode: warn" not in NEW  # the edits took
    new = example_policy_copy(tmp_path, NEW)
    return new, EXAMPLE_POLICY


def test_the_diff_names_exactly_the_known_differences(
    catalog: Path, policies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    new, old = policies
    code, out, _ = run_cli(
        capsys, "--policy", new, "--baseline", old, "--catalog", catalog, "--output", "json",
        "--quiet",
    )  # fmt: skip
    changes = json_lines(out)
    by_kind = Counter((c["change"], c["namespace"], c["image"]) for c in changes)
    kinds = {(kind, namespace) for kind, namespace, _ in by_kind}
    assert kinds == {
        ("newly-denied", "shop-staging"),
        ("changed", "sandbox"),
        ("newly-allowed", "team-a"),
    }
    for change in changes:
        if change["change"] == "newly-denied":
            assert change["image"] == "registry.example.com/shop/payments:2.0.1"
            assert (change["baseline"]["result"], change["policy"]["result"]) == ("warn", "fail")
            assert change["policy"]["scope"] == "shop-staging"
        elif change["change"] == "changed":
            assert change["baseline"]["result"] == change["policy"]["result"] == "warn"
            assert change["baseline"]["reason"] == "unsigned"
            assert change["policy"]["reason"] != "unsigned"
        else:
            assert (change["baseline"]["result"], change["policy"]["result"]) == ("fail", "pass")
            assert change["baseline"]["scope"] == "(no scope)"
            assert change["policy"]["scope"] == "team-a"
    # Every workload of those namespaces that runs the image is listed, once.
    owners = Counter((c["namespace"], c["kind"], c["name"], c["image"]) for c in changes)
    assert set(owners.values()) == {1}
    assert code == 1  # NEW newly denies something


def test_reverse_diff_only_allows_and_changes(
    catalog: Path, policies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    new, old = policies
    code, out, _ = run_cli(
        capsys, "--policy", old, "--baseline", new, "--catalog", catalog, "--output", "json",
        "--quiet",
    )  # fmt: skip
    kinds = {(c["change"], c["namespace"]) for c in json_lines(out)}
    assert kinds == {
        ("newly-allowed", "shop-staging"),
        ("changed", "sandbox"),
        ("newly-denied", "team-a"),
    }
    assert code == 1


def test_a_policy_against_itself_changes_nothing(
    catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        capsys, "--policy", EXAMPLE_POLICY, "--baseline", EXAMPLE_POLICY, "--catalog", catalog,
        "--quiet",
    )  # fmt: skip
    assert code == 0
    assert "no decision changes" in out
    assert "newly denied: 0" in out


def test_diff_text_has_a_section_per_kind_of_change(
    catalog: Path, policies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    new, old = policies
    code, out, _ = run_cli(
        capsys, "--policy", new, "--baseline", old, "--catalog", catalog, "--quiet"
    )
    assert code == 1
    for section in ("newly-denied:", "newly-allowed:", "changed:"):
        assert section in out.splitlines()
    assert "warn (shop-staging unsigned)" in out and "fail (shop-staging unsigned)" in out


def test_only_newly_allowing_exits_zero(
    catalog: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    looser = example_policy_copy(tmp_path, BASELINE.replace("noMatch: deny", "noMatch: allow"))
    code, out, _ = run_cli(
        capsys, "--policy", looser, "--baseline", EXAMPLE_POLICY, "--catalog", catalog,
        "--output", "json", "--quiet",
    )  # fmt: skip
    assert {c["change"] for c in json_lines(out)} == {"newly-allowed"}
    assert code == 0
