"""Run one scenario against a flow in a fresh process and print what happened as JSON.

    python scenario_runner.py spec      examples/refund.flow  SCENARIO.json STORE [FIRST [STOP]]
    python scenario_runner.py generated /tmp/x/refund_flow.py SCENARIO.json STORE [FIRST [STOP]]

``spec`` builds the graph with ``fermata.compiler.load``; ``generated``
imports a module written by ``fermata compile --target python`` with
``fermata.compiler`` and ``lark`` blocked from import, so the module can only
work if it needs nothing but ``fermata.runtime``. Both run the calls
``FIRST:STOP`` of the scenario, in a process of their own (the example call
targets keep module-level state, such as payments made), and print the same
record, so a test can compare the two byte for byte.

A scenario is a JSON list of calls ``{"thread", "api": "invoke" | "stream",
"input" | "resume" | "update"/"goto" | "continue"}``. Each call's record holds
the run (status, state, output, interrupts, error, events) or the error it
was rejected with; the record ends with every thread's history.

Not a test module: ``tests/compiler/codegen/test_generated_equivalence.py``
runs it.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import json
import sys
from typing import Any

_BLOCKED = ("fermata.compiler", "lark")


class _Blocker(importlib.abc.MetaPathFinder):
    """Refuses to import the compiler and the parser library."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if any(name == blocked or name.startswith(blocked + ".") for blocked in _BLOCKED):
            raise ImportError(f"`{name}` is blocked: a generated module must need only fermata.runtime")


def _graph(mode: str, path: str, store: str) -> Any:
    if mode == "spec":
        from fermata.compiler import load

        return load(path, store=store)
    if mode != "generated":
        raise SystemExit(f"unknown mode {mode!r}")
    sys.meta_path.insert(0, _Blocker())
    spec = importlib.util.spec_from_file_location("generated_flow", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["generated_flow"] = module
    spec.loader.exec_module(module)
    return module.load(store)


def _payload(call: dict[str, Any]) -> Any:
    from fermata.runtime import Command

    if "input" in call:
        return call["input"]
    if "resume" in call:
        return Command(resume=call["resume"])
    if "update" in call or "goto" in call:
        return Command(update=call.get("update"), goto=call.get("goto"))
    return None  # "continue": pass static interrupts, retry failed nodes


def run_call(graph: Any, call: dict[str, Any]) -> dict[str, Any]:
    """One call of a scenario, as plain data."""
    from fermata.runtime import FermataError

    thread = call["thread"]
    try:
        if call.get("api") == "stream":
            events = list(graph.stream(_payload(call), thread=thread))
            run = graph.state(thread)
            return {"events": events, "run": run.as_dict()}
        run = graph.invoke(_payload(call), thread=thread)
        return {"run": run.as_dict()}
    except FermataError as exc:
        return {"rejected": type(exc).__name__, "message": str(exc)}


def run(mode: str, path: str, scenario: list[dict[str, Any]], store: str,
        first: int = 0, stop: int | None = None) -> dict[str, Any]:
    graph = _graph(mode, path, store)
    calls = scenario[first:stop]
    results = [run_call(graph, call) for call in calls]
    threads = sorted({call["thread"] for call in calls})
    history = {thread: [s.as_dict() for s in graph.history(thread)] for thread in threads}
    return {
        "flow": graph.name,
        "ir_hash": graph.ir_hash,
        "results": results,
        "history": history,
        "imported": sorted(b for b in _BLOCKED if b in sys.modules),
    }


def main(argv: list[str]) -> None:
    mode, path, scenario_file, store = argv[:4]
    first = int(argv[4]) if len(argv) > 4 else 0
    stop = int(argv[5]) if len(argv) > 5 else None
    with open(scenario_file, encoding="utf-8") as handle:
        scenario = json.load(handle)
    # The test suite's frozen clock (tests/conftest.py): recorded times match.
    from fermata.runtime.clock import FakeClock, set_default_clock

    set_default_clock(FakeClock())
    record = run(mode, path, scenario, store, first, stop)
    sys.stdout.write(json.dumps(record, sort_keys=True, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
