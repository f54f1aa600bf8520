"""``sigpolicy admit``: the webhook's answer for a review file, and its exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sigpolicy.cli.admit_cmd import run
from sigpolicy.cli.main import run_guarded
from tests.webhook.support import CHECKOUT_BY_DIGEST, EXAMPLES, REVIEWS, pod_review

POLICY = str(EXAMPLES / "policy.yaml")
CATALOG = str(EXAMPLES / "catalog")


def admit(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = run_guarded(lambda: run(list(argv)))
    out, err = capsys.readouterr()
    return status, out, err


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


CASES = [
    pytest.param("pod-allowed.json", 0, True, id="allowed-exit-0"),
    pytest.param("deployment-denied.json", 1, False, id="denied-exit-1"),
    pytest.param("pod-warn.json", 0, True, id="warn-mode-exit-0"),
    pytest.param("malformed.json", 2, False, id="malformed-exit-2"),
]


@pytest.mark.parametrize(("review", "status", "allowed"), CASES)
def test_admit_exit_status(
    capsys: pytest.CaptureFixture[str], review: str, status: int, allowed: bool
) -> None:
    path = str(REVIEWS / review)
    code, out, err = admit(capsys, path, "--policy", POLICY, "--catalog", CATALOG)
    answer = json.loads(out)
    assert code == status
    assert answer["kind"] == "AdmissionReview"
    assert answer["response"]["allowed"] is allowed
    assert answer["response"]["uid"] == json.loads(Path(path).read_text())["request"]["uid"]
    assert "Traceback" not in err


def test_yaml_v1beta1_review_is_answered_as_v1beta1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    review = pod_review([CHECKOUT_BY_DIGEST], api_version="admission.k8s.io/v1beta1", uid="y")
    path = _write(tmp_path, "r.yaml", yaml.safe_dump(review))
    code, out, _ = admit(capsys, path, "--policy", POLICY, "--catalog", CATALOG)
    assert code == 0
    assert json.loads(out)["apiVersion"] == "admission.k8s.io/v1beta1"


@pytest.mark.parametrize(
    "text", ["{not json", "- just\n- a list\n", "key: [unclosed\n"], ids=["json", "list", "yaml"]
)
def test_unusable_review_prints_the_malformed_answer_and_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str
) -> None:
    path = _write(tmp_path, "bad.json", text)
    code, out, err = admit(capsys, path, "--policy", POLICY, "--catalog", CATALOG)
    assert code == 2
    answer = json.loads(out)["response"]
    assert answer == {"uid": "", "allowed": False, "status": answer["status"]}
    assert answer["status"]["reason"] == "malformed"
    assert err.startswith("sigpolicy: error: malformed AdmissionReview")


def test_missing_review_file_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = admit(capsys, "/nonexistent/review.json", "--policy", POLICY)
    assert (code, out) == (2, "")
    assert err == "sigpolicy: error: review /nonexistent/review.json: no such file\n"


def test_broken_policy_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy = _write(tmp_path, "policy.yaml", "kind: ImagePolicy\nscopes: [\n")
    review = str(REVIEWS / "pod-allowed.json")
    code, out, err = admit(capsys, review, "--policy", policy)
    assert (code, out) == (2, "")
    assert err.startswith("sigpolicy: error: ") and err.count("\n") == 1
