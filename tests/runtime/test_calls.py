"""Calling user code: lazy import, JSON checks, hashes, timeouts, tracebacks."""

from __future__ import annotations

import time

import pytest
from fermata.runtime import calls
from fermata.runtime.errors import CallTimeoutError, EvalError, UserCodeError
from fermata.runtime.values import NotJSON, json_copy

from tests.runtime import calls_fixture as fx

FX = "tests.runtime.calls_fixture"


def test_resolve_imports_once_and_caches() -> None:
    first = calls.resolve(f"{FX}:echo")
    assert first is fx.echo and calls.resolve(f"{FX}:echo") is first


def test_invoke_returns_a_checked_copy() -> None:
    data = {"a": [1, 2]}
    result = calls.invoke(f"{FX}:echo", [data], {})
    assert result == data and result is not data


def test_user_exceptions_are_wrapped_with_their_traceback() -> None:
    with pytest.raises(UserCodeError) as caught:
        calls.invoke(f"{FX}:boom", ["x"], {})
    assert caught.value.retryable and caught.value.type_name == "ValueError"
    assert "in _inner_boom" in caught.value.traceback


def test_non_json_values_are_named() -> None:
    with pytest.raises(NotJSON, match=r"the value\['k'\]\[1\] is a Python tuple"):
        json_copy({"k": [1, (2,)]})
    with pytest.raises(NotJSON, match="is a float"):
        json_copy(float("nan"))
    with pytest.raises(NotJSON, match="a key of"):
        json_copy({1: "x"})
    with pytest.raises(EvalError, match="its arguments"):
        calls.checked_args([object()], {}, "m:f")


def test_args_hash_is_canonical() -> None:
    assert calls.args_hash([{"b": 1, "a": 2}], {}) == calls.args_hash([{"a": 2, "b": 1}], {})
    assert calls.args_hash([1], {}) != calls.args_hash([1], {"k": 1})


def test_run_with_timeout() -> None:
    assert calls.run_with_timeout(lambda: 42, 1000, "w") == 42
    assert calls.run_with_timeout(lambda: 42, None, "w") == 42
    start = time.perf_counter()
    with pytest.raises(CallTimeoutError, match="w timed out after 20 ms"):
        calls.run_with_timeout(lambda: time.sleep(1), 20, "w")
    assert time.perf_counter() - start < 0.5
    with pytest.raises(KeyError):
        calls.run_with_timeout(lambda: {}["k"], 1000, "w")
