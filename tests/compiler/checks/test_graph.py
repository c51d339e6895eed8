"""The graph pass: each code with a spec that triggers it and a near miss that
does not, the catalogue fixtures, and the examples (which must stay clean)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fermata.compiler.checks import declarations, graph, steps
from fermata.compiler.diagnostics.diagnostic import Diagnostic
from tests.compiler.checks.support import check_fixture, run_passes

REPO = Path(__file__).resolve().parents[3]
MY_PASSES = (declarations, graph, steps)


def run(text: str, passes=(graph,)) -> list[Diagnostic]:
    return run_passes(text, passes)


def codes(text: str) -> list[str]:
    return [d.code for d in run(text)]


def flow(edges: str, nodes: str = "a b c d", fields: str = "") -> str:
    """A flow with a counter field, the given nodes (each adds 1) and edges."""
    declared = "\n".join(f"    node {n} {{\n        set count += 1\n    }}" for n in nodes.split())
    extra = "\n".join(f"        {line.strip()}" for line in fields.strip().splitlines())
    return (f"flow f {{\n    state {{\n        count: int = 0\n        ok: bool = true\n{extra}\n    }}\n"
            f"{declared}\n" + textwrap.indent(textwrap.dedent(edges).strip(), "    ") + "\n}\n")


def only(text: str, code: str) -> Diagnostic:
    found = run(text)
    assert [d.code for d in found] == [code], found
    return found[0]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# --------------------------------------------------------------- edge ends


def test_unknown_node_in_an_edge_suggests_the_close_name():
    text = flow("start -> a\na -> bb\nb -> end", nodes="a b")
    d = run(text)[0]
    assert d.code == "F101" and d.help == "did you mean `b`?"
    assert d.span.line == line_of(text, "a -> bb")
    assert "`bb`" in d.message and d.labels


def test_unknown_end_is_suggested_as_end():
    d = only(flow("start -> a\na -> emd", nodes="a"), "F101")
    assert d.help == "did you mean `end`?"


def test_known_nodes_are_not_unknown():
    assert codes(flow("start -> a\na -> b\nb -> end", nodes="a b")) == []


def test_edge_from_end():
    text = flow("start -> a\na -> end\nend -> a", nodes="a")
    d = only(text, "F206")
    assert d.span.line == line_of(text, "end -> a")


def test_edge_into_start():
    text = flow("start -> a\na -> start", nodes="a")
    assert only(text, "F207").span.line == line_of(text, "a -> start")


def test_join_into_end_and_join_from_start():
    assert codes(flow("start -> a, b\na, b -> end", nodes="a b")) == ["F208"]
    assert codes(flow("start -> a\nstart, a -> b\nb -> end", nodes="a b")) == ["F208"]


def test_join_into_a_node_is_fine():
    assert codes(flow("start -> a, b\na, b -> c\nc -> end", nodes="a b c")) == []


def test_join_with_a_condition():
    assert "F215" in codes(flow("start -> a, b\na, b -> c when ok\nc -> end", nodes="a b c"))
    assert codes(flow("start -> a, b\na, b -> c\nc -> end when ok\nc -> end otherwise",
                      nodes="a b c")) == []


# ---------------------------------------------------------- routing groups


def test_mixed_conditional_and_unconditional_edges():
    text = flow("start -> a\na -> b when ok\na -> c\nb -> end\nc -> end", nodes="a b c")
    d = only(text, "F209")
    assert d.span.line == line_of(text, "a -> c")
    assert d.labels[0].span.line == line_of(text, "a -> b when ok")


def test_a_routing_group_and_a_join_may_share_a_source():
    text = flow("start -> a, d\na -> b when ok\na -> c otherwise\na, d -> c\nb -> end\nc -> end",
                nodes="a b c d")
    assert codes(text) == []


def test_otherwise_not_last():
    text = flow("start -> a\na -> c otherwise\na -> b when ok\nb -> end\nc -> end", nodes="a b c")
    d = only(text, "F210")
    assert d.span.line == line_of(text, "a -> c otherwise")


def test_otherwise_twice():
    text = flow("start -> a\na -> b when ok\na -> c otherwise\na -> b otherwise\nb -> end\nc -> end",
                nodes="a b c")
    d = only(text, "F210")
    assert d.span.line == line_of(text, "a -> b otherwise")
    assert "second" in d.message


def test_branch_after_always_true_condition():
    text = flow("start -> a\na -> b when true\na -> c when ok\na -> c otherwise\nb -> end\nc -> end",
                nodes="a b c")
    d = only(text, "F211")
    assert d.severity.value == "warning"
    assert d.span.line == line_of(text, "a -> c when ok")


def test_true_as_last_branch_is_exhaustive():
    assert codes(flow("start -> a\na -> b when ok\na -> c when true\nb -> end\nc -> end",
                      nodes="a b c")) == []


def test_routing_group_without_otherwise_warns():
    text = flow("start -> a\na -> b when ok\nb -> end", nodes="a b")
    assert only(text, "F212").severity.value == "warning"
    assert codes(flow("start -> a\na -> b when ok\na -> end otherwise\nb -> end", nodes="a b")) == []


def test_conditional_entry_is_allowed():
    text = flow("start -> a when ok\nstart -> b otherwise\na -> end\nb -> end", nodes="a b")
    assert codes(text) == []


# ------------------------------------------------------- static interrupts


def test_static_interrupt_on_unknown_node():
    text = flow("start -> a\na -> end\ninterrupt before aa", nodes="a")
    d = only(text, "F101")
    assert d.help == "did you mean `a`?"


def test_static_interrupt_listed_twice():
    text = flow("start -> a\na -> end\ninterrupt after a\ninterrupt after a", nodes="a")
    assert only(text, "F214").span.line == line_of(text, "interrupt after a") + 1
    # before and after the same node are two different pauses
    assert codes(flow("start -> a\na -> end\ninterrupt before a\ninterrupt after a", nodes="a")) == []


# ----------------------------------------------------- reachability, ends


def test_no_start_edge():
    text = flow("a -> end", nodes="a")
    d = only(text, "F200")
    assert d.span.line == 1


def test_unreachable_region_is_reported_once_at_its_entry():
    text = flow("start -> a\na -> end\nb -> c\nc -> end", nodes="a b c")
    d = only(text, "F201")
    assert "`b`" in d.message and "`c`" in d.notes[0]


def test_unreachable_cycle_is_reported_once():
    assert codes(flow("start -> a\na -> end\nb -> c\nc -> b when ok\nc -> end otherwise",
                      nodes="a b c")) == ["F201"]


def test_node_without_any_edge_is_one_error():
    text = flow("start -> a\na -> end", nodes="a b")
    d = only(text, "F201")
    assert "connect it" in (d.help or "")


def test_join_target_is_reachable_when_all_sources_are():
    assert codes(flow("start -> a, b\na, b -> c\nc -> end", nodes="a b c")) == []


def test_node_without_outgoing_edge():
    text = flow("start -> a\na -> b", nodes="a b")
    d = only(text, "F202")
    assert "`b`" in d.message


def test_cycle_without_exit_is_printed_as_a_chain():
    text = flow("start -> a\na -> b\nb -> c\nc -> a", nodes="a b c")
    d = only(text, "F203")
    assert "`a -> b -> c -> a`" in d.message
    assert {lab.message for lab in d.labels} == {"`b` is part of the cycle", "`c` is part of the cycle"}


def test_self_loop_without_exit():
    assert "`a -> a`" in only(flow("start -> a\na -> a", nodes="a"), "F203").message


def test_nodes_leading_into_a_closed_cycle_are_named_not_reported():
    d = only(flow("start -> a\na -> b\nb -> c\nc -> b", nodes="a b c"), "F203")
    assert "`b -> c -> b`" in d.message and "`a`" in d.notes[-1]


def test_loop_with_a_conditional_exit_is_fine():
    assert codes(flow("start -> a\na -> b\nb -> a when ok\nb -> end otherwise", nodes="a b")) == []


def test_loop_whose_exit_is_a_group_without_otherwise_only_warns():
    assert codes(flow("start -> a\na -> b\nb -> a when ok", nodes="a b")) == ["F212"]


def test_dead_end_is_not_reported_twice():
    # `b` has no outgoing edge: F202 only, `a` leading to it is not a dead end too.
    assert codes(flow("start -> a\na -> b", nodes="a b")) == ["F202"]


def test_unknown_target_does_not_cascade():
    assert codes(flow("start -> a\na -> x\nb -> end", nodes="a b")) == ["F101", "F201"]


# -------------------------------------------------------------- supersteps


CONFLICT_NODES = """
    node a {
        set status = "a"
    }
    node b {
        if ok {
            set status = "b"
        }
    }
