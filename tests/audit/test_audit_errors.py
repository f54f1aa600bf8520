"""A broken or unreachable source, a bad policy or invocation: exit 2, one line, no report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.audit.support import EXAMPLE_POLICY, example_policy_copy, make_catalog, run_cli
from tests.support.fakeapi import FakeApiServer


@pytest.fixture(scope="module")
def good_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_catalog(tmp_path_factory.mktemp("good-catalog"), replicas=1)


def _copy(catalog: Path, tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(catalog, target)
    return target


def _broken_yaml(folder: Path) -> str:
    (folder / "zz-broken.yaml").write_text("kind: Pod\nmetadata: {name: [unclosed\n")
    return "zz-broken.yaml"


def _duplicate_key(folder: Path) -> str:
    (folder / "zz-dup.yaml").write_text("kind: Pod\nkind: Deployment\nmetadata: {name: x}\n")
    return "duplicate key"


def _not_a_folder(folder: Path) -> str:
    shutil.rmtree(folder)
    folder.write_text("a file")
    return "not a folder"


def _nameless_workload(folder: Path) -> str:
    (folder / "zz-nameless.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {namespace: shop}\n"
        "spec: {containers: [{name: c, image: busybox}]}\n"
    )
    return "without metadata.name"


BROKEN = {
    "malformed YAML": _broken_yaml,
    "duplicate key": _duplicate_key,
    "catalog is a file": _not_a_folder,
    "workload without a name": _nameless_workload,
}


@pytest.mark.parametrize("output", ["text", "json", "policyreport"])
@pytest.mark.parametrize("breakage", list(BROKEN), ids=list(BROKEN))
def test_a_broken_catalog_writes_nothing(
    good_catalog: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    breakage: str,
    output: str,
) -> None:
    folder = _copy(good_catalog, tmp_path)
    expected = BROKEN[breakage](folder)
    target = tmp_path / "report.out"
    target.write_text("the previous report\n")
    for extra in ((), ("--output-file", target)):
        code, out, err = run_cli(
            capsys, "--policy", EXAMPLE_POLICY, "--catalog", folder, "--output", output, *extra
        )
        assert code == 2
        assert out == ""
        assert expected in err
        assert "Traceback" not in err
        last = err.strip().splitlines()[-1]
        assert last.startswith("sigpolicy: error: ")
    assert target.read_text() == "the previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog", "report.out"]


def test_an_unreachable_cluster_writes_nothing(
    fake_api: FakeApiServer, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_api.stop()
    target = tmp_path / "report.json"
    code, out, err = run_cli(
        capsys, "--policy", EXAMPLE_POLICY, "--kubeconfig", kubeconfig, "--output", "json",
        "--output-file", target,
    )  # fmt: skip
    assert code == 2 and out == ""
    assert "cannot connect" in err
    assert not target.exists()


def test_a_cluster_that_refuses_to_list_writes_nothing(
    fake_api: FakeApiServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_api.fail("/apis/apps/v1/deployments", status=500)
    code, out, err = run_cli(capsys, "--policy", EXAMPLE_POLICY, "--kubeconfig", kubeconfig)
    assert code == 2 and out == ""
    assert "deployments" in err and "500" in err


def test_a_cluster_that_stops_answering_while_deciding_writes_nothing(
    fake_api: FakeApiServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_api.add(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "namespace": "shop"},
            "spec": {"containers": [{"name": "c", "image": "checkout:1.4.2"}]},
        }
    )
    # The list answers; every image API read after it fails.
    fake_api.fail("/apis/image.openshift.io/*", status=503, times=100)
    fake_api.fail("/api/v1/namespaces/*", status=503, times=100)
    code, out, err = run_cli(capsys, "--policy", EXAMPLE_POLICY, "--kubeconfig", kubeconfig)
    assert code == 2 and out == ""
    assert "could not be made" in err and "no report written" in err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--output", "policyreport", "--baseline", str(EXAMPLE_POLICY)), "--baseline"),
        (("--deadline", "0"), "--deadline"),
    ],
    ids=["policyreport-with-baseline", "zero-deadline"],
)
def test_bad_invocations(
    good_catalog: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], expected: str
) -> None:
    code, out, err = run_cli(capsys, "--policy", EXAMPLE_POLICY, "--catalog", good_catalog, *args)
    assert code == 2 and out == ""
    assert expected in err


@pytest.mark.parametrize("which", ["--policy", "--baseline"])
def test_a_bad_policy_writes_nothing(
    good_catalog: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], which: str
) -> None:
    bad = example_policy_copy(
        tmp_path, "apiVersion: sigpolicy.io/v1alpha1\nkind: ImagePolicy\nmode: loud\n"
    )
    policies = {"--policy": EXAMPLE_POLICY, "--baseline": EXAMPLE_POLICY, which: bad}
    code, out, err = run_cli(
        capsys, "--policy", policies["--policy"], "--baseline", policies["--baseline"],
        "--catalog", good_catalog,
    )  # fmt: skip
    assert code == 2 and out == ""
    assert str(bad) in err or "mode" in err
