"""Fixtures for the runtime tests: a JSON-backed memory store and fresh call counters."""

from __future__ import annotations

import pytest

from tests.runtime import calls_fixture
from tests.runtime.memstore import JsonMemoryStore
from tests.runtime.support import EXAMPLES


@pytest.fixture
def store() -> JsonMemoryStore:
    return JsonMemoryStore()


@pytest.fixture
def example_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples' Python packages importable, as for a flow run beside them."""
    monkeypatch.syspath_prepend(str(EXAMPLES))


@pytest.fixture(autouse=True)
def fresh_calls() -> None:
    calls_fixture.reset()
