"""Property 6: the compiler's round trips over generated, valid flows."""

from __future__ import annotations

import dataclasses
import json

import jsonschema
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from fermata import spec
from fermata.compiler import compile_source
from fermata.compiler.syntax import ast
from fermata.compiler.syntax.parser import parse
from fermata.compiler.syntax.printer import print_module

from .model import flow_models, to_module

# Property searches and subprocess runs: the full suite runs them, not the inner loop.
pytestmark = pytest.mark.slow

_IR_SCHEMA = json.loads(spec.path("ir.schema.json").read_text(encoding="utf-8"))


def _round_trip_and_lower(module: ast.Module) -> dict:
    """``module`` printed, parsed back to the same tree and the same text,
    then compiled (checks clean, or raises) to IR that follows the schema."""
    text = print_module(module)
    note(text)
    parsed, diagnostics = parse(text, "generated.flow")
    assert not diagnostics
    assert parsed == module
    assert print_module(parsed) == text
    ir = compile_source(text, "generated.flow")
    jsonschema.Draft202012Validator(_IR_SCHEMA).validate(ir)
    return ir


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
    ir = _round_trip_and_lower(module)
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


# --------------------------------------------------------------------------
# Child runs (`run FLOW {...}`) and `use` (the flow model has neither: a
# second generated flow, `child`, is added here, in the same file or in a
# second file the first imports, and `run` steps of it into the first)
# --------------------------------------------------------------------------


@st.composite
def _run_steps(draw: st.DrawFn, flow: str, counter: list[int]) -> list[ast.Step]:
    """A `run` of ``flow`` (the model's input: `seed`, required, and `total`),
    bare or bound and its output read."""
    seed = draw(st.sampled_from([ast.Name("total"), ast.Literal(3), ast.Binary("+", ast.Name("seed"),
                                                                               ast.Literal(1))]))
    entries = [ast.RecordEntry("seed", seed)]
    if draw(st.booleans()):
        entries.append(ast.RecordEntry("total", ast.Literal(draw(st.integers(0, 9)))))
    run = ast.Run(flow, ast.RecordExpr(tuple(entries)))
    if draw(st.booleans()):
        return [run]
    counter[0] += 1
    local = f"child_{counter[0]}"
    use = draw(st.sampled_from([ast.Set("total", "+=", ast.Member(ast.Name(local), "total")),
                                ast.Set("log", "+=", ast.Member(ast.Name(local), "log"))]))
    return [ast.Let(local, run), use]


@st.composite
def _with_runs(draw: st.DrawFn, parent: ast.Flow, child: str) -> tuple[ast.Flow, int]:
    """``parent`` with `run child {...}` steps put among its nodes' steps
    (inside `if` branches too); and how many."""
    counter, written = [0], [0]

    def steps(body: tuple[ast.Step, ...]) -> tuple[ast.Step, ...]:
        out: list[ast.Step] = []
        for step in body:
            if isinstance(step, ast.If):
                step = dataclasses.replace(step, then=steps(step.then), otherwise=None
                                           if step.otherwise is None else steps(step.otherwise))
            out.append(step)
            if draw(st.integers(0, 2)) == 0:
                out += draw(_run_steps(child, counter))
                written[0] += 1
        return tuple(out)

    members = tuple(dataclasses.replace(m, steps=steps(m.steps)) if isinstance(m, ast.NodeDecl) else m
                    for m in parent.members)
    if not written[0]:   # at least one
        first = next(i for i, m in enumerate(members) if isinstance(m, ast.NodeDecl))
        node = members[first]
        assert isinstance(node, ast.NodeDecl)
        node = dataclasses.replace(node, steps=(*node.steps, *draw(_run_steps(child, counter))))
        members = (*members[:first], node, *members[first + 1:])
        written[0] = 1
    return dataclasses.replace(parent, members=members), written[0]


def _runs_in_ir(steps: list[dict]) -> int:
    return sum(s["k"] == "run" for s in _all_steps(steps))


def _without_positions(value):
    if isinstance(value, dict):
        return {k: _without_positions(v) for k, v in value.items() if k not in ("line", "column", "name")}
    if isinstance(value, list):
        return [_without_positions(v) for v in value]
    return value


@given(st.data())
def test_runs_print_parse_check_and_lower_with_the_child_inside(data):
    child = to_module(data.draw(flow_models(max_nodes=3)), "child").items[0]
    parent = to_module(data.draw(flow_models(max_nodes=3))).items[0]
    assert isinstance(child, ast.Flow) and isinstance(parent, ast.Flow)
    parent, written = data.draw(_with_runs(parent, "child"))
    items = (child, parent) if data.draw(st.booleans()) else (parent, child)
    module = ast.Module(items)
    ir = _round_trip_and_lower(module)
    lowered = ir["flows"]["generated"]
    assert lowered["children"] == {"child": ir["flows"]["child"]}
    assert "children" not in ir["flows"]["child"]
    assert sum(_runs_in_ir(n["steps"]) for n in lowered["nodes"].values()) == written


@given(st.data())
def test_a_used_file_brings_its_flow_in_for_run_by_name_or_namespace(data):
    import tempfile
    from pathlib import Path

    from fermata.compiler import compile_file

    child = to_module(data.draw(flow_models(max_nodes=3)), "child")
    alias = data.draw(st.sampled_from([None, "lib"]))
    name = "child" if alias is None else "lib.child"
    parent, written = data.draw(_with_runs(to_module(data.draw(flow_models(max_nodes=3))).items[0], name))
    module = ast.Module((ast.Use("shared/child.flow", alias), parent))
    text = print_module(module)
    note(text)
    parsed, diagnostics = parse(text, "main.flow")
    assert not diagnostics and parsed == module
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "shared").mkdir()
        (Path(folder) / "shared" / "child.flow").write_text(print_module(child), encoding="utf-8")
        (Path(folder) / "main.flow").write_text(text, encoding="utf-8")
        ir = compile_file(Path(folder) / "main.flow")   # checks clean, or raises
        alone = compile_file(Path(folder) / "shared" / "child.flow")
    jsonschema.Draft202012Validator(_IR_SCHEMA).validate(ir)
    assert list(ir["flows"]) == ["generated"]   # imported flows are only children
    lowered = ir["flows"]["generated"]
    assert list(lowered["children"]) == [name]
    assert lowered["children"][name]["name"] == name
    # The same flow as compiled on its own (its positions are the `use` line's).
    assert _without_positions(lowered["children"][name]) == _without_positions(alone["flows"]["child"])
    assert sum(_runs_in_ir(n["steps"]) for n in lowered["nodes"].values()) == written
