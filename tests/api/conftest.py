"""Fixtures of the api tests: realistic objects as `oc get -o yaml` prints them."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

DATA = Path(__file__).parent / "data"


def read_yaml(name: str) -> dict[str, Any]:
    """One document of ``data/``, freshly parsed so tests may mutate it."""
    loaded = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return copy.deepcopy(loaded)


@pytest.fixture
def load() -> Callable[[str], dict[str, Any]]:
    return read_yaml
