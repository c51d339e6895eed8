"""Diagrams of one flow of the IR: Mermaid (:func:`to_mermaid`) and Graphviz
DOT (:func:`to_dot`), what ``fermata graph`` prints.

Both draw the same picture, built once by :func:`_layout`:

- ``start`` and ``end`` as rounded terminals; each node as a box;
- an unconditional edge as a plain arrow; a routing group's branches labelled
  with their condition (numbered when several conditions compete, since the
  first true one wins) and its ``otherwise`` branch dashed;
- a join ``a, b -> c`` as a join bar that every source leads into and that
  leads, thick, to the target;
- a fan-out node (`node N for X in LIST`) as a stack of boxes, its clause
  (`for X in LIST key K`) under its name: one instance per element;
- interrupts in the node's box: ``⏸ before`` / ``⏸ after`` for the static
  ``interrupt before/after`` of the flow, ``⏸ LABEL`` for each dynamic
  ``interrupt LABEL`` among the node's steps (``⏸ LABEL (within 1d)`` when
  its deadline answers by itself), ``⏱ LABEL`` for each ``wait``, and such
  nodes highlighted;
- a deadline ``within DUR -> NODE`` as a dashed arrow labelled ``within DUR``;
- a child run ``run FLOW {...}`` as a subroutine box ``run FLOW`` (one per
  child flow, Mermaid's ``[[...]]``, a double-bordered box in DOT) that the
  running node links to with a dotted arrow; the node is highlighted, as it
  pauses while the child does.

Conditions are printed back as source text by :func:`expr_to_text`, with
only the parentheses the grammar's precedence needs (plus a few for
readability, like ``not (a == b)``). Output is deterministic: nodes in
declaration order, routes in source order, escaping per format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..syntax import operators
from ..syntax.ast import KEYWORDS

PAUSE = "\u23f8"  # ⏸
TIMER = "\u23f1"  # ⏱

# --------------------------------------------------------------------------
# IR expressions -> source text
# --------------------------------------------------------------------------

# Binding strength (compiler/syntax/operators.py), loosest first: `or`,
# `and`, `not`, comparisons (not chained), `??` (right-associative), `+ -`,
# `* / %`, unary `-`, then member/index/call and atoms (one level here).
_NOT, _NEG, _ATOM = operators.PREFIX["not"], operators.PREFIX["-"], operators.ATOM
_BINARY = {op: power for op, (power, _) in operators.BINARY.items()}
_CMP_OPS = tuple(sorted(operators.COMPARISONS))
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def expr_to_text(expr: Mapping[str, Any]) -> str:
    """An IR expression as `.flow` source: ``{"k": "bin", "op": ">", ...}`` ->
    ``risk > 0.5``."""
    return _expr(expr)[0]


def _literal(value: Any) -> tuple[str, int]:
    if value is None:
        return "null", _ATOM
    if isinstance(value, bool):
        return ("true" if value else "false"), _ATOM
    if isinstance(value, (int, float)):
        text = repr(value)
        return text, (_NEG if text.startswith("-") else _ATOM)
    return _string(str(value)), _ATOM


def _string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _key(key: str) -> str:
    return key if _IDENTIFIER.fullmatch(key) and key not in KEYWORDS else _string(key)


def _postfix_operand(e: Mapping[str, Any]) -> str:
    text, strength = _expr(e)
    # `(1).x`: a number cannot take `.name` or `[i]` directly (`1.x` does not lex).
    value = e.get("v")
    number = e.get("k") == "lit" and isinstance(value, (int, float)) and not isinstance(value, bool)
    return f"({text})" if strength < _ATOM or number else text


def _expr(e: Mapping[str, Any]) -> tuple[str, int]:
    """The text of ``e`` and how strongly it binds."""
    kind = e.get("k")
    if kind == "lit":
        return _literal(e.get("v"))
    if kind == "tmpl":
        return _string(e["src"]), _ATOM
    if kind in ("field", "local"):
        return e["n"], _ATOM
    if kind == "list":
        return "[" + ", ".join(_expr(i)[0] for i in e["items"]) + "]", _ATOM
    if kind == "record":
        return "{" + ", ".join(f"{_key(k)}: {_expr(v)[0]}" for k, v in e["items"]) + "}", _ATOM
    if kind == "get":
        return f"{_postfix_operand(e['o'])}.{e['n']}", _ATOM
    if kind == "index":
        return f"{_postfix_operand(e['o'])}[{_expr(e['i'])[0]}]", _ATOM
    if kind == "fn":
        return f"{e['n']}(" + ", ".join(_expr(a)[0] for a in e["a"]) + ")", _ATOM
    if kind == "not":
        text, strength = _expr(e["e"])
        # `not a == b` parses as `not (a == b)`; say so rather than make the reader know.
        keep = strength >= _NEG or e["e"].get("k") == "not"
        return f"not {text if keep else f'({text})'}", _NOT
    if kind == "neg":
        text, strength = _expr(e["e"])
        # `-(-x)`, never `--x`
        return "-" + (f"({text})" if strength < _NEG or text.startswith("-") else text), _NEG
    if kind == "bin":
        op = e["op"]
        strength = _BINARY[op]
        left, left_strength = _expr(e["l"])
        right, right_strength = _expr(e["r"])
        # Left-associative, except `??` (right) and comparisons (not at all).
        if left_strength < strength or (left_strength == strength and op in ("??",) + _CMP_OPS):
            left = f"({left})"
        if right_strength < strength or (right_strength == strength and op != "??"):
            right = f"({right})"
        return f"{left} {op} {right}", strength
    raise ValueError(f"not an IR expression: {dict(e)!r}")


# --------------------------------------------------------------------------
# The picture, independent of the output format
# --------------------------------------------------------------------------

START_ID, END_ID = "flow_start", "flow_end"


@dataclass
class _Box:
    id: str
    lines: list[str]
    kind: str                 # "terminal" | "node" | "fanout" | "join" | "child"
    paused: bool = False      # has a static or dynamic interrupt


@dataclass
class _Arrow:
    source: str
    target: str
    label: str | None = None
    kind: str = "plain"       # "plain" | "when" | "otherwise" | "into_join" | "from_join" | "deadline" | "run"


@dataclass
class _Picture:
    name: str
    boxes: list[_Box] = field(default_factory=list)
    arrows: list[_Arrow] = field(default_factory=list)


def _node_id(name: str) -> str:
    # Prefixed, so no node can clash with the terminals or the joins, nor be
    # Mermaid's keyword `end`.
    if name == "start":
        return START_ID
    if name == "end":
        return END_ID
    return f"n_{name}"


def _pauses(steps: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Every dynamic interrupt and `wait` among ``steps``, in source order."""
    found: list[Mapping[str, Any]] = []
    for step in steps:
        if step.get("k") in ("interrupt", "wait"):
            found.append(step)
        elif step.get("k") == "if":
            found += _pauses(step.get("then", ()))
            found += _pauses(step.get("else", ()))
    return found


