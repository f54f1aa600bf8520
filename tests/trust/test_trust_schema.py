"""The trust file's JSON Schema, and docs/trust-store.md kept in step with it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from sigpolicy.trust.document import parse_trust_document
from sigpolicy.trust.schema import trust_store_json_schema

DOCS = Path(__file__).resolve().parents[2] / "docs" / "trust-store.md"


def _objects(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [schema, *schema["$defs"].values()]


def test_schema_refuses_unknown_fields_everywhere() -> None:
    schema = trust_store_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert sorted(schema["required"]) == ["apiVersion", "entries", "kind"]
    for definition in _objects(schema):
        assert definition["additionalProperties"] is False, definition["title"]


def test_schema_documents_the_pin_pattern() -> None:
    key = trust_store_json_schema()["$defs"]["TrustKeySpec"]["properties"]["publicKeyID"]
    assert key["pattern"] == "^(0[xX])?[0-9A-Fa-f]{16,40}$"


def test_docs_name_every_field_of_the_schema() -> None:
    text = DOCS.read_text()
    for definition in _objects(trust_store_json_schema()):
        for field in definition["properties"]:
            assert f"`{field}`" in text, field


def test_docs_example_is_a_valid_trust_file() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    examples = [block for block in blocks if "kind: TrustStore" in block]
    assert examples
    for example in examples:
        spec = parse_trust_document(yaml.safe_load(example), origin="docs")
        assert spec.entries
