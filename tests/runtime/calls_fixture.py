"""Instrumented functions for ``call "tests.runtime.calls_fixture:fn"``.

Each records its calls in ``CALLS`` so a test can prove which steps ran
again on a replay and which did not.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from fermata.runtime import call_context, idempotency_key

CALLS: Counter[str] = Counter()
LOG: list[tuple[str, tuple[Any, ...]]] = []
FLAKY: dict[str, int] = {}   # key -> failures still to raise


def reset() -> None:
    CALLS.clear()
    LOG.clear()
    FLAKY.clear()


def _record(name: str, *args: Any) -> None:
    CALLS[name] += 1
    LOG.append((name, args))


def echo(value: Any) -> Any:
    _record("echo", value)
    return value


def tick(name: str) -> int:
    """Counts calls per ``name``; returns how many so far."""
    _record(f"tick:{name}", name)
    return CALLS[f"tick:{name}"]


def double(x: int) -> int:
    _record("double", x)
    return x * 2


def pay(amount: float) -> dict[str, Any]:
    _record("pay", amount)
    return {"receipt": f"R-{CALLS['pay']}", "amount": amount}


def greet(name: str, punctuation: str = "!") -> str:
    _record("greet", name, punctuation)
    return f"hello {name}{punctuation}"


def flaky(key: str) -> str:
    """Raises while ``FLAKY[key]`` is positive (counting down), then succeeds."""
    _record("flaky", key)
    if FLAKY.get(key, 0) > 0:
        FLAKY[key] -= 1
        raise ConnectionError(f"{key} is down")
    return f"{key} ok"


def boom(message: str) -> None:
    _record("boom", message)
    _inner_boom(message)


def _inner_boom(message: str) -> None:
    raise ValueError(message)


def slow(ms: int) -> str:
    _record("slow", ms)
    time.sleep(ms / 1000)
    return "slow done"


def not_json() -> Any:
    _record("not_json")
    return {1, 2}


def mutate(items: list[Any]) -> int:
    """Tries to change its argument in place: must not reach the state."""
    _record("mutate", items)
    items.append("mutated")
    return len(items)


def updates(state: dict[str, Any]) -> dict[str, Any] | None:
    """The state-in form: returns field updates."""
    _record("updates", state.get("x"))
    return {"x": state["x"] * 10, "note": "updated"}


def bad_updates(state: dict[str, Any]) -> dict[str, Any]:
    _record("bad_updates")
    return {"x": "not an int", "nope": 1}


def slow_first(ms: int) -> str:
    """Sleeps ``ms`` on its first call only."""
    _record("slow_first", ms)
    if CALLS["slow_first"] == 1:
        time.sleep(ms / 1000)
    return "fast enough"


GATES: dict[str, Any] = {}   # key -> threading.Event a `wait_for` call blocks on


def wait_for(key: str) -> str:
    """Blocks until the test sets ``GATES[key]`` (a timeout test needs no clock)."""
    _record("wait_for", key)
    GATES[key].wait(30)
    return key


def lone_surrogate() -> str:
    """A str Python allows and UTF-8 (so JSON text, so any store) does not."""
    return "half of a pair: \ud800"


def boom_with_surrogate() -> None:
    raise ValueError("cannot decode \udcff")


# A process that dies at a named point (tests/runtime/test_once_durability.py,
# test_fanout.py): `call "tests.runtime.calls_fixture:crash"("where")` raises
# Crash when "where" is ARMED; `keys` records the call context it ran in.

class Crash(BaseException):
    """The process dies here (nothing after it runs, no checkpoint is written)."""


ARMED: list[str] = []
SEEN: list[Any] = []


def crash(where: str) -> str:
    if where in ARMED:
        ARMED.remove(where)
        raise Crash(where)
    return where


def keys(tag: str) -> str | None:
    """Records the call context it runs in."""
    SEEN.append((tag, call_context(), idempotency_key()))
    if f"in:{tag}" in ARMED:
        ARMED.remove(f"in:{tag}")
        raise Crash(tag)
    return idempotency_key()
