"""Diagrams of IR flows (Mermaid, DOT) and IR expressions printed back as text."""

from __future__ import annotations

import copy
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from fermata.compiler.codegen.diagram import expr_to_text, to_dot, to_mermaid

REPO = Path(__file__).resolve().parents[3]


# ------------------------------------------------------------ IR helpers


def F(name: str) -> dict[str, Any]:
    return {"k": "field", "n": name}


def Lit(value: Any) -> dict[str, Any]:
    return {"k": "lit", "v": value}


def Bin(op: str, left: dict, right: dict) -> dict[str, Any]:
    return {"k": "bin", "op": op, "l": left, "r": right}


def Not(e: dict) -> dict[str, Any]:
    return {"k": "not", "e": e}


def Neg(e: dict) -> dict[str, Any]:
    return {"k": "neg", "e": e}


def node(name: str, line: int, steps: list | None = None) -> dict[str, Any]:
    return {"name": name, "doc": None, "line": line, "retry": 0, "backoff_ms": 0,
            "timeout_ms": None, "steps": steps or []}


def interrupt(label: str, line: int) -> dict[str, Any]:
    return {"k": "interrupt", "label": label, "payload": None, "schema": None, "bind": None,
            "line": line, "column": 9}


def branch(targets: list[str], when: dict | None = None, line: int = 1) -> dict[str, Any]:
    return {"when": when, "targets": targets, "line": line}


def flow_ir(**overrides: Any) -> dict[str, Any]:
    """The refund example's shape, by hand."""
    flow = {
        "name": "refund", "doc": None, "line": 1, "defs": {}, "fields": [], "input": [],
        "required_input": [], "output": [],
        "nodes": {
            "assess": node("assess", 10),
            "review": node("review", 20, [
                {"k": "if", "cond": F("ok"), "line": 21, "column": 9,
                 "then": [interrupt("approval", 22)], "else": [interrupt("second", 24)]}]),
            "pay": node("pay", 30),
            "reject": node("reject", 40),
        },
        "routes": {
            "start": {"branches": [branch(["assess"])]},
            "assess": {"branches": [branch(["review"], Bin(">", F("risk"), Lit(0.5))),
                                    branch(["pay"])]},
            "review": {"branches": [branch(["pay"], F("approved")), branch(["reject"])]},
            "pay": {"branches": [branch(["end"])]},
            "reject": {"branches": [branch(["end"])]},
        },
        "joins": [],
        "interrupt_before": ["pay"],
        "interrupt_after": ["reject"],
    }
    flow.update(overrides)
    return flow


# ------------------------------------------------------------ expressions


