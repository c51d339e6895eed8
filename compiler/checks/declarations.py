"""Declaration checks: names declared twice, repeated blocks, `input`/`output`
lists, fields nothing ever sets, flows without nodes.

Codes F100–F119, listed in :data:`CODES` (F101, an unknown node, is reported
by ``graph.py``).

Duplicates are reported at the second declaration with a label at the first,
so the first one stays the declaration every later pass uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..diagnostics import codes
from ..diagnostics.diagnostic import DiagnosticSink, Label, Suggestions
from ..syntax import ast
from .context import CheckContext

# Every code this pass reports: severity and catalogue title.
CODES = codes.reported_by(codes.DECLARATIONS)  # the registry's view: compiler/diagnostics/codes.py


def check(context: CheckContext) -> None:
    sink, module = context.sink, context.module
    _duplicates(sink, "F100", "flow", ((f.name, _name_span(f)) for f in module.flows))
    _duplicates(sink, "F102", "type", ((t.name, _name_span(t)) for t in module.types))
    for flow in module.flows:
        _check_flow(sink, flow)


def _check_flow(sink: DiagnosticSink, flow: ast.Flow) -> None:
    _duplicates(sink, "F103", "node", ((n.name, _name_span(n)) for n in flow.nodes),
                where=f" in flow `{flow.name}`")
    _duplicates(sink, "F104", "state field", ((f.name, _name_span(f)) for f in flow.state_fields),
                where=f" in flow `{flow.name}`")
    _repeated_block(sink, "F105", "state", flow.state_blocks, flow.name,
                    "move these fields into the first `state` block")
    inputs = tuple(m for m in flow.members if isinstance(m, ast.InputList))
    outputs = tuple(m for m in flow.members if isinstance(m, ast.OutputList))
    _repeated_block(sink, "F106", "input", inputs, flow.name,
                    "list every input in the first `input` line")
    _repeated_block(sink, "F107", "output", outputs, flow.name,
                    "list every output in the first `output` line")
    field_names = [f.name for f in flow.state_fields]
    for block in inputs:
        _check_field_list(sink, "F108", "input", block.names, field_names, flow.name)
    for output in outputs:
        _check_field_list(sink, "F109", "output", output.names, field_names, flow.name)
    _never_given(sink, flow, inputs)
    if not flow.nodes:
        sink.error("F112", f"flow `{flow.name}` has no nodes", _name_span(flow),
                   help="add a node, e.g. `node work { ... }`, and the edges `start -> work` "
                        "and `work -> end`")


# --------------------------------------------------------------------------
# Duplicates and repeated blocks
# --------------------------------------------------------------------------


def _duplicates(sink: DiagnosticSink, code: str, kind: str,
                named: Iterable[tuple[str, ast.Span]], where: str = "") -> None:
    first: dict[str, ast.Span] = {}
    for name, span in named:
        if name not in first:
            first[name] = span
            continue
        sink.error(code, f"{kind} `{name}` is declared twice{where}", span,
                   labels=[Label(first[name], f"`{name}` first declared here")],
                   help=f"rename or remove one of the two declarations of `{name}`")


def _repeated_block(sink: DiagnosticSink, code: str, keyword: str,
                    blocks: Sequence[ast.Node], flow: str, help: str) -> None:
    for extra in blocks[1:]:
        sink.error(code, f"flow `{flow}` has more than one `{keyword}`", _keyword_span(extra, keyword),
                   labels=[Label(_keyword_span(blocks[0], keyword), f"first `{keyword}` here")],
                   help=help)


def _check_field_list(sink: DiagnosticSink, code: str, keyword: str, refs: Sequence[ast.Ref],
                      fields: Sequence[str], flow: str) -> None:
    seen: dict[str, ast.Span] = {}
    known = set(fields)
    suggestions: Suggestions | None = None   # one index for every unknown name of the list
    for ref in refs:
        if ref.name not in known:
            if suggestions is None:
                suggestions = Suggestions(fields)
            meant = suggestions.closest(ref.name)
            sink.error(code, f"unknown field `{ref.name}` in `{keyword}`", ref.span,
                       labels=[],
                       help=f"did you mean `{meant}`?" if meant
                       else f"declare `{ref.name}` in the `state` block of flow `{flow}`")
        elif ref.name in seen:
            sink.warning("F110", f"field `{ref.name}` is listed twice in `{keyword}`", ref.span,
                         labels=[Label(seen[ref.name], "first listed here")],
                         help=f"remove the second `{ref.name}`")
        seen.setdefault(ref.name, ref.span)


# --------------------------------------------------------------------------
# Required fields nothing provides
# --------------------------------------------------------------------------


def _never_given(sink: DiagnosticSink, flow: ast.Flow, inputs: Sequence[ast.InputList]) -> None:
    """A required field (no default, not `T?`) that no caller may give and no
    node sets starts as null and breaks the first read of it.

    Without an `input` list every field is an input, so nothing to report.
    The argument-less `call "m:f"` may return an update for any field, so a
    flow holding one is given the benefit of the doubt.
    """
    if not inputs:
        return
    given = {ref.name for block in inputs for ref in block.names}
    steps = [step for node in flow.nodes for step in node.all_steps]
    if any(isinstance(step, ast.Call) and step.args is None for step in steps):
        return
    set_somewhere = {step.field for step in steps if isinstance(step, ast.Set)}
    for field in flow.state_fields:
        if field.default is not None or _is_optional(field.type):
            continue
        if field.name in given or field.name in set_somewhere:
            continue
        sink.warning("F111", f"required field `{field.name}` is never given a value",
                     _name_span(field),
                     notes=[f"`{field.name}` has no default, is not an input and no node sets it, "
                            "so it starts as null"],
                     help=f"add `{field.name}` to `input`, give it a default "
                          f"(`{field.name}: T = ...`) or make it optional (`T?`)")


def _is_optional(type_node: ast.Type) -> bool:
    # `any` admits null, so it is as optional as `T?` (lowering agrees).
    return isinstance(type_node, ast.OptionalType) or (
        isinstance(type_node, ast.NamedType) and type_node.name == "any")


# --------------------------------------------------------------------------
# Spans
# --------------------------------------------------------------------------


def _name_span(node: ast.Flow | ast.TypeDecl | ast.NodeDecl | ast.StateField) -> ast.Span:
    """The name's own span when the parser recorded it, else the whole node's."""
    return node.name_span.or_else(node.span)


def _keyword_span(node: ast.Node, keyword: str) -> ast.Span:
    """The leading keyword of a block (`state`, `input`, `output`): blocks start
    with it, so its span is the first ``len(keyword)`` characters of theirs."""
    span = node.span
    if not span.line:
        return span
    return ast.Span(span.line, span.column, span.line, span.column + len(keyword),
                    span.start, span.start + len(keyword))
