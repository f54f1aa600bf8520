"""The fake API server answers like the real one: raw HTTP, no sigpolicy client involved.

Other tests trust this server to be faithful; these cases pin the wire details they rely on.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest

from tests.sources_cluster import objects
from tests.support.fakeapi import FakeApiServer

IMAGES = "/apis/image.openshift.io/v1/images"


def call(
    api: FakeApiServer, method: str, path: str, body: Any = None, *, bearer: str | None = None
) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=5)
    headers = {"Authorization": f"Bearer {bearer or api.token}", "Content-Type": "application/json"}
    payload = None if body is None else json.dumps(body)
    connection.request(method, path, body=payload, headers=headers)
    response = connection.getresponse()
    assert response.getheader("Content-Type") == "application/json"
    data = json.loads(response.read())
    connection.close()
    return response.status, data


def test_stale_put_is_a_409_conflict_status(fake_api: FakeApiServer) -> None:
    (stored,) = fake_api.add(objects.image("app"))
    name = stored["metadata"]["name"]
    fake_api.store.mutate("images", name, lambda obj: obj.update(dockerImageReference="x"))
    code, body = call(fake_api, "PUT", f"{IMAGES}/{name}", stored)
    assert code == 409
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'Operation cannot be fulfilled on images.image.openshift.io "{name}": the '
        "object has been modified; please apply your changes to the latest version and try again",
        "reason": "Conflict",
        "code": 409,
    }


def test_put_of_a_missing_object_is_a_404_status(fake_api: FakeApiServer) -> None:
    image = objects.image("app")
    code, body = call(fake_api, "PUT", f"{IMAGES}/{image['metadata']['name']}", image)
    assert (code, body["reason"], body["code"]) == (404, "NotFound", 404)


def test_every_write_takes_the_next_global_version(fake_api: FakeApiServer) -> None:
    first, second = fake_api.add(objects.image("a"), objects.image("b"))
    code, listing = call(fake_api, "GET", IMAGES)
    assert code == 200
    assert listing["kind"] == "ImageList"
    versions = [
        int(first["metadata"]["resourceVersion"]),
        int(second["metadata"]["resourceVersion"]),
    ]
    assert versions[1] == versions[0] + 1
    assert listing["metadata"]["resourceVersion"] == str(versions[1])


@pytest.mark.parametrize(
    "name", ["no-at-sign", "a@b@c", "@sig", "image@"], ids=["none", "two", "no-image", "no-sig"]
)
def test_signature_name_needs_exactly_one_at_sign(fake_api: FakeApiServer, name: str) -> None:
    body = objects.signature("x", b"blob")
    body["metadata"]["name"] = name
    code, status = call(fake_api, "POST", "/apis/image.openshift.io/v1/imagesignatures", body)
    assert code == 400
    assert status["message"] == "name must be of format <imageName>@<signatureName>"


def test_watch_from_a_compacted_version_is_an_error_event_410(fake_api: FakeApiServer) -> None:
    (stored,) = fake_api.add(objects.image("app"))
    old = int(stored["metadata"]["resourceVersion"]) - 1
    fake_api.store.compact()
    connection = http.client.HTTPConnection("127.0.0.1", fake_api.port, timeout=5)
    connection.request(
        "GET",
        f"{IMAGES}?watch=true&resourceVersion={old}",
        headers={"Authorization": f"Bearer {fake_api.token}"},
    )
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Transfer-Encoding") == "chunked"
    event = json.loads(response.readline())
    connection.close()
    assert event["type"] == "ERROR"
    assert (event["object"]["code"], event["object"]["reason"]) == (410, "Expired")


def test_requests_without_the_token_are_401(fake_api: FakeApiServer) -> None:
    code, body = call(fake_api, "GET", IMAGES, bearer="wrong")
    assert (code, body["reason"]) == (401, "Unauthorized")


def test_discovery_and_version(fake_api: FakeApiServer) -> None:
    assert call(fake_api, "GET", "/version")[1]["major"] == "1"
    _, resources = call(fake_api, "GET", "/apis/image.openshift.io/v1")
    assert {r["name"] for r in resources["resources"]} >= {"images", "imagesignatures"}


def test_lease_times_must_be_micro_time(fake_api: FakeApiServer) -> None:
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "l", "namespace": "ns"},
        "spec": {"holderIdentity": "a", "renewTime": "2024-05-01T10:00:00Z"},
    }
    code, _ = call(fake_api, "POST", "/apis/coordination.k8s.io/v1/namespaces/ns/leases", lease)
    assert code == 400
