"""The input document: its shape is docs/rego.md's, every key present, only JSON values."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sigpolicy.errors import InputError
from sigpolicy.policy.rego import OpaServerEvaluator, RegoSignature, rego_input
from sigpolicy.reasons import Reason
from tests.rego.samples import DIGEST, RELEASE_FPR, sample_input, trusted_by, untrusted
from tests.support.fakeopa import FakeOpaServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "rego.md"


def _documented_example() -> Any:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## The input document", 1)[1]
    match = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return json.loads(match.group(1))


FREE_FORM = {"claims", "labels", "annotations"}


def _shape(value: Any) -> Any:
    """Keys of objects, recursively; arrays by their first element. Not the values.

    The keys inside ``claims``, ``labels`` and ``annotations`` are data, not shape.
    """
    if isinstance(value, dict):
        return {k: None if k in FREE_FORM else _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return None


def test_document_has_the_documented_shape() -> None:
    built = sample_input(trusted_by("release"))

    assert _shape(built) == _shape(_documented_example())


def test_documented_fields_are_all_in_the_field_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    example = _documented_example()
    names = {f"`{k}`" for k in example if k != "image"}
    names |= {f"`image.{k}`" for k in example["image"]}
    names |= {f"`signatures[].{k}`" for k in example["signatures"][0]}

    assert [n for n in sorted(names) if n not in text] == []


def test_trusted_signature_fields() -> None:
    document = sample_input(trusted_by("release"))

    assert document["signatures"] == [
        {
            "trusted": True,
            "reason": None,
            "signer": RELEASE_FPR,
            "publicKeyID": "0x89abcdef01234567",
            "trustEntry": "release",
            "identity": "registry.example/shop/checkout:1.4",
            "digest": DIGEST,
            "created": "2024-05-01T12:00:00Z",
            "claims": {"type": "atomic container signature", "creator": "skopeo"},
        }
    ]


def test_unverified_signature_has_every_key_and_its_reason_class() -> None:
    document = sample_input(RegoSignature(trusted=False, reason=Reason.UNKNOWN_KEY))

    assert document["signatures"] == [
        {
            "trusted": False,
            "reason": "unknown-key",
            "signer": None,
            "publicKeyID": None,
            "trustEntry": None,
            "identity": None,
            "digest": None,
            "created": None,
            "claims": None,
        }
    ]


def test_image_without_workload_or_namespace() -> None:
    document = rego_input(
        reference="registry.example/app@" + DIGEST,
        resolved_reference="registry.example/app@" + DIGEST,
        digest=DIGEST,
        namespace=None,
        signatures=[],
    )

    assert document == {
        "image": {
            "reference": "registry.example/app@" + DIGEST,
            "resolvedReference": "registry.example/app@" + DIGEST,
            "digest": DIGEST,
        },
        "namespace": None,
        "workload": None,
        "signatures": [],
    }


def test_document_is_plain_json() -> None:
    document = sample_input(trusted_by("release"), untrusted("ci"))

    assert json.loads(json.dumps(document, allow_nan=False)) == document


def test_claims_are_copied_not_shared() -> None:
    claims: dict[str, Any] = {"optional": {"build": "42"}}
    document = sample_input(RegoSignature(trusted=True, claims=claims))
    claims["optional"]["build"] = "changed"

    assert document["signatures"][0]["claims"] == {"optional": {"build": "42"}}


@pytest.mark.parametrize(
    "claims",
    [{"when": object()}, {"score": float("nan")}],
    ids=["not-json-value", "nan"],
)
def test_claims_that_are_not_json_are_an_input_error(claims: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="signature claims are not a JSON object"):
        sample_input(RegoSignature(trusted=True, claims=claims))


async def test_server_receives_the_document_as_built(opa: FakeOpaServer) -> None:
    opa.register("sigpolicy/allow", lambda doc: True)
    document = sample_input(trusted_by("release"), untrusted("ci"))
    with OpaServerEvaluator(opa.url, "sigpolicy/allow") as evaluator:
        await evaluator.evaluate(document)

    assert opa.inputs("sigpolicy/allow") == [document]
