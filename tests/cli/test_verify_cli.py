"""``sigpolicy verify``: the exit-status contract, one-line errors, text and JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sigpolicy.cli.main import main

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "containers-image"
SIG = str(CORPUS / "image.signature")
KEY = str(CORPUS / "public-key.gpg")
MANIFEST = str(CORPUS / "image.manifest.json")
DIGEST = "sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sigpolicy.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_trusted_signature_text_output_in_a_real_process() -> None:
    result = run_cli(
        "verify", SIG, "--keyring", KEY, "--manifest", MANIFEST, "--identity", "testing/manifest"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"{SIG}: trusted: signed by 08CD26E446E2E95249B7A405E932F44B23E8DD43 for testing/manifest"
        f" (digest {DIGEST})\n"
    )
    assert result.stderr == ""


def test_mixed_batch_exits_1_and_reports_each(capsys: pytest.CaptureFixture[str]) -> None:
    corrupt = str(CORPUS / "corrupt.signature")
    status = main(
        [
            "verify",
            SIG,
            corrupt,
            "--keyring",
            KEY,
            "--digest",
            DIGEST,
            "--identity",
            "docker.io/testing/manifest",
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    assert lines[0].startswith(f"{SIG}: trusted")
    assert lines[1] == (
        f"{corrupt}: NOT trusted (bad-signature): the signature does not verify:"
        " the signature by key E932F44B23E8DD43 does not verify"
    )


def test_json_lines_fields(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [
            "verify",
            SIG,
            "--keyring",
            KEY,
            "--digest",
            DIGEST,
            "--identity",
            "testing/manifest",
            "--output",
            "json",
        ]
    )
    record = json.loads(capsys.readouterr().out)
    assert status == 0
    assert record == {
        "signature": SIG,
        "trusted": True,
        "reason": None,
        "message": "signed by 08CD26E446E2E95249B7A405E932F44B23E8DD43 for testing/manifest",
        "signer": "08CD26E446E2E95249B7A405E932F44B23E8DD43",
        "publicKeyID": "0xe932f44b23e8dd43",
        "identity": "testing/manifest",
        "digest": DIGEST,
        "created": "2016-03-17T18:35:13Z",
    }


def test_rejected_signature_reports_nothing_unverified(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [
            "verify",
            str(CORPUS / "unknown-key.signature"),
            "--keyring",
            KEY,
            "--digest",
            DIGEST,
            "--identity",
            "testing/manifest",
            "--output",
            "json",
        ]
    )
    record = json.loads(capsys.readouterr().out)
    assert status == 1
    assert record["reason"] == "unknown-key"
    assert record["signer"] is None and record["identity"] is None and record["digest"] is None


USAGE_ERRORS: dict[str, tuple[list[str], str]] = {
    "missing-keyring-file": (
        [
            "verify",
            SIG,
            "--keyring",
            "/nonexistent/key.gpg",
            "--digest",
            DIGEST,
            "--identity",
            "a/b",
        ],
        "keyring /nonexistent/key.gpg: no such file",
    ),
    "keyring-is-not-a-keyring": (
        ["verify", SIG, "--keyring", MANIFEST, "--digest", DIGEST, "--identity", "a/b"],
        "not a usable OpenPGP keyring",
    ),
    "keyring-is-a-directory": (
        ["verify", SIG, "--keyring", str(CORPUS), "--digest", DIGEST, "--identity", "a/b"],
        "is a directory",
    ),
    "missing-signature-file": (
        ["verify", "/nonexistent.sig", "--keyring", KEY, "--digest", DIGEST, "--identity", "a/b"],
        "signature /nonexistent.sig: no such file",
    ),
    "missing-manifest-file": (
        ["verify", SIG, "--keyring", KEY, "--manifest", "/nonexistent.json", "--identity", "a/b"],
        "manifest /nonexistent.json: no such file",
    ),
    "bad-digest": (
        ["verify", SIG, "--keyring", KEY, "--digest", "sha256:xyz", "--identity", "a/b"],
        "--digest",
    ),
    "bad-identity": (
        ["verify", SIG, "--keyring", KEY, "--digest", DIGEST, "--identity", "UPPER/Case"],
        "expected identity",
    ),
    "secret-key-as-keyring": (
        ["verify", SIG, "--keyring", "SECRET", "--digest", DIGEST, "--identity", "a/b"],
        "secret key",
    ),
}


@pytest.mark.parametrize(("argv", "message"), USAGE_ERRORS.values(), ids=USAGE_ERRORS.keys())
def test_bad_input_exits_2_with_one_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if "SECRET" in argv:
        secret = tmp_path / "secret.asc"
        secret.write_text(
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxcA=\n-----END PGP PRIVATE KEY BLOCK-----\n"
        )
        argv = [str(secret) if a == "SECRET" else a for a in argv]
    status = main(argv)
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("sigpolicy: error: ")
    assert message in lines[0]


ARGPARSE_ERRORS: dict[str, list[str]] = {
    "no-command": [],
    "unknown-command": ["frobnicate"],
    "no-signature": ["verify", "--keyring", KEY, "--digest", DIGEST, "--identity", "a/b"],
    "no-keyring": ["verify", SIG, "--digest", DIGEST, "--identity", "a/b"],
    "manifest-and-digest": [
        "verify",
        SIG,
        "--keyring",
        KEY,
        "--manifest",
        MANIFEST,
        "--digest",
        DIGEST,
        "--identity",
        "a/b",
    ],
    "unknown-backend": [
        "verify",
        SIG,
        "--keyring",
        KEY,
        "--digest",
        DIGEST,
        "--identity",
        "a/b",
        "--backend",
        "x",
    ],
}


@pytest.mark.parametrize("argv", ARGPARSE_ERRORS.values(), ids=ARGPARSE_ERRORS.keys())
def test_invalid_invocation_exits_2_without_traceback(argv: list[str]) -> None:
    result = run_cli(*argv)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("sigpolicy")


def test_oversized_signature_is_a_verdict_not_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.sig"
    big.write_bytes(b"\xa3\x01" + bytes(2 * 1024 * 1024))
    status = main(
        [
            "verify",
            str(big),
            "--keyring",
            KEY,
            "--digest",
            DIGEST,
            "--identity",
            "a/b",
            "--output",
            "json",
        ]
    )
    assert status == 1
    assert json.loads(capsys.readouterr().out)["reason"] == "malformed"


def test_demo_runs_and_explains(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["demo"])
    out = capsys.readouterr().out
    assert status == 0
    assert "5 signatures checked, all as expected." in out
    assert "NOT trusted (identity-mismatch)" in out
    assert "NOT trusted (unknown-key)" in out
    assert "NOT trusted (bad-signature)" in out
