"""Property 6: the compiler's round trips over generated, valid flows."""

from __future__ import annotations

import dataclasses
import pytest

import json

import jsonschema
from fermata import spec
from fermata.compiler import compile_source
from fermata.compiler.syntax import ast
from fermata.compiler.syntax.parser import parse
from fermata.compiler.syntax.printer import print_module
from hypothesis import given, note
from hypothesis import strategies as st

from .model import flow_models, to_module

# Property searches and subprocess runs: the full suite runs them, not the inner loop.
pytestmark = pytest.mark.slow

_IR_SCHEMA = json.loads(spec.path("ir.schema.json").read_text(encoding="utf-8"))


@given(flow_models())
def test_parse_of_print_is_the_same_tree(model):
    module = to_module(model)
    text = print_module(module)
    note(text)
    parsed, diagnostics = parse(text, "generated.flow")
    assert not diagnostics
    assert parsed == module


@given(flow_models())
def test_compiling_twice_gives_identical_ir_that_follows_the_schema(model):
    text = print_module(to_module(model))
    note(text)
    first = json.dumps(compile_source(text, "generated.flow"), sort_keys=True)
    second = json.dumps(compile_source(text, "generated.flow"), sort_keys=True)
    assert first == second
    jsonschema.Draft202012Validator(_IR_SCHEMA).validate(json.loads(first))


# --------------------------------------------------------------------------
# Human-task clauses and `wait` (the flow model has none: they are added to
# its interrupts here, so the runtime properties' model stays as it is)
# --------------------------------------------------------------------------

_DURATIONS = ("90s", "30m", "12h", "2d", "500ms")


@st.composite
def _clauses(draw: st.DrawFn, interrupt: ast.Interrupt, bind: str | None, nodes: list[str]) -> ast.Interrupt:
    where, to, within, remind = None, (), None, None
    if bind is not None and interrupt.expect is not None and draw(st.booleans()):
        kind = interrupt.expect.name  # type: ignore[union-attr]  # the model's answers: int or str
        rule = (ast.Binary(">", ast.Name(bind), ast.Unary("-", ast.Literal(5))) if kind == "int"
                else ast.Binary("!=", ast.FuncCall("len", (ast.Name(bind),)), ast.Literal(99)))
        where = ast.Where(rule, draw(st.one_of(st.none(), st.text(max_size=8))))
    if draw(st.booleans()):
        to = tuple(draw(st.lists(st.sampled_from([ast.Literal("finance"), ast.Name("log"),
                                                  ast.ListExpr((ast.Literal("ops"),))]),
                                 min_size=1, max_size=3)))
    if draw(st.booleans()):
        ms = draw(st.sampled_from(["1d", "2d", "48h"]))
        if draw(st.booleans()):
            within = ast.Deadline(ast.Duration(ms), target=ast.Ref(draw(st.sampled_from([*nodes, "end"]))))
        else:
            kind = interrupt.expect.name if interrupt.expect is not None else "any"  # type: ignore[union-attr]
            answer = {"int": ast.Literal(0), "str": ast.Literal("expired")}.get(kind, ast.Literal(None))
            within = ast.Deadline(ast.Duration(ms), answer=answer)
    if draw(st.booleans()):
        remind = ast.Duration(draw(st.sampled_from(["1h", "12h", "90m"])))
    return dataclasses.replace(interrupt, where=where, to=to, within=within, remind_every=remind)


@st.composite
def _with_clauses(draw: st.DrawFn, module: ast.Module) -> ast.Module:
    """``module`` with random clauses on its interrupts and `wait` steps."""
    flow = module.items[0]
    assert isinstance(flow, ast.Flow)
    nodes = [n.name for n in flow.nodes]

    def steps(body: tuple[ast.Step, ...], waits: list[str]) -> tuple[ast.Step, ...]:
        out: list[ast.Step] = []
        for step in body:
            if isinstance(step, ast.Let) and isinstance(step.value, ast.Interrupt):
                step = dataclasses.replace(step, value=draw(_clauses(step.value, step.name, nodes)))
            elif isinstance(step, ast.Interrupt):
                step = draw(_clauses(step, None, nodes))
            elif isinstance(step, ast.If):
                step = dataclasses.replace(step, then=steps(step.then, waits), otherwise=None
                                           if step.otherwise is None else steps(step.otherwise, waits))
            out.append(step)
            if draw(st.integers(0, 4)) == 0:
                label = f"w{len(waits)}"
                waits.append(label)
                out.append(ast.Wait(label, duration=ast.Duration(draw(st.sampled_from(_DURATIONS))))
                           if draw(st.booleans()) else
                           ast.Wait(label, until=ast.Literal("2026-12-24T09:00:00Z")))
        return tuple(out)

    members = tuple(dataclasses.replace(m, steps=steps(m.steps, [])) if isinstance(m, ast.NodeDecl) else m
                    for m in flow.members)
    return ast.Module((dataclasses.replace(flow, members=members),))


@given(st.data())
def test_clauses_and_waits_print_parse_check_and_lower(data):
    module = data.draw(_with_clauses(to_module(data.draw(flow_models()))))
    text = print_module(module)
    note(text)
    parsed, diagnostics = parse(text, "generated.flow")
    assert not diagnostics
    assert parsed == module
    assert print_module(parsed) == text
    ir = compile_source(text, "generated.flow")   # checks clean, or raises
    jsonschema.Draft202012Validator(_IR_SCHEMA).validate(ir)
    steps = [s for node in ir["flows"]["generated"]["nodes"].values() for s in node["steps"]]
    written = sum(isinstance(s, ast.Wait) for n in module.items[0].nodes for s in n.all_steps)  # type: ignore[union-attr]
    assert sum(s["k"] == "wait" for s in _all_steps(steps)) == written


def _all_steps(steps: list[dict]) -> list[dict]:
    found = []
    for step in steps:
        found.append(step)
        if step["k"] == "if":
            found += _all_steps(step["then"]) + _all_steps(step["else"])
    return found
