"""The containers/image fixture corpus in ../shared, with the outcomes its tests expect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "containers-image"


def expectations() -> dict[str, Any]:
    with (CORPUS / "expectations.yaml").open() as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    return loaded


def case_id(case: dict[str, Any]) -> str:
    target = case.get("identity") or case.get("reference") or ""
    key = case.get("keyring") or case.get("dir") or ""
    subject = case.get("signature", case.get("dir"))
    return f"{subject}|{key}|{target}|{case.get('reason', case['expect'])}"
