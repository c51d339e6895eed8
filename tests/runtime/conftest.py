"""Fixtures for the runtime tests: a JSON-backed memory store and fresh call counters."""

from __future__ import annotations

import pytest

from tests.runtime import calls_fixture
from tests.runtime.memstore import JsonMemoryStore


@pytest.fixture
def store() -> JsonMemoryStore:
    return JsonMemoryStore()


@pytest.fixture(autouse=True)
def fresh_calls() -> None:
    calls_fixture.reset()
