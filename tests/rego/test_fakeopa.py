"""The fake OPA speaks the Data API as OPA documents it (checked with a plain HTTP client)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.support.fakeopa import UNDEFINED, FakeOpaServer


def _call(opa: FakeOpaServer, method: str, path: str, body: bytes | None = None) -> Any:
    request = urllib.request.Request(f"{opa.url}{path}", data=body, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_post_with_input_answers_result(opa: FakeOpaServer) -> None:
    opa.register("sigpolicy/allow", lambda doc: doc["namespace"] == "shop")

    answer = _call(opa, "POST", "/v1/data/sigpolicy/allow", b'{"input": {"namespace": "shop"}}')

    assert answer == (200, {"result": True})


def test_undefined_document_answers_empty_object(opa: FakeOpaServer) -> None:
    opa.register("sigpolicy/allow", lambda doc: UNDEFINED)

    assert _call(opa, "POST", "/v1/data/sigpolicy/allow", b'{"input": {}}') == (200, {})
    assert _call(opa, "POST", "/v1/data/nothing/here", b'{"input": {}}') == (200, {})


def test_package_path_answers_the_object_of_its_rules(opa: FakeOpaServer) -> None:
    opa.register("sigpolicy/allow", lambda doc: True)
    opa.register("sigpolicy/reason", lambda doc: "fine")
    opa.register("sigpolicy/missing", lambda doc: UNDEFINED)

    answer = _call(opa, "POST", "/v1/data/sigpolicy", b'{"input": {}}')

    assert answer == (200, {"result": {"allow": True, "reason": "fine"}})


def test_post_without_input_warns_as_opa_does(opa: FakeOpaServer) -> None:
    opa.register("sigpolicy/allow", lambda doc: doc is None)

    status, body = _call(opa, "POST", "/v1/data/sigpolicy/allow", b"{}")

    assert status == 200
    assert body["result"] is True
    assert body["warning"]["code"] == "api_usage_warning"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/v1/data/sigpolicy/allow", b"{not json", 400, "invalid_parameter"),
        ("POST", "/v1/nothing", b"{}", 404, "resource_not_found"),
        ("PUT", "/v1/data/sigpolicy/allow", b"{}", 405, "method_not_allowed"),
    ],
    ids=["malformed-body", "unknown-endpoint", "put-is-not-a-query"],
)
def test_errors_carry_code_and_message(
    opa: FakeOpaServer, method: str, path: str, body: bytes, status: int, code: str
) -> None:
    answer_status, answer = _call(opa, method, path, body)

    assert answer_status == status
    assert answer["code"] == code
    assert isinstance(answer["message"], str)


def test_health(opa: FakeOpaServer) -> None:
    assert _call(opa, "GET", "/health") == (200, {})
