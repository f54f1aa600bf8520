"""``sigpolicy record`` over a catalog: what is due, what gets written, totals, the CLI."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from sigpolicy.api import Image, SignatureConditionType
from sigpolicy.cli.main import main
from sigpolicy.recorder.due import Freshness, due_signatures, own_identity
from sigpolicy.recorder.loop import Recorder, RecorderSettings
from sigpolicy.sources.catalog import CatalogSource
from sigpolicy.trust.store import TrustStore
from tests.conformance.corpus import CORPUS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "sigpolicy" / "examples"
KEYS = EXAMPLES / "signatures" / "trusted-keys.asc"
NOW = 1_900_000_000


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES / "catalog", tmp_path / "catalog")
    return tmp_path / "catalog"


def trust() -> TrustStore:
    return TrustStore.from_keyrings([(KEYS.name, KEYS.read_bytes())])


def statuses(image: Image) -> list[str | None]:
    out = []
    for signature in image.signatures or ():
        condition = signature.condition(SignatureConditionType.TRUSTED)
        out.append(None if condition is None else condition.status)
    return out


def test_one_pass_records_every_signature_then_nothing_is_due(catalog: Path) -> None:
    source = CatalogSource(catalog)
    clock = [float(NOW)]
    recorder = Recorder(source, trust, RecorderSettings(stale_after=3600), clock=lambda: clock[0])
    totals = asyncio.run(recorder.run_pass())
    assert (totals.images, totals.signatures_verified, totals.trusted, totals.not_trusted) == (
        1,
        4,
        2,
        2,
    )
    image = asyncio.run(CatalogSource(catalog).list_images())[0]
    assert statuses(image) == ["True", "True", "False", "False"]
    clock[0] += 60
    again = asyncio.run(recorder.run_pass())
    assert again.signatures_verified == 0  # fresh: nothing due
    clock[0] += 3600
    stale = asyncio.run(recorder.run_pass())
    assert stale.signatures_verified == 4  # older than stale_after


def test_a_trust_store_change_makes_everything_due(catalog: Path) -> None:
    source = CatalogSource(catalog)
    stores = [trust()]
    clock = [float(NOW)]
    recorder = Recorder(source, lambda: stores[0], clock=lambda: clock[0])
    asyncio.run(recorder.run_pass())
    clock[0] += 10
    other = CORPUS / "public-key.gpg"
    stores[0] = TrustStore.from_keyrings([(other.name, other.read_bytes())])  # keys rotated
    totals = asyncio.run(recorder.run_pass())
    assert totals.signatures_verified == 4 and totals.trusted == 0
    image = asyncio.run(CatalogSource(catalog).list_images())[0]
    assert statuses(image) == ["False"] * 4


def test_due_rules() -> None:
    image = asyncio.run(CatalogSource(EXAMPLES / "catalog").list_images())[0]
    assert len(due_signatures(image, Freshness(3600, 0), NOW)) == 4  # never probed
    identity = own_identity(image)
    assert str(identity.image).startswith("registry.example.com/shop/checkout@sha256:")


def test_image_without_reference_is_skipped_with_a_warning(
    catalog: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = catalog / "checkout.yaml"
    path.write_text(
        "\n".join(
            line
            for line in path.read_text().splitlines()
            if not line.startswith("dockerImageReference")
        )
        + "\n"
    )
    totals = asyncio.run(Recorder(CatalogSource(catalog), trust).run_pass())
    assert totals.skipped == 1 and totals.signatures_verified == 0
    assert "has no dockerImageReference" in caplog.text


def test_cli_once(catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", "--once", "--catalog", str(catalog), "--keyring", str(KEYS)]) == 0
    err = capsys.readouterr().err
    assert "4 signatures verified (2 trusted, 2 not)" in err


def test_cli_verify_image_save_then_json(catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = asyncio.run(CatalogSource(catalog).list_images())[0]
    name = image.metadata.name  # type: ignore[union-attr]
    common = [
        str(name),
        "--expected-identity",
        "registry.example.com/shop/checkout:1.4.2",
        "--keyring",
        str(KEYS),
        "--catalog",
        str(catalog),
    ]
    assert main(["verify-image", *common, "--save"]) == 0
    text = capsys.readouterr().out
    assert "2 of 4 signatures trusted; conditions recorded on the Image" in text
    assert "conditions: Trusted=True (Verified), ForImage=True (Verified)" in text
    assert statuses(asyncio.run(CatalogSource(catalog).list_images())[0]) == [
        "True",
        "True",
        "False",
        "False",
    ]
    assert main(["verify-image", *common, "--output", "json"]) == 0
    assert '"reason": "Verified"' in capsys.readouterr().out


VERIFY_IMAGE_EXITS = {
    "wrong-identity-exits-1": (
        ["--expected-identity", "registry.example.com/shop/other:1.0"],
        1,
        "",
    ),
    "unknown-image-exits-2": (
        ["--expected-identity", "a/b:1", "IMAGE=sha256:" + "0" * 64],
        2,
        "not found",
    ),
    "bad-image-name-exits-2": (
        ["--expected-identity", "a/b:1", "IMAGE=latest"],
        2,
        "expected an Image name",
    ),
    "bad-rule-exits-2": (
        ["--expected-identity", "a/b:1", "--identity-rule", "sometimes"],
        2,
        "--identity-rule",
    ),
}


@pytest.mark.parametrize(
    ("extra", "status", "message"), VERIFY_IMAGE_EXITS.values(), ids=VERIFY_IMAGE_EXITS.keys()
)
def test_cli_verify_image_exit_statuses(
    extra: list[str], status: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    image = asyncio.run(CatalogSource(EXAMPLES / "catalog").list_images())[0]
    name = str(image.metadata.name)  # type: ignore[union-attr]
    for arg in extra:
        if arg.startswith("IMAGE="):
            name = arg.removeprefix("IMAGE=")
    argv = ["verify-image", name, "--keyring", str(KEYS), "--catalog", str(EXAMPLES / "catalog")]
    argv += [a for a in extra if not a.startswith("IMAGE=")]
    assert main(argv) == status
    assert message in capsys.readouterr().err


def test_cli_verify_image_without_signatures_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = "sha256:" + "3" * 64
    (tmp_path / "i.yaml").write_text(
        f"apiVersion: image.openshift.io/v1\nkind: Image\nmetadata: {{name: '{digest}'}}\n"
    )
    assert (
        main(
            [
                "verify-image",
                digest,
                "--expected-identity",
                "a/b:1",
                "--keyring",
                str(KEYS),
                "--catalog",
                str(tmp_path),
            ]
        )
        == 1
    )
    assert "the image has no signatures" in capsys.readouterr().out


@pytest.mark.parametrize("from_env", [True, False], ids=["KUBECONFIG", "home"])
def test_cli_without_a_source_uses_the_kubeconfig_kubectl_would(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    from_env: bool,
) -> None:
    expected = tmp_path / "elsewhere" if from_env else tmp_path / ".kube" / "config"
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KUBECONFIG", str(expected) if from_env else "")
    argv = ["record", "--once", "--keyring", str(KEYS)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"sigpolicy: error: kubeconfig {expected}:"), err
    assert len(err.splitlines()) == 1