@pytest.mark.parametrize("ir, text", [
    (Lit(None), "null"),
    (Lit(True), "true"),
    (Lit(3), "3"),
    (Lit(0.5), "0.5"),
    (Lit(-2), "-2"),
    (Lit('say "hi"\n'), '"say \\"hi\\"\\n"'),
    ({"k": "tmpl", "src": "risk {{ risk }}"}, '"risk {{ risk }}"'),
    ({"k": "local", "n": "d"}, "d"),
    ({"k": "get", "o": {"k": "local", "n": "d"}, "n": "approved"}, "d.approved"),
    ({"k": "index", "o": F("log"), "i": Lit(0)}, "log[0]"),
    ({"k": "get", "o": Lit(1), "n": "x"}, "(1).x"),
    ({"k": "get", "o": Bin("??", F("d"), F("e")), "n": "x"}, "(d ?? e).x"),
    ({"k": "list", "items": [Lit(1), F("a")]}, "[1, a]"),
    ({"k": "record", "items": [["a", Lit(1)], ["not", Lit(2)], ["x y", Lit(3)]]},
     '{a: 1, "not": 2, "x y": 3}'),
    ({"k": "fn", "n": "round", "a": [F("x"), Lit(2)]}, "round(x, 2)"),
    (Bin("or", Bin("and", F("a"), F("b")), F("c")), "a and b or c"),
    (Bin("and", Bin("or", F("a"), F("b")), F("c")), "(a or b) and c"),
    (Bin("or", F("a"), Bin("or", F("b"), F("c"))), "a or (b or c)"),
    (Bin("-", Bin("-", F("a"), F("b")), F("c")), "a - b - c"),
    (Bin("-", F("a"), Bin("-", F("b"), F("c"))), "a - (b - c)"),
    (Bin("*", Bin("+", F("a"), F("b")), F("c")), "(a + b) * c"),
    (Bin("+", F("a"), Bin("*", F("b"), F("c"))), "a + b * c"),
    (Bin("==", Bin("==", F("a"), F("b")), F("c")), "(a == b) == c"),
    (Bin("??", F("a"), Bin("??", F("b"), F("c"))), "a ?? b ?? c"),
    (Bin("??", Bin("??", F("a"), F("b")), F("c")), "(a ?? b) ?? c"),
    (Bin("==", Bin("??", F("a"), Lit(0)), F("b")), "a ?? 0 == b"),
    (Bin("??", F("a"), Bin("+", F("b"), Lit(1))), "a ?? b + 1"),
    (Bin("+", Bin("??", F("a"), Lit(0)), Lit(1)), "(a ?? 0) + 1"),
    (Bin("in", Lit("x"), F("log")), '"x" in log'),
    (Not(F("ok")), "not ok"),
    (Not(Not(F("ok"))), "not not ok"),
    (Not(Bin("==", F("a"), F("b"))), "not (a == b)"),
    (Not(Bin("and", F("a"), F("b"))), "not (a and b)"),
    (Bin("and", Not(F("a")), F("b")), "not a and b"),
    (Bin("==", Not(F("a")), F("b")), "(not a) == b"),
    (Neg(F("a")), "-a"),
    (Neg(Bin("+", F("a"), F("b"))), "-(a + b)"),
    (Neg(Neg(F("a"))), "-(-a)"),
    (Neg(Lit(-3)), "-(-3)"),
    (Bin("*", Neg(F("a")), F("b")), "-a * b"),
    (Bin("-", F("a"), Lit(-3)), "a - -3"),
])
def test_expr_to_text(ir: dict, text: str):
    assert expr_to_text(ir) == text


def test_expr_to_text_rejects_what_is_not_an_expression():
    with pytest.raises(ValueError):
        expr_to_text({"k": "nope"})


# ------------------------------------------------------------ the picture


def test_mermaid_of_a_routing_flow():
    assert to_mermaid(flow_ir()) == textwrap.dedent("""\
        %% flow refund, drawn by `fermata graph`
        flowchart TD
            flow_start(["start"])
            n_assess["assess"]
            n_review["review<br/>⏸ approval<br/>⏸ second"]
            n_pay["⏸ before<br/>pay"]
            n_reject["reject<br/>⏸ after"]
            flow_end(["end"])
            flow_start --> n_assess
            n_assess -->|"risk #62; 0.5"| n_review
            n_assess -.->|"otherwise"| n_pay
            n_review -->|"approved"| n_pay
            n_review -.->|"otherwise"| n_reject
            n_pay --> flow_end
            n_reject --> flow_end
            classDef terminal fill:#eeeeee,stroke:#888888
            classDef join fill:#333333,stroke:#333333,color:#ffffff
            classDef paused stroke:#d9822b,stroke-width:3px
            class flow_start,flow_end terminal
            class n_review,n_pay,n_reject paused
        """)


def test_dot_of_a_routing_flow():
    text = to_dot(flow_ir())
    assert text.startswith('// flow refund, drawn by `fermata graph`\ndigraph "refund" {\n')
    assert text.endswith("}\n")
    assert '"n_review" [label="review\\n⏸ approval\\n⏸ second", color="#d9822b", penwidth=3];' in text
    assert '"n_pay" [label="⏸ before\\npay", color="#d9822b", penwidth=3];' in text
    assert '"n_assess" [label="assess"];' in text
    assert '"n_assess" -> "n_review" [label="risk > 0.5"];' in text
    assert '"n_assess" -> "n_pay" [label="otherwise", style=dashed];' in text
    assert '"flow_start" -> "n_assess";' in text
    assert '"n_pay" -> "flow_end";' in text


