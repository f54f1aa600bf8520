"""``sigpolicy import-signatures`` and ``record --import-signatures``: the fake image API
(tests/support/fakeapi.py, POST imagesignatures as openshift-apiserver answers it) and the
real registry and lookaside of the e2e world."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from sigpolicy.cli.main import main
from tests.registry_e2e.conftest import World
from tests.support.fakeapi import FakeApiServer
from tests.support.registry_kit import free_port


def image(name: str, reference: str, **annotations: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "image.openshift.io/v1",
        "kind": "Image",
        "metadata": metadata,
        "dockerImageReference": reference,
    }


def signed_image(world: World) -> dict[str, Any]:
    repository = world.signed.rsplit(":", 1)[0]
    return image(world.signed_digest, f"{repository}@{world.signed_digest}")


def import_args(world: World, *where: str) -> list[str]:
    return ["import-signatures", *where, *world.registry_args()[1:]]


def signatures_of(fake_api: FakeApiServer, name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = fake_api.store.get("images", name).get("signatures") or []
    return found


def test_import_creates_the_signature_as_openshift_names_it_and_is_idempotent(
    world: World, fake_api: FakeApiServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_api.add(signed_image(world))
    args = import_args(world, "--all", "--kubeconfig", str(kubeconfig))
    assert main(args) == 0, capsys.readouterr().err
    stored = signatures_of(fake_api, world.signed_digest)
    assert len(stored) == 1
    blob = (world.lookaside_signature(world.signed_digest, "team/app")).read_bytes()
    assert stored[0]["metadata"]["name"] == (
        f"{world.signed_digest}@{hashlib.sha256(blob).hexdigest()}"
    )
    assert stored[0]["type"] == "AtomicImageV1"
    assert "conditions" not in stored[0]
    posts = fake_api.count("POST", "*/imagesignatures")
    assert posts == 1

    assert main(args) == 0  # a second run imports nothing
    err = capsys.readouterr().err
    assert "0 signatures imported, 1 already there" in err
    assert fake_api.count("POST", "*/imagesignatures") == posts
    assert len(signatures_of(fake_api, world.signed_digest)) == 1


CASES = [
    ("unsigned image: nothing to import", lambda w: image(
        "sha256:" + "1" * 64, w.unsigned.rsplit(":", 1)[0] + "@sha256:" + "1" * 64), 0,
     "1 images without signatures"),
    ("managed by OpenShift: skipped", lambda w: image(
        "sha256:" + "2" * 64, f"{w.open.host}/x/y@sha256:" + "2" * 64,
        **{"openshift.io/image.managed": "true"}), 0, "1 managed by OpenShift"),
    ("registry down: reported, exit 1", lambda w: image(
        "sha256:" + "3" * 64, f"127.0.0.1:{free_port()}/x/y@sha256:" + "3" * 64), 1,
     "cannot connect"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "make", "code", "words"), CASES, ids=[c[0] for c in CASES])
def test_import_outcomes(
    world: World,
    fake_api: FakeApiServer,
    kubeconfig: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    make: Any,
    code: int,
    words: str,
) -> None:
    fake_api.add(make(world))
    assert main(import_args(world, "--all", "--kubeconfig", str(kubeconfig))) == code
    assert words in capsys.readouterr().err
    assert fake_api.count("POST", "*/imagesignatures") == 0


def test_record_imports_then_verifies(
    world: World, fake_api: FakeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    fake_api.add(signed_image(world))
    keyring = tmp_path / "key.asc"
    keyring.write_bytes(world.key.public_key_armored)
    argv = [
        "record", "--once", "--keyring", str(keyring), "--kubeconfig", str(kubeconfig),
        "--import-signatures", *world.registry_args()[1:],
    ]  # fmt: skip
    assert main(argv) == 0
    (stored,) = signatures_of(fake_api, world.signed_digest)
    conditions = {c["type"]: c["status"] for c in stored["conditions"]}
    assert conditions == {"Trusted": "True", "ForImage": "True"}


def test_import_into_a_catalog_folder(world: World, tmp_path: Path) -> None:
    folder = tmp_path / "catalog"
    folder.mkdir()
    (folder / "images.yaml").write_text(yaml.safe_dump(signed_image(world)))
    args = import_args(world, world.signed_digest, "--catalog", str(folder))
    assert main(args) == 0
    assert main(args) == 0
    written = yaml.safe_load((folder / "images.yaml").read_text())
    assert [s["type"] for s in written["signatures"]] == ["AtomicImageV1"]


def test_unknown_image_name_is_exit_2(world: World, tmp_path: Path) -> None:
    folder = tmp_path / "catalog"
    folder.mkdir()
    assert main(import_args(world, "sha256:" + "9" * 64, "--catalog", str(folder))) == 2


def test_progress_lines_on_stderr(
    world: World, fake_api: FakeApiServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unsigned = "sha256:" + "4" * 64
    fake_api.add(signed_image(world), image(unsigned, f"{world.open.host}/a/b@{unsigned}"))
    args = import_args(world, "--all", "--kubeconfig", str(kubeconfig), "--progress-every", "1")
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "import-signatures: 1/2 images" in err
    assert "import-signatures: 2/2 images, 1 imported, 0 failed" in err
