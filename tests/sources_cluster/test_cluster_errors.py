"""An unreachable, slow or failing API is a one-line SourceError; bad configuration is input."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from sigpolicy.errors import InputError, NotFoundError, SourceError
from sigpolicy.reasons import Reason
from sigpolicy.sources.cluster import ClusterSource
from tests.sources_cluster import objects
from tests.support.fakeapi import FakeApiServer

IMAGE = objects.digest("app")
IMAGE_PATH = f"/apis/image.openshift.io/v1/images/{IMAGE}"


@dataclass(frozen=True)
class Outage:
    """How the API misbehaves, and what the one-line message must say."""

    name: str
    arrange: Callable[[FakeApiServer], None]
    says: str
    context: str | None = None


OUTAGES = [
    Outage(
        "api-down-connection-refused", lambda api: api.stop(), "cannot connect: connection refused"
    ),
    Outage(
        "api-slow-beyond-timeout", lambda api: api.hang(IMAGE_PATH, 3.0), "no answer within 0.3 s"
    ),
    Outage(
        "internal-error-500",
        lambda api: api.fail(IMAGE_PATH, 500),
        "HTTP 500 InternalError: Internal error occurred",
    ),
    Outage(
        "unavailable-503",
        lambda api: api.fail(IMAGE_PATH, 503),
        "HTTP 503 ServiceUnavailable",
    ),
    Outage("unauthorized-401", lambda api: None, "HTTP 401 Unauthorized", context="fake-bad-token"),
]


@pytest.mark.parametrize("outage", OUTAGES, ids=[outage.name for outage in OUTAGES])
async def test_outage_is_a_one_line_source_error(
    kubeconfig: Path, fake_api: FakeApiServer, outage: Outage
) -> None:
    fake_api.add(objects.image("app"))
    outage.arrange(fake_api)
    async with ClusterSource.from_kubeconfig(
        kubeconfig, context=outage.context, timeout=0.3
    ) as source:
        with pytest.raises(SourceError) as caught:
            await source.get_image(IMAGE)
    error = caught.value
    assert type(error) is SourceError
    assert error.reason is Reason.SOURCE_UNAVAILABLE
    message = error.diagnostics()
    assert "\n" not in message
    assert message.startswith(f"cluster {fake_api.url}: images/{IMAGE}: ")
    assert outage.says in message


async def test_the_source_recovers_when_the_api_comes_back(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    fake_api.add(objects.image("app"))
    async with ClusterSource.from_kubeconfig(kubeconfig, timeout=0.5) as source:
        await source.get_image(IMAGE)  # a pooled keep-alive connection now exists
        fake_api.stop()
        with pytest.raises(SourceError):
            await source.get_image(IMAGE)
        fake_api.start()
        assert (await source.get_image(IMAGE)).name == IMAGE


async def test_a_fault_fails_only_the_requests_it_names(
    kubeconfig: Path, fake_api: FakeApiServer
) -> None:
    fake_api.add(objects.image("app"))
    fake_api.fail(IMAGE_PATH, 500, times=2)
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        for _ in range(2):
            with pytest.raises(SourceError, match="HTTP 500"):
                await source.get_image(IMAGE)
        assert (await source.get_image(IMAGE)).name == IMAGE
        assert len(await source.list_images()) == 1
    assert fake_api.count("GET", IMAGE_PATH) == 3


def test_missing_kubeconfig_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=re.escape(f"kubeconfig {tmp_path / 'absent'}: ")):
        ClusterSource.from_kubeconfig(tmp_path / "absent")


def test_unknown_context_is_an_input_error(kubeconfig: Path) -> None:
    with pytest.raises(InputError, match="Context 'elsewhere' not found"):
        ClusterSource.from_kubeconfig(kubeconfig, context="elsewhere")


def test_malformed_kubeconfig_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text("clusters: [\n", encoding="utf-8")
    with pytest.raises(InputError, match="kubeconfig"):
        ClusterSource.from_kubeconfig(path)


def test_in_cluster_outside_a_pod_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    (tmp_path / "token").write_text("token", encoding="utf-8")
    (tmp_path / "namespace").write_text("sigpolicy", encoding="utf-8")
    with pytest.raises(InputError, match="KUBERNETES_SERVICE_HOST is not set"):
        ClusterSource.in_cluster(service_account_dir=tmp_path)
    with pytest.raises(InputError, match="in-cluster config: "):
        ClusterSource.in_cluster(service_account_dir=tmp_path / "absent")


async def test_not_found_is_not_an_outage(kubeconfig: Path) -> None:
    async with ClusterSource.from_kubeconfig(kubeconfig) as source:
        with pytest.raises(NotFoundError) as caught:
            await source.get_image(IMAGE)
    assert caught.value.reason is Reason.RESOLUTION_FAILED