def test_a_join_is_a_box_of_its_own():
    flow = flow_ir(joins=[{"sources": ["review", "reject"], "target": "pay", "line": 50}])
    mermaid = to_mermaid(flow)
    assert '    join_1{{"join"}}' in mermaid
    assert "    n_review --> join_1\n    n_reject --> join_1\n    join_1 ==> n_pay\n" in mermaid
    assert "    class join_1 join\n" in mermaid
    dot = to_dot(flow)
    assert '"join_1" [label="join", shape=box' in dot
    assert '"n_review" -> "join_1";' in dot and '"join_1" -> "n_pay" [penwidth=2];' in dot


def test_competing_conditions_are_numbered_and_fan_out_repeats_the_label():
    routes = {
        "start": {"branches": [branch(["a"])]},
        "a": {"branches": [branch(["b", "c"], F("x")), branch(["end"], F("y"))]},
    }
    flow = flow_ir(nodes={n: node(n, i) for i, n in enumerate("abc", 1)}, routes=routes, joins=[],
                   interrupt_before=[], interrupt_after=[])
    text = to_mermaid(flow)
    assert '    n_a -->|"1: x"| n_b\n    n_a -->|"1: x"| n_c\n    n_a -->|"2: y"| flow_end\n' in text
    # No routing group without `otherwise` gets a dashed fallback, and nothing is paused.
    assert "-.->" not in text and "class n_" not in text


def test_labels_are_escaped():
    nasty = {"k": "tmpl", "src": 'a "q" <b> & # | ` \\N {{ x }}\nnext'}
    routes = {"start": {"branches": [branch(["a"])]},
              "a": {"branches": [branch(["end"], Bin("==", F("s"), nasty)), branch(["end"])]}}
    flow = flow_ir(nodes={"a": node("a", 1)}, routes=routes, interrupt_before=[], interrupt_after=[])
    mermaid = to_mermaid(flow)
    edge = next(line for line in mermaid.splitlines() if "-->|" in line)
    # Inside the label only entity codes: no raw quote, angle bracket, bar, backtick, newline.
    label = edge.split('-->|"', 1)[1].rsplit('"|', 1)[0]
    assert not set(label) & set('"<>|`&\n')
    assert "#34;" in label and "#60;b#62;" in label and "#35;" in label and "#124;" in label
    dot = to_dot(flow)
    edge = next(line for line in dot.splitlines() if '"n_a" -> "flow_end" [label=' in line)
    assert edge == ('    "n_a" -> "flow_end" [label="s == \\"a \\\\\\"q\\\\\\" <b> & # | ` '
                    '\\\\\\\\N {{ x }}\\\\nnext\\""];')


def test_node_names_that_look_like_the_terminals_do_not_clash():
    routes = {"start": {"branches": [branch(["flow_end"])]},
              "flow_end": {"branches": [branch(["end"])]}}
    flow = flow_ir(nodes={"flow_end": node("flow_end", 1)}, routes=routes,
                   interrupt_before=[], interrupt_after=[])
    text = to_mermaid(flow)
    assert "flow_start --> n_flow_end\n    n_flow_end --> flow_end\n" in text