def _runs(steps: Iterable[Mapping[str, Any]]) -> list[str]:
    """The flows ``steps`` run (`run FLOW {...}`), each once, in source order."""
    found: list[str] = []
    for step in steps:
        if step.get("k") == "run":
            found.append(step["flow"])
        elif step.get("k") == "if":
            found += _runs(step.get("then", ()))
            found += _runs(step.get("else", ()))
    return list(dict.fromkeys(found))


def _child_id(flow: str) -> str:
    # `review.draft` -> `child_review__draft`: `.` is not part of a Mermaid id.
    return "child_" + flow.replace(".", "__")


def _pause_line(step: Mapping[str, Any]) -> str:
    if step["k"] == "wait":
        return f"{TIMER} {step['label']}"
    within = step.get("within")
    if within is not None and "answer" in within:
        return f"{PAUSE} {step['label']} (within {duration_text(within['ms'])})"
    return f"{PAUSE} {step['label']}"


_UNITS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))


def duration_text(ms: int) -> str:
    """Milliseconds as the source would write them: the largest whole unit,
    but hours below a week (people say `48h`, not `2d`)."""
    for unit, size in _UNITS:
        if ms % size == 0 and not (unit == "d" and ms < 7 * 86_400_000 and ms != 86_400_000):
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def _layout(flow: Mapping[str, Any]) -> _Picture:
    picture = _Picture(flow["name"])
    nodes: Mapping[str, Mapping[str, Any]] = flow.get("nodes", {})
    order = sorted(nodes, key=lambda n: (nodes[n].get("line", 0), n))
    before = set(flow.get("interrupt_before", ()))
    after = set(flow.get("interrupt_after", ()))

    picture.boxes.append(_Box(START_ID, ["start"], "terminal"))
    for name in order:
        lines = [f"{PAUSE} before"] if name in before else []
        lines.append(name)
        fan_out = nodes[name].get("for")
        if fan_out is not None:
            clause = f"for {fan_out['var']} in {expr_to_text(fan_out['in'])}"
            if fan_out.get("key") is not None:
                clause += f" key {expr_to_text(fan_out['key'])}"
            lines.append(clause)
        pauses = list(dict.fromkeys(_pause_line(step) for step in _pauses(nodes[name].get("steps", ()))))
        lines += pauses
        if name in after:
            lines.append(f"{PAUSE} after")
        children = _runs(nodes[name].get("steps", ()))
        picture.boxes.append(_Box(_node_id(name), lines, "node" if fan_out is None else "fanout",
                                  paused=bool(pauses) or bool(children) or name in before or name in after))
    picture.boxes.append(_Box(END_ID, ["end"], "terminal"))
    children_drawn: set[str] = set()
    for name in order:
        for child in _runs(nodes[name].get("steps", ())):
            if child not in children_drawn:
                children_drawn.add(child)
                picture.boxes.append(_Box(_child_id(child), [f"run {child}"], "child"))
            picture.arrows.append(_Arrow(_node_id(name), _child_id(child), None, "run"))

    routes: Mapping[str, Mapping[str, Any]] = flow.get("routes", {})
    rank = {name: i for i, name in enumerate(["start", *order])}
    for source in sorted(routes, key=lambda s: (rank.get(s, len(rank)), s)):
        branches = routes[source].get("branches", [])
        conditional = [b for b in branches if b.get("when") is not None]
        number = 0
        for branch in branches:
            if branch.get("when") is not None:
                number += 1
                label = expr_to_text(branch["when"])
                if len(conditional) > 1:
                    label = f"{number}: {label}"
                kind = "when"
            elif len(branches) > 1:  # a routing group's fallback
                label, kind = "otherwise", "otherwise"
            else:
                label, kind = None, "plain"
            for target in branch.get("targets", ()):
                picture.arrows.append(_Arrow(_node_id(source), _node_id(target), label, kind))

    for name in order:
        for step in _pauses(nodes[name].get("steps", ())):
            within = step.get("within")
            if within is not None and "goto" in within:
                picture.arrows.append(_Arrow(_node_id(name), _node_id(within["goto"]),
                                             f"within {duration_text(within['ms'])}", "deadline"))

    for i, join in enumerate(flow.get("joins", ()), 1):
        join_id = f"join_{i}"
        picture.boxes.append(_Box(join_id, ["join"], "join"))
        for source in join["sources"]:
            picture.arrows.append(_Arrow(_node_id(source), join_id, None, "into_join"))
        picture.arrows.append(_Arrow(join_id, _node_id(join["target"]), None, "from_join"))
    return picture


