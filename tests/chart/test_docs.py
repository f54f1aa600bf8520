"""docs/operations.md names the objects the chart really makes (for a release "sigpolicy")."""

from __future__ import annotations

import re
from pathlib import Path

from tests.chart.support import FULLNAME, ROOT, render

OPERATIONS = (ROOT / "docs" / "operations.md").read_text()


def test_break_glass_commands_name_the_rendered_webhook_configurations(
    helm: Path, workdir: Path
) -> None:
    rendered = {
        (m["kind"].lower(), m["metadata"]["name"])
        for m in render(helm, "mutating", workdir)
        if m["kind"].endswith("WebhookConfiguration")
    }
    named = set(re.findall(r"kubectl (?:delete|patch) (\w+webhookconfiguration) (\S+)", OPERATIONS))
    assert named == rendered


def test_objects_the_operations_docs_name_exist(helm: Path, workdir: Path) -> None:
    names = {(m["kind"], m["metadata"]["name"]) for m in render(helm, "recorder", workdir)}
    for kind, name in [
        ("Secret", f"{FULLNAME}-ca"),
        ("Secret", f"{FULLNAME}-tls"),
        ("ConfigMap", f"{FULLNAME}-config"),
        ("Deployment", FULLNAME),
    ]:
        assert (kind, name) in names
        assert name in OPERATIONS
    assert f"deployment/{FULLNAME}" in OPERATIONS
    assert f"`{FULLNAME}-recorder`" in OPERATIONS  # the Lease
