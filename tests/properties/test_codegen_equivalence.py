"""Property 7: a generated Python module behaves exactly as ``load()`` of its spec.

Generated flows (``model.py``) are printed, parsed, checked and lowered by the
real compiler, then written out by ``emit_python`` and imported. Driven to
the end with the same inputs and answers, the module's graph and a graph
built from the compiler's IR give the same events, checkpoints, pauses,
call counts and final state, and so does a run that switches between the
two on every call (each picks up the thread the other left).
"""

from __future__ import annotations

import pytest

import importlib.util
import itertools
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from fermata.compiler import compile_file, load
from fermata.compiler.codegen import emit_python
from fermata.runtime import Graph
from hypothesis import given, note

from .drive import Trace, drive
from .model import answers, flow_models, inputs
from .support import compile_model, loaded_graphs

# Property searches and subprocess runs: the full suite runs them, not the inner loop.
pytestmark = pytest.mark.slow

_names = itertools.count()


def _import(text: str, folder: Path) -> ModuleType:
    name = f"generated_flow_{next(_names)}"
    path = folder / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _module_graphs(module: ModuleType) -> Callable[[], Graph]:
    """Fresh graphs from the module's ``load()``, over one shared memory store."""
    first = module.load()
    return lambda: module.load(first.store)


def _alternating(module: ModuleType, spec: Path) -> Callable[[], Graph]:
    """Graphs from the module and from ``load()`` of the spec, in turn, over one store."""
    first = module.load()
    makers = itertools.cycle([lambda: load(spec, store=first.store), lambda: module.load(first.store)])
    return lambda: next(makers)()


def _same(left: Trace, right: Trace) -> None:
    assert left.events == right.events
    assert left.history == right.history
    assert left.pauses == right.pauses
    assert left.state == right.state and left.status == right.status == "done"
    assert left.hits == right.hits and left.once_hits == right.once_hits


@given(flow_models(), inputs, answers)
def test_the_generated_module_runs_as_load_of_the_spec(model, given_input, script):
    source, _ = compile_model(model)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        from_spec_graphs = loaded_graphs(source, folder, "memory:")  # writes the spec
        spec = folder / "generated.flow"
        ir = compile_file(spec)
        text = emit_python(ir)
        assert emit_python(ir) == text                  # the same bytes every time
        module = _import(text, folder)
        note(f"generated module:\n{text}")
        assert json.dumps(module.FLOW_IR) == json.dumps(ir["flows"]["generated"])
        assert module.SOURCE == spec.as_posix()

        from_spec = drive(from_spec_graphs, model, script, given_input)
        from_module = drive(_module_graphs(module), model, script, given_input)
        _same(from_module, from_spec)

        # A fresh graph per call, alternating between the two: every resume
        # is handled by another graph than the call before.
        mixed = drive(_alternating(module, spec), model, script, given_input, fresh_each_call=True)
        _same(mixed, from_spec)