"""


def conflict_flow(edges: str) -> str:
    return ("flow f {\n    state {\n        status: str = \"\"\n        ok: bool = true\n    }\n"
            + CONFLICT_NODES + textwrap.indent(textwrap.dedent(edges).strip(), "    ") + "\n}\n")


def test_fan_out_siblings_replacing_one_field():
    text = conflict_flow("start -> a, b\na -> end\nb -> end")
    d = only(text, "F205")
    assert d.severity.value == "warning"
    assert d.span.line == line_of(text, 'set status = "b"')
    assert d.labels[0].span.line == line_of(text, 'set status = "a"')
    assert "start -> {a, b}" in d.notes[0]


def test_siblings_in_a_later_superstep():
    text = conflict_flow("start -> a\na -> b\nb -> a when ok\nb -> end otherwise")
    assert codes(text) == []  # a and b alternate, never together
    text = conflict_flow("start -> a\nstart -> b\na -> end\nb -> end")
    assert codes(text) == ["F205"]


def test_alternative_branches_never_conflict():
    assert codes(conflict_flow("start -> a when ok\nstart -> b otherwise\na -> end\nb -> end")) == []


def test_descendants_at_equal_depth_conflict():
    text = ("flow f {\n    state {\n        status: str = \"\"\n    }\n"
            "    node p {\n        set status += \"p\"\n    }\n"
            "    node q {\n        set status += \"q\"\n    }\n"
            + CONFLICT_NODES.replace("if ok {", "if true {")
            + "    start -> p, q\n    p -> a\n    q -> b\n    a -> end\n    b -> end\n}\n")
    assert codes(text) == ["F205"]


def test_appends_never_conflict():
    text = conflict_flow("start -> a, b\na -> end\nb -> end").replace('set status = "', 'set status += "')
    assert codes(text) == []


def writes_flow(writes: dict[str, str], edges: str) -> str:
    """A flow whose nodes write the `log` list as given (`"a": "= [\"a\"]"`)."""
    nodes = "".join(f"    node {name} {{\n" + "".join(
        f"        set log {w.strip()}\n" for w in write.split(";")) + "    }\n"
        for name, write in writes.items())
    return ("flow f {\n    state {\n        log: list[str] = []\n        ok: bool = true\n    }\n"
            + nodes + textwrap.indent(textwrap.dedent(edges).strip(), "    ") + "\n}\n")


def test_replace_and_append_by_fan_out_siblings_is_an_error():
    # Issue #11, 7: writes apply in node-name order, so `reset` then `note`
    # keeps the note and `note` then `reset` loses it: the result depended
    # on the names and `check --strict` said nothing.
    text = writes_flow({"note": '+= ["n"]', "reset": '= ["r"]'},
                       "start -> note, reset\nnote -> end\nreset -> end")
    d = only(text, "F216")
    assert d.severity.value == "error"
    assert d.message == "`reset` replaces `log` while `note` adds to it, in one superstep"
    assert d.span.line == line_of(text, 'set log += ["n"]')
    assert d.labels[0].span.line == line_of(text, 'set log = ["r"]')
    assert "start -> {note, reset}" in d.notes[0]


def test_replace_and_append_by_the_sources_of_a_join_is_an_error():
    text = writes_flow({"a": '= ["a"]', "b": '+= ["b"]', "c": '+= ["c"]', "d": '+= ["d"]'},
                       "start -> a\nstart -> b\na, b -> c\nc -> d\nd -> end")
    assert codes(text) == ["F216"]
    # Nodes at equal depth below two siblings run together as well.
    text = writes_flow({"p": '+= ["p"]', "q": '+= ["q"]', "a": '= ["a"]', "b": '+= ["b"]'},
                       "start -> p, q\np -> a\nq -> b\na -> end\nb -> end")
    assert codes(text) == ["F216"]


def test_replace_and_append_in_separate_supersteps_or_branches_is_fine():
    assert codes(writes_flow({"a": '= ["a"]', "b": '+= ["b"]'},
                             "start -> a\na -> b\nb -> end")) == []
    assert codes(writes_flow({"a": '= ["a"]', "b": '+= ["b"]'},
                             "start -> a when ok\nstart -> b otherwise\na -> end\nb -> end")) == []
    # One node replacing then appending: its own steps run in order.
    assert codes(writes_flow({"a": '= ["a"]; += ["a2"]', "b": '+= ["b"]'},
                             "start -> a, b\na -> end\nb -> end")) == ["F216"]
    # Two replacements fail the run whatever is added: F205 says it.
    for a, b in [("a", "b"), ("b", "a")]:
        assert codes(writes_flow({a: '= ["a"]; += ["a2"]', b: '= ["b"]'},
                                 "start -> a, b\na -> end\nb -> end")) == ["F205"]
    assert codes(writes_flow({"a": '= ["a"]; += ["a2"]'}, "start -> a\na -> end")) == []


def test_every_node_of_a_mixed_write_is_named_once_not_every_pair():
    writes = {"a": '= ["a"]', "b": '= ["b"]', "c": '+= ["c"]', "d": '+= ["d"]'}
    found = run(writes_flow(writes, "start -> a, b, c, d\na -> end\nb -> end\nc -> end\nd -> end"))
    pairs = sorted((d.code, d.message.split("`")[1], d.message.split("`")[5]) for d in found)
    assert pairs == [("F205", "a", "log"), ("F216", "a", "c"), ("F216", "a", "d"), ("F216", "b", "c")]


def test_a_mixed_write_stops_compiling():
    from fermata.compiler.diagnostics.diagnostic import CompileError
    from fermata.compiler.pipeline import compile_source

    text = writes_flow({"note": '+= ["n"]', "reset": '= ["r"]'},
                       "start -> note, reset\nnote -> end\nreset -> end")
    with pytest.raises(CompileError, match="F216"):
        compile_source(text)


def test_a_join_source_looping_on_itself_is_a_warning():
    # Issue #11, 8: the join fires after the loop's first pass.
    text = flow("start -> a\na -> b, c\nb -> b when ok\nb -> end otherwise\nb, c -> d\nd -> end")
    d = only(text, "F217")
    assert d.severity.value == "warning"
    assert (d.span.line, d.span.column) == (line_of(text, "b, c -> d"), 5)
    assert d.notes[0] == "the loop: `b -> b`"
    assert d.message == "join source `b` loops back to itself without the join firing `d`"


def test_a_join_source_on_a_longer_loop_is_named_with_its_loop():
    text = flow("start -> a\na -> b, c\nb -> e\ne -> b when ok\ne -> end otherwise\nb, c -> d\nd -> end",
                nodes="a b c d e")
    d = only(text, "F217")
    assert d.notes[0] == "the loop: `b -> e -> b`"


def test_a_loop_through_the_join_is_fine():
    # The usual round: the join's target decides whether to go again.
    text = flow("start -> a\na -> b, c\nb, c -> d\nd -> a when ok\nd -> end otherwise")
    assert codes(text) == []
    # A source that loops only through the target: fine as well.
    text = flow("start -> a\na -> b, c\nb, c -> d\nd -> b when ok\nd -> end otherwise")
    assert "F217" not in codes(text)


def test_join_of_alternative_branches_never_fires():
    text = flow("start -> a\na -> b when ok\na -> c otherwise\nb, c -> d\nd -> end", nodes="a b c d")
    d = only(text, "F204")
    assert d.span.line == line_of(text, "b, c -> d")
    assert any("alternative branches" in note for note in d.notes)


def test_join_of_siblings_fires():
    assert codes(flow("start -> a\na -> b, c\nb, c -> d\nd -> end", nodes="a b c d")) == []


def test_join_of_nodes_on_one_path_across_steps_fires():
    # `b` runs one step after `a`: the join counts arrivals, not one superstep.
    assert codes(flow("start -> a\na -> b\na, b -> c\nc -> end", nodes="a b c")) == []


# -------------------------------------------------------- examples, fixtures


@pytest.mark.parametrize("path", sorted((REPO / "examples").glob("*.flow")), ids=lambda p: p.name)
def test_examples_are_clean(path: Path):
    assert run(path.read_text(encoding="utf-8"), MY_PASSES) == []


def fixture_cases(codes_table: dict[str, tuple[str, str]]):
    return [pytest.param(code, severity, title, id=code)
            for code, (severity, title) in sorted(codes_table.items())]


@pytest.mark.parametrize("code, severity, title", fixture_cases(graph.CODES))
def test_fixture(code: str, severity: str, title: str):
    check_fixture(code, severity, title, MY_PASSES)


def test_a_misspelt_target_is_reported_once_not_again_as_an_unreachable_node():
    from fermata.compiler.pipeline import analyze

    text = ("flow f {\n    node review {}\n    start -> reveiw\n    review -> end\n}\n")
    assert [(d.code, d.span.line) for d in analyze(text).diagnostics] == [("F101", 3)]


# --------------------------------------------------------------------------
# Termination (F203) against a brute-force reading of the rule
# --------------------------------------------------------------------------


def test_a_fan_out_that_includes_end_can_finish():
    # `a -> end` and `a -> a` schedule {end, a}: the run may end there.
    assert "F203" not in codes(flow("start -> a\na -> end\na -> a", nodes="a"))


_targets = st.sampled_from(["a", "b", "c", "end"])
_edges = st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sets(_targets, min_size=1, max_size=2),
                            st.sampled_from(["plain", "when", "otherwise"])), max_size=6)


def _stuck(edges: list[tuple[str, frozenset[str], str]]) -> set[str]:
    """Nodes reachable from `start` from which no choice of branches ever
    reaches `end` or a place where the run may stop (the rule F203 checks)."""
    routes: dict[str, list[tuple[frozenset[str], str]]] = {}
    for source, targets, kind in edges:
        routes.setdefault(source, []).append((frozenset(targets), kind))
    options: dict[str, list[frozenset[str]]] = {}
    for node in "abc":
        plain = frozenset().union(*(t for t, k in routes.get(node, []) if k == "plain"))
        branches = [plain | t for t, k in routes.get(node, []) if k != "plain"]
        # No branch taken is an option unless some branch is `otherwise`.
        exhaustive = any(k == "otherwise" for _, k in routes.get(node, []))
        options[node] = branches + ([] if exhaustive else [plain])
    ends = {n for n in "abc" if any("end" in o or not o - {"end"} for o in options[n])}
    finishing = set(ends)
    changed = True
    while changed:
        changed = False
        for node in "abc":
            if node not in finishing and any(t in finishing for o in options[node] for t in o):
                finishing.add(node)
                changed = True
    reached, frontier = {"a"}, ["a"]
    while frontier:
        for o in options[frontier.pop()]:
            for t in o - {"end"} - reached:
                reached.add(t)
                frontier.append(t)
    return reached - finishing


@given(_edges)
def test_cycles_are_reported_exactly_when_some_reachable_node_can_never_finish(edges):
    # One kind of edge per source and `otherwise` last, so no other error intervenes.
    kinds: dict[str, str] = {}
    lines = ["start -> a"]
    otherwise_seen: set[str] = set()
    kept = []
    for source, targets, kind in edges:
        group = "plain" if kind == "plain" else "routed"
        if kinds.setdefault(source, group) != group or source in otherwise_seen:
            continue
        if kind == "otherwise":
            otherwise_seen.add(source)
        guard = {"plain": "", "when": " when ok", "otherwise": " otherwise"}[kind]
        lines.append(f"{source} -> {', '.join(sorted(targets))}{guard}")
        kept.append((source, frozenset(targets), kind))
    found = run(flow("\n".join(lines), nodes="a b c"))
    in_cycles = {name for d in found if d.code == "F203" for name in re.findall(r"`(\w)`", d.message)
                 + re.findall(r"(?:^| -> )(\w)(?= ->|`)", d.message.split("`")[1])}
    stuck = _stuck(kept)
    assert bool(stuck) == any(d.code == "F203" for d in found)
    assert in_cycles <= stuck
