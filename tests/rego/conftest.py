"""A fake OPA server per test (tests/support/fakeopa.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fakeopa import FakeOpaServer


@pytest.fixture
def opa() -> Iterator[FakeOpaServer]:
    with FakeOpaServer() as server:
        yield server
