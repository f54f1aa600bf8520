"""Malformed policies of both formats: one line naming the file, the line, the JSON path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sigpolicy.cli.main import main
from sigpolicy.errors import PolicyError
from sigpolicy.policy.load import load_policy
from sigpolicy.trust.load import load_trust_store

EXAMPLES = Path(__file__).resolve().parents[2] / "sigpolicy" / "examples"
HEAD = "apiVersion: sigpolicy.io/v1alpha1\nkind: ImagePolicy\ntrust: trust.yaml\n"
SCOPE = "scopes:\n  - name: shop\n    images: ['registry.example.com/shop/**']\n    require:\n"

YAML_CASES = {
    "unknown-top-level-field": (
        HEAD + "color: red\n" + SCOPE + "      - reject: {}\n",
        ":4: $.color: Extra inputs are not permitted",
    ),
    "no-scopes": (
        HEAD + "scopes: []\n",
        ":4: $.scopes: List should have at least 1 item after validation, not 0",
    ),
    "empty-require": (
        HEAD
        + "scopes:\n  - name: shop\n    images: ['registry.example.com/**']\n    require: []\n",
        ":7: $.scopes[0].require: List should have at least 1 item",
    ),
    "two-kinds-in-one-requirement": (
        HEAD + SCOPE + "      - {reject: {}, signedBy: {}}\n",
        ":8: $.scopes[0].require[0]: a requirement has exactly one of",
    ),
    "bad-mode": (
        HEAD + "mode: loud\n" + SCOPE + "      - reject: {}\n",
        ":4: $.mode: Input should be 'enforce', 'warn' or 'audit'",
    ),
    "unknown-trust-entry": (
        HEAD + SCOPE + "      - signedBy: {trust: [nobody]}\n",
        ":8: $.scopes[0].require[0].signedBy.trust: no trust entry named 'nobody' (known: ci, release)",
    ),
    "unreachable-threshold": (
        HEAD + SCOPE + "      - signedBy: {trust: [ci], threshold: 2}\n",
        ":8: $.scopes[0].require[0].signedBy.threshold: 2 distinct keys can never sign: the accepted entries hold 1",
    ),
    "bad-image-pattern": (
        HEAD + "scopes:\n  - name: shop\n    images: [busybox]\n    require:\n      - reject: {}\n",
        ":6: $.scopes[0].images[0]: image pattern 'busybox': a bare name is not a registry host",
    ),
    "duplicate-scope-names": (
        HEAD
        + SCOPE
        + "      - reject: {}\n"
        + "  - name: shop\n    images: ['quay.io/**']\n    require:\n      - reject: {}\n",
        ":5: $.scopes: scope name 'shop' is used twice",
    ),
    "exemption-without-condition": (
        HEAD + "exemptions:\n  - name: x\n    reason: y\n" + SCOPE + "      - reject: {}\n",
        ":5: $.exemptions[0]: an exemption needs namespaces, namespaceSelector or images",
    ),
    "duplicate-yaml-key": (
        HEAD + "mode: warn\nmode: audit\n" + SCOPE + "      - reject: {}\n",
        ": line 5, column 1: duplicate key 'mode'",
    ),
    "bad-identity-rule": (
        HEAD + SCOPE + "      - signedBy: {identity: {type: exactReference}}\n",
        "exactReference needs dockerReference",
    ),
    "neither-format": ("just: text\n", "neither a sigpolicy policy"),
}

JSON_CASES = {
    "no-default": ('{"transports": {}}', "neither a sigpolicy policy"),
    "unknown-field": ('{"default": [{"type": "reject"}], "extra": 1}', "$: unknown field 'extra'"),
    "empty-requirements": (
        '{"default": []}',
        ":1: $.default: an empty list of requirements is not allowed",
    ),
    "unknown-type": (
        '{"default": [{"type": "signedByMe"}]}',
        "$.default[0]: unknown requirement type 'signedByMe'",
    ),
    "signed-by-two-key-sources": (
        '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/a", "keyData": "YQ=="}]}',
        "$.default[0]: exactly one of keyPath, keyPaths and keyData is required",
    ),
    "signed-by-no-key-type": (
        '{"default": [{"type": "signedBy", "keyPath": "/a"}]}',
        "$.default[0].keyType: invalid keyType None",
    ),
    "fulcio-without-rekor": (
        '{"default": [{"type": "sigstoreSigned", "fulcio": {"caPath": "/a", "oidcIssuer": "x", "subjectEmail": "y"}}]}',
        "$.default[0]: At least one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and rekorPublicKeyDatas must be specified if fulcio is used",
    ),
    "duplicate-json-key": (
        '{"default": [{"type": "reject"}], "default": []}',
        "duplicate key 'default'",
    ),
    "unknown-field-in-requirement": (
        '{"default": [{"type": "reject", "why": "x"}]}',
        "$.default[0]: unknown field 'why'",
    ),
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    return tmp_path / "ex"


@pytest.mark.parametrize(("text", "message"), YAML_CASES.values(), ids=YAML_CASES.keys())
def test_yaml_policy_errors(folder: Path, text: str, message: str) -> None:
    path = folder / "p.yaml"
    path.write_text(text)
    store = load_trust_store(folder / "trust.yaml")
    with pytest.raises(PolicyError) as caught:
        load_policy(path, lambda: store)
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(path))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("text", "message"), JSON_CASES.values(), ids=JSON_CASES.keys())
def test_containers_policy_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.json"
    path.write_text(text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_policy_check_cli(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "check", str(folder / "policy.yaml")]) == 0
    assert "valid sigpolicy policy, 3 scopes, 1 exemptions" in capsys.readouterr().out
    (folder / "bad.yaml").write_text(YAML_CASES["unknown-trust-entry"][0])
    assert main(["policy", "check", str(folder / "bad.yaml")]) == 2
    assert "no trust entry named 'nobody'" in capsys.readouterr().err


def test_policy_check_warns_about_unsafe_scopes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.json"
    path.write_text(
        '{"default": [{"type": "reject"}], "transports": {"docker": {"bogus": [{"type": "insecureAcceptAnything"}]}}}'
    )
    assert main(["policy", "check", str(path)]) == 0
    err = capsys.readouterr().err
    assert "'bogus' can never match an image" in err
    assert "accepts images without any signature (unsafe)" in err


def test_example_suite_passes(capsys: pytest.CaptureFixture[str]) -> None:
    suite = Path(__file__).resolve().parents[2] / "policies" / "tests" / "example-suite.yaml"
    assert main(["policy", "test", str(suite)]) == 0
    assert "0 failed" in capsys.readouterr().out


def test_suite_mismatch_exits_1_with_a_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "apiVersion: sigpolicy.io/v1alpha1\nkind: PolicyTest\n"
        f"policy: {EXAMPLES / 'policy.yaml'}\ncatalog: {EXAMPLES / 'catalog'}\n"
        "cases:\n  - name: wrong on purpose\n    image: image-registry.openshift-image-registry.svc:5000/shop/checkout:1.4.2\n"
        "    namespace: shop\n    expect: denied\n"
    )
    assert main(["policy", "test", str(suite)]) == 1
    out = capsys.readouterr().out
    assert "FAIL wrong on purpose" in out and "decision: expected denied, got allowed" in out
