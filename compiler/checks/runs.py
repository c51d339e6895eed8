"""Child runs: `run FLOW {input}` names a flow and gives it an input.

This pass reports the names (F141, a flow no declaration or `use` brings
in) and the cycles (F142, a flow that runs itself through other flows: the
runs would nest without end). The type checker asks :func:`check_input` for
the input and the value of `let r = run ...` (the child's output record),
through the flow's :func:`signature`.

A flow is visible to `run` when the file declares it or a `use` brings it
in (`draft`, or `review.draft` for `use "..." as review`). A cycle through
other files cannot occur: a file cannot import the file importing it
(F114), so every cycle lies within the flows of one file.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from ..diagnostics import codes
from ..diagnostics.diagnostic import DiagnosticSink, did_you_mean
from ..semantics import inference as I
from ..semantics import types as T
from ..syntax import ast
from .context import CheckContext

# Every code this pass (and the type checker, through `check_input`) reports.
CODES = codes.reported_by(codes.RUNS)  # the registry's view: compiler/diagnostics/codes.py


def run_of(step: ast.Step) -> ast.Run | None:
    """The child run a step starts, if any (`run ...` or `let r = run ...`)."""
    if isinstance(step, ast.Run):
        return step
    if isinstance(step, ast.Let) and isinstance(step.value, ast.Run):
        return step.value
    return None


def runs_in(flow: ast.Flow) -> Iterator[ast.Run]:
    """Every `run` of ``flow``, those inside `if` and `else` too, in source order."""
    for node in flow.nodes:
        for step in node.all_steps:
            run = run_of(step)
            if run is not None:
                yield run


def visible_flows(module: ast.Module) -> dict[str, ast.Flow]:
    """The flows a `run` in ``module`` may name: imported ones, then the file's
    own (a name declared twice is F100's or F115's; the file's own wins)."""
    return {flow.name: flow for flow in (*module.imported_flows, *module.flows)}


def check(context: CheckContext) -> None:
    sink, module = context.sink, context.module
    flows = visible_flows(module)
    succ = {name: [run.flow for run in runs_in(flow) if run.flow in flows] for name, flow in flows.items()}
    for flow in module.flows:
        for run in runs_in(flow):
            if run.flow not in flows:
                _unknown_flow(sink, run, flows)
                continue
            back = _path(run.flow, flow.name, succ)
            if back is not None:
                chain = " -> ".join([flow.name, *back])
                sink.error("F142", f"`run` cycle between flows: {chain}", _span(run),
                           notes=["each run would start another before finishing: the runs would nest "
                                  "without end"],
                           help="break the cycle: move the shared steps into a flow that runs none of these")


def _span(run: ast.Run) -> ast.Span:
    return run.flow_span.or_else(run.span)


def _unknown_flow(sink: DiagnosticSink, run: ast.Run, flows: Mapping[str, ast.Flow]) -> None:
    namespace, dot, _name = run.flow.rpartition(".")
    if dot and not any(name.startswith(namespace + ".") for name in flows):
        sink.error("F141", f"unknown flow `{run.flow}`: no `use \"...\" as {namespace}` brings it in", _span(run),
                   help=f"import the file that declares it: `use \"path/to/file.flow\" as {namespace}`")
        return
    sink.error("F141", f"unknown flow `{run.flow}`", _span(run),
               help=did_you_mean(run.flow, flows)
               or "declare it in this file, or bring it in with `use \"path/to/file.flow\"`")


def _path(start: str, goal: str, succ: Mapping[str, list[str]]) -> list[str] | None:
    """The shortest chain of runs ``start -> ... -> goal``, or None."""
    previous: dict[str, str] = {start: start}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        if current == goal:
            chain = [current]
            while chain[-1] != start:
                chain.append(previous[chain[-1]])
            return chain[::-1]
        for following in succ.get(current, ()):
            if following not in previous:
                previous[following] = current
                queue.append(following)
    return None


# --------------------------------------------------------------------------
# Input and output types
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """What a flow takes and gives as a child run."""

    name: str
    fields: dict[str, T.FType]    # every state field, by name
    inputs: tuple[str, ...]       # the fields its input may set (`input`, default all)
    required: tuple[str, ...]     # those without a default that may not be null
    output: T.RecordT             # its output record (`output`, default all fields)


def signature(flow: ast.Flow, named: Mapping[str, T.FType]) -> Signature:
    fields: dict[str, T.FType] = {}
    defaults: set[str] = set()
    for f in flow.state_fields:
        if f.name not in fields:   # a duplicate is F104's; the first counts
            fields[f.name] = T.resolve(f.type, named)
            if f.default is not None:
                defaults.add(f.name)
    inputs = tuple(dict.fromkeys(r.name for r in flow.inputs.names if r.name in fields)) \
        if flow.inputs else tuple(fields)
    outputs = tuple(dict.fromkeys(r.name for r in flow.outputs.names if r.name in fields)) \
        if flow.outputs else tuple(fields)
    required = tuple(n for n in inputs if n not in defaults and not T.is_optional(fields[n])
                     and fields[n] != T.ANY)
    return Signature(flow.name, fields, inputs, required, T.RecordT(tuple((n, fields[n]) for n in outputs)))


def check_input(sink: DiagnosticSink, run: ast.Run, child: Signature, checker: I.Inferer) -> T.RecordT:
    """Check ``run``'s input against ``child`` (F332 for a field it does not
    take or a required one left out, F300 for a value of the wrong type);
    the child's output record, the value of `let r = run ...`."""
    given: set[str] = set()
    checker._duplicate_keys(run.input)   # F132, as in any record
    for entry in run.input.entries:
        if entry.key not in child.inputs:
            checker.infer(entry.value)
            if entry.key in child.fields:
                why = f"`{entry.key}` is a state field of flow `{child.name}` but not in its `input` list"
                help = f"add `{entry.key}` to `input` in flow `{child.name}`, or leave it out here"
            else:
                why = f"flow `{child.name}` has no input field `{entry.key}`"
                help = did_you_mean(entry.key, child.inputs) or (
                    "its input fields are " + ", ".join(f"`{n}`" for n in child.inputs)
                    if child.inputs else f"flow `{child.name}` takes no input: write `{{}}`")
            sink.error("F332", why, entry.span, help=help)
            continue
        given.add(entry.key)
        checker.expect(entry.value, child.fields[entry.key], "F300",
                       f"input field `{entry.key}` of flow `{child.name}`")
    missing = [n for n in child.required if n not in given]
    if missing:
        listed = ", ".join(f"`{n}`" for n in missing)
        sink.error("F332", f"`run {child.name}` is missing required input {listed}", run.input.span,
                   notes=[f"flow `{child.name}` gives {'these fields' if len(missing) > 1 else 'it'} "
                          "no default and no null"],
                   help="add " + ", ".join(f"`{n}: ...`" for n in missing) + " to the input record")
    return child.output
