"""The recorder and ``verify-image --save`` against the (fake) cluster's image API, through
the real client over HTTP: concurrent writers, API failures, retries."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from sigpolicy.cli.main import main
from sigpolicy.errors import SourceError
from sigpolicy.recorder.loop import Recorder, RecorderSettings
from sigpolicy.sources.cluster import ClusterSource
from sigpolicy.trust.store import TrustStore
from tests.support.fakeapi import FakeApiServer
from tests.support.fakeapi_store import FakeStore

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "sigpolicy" / "examples"
KEYS = EXAMPLES / "signatures" / "trusted-keys.asc"
FAST = RecorderSettings(attempts=3, first_backoff=0.01)


def example_image() -> dict[str, Any]:
    import yaml

    text = (EXAMPLES / "catalog" / "checkout.yaml").read_text()
    image: dict[str, Any] = next(yaml.safe_load_all(text))
    return image


def trust() -> TrustStore:
    return TrustStore.from_keyrings([(KEYS.name, KEYS.read_bytes())])


def recorded_statuses(fake_api: FakeApiServer, name: str) -> list[str]:
    stored = fake_api.store.get("images", name)
    return [
        next(c["status"] for c in s.get("conditions", []) if c["type"] == "Trusted")
        for s in stored["signatures"]
    ]


async def test_pass_records_on_the_cluster_and_keeps_a_concurrent_change(
    fake_api: FakeApiServer, kubeconfig: Path
) -> None:
    image = example_image()
    name = image["metadata"]["name"]
    fake_api.add(image)

    def concurrent_writer(store: FakeStore) -> None:
        store.mutate(
            "images",
            name,
            lambda obj: obj["metadata"].setdefault("labels", {}).update({"team": "shop"}),
        )

    fake_api.after("GET", f"/apis/image.openshift.io/v1/images/{name}", concurrent_writer, times=1)
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        totals = await Recorder(source, trust, FAST).run_pass()
    assert (totals.signatures_verified, totals.trusted, totals.failed) == (4, 2, [])
    assert recorded_statuses(fake_api, name) == ["True", "True", "False", "False"]
    assert fake_api.store.get("images", name)["metadata"]["labels"] == {"team": "shop"}
    assert fake_api.count("PUT", "*/images/*") == 2  # the first write lost the race


async def test_a_failing_write_is_retried(fake_api: FakeApiServer, kubeconfig: Path) -> None:
    image = example_image()
    fake_api.add(image)
    fake_api.fail("/apis/image.openshift.io/v1/images/*", 503, times=2, method="PUT")
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        totals = await Recorder(source, trust, FAST).run_pass()
    assert totals.failed == [] and totals.images_written == 1


async def test_a_write_that_keeps_failing_is_reported_not_dropped(
    fake_api: FakeApiServer, kubeconfig: Path, caplog: pytest.LogCaptureFixture
) -> None:
    image = example_image()
    fake_api.add(image)
    fake_api.fail("/apis/image.openshift.io/v1/images/*", 500, times=100, method="PUT")
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        totals = await Recorder(source, trust, FAST).run_pass()
    assert totals.failed == [image["metadata"]["name"]]
    assert "failed after 3 attempts" in caplog.text
    assert (
        "conditions" not in fake_api.store.get("images", image["metadata"]["name"])["signatures"][0]
    )


async def test_api_down_is_a_source_error(fake_api: FakeApiServer, kubeconfig: Path) -> None:
    fake_api.stop()
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        with pytest.raises(SourceError, match="listing images failed"):
            await Recorder(source, trust, FAST).run_pass()


def test_cli_verify_image_save_on_the_cluster(
    fake_api: FakeApiServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = example_image()
    name = image["metadata"]["name"]
    fake_api.add(image)
    argv = ["verify-image", name, "--expected-identity", "registry.example.com/shop/checkout:1.4.2"]
    argv += ["--keyring", str(KEYS), "--kubeconfig", str(kubeconfig), "--save"]
    assert main(argv) == 0
    assert "recorded on the Image" in capsys.readouterr().out
    assert recorded_statuses(fake_api, name) == ["True", "True", "False", "False"]
    stored = fake_api.store.get("images", name)["signatures"][0]
    assert stored["issuedTo"]["publicKeyID"] == "0x2da4f0de1bcc8f5b"


def test_cli_record_once_with_api_down_exits_2(
    fake_api: FakeApiServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_api.stop()
    argv = ["record", "--once", "--keyring", str(KEYS), "--kubeconfig", str(kubeconfig)]
    assert main(argv) == 2
    assert "listing images failed" in capsys.readouterr().err


def test_trust_from_a_cluster_secret(
    fake_api: FakeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    image = example_image()
    fake_api.add(image)
    fake_api.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "trusted-keys", "namespace": "sigpolicy"},
            "data": {"keys.asc": base64.b64encode(KEYS.read_bytes()).decode()},
        }
    )
    trust_file = tmp_path / "trust.yaml"
    trust_file.write_text(
        "apiVersion: sigpolicy.io/v1alpha1\nkind: TrustStore\nentries:\n"
        "  - name: example\n    issuer: {organization: Example Corp}\n    keys:\n"
        "      - secretKeyRef: {namespace: sigpolicy, name: trusted-keys, key: keys.asc}\n"
    )
    argv = ["record", "--once", "--trust", str(trust_file), "--kubeconfig", str(kubeconfig)]
    assert main(argv) == 0
    stored = fake_api.store.get("images", image["metadata"]["name"])["signatures"][0]
    assert stored["issuedBy"] == {"organization": "Example Corp"}
