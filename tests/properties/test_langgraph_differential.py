"""Differential runs: the same generated flow on Fermata and on LangGraph.

Node entries (every node's first step is a counted call), the interrupts
surfaced at each pause, every plain call's count, and the final state must
agree. The translated subset leaves out `call once` and flip branches (see
``langgraph_flow.py``): LangGraph has no journal and no replay check.
"""

from __future__ import annotations

import pytest
from hypothesis import given

from .drive import drive
from .model import Answers, FlowModel, answers, flow_models, inputs
from .reference import Reference
from .support import compile_model, memory_graphs

pytest.importorskip("langgraph", reason="differential tests need the `langgraph` test extra")
from . import langgraph_flow  # noqa: E402

# Property searches and subprocess runs: the full suite runs them, not the inner loop.
pytestmark = pytest.mark.slow


@given(flow_models(once=False, fanouts="send"), inputs, answers)
def test_fermata_and_langgraph_agree(model, given_input, script):
    _, ir = compile_model(model)
    ours = drive(memory_graphs(ir), model, script, given_input)
    initial = Reference(model, script).initial_state(given_input)
    state, pauses, hits = langgraph_flow.drive(model, script, initial)
    assert [p for p in ours.pauses if p] == pauses
    assert dict(ours.hits) == dict(hits)
    assert ours.state == state


def test_an_empty_fan_out_still_fires_its_edges_where_langgraph_send_does_not():
    """Where the two differ: `Send` to no item runs no task, so nothing after
    the fan-out runs in LangGraph; Fermata documents that an empty list
    finishes at once and its edges fire (docs/guide/fan-out.md)."""
    from .model import Hit, NodeModel

    model = FlowModel((NodeModel("a", (Hit(0),), fan=(), send=True), NodeModel("b", (Hit(0),))),
                      ("a",), {"a": ("b",), "b": ("end",)})
    _, ir = compile_model(model, annotate=False)
    script = Answers((1,))
    ours = drive(memory_graphs(ir), model, script, {"seed": 1})
    assert ours.status == "done" and dict(ours.hits) == {("b", 0): 1}
    initial = Reference(model, script).initial_state({"seed": 1})
    _, _, hits = langgraph_flow.drive(model, script, initial)
    assert dict(hits) == {}   # LangGraph: `b` never runs