# --------------------------------------------------------------------------
# Mermaid
# --------------------------------------------------------------------------

# Mermaid's entity codes (`#34;`), in one pass so the `#` of a code is not
# escaped again. `<` `>` `&` would be HTML in a label, `"` would end it, `|`
# ends an edge label, a backtick starts a Markdown string.
_MERMAID = str.maketrans({'"': "#34;", "#": "#35;", "&": "#38;", "<": "#60;", ">": "#62;",
                          "`": "#96;", "|": "#124;"})


def _mermaid_text(lines: Iterable[str]) -> str:
    return "<br/>".join(_printable(line).translate(_MERMAID) for line in lines)


def _printable(text: str) -> str:
    """``text`` on one line: line breaks and control characters become spaces
    (a condition's string literal is already escaped by ``expr_to_text``)."""
    return "".join(" " if ch < " " or ch == "\x7f" else ch for ch in text)


# A fan-out is Mermaid's stacked rectangle ("procs", Mermaid 11.3 and later).
_MERMAID_SHAPES = {"terminal": '(["{}"])', "node": '["{}"]', "join": '{{{{"{}"}}}}', "child": '[["{}"]]',
                   "fanout": '@{{ shape: procs, label: "{}" }}'}
_MERMAID_ARROWS = {"plain": "-->", "when": "-->", "otherwise": "-.->", "into_join": "-->",
                   "from_join": "==>", "deadline": "-.->", "run": "-.-"}