def test_output_does_not_depend_on_dict_order():
    flow = flow_ir(joins=[{"sources": ["review", "reject"], "target": "pay", "line": 50}])
    shuffled = copy.deepcopy(flow)
    shuffled["nodes"] = dict(reversed(list(flow["nodes"].items())))
    shuffled["routes"] = dict(sorted(flow["routes"].items()))
    assert to_mermaid(shuffled) == to_mermaid(flow)
    assert to_dot(shuffled) == to_dot(flow)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graphviz_accepts_the_dot():
    nasty = {"k": "tmpl", "src": 'a "q" <b> \\N\nnext'}
    flow = flow_ir(joins=[{"sources": ["review", "reject"], "target": "pay", "line": 50}])
    flow["routes"]["review"]["branches"][0]["when"] = Bin("==", F("s"), nasty)
    done = subprocess.run(["dot", "-Tplain"], input=to_dot(flow), capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "s == " in done.stdout


# ------------------------------------------------------------ with the real compiler


def _compile(text: str) -> dict[str, Any]:
    from fermata.compiler.pipeline import compile_source

    return compile_source(textwrap.dedent(text), "t.flow")


CONDITION_FLOW = """\
flow f {
    state {
        a: int = 0
        b: int = 0
        c: int = 0
        ok: bool = true
        s: str = ""
        name: str?
        log: list[str] = []
    }
    node x {
        set a += 1
    }
    node y {
        set a += 2
    }
    start -> x
    x -> y when CONDITION
    x -> end otherwise
    y -> end
}
"""


def _condition_ir(condition: str) -> dict[str, Any]:
    ir = _compile(CONDITION_FLOW.replace("CONDITION", condition))
    return ir["flows"]["f"]["routes"]["x"]["branches"][0]["when"]


@pytest.mark.parametrize("condition", [
    "a > 0 and b > 0 or ok",
    "a > 0 and (b > 0 or ok)",
    "not (a == b)",
    "not ok and a > 1",
    "(a + b) * c > 10",
    "a - (b - c) >= a - b - c",
    "-a < -(b + c)",
    "a % 2 == 0",
    'len(log) > 0 and "x" in log',
    'contains(lower(s), "#") or startswith(s, "say \\"hi\\" <b>")',
    'name ?? "x" == s',
    "log[0] == s",
])
def test_conditions_print_back_as_the_source(condition: str):
    ir = _condition_ir(condition)
    text = expr_to_text(ir)
    assert text == condition
    assert _condition_ir(text) == ir


@pytest.mark.parametrize("condition", [
    '(name ?? "x") == s',
    "((a > 0))",
    "(not ok) and ok",
])
def test_redundant_parentheses_go_but_the_meaning_stays(condition: str):
    ir = _condition_ir(condition)
    assert _condition_ir(expr_to_text(ir)) == ir


@pytest.mark.parametrize("path", sorted((REPO / "examples").glob("*.flow")), ids=lambda p: p.name)
def test_every_example_draws(path: Path):
    from fermata.compiler.pipeline import compile_file

    for flow in compile_file(path)["flows"].values():
        mermaid = to_mermaid(flow)
        assert mermaid.startswith(f"%% flow {flow['name']}") and "flow_start -->" in mermaid
        for name, node in flow["nodes"].items():
            assert f"    n_{name}{'@{ shape: procs' if 'for' in node else '['}" in mermaid
        assert to_dot(flow).count("->") >= len(flow["nodes"])


def test_the_refund_example():
    from fermata.compiler.pipeline import compile_file

    flow = compile_file(REPO / "examples" / "refund.flow")["flows"]["refund"]
    text = to_mermaid(flow)
    assert '    n_review["review<br/>⏸ approval"]' in text
    assert '    n_pay["⏸ before<br/>pay"]' in text
    assert '    n_assess -->|"risk #62; 0.5 or amount #62; 100"| n_review' in text
    assert "    n_assess -.->|\"otherwise\"| n_pay" in text


# ------------------------------------------------------------ deadlines and timers


def _human_tasks() -> dict[str, Any]:
    from fermata.compiler import compile_file

    path = REPO / "tests" / "compiler" / "fixtures" / "human_tasks.flow"
    return compile_file(path)["flows"]["refund_review"]


def test_a_deadline_is_a_dashed_labelled_arrow_in_mermaid_and_dot():
    flow = _human_tasks()
    mermaid = to_mermaid(flow)
    assert '    n_review -.->|"within 48h"| n_escalate' in mermaid
    dot = to_dot(flow)
    assert '"n_review" -> "n_escalate" [label="within 48h", style=dashed, color="#d9822b"];' in dot


def test_timers_and_answering_deadlines_are_shown_in_the_box():
    mermaid = to_mermaid(_human_tasks())
    assert 'n_escalate["escalate<br/>⏸ escalation (within 1d)"]' in mermaid
    assert 'n_pay["pay<br/>⏱ cooling_off<br/>⏱ payday"]' in mermaid


@pytest.mark.parametrize("ms, text", [(172_800_000, "48h"), (86_400_000, "1d"), (7 * 86_400_000, "7d"),
                                      (90_000, "90s"), (1_500, "1500ms"), (1_800_000, "30m")])
def test_durations_are_written_as_the_source_would(ms, text):
    from fermata.compiler.codegen.diagram import duration_text

    assert duration_text(ms) == text
