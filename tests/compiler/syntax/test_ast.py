"""The syntax tree's own behaviour: child iteration, walks, cached views."""

from __future__ import annotations

from fermata.compiler.syntax import ast
from fermata.compiler.syntax.parser import parse_or_raise

SPEC = """
flow f {
    state { x: int = 0 }
    node a {
        let v = 1
        if x > 0 {
            set x = v
            if x > 1 { fail "deep" } else { set x = 2 }
        } else {
            set x += 1
        }
        set x = 3
    }
    start -> a
    a -> end
}
"""


def _node() -> ast.NodeDecl:
    return parse_or_raise(SPEC).flows[0].nodes[0]


def _describe(step: ast.Node) -> str:
    if isinstance(step, ast.Set):
        return f"set {step.field} {step.op}"
    return type(step).__name__


def test_all_steps_lists_nested_steps_in_source_order():
    assert [_describe(s) for s in _node().all_steps] == [
        "Let", "If", "set x =", "If", "Fail", "set x =", "set x +=", "set x ="]


def test_walk_is_depth_first_in_source_order_and_skips_spans():
    node = _node()
    walked = list(node.walk())
    assert walked[0] is node
    assert all(isinstance(n, ast.Node) for n in walked)
    starts = [n.span.start for n in walked if isinstance(n, (ast.Let, ast.If, ast.Set, ast.Fail))]
    assert starts == sorted(starts)
    assert len(walked) == len({id(n) for n in walked})


def test_child_list_holds_nodes_only():
    flow = parse_or_raise(SPEC).flows[0]
    assert flow.child_list() == list(flow.members)
    assert all(isinstance(c, ast.Node) for c in flow.nodes[0].child_list())


def test_flow_views_are_computed_once():
    flow = parse_or_raise(SPEC).flows[0]
    assert flow.nodes is flow.nodes and flow.edges is flow.edges
    assert [e.targets[0].name for e in flow.edges] == ["a", "end"]


def test_spans_are_ordered_named_tuples():
    first, second = ast.Span(1, 1, 1, 4, 0, 3), ast.Span(2, 1, 2, 2, 10, 11)
    assert first < second and first.cover(second) == ast.Span(1, 1, 2, 2, 0, 11)
    assert repr(first) == "Span(line=1, column=1, end_line=1, end_column=4, start=0, end=3)"