def to_mermaid(flow: Mapping[str, Any]) -> str:
    """A Mermaid ``flowchart`` of one IR flow."""
    picture = _layout(flow)
    out = [f"%% flow {picture.name}, drawn by `fermata graph`", "flowchart TD"]
    for box in picture.boxes:
        out.append(f"    {box.id}" + _MERMAID_SHAPES[box.kind].format(_mermaid_text(box.lines)))
    for arrow in picture.arrows:
        label = f'|"{_mermaid_text([arrow.label])}"|' if arrow.label else ""
        out.append(f"    {arrow.source} {_MERMAID_ARROWS[arrow.kind]}{label} {arrow.target}")
    out.append("    classDef terminal fill:#eeeeee,stroke:#888888")
    out.append("    classDef join fill:#333333,stroke:#333333,color:#ffffff")
    out.append("    classDef paused stroke:#d9822b,stroke-width:3px")
    for kind, members in (("terminal", [b.id for b in picture.boxes if b.kind == "terminal"]),
                          ("join", [b.id for b in picture.boxes if b.kind == "join"]),
                          ("paused", [b.id for b in picture.boxes if b.paused])):
        if members:
            out.append(f"    class {','.join(members)} {kind}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# Graphviz DOT
# --------------------------------------------------------------------------


def _dot_string(text: str) -> str:
    """A DOT double-quoted string; a backslash is doubled so that DOT's own
    escapes (``\\N``, ``\\l``...) cannot be triggered by user text."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_label(lines: Iterable[str]) -> str:
    return "\\n".join(_dot_string(_printable(line))[1:-1] for line in lines)


_DOT_BOXES = {
    "terminal": 'shape=oval, style=filled, fillcolor="#eeeeee", color="#888888"',
    "node": "",
    "fanout": "shape=box3d",   # Graphviz has no stack; box3d reads as one
    "join": 'shape=box, style=filled, fillcolor="#333333", fontcolor="#ffffff", '
            "fontsize=9, height=0.2",
    "child": "shape=box, style=solid, peripheries=2",   # a subroutine: a double border
}
_DOT_ARROWS = {"plain": "", "when": "", "otherwise": "style=dashed", "into_join": "",
               "from_join": "penwidth=2", "deadline": 'style=dashed, color="#d9822b"',
               "run": "style=dotted, arrowhead=none"}


def _attributes(*parts: str) -> str:
    listed = [p for p in parts if p]
    return f" [{', '.join(listed)}]" if listed else ""


def to_dot(flow: Mapping[str, Any]) -> str:
    """A Graphviz ``digraph`` of one IR flow."""
    picture = _layout(flow)
    out = [f"// flow {picture.name}, drawn by `fermata graph`",
           f"digraph {_dot_string(picture.name)} {{",
           "    rankdir=TB;",
           '    node [shape=box, style=rounded, fontname="Helvetica"];',
           '    edge [fontname="Helvetica", fontsize=10];']
    for box in picture.boxes:
        paused = 'color="#d9822b", penwidth=3' if box.paused else ""
        out.append(f"    {_dot_string(box.id)}"
                   + _attributes(f'label="{_dot_label(box.lines)}"', _DOT_BOXES[box.kind], paused)
                   + ";")
    for arrow in picture.arrows:
        label = f'label="{_dot_label([arrow.label])}"' if arrow.label else ""
        out.append(f"    {_dot_string(arrow.source)} -> {_dot_string(arrow.target)}"
                   + _attributes(label, _DOT_ARROWS[arrow.kind]) + ";")
    out.append("}")
    return "\n".join(out) + "\n"
