"""``emit_python``: one flow of an IR document as a Python module.

The module needs only ``fermata.runtime`` (no Lark, no compiler): it holds
typed declarations for the flow's state and named types, the flow's IR as
readable literal data, and ``load()``, which builds the same
:class:`~fermata.runtime.Graph` that ``fermata.compiler.load`` builds from
the `.flow` file. Each construct has its own Jinja2 template under
``templates/``; this module only chains them, checks that the IR holds
nothing the templates would silently drop, and records the line map
(``LINE_MAP`` and ``spec_line()`` in the module: which spec line each
generated line comes from, see ``linemap.py``).

The module's runs are the spec's runs: the same IR, hence the same IR hash,
so a thread started by ``fermata run`` can be resumed by the module and the
other way round, and every runtime error names the `.flow` file and line.

Same IR in, same bytes out: nothing here depends on time, paths on disk or
hash ordering. The output passes ``ruff check``, ``ruff format --check``
and ``mypy --strict`` (tests/compiler/codegen/test_emit.py).
"""

from __future__ import annotations

import textwrap
from functools import lru_cache
from typing import Any

import jinja2

from fermata.runtime.program import (
    ir_hash,  # the hash a run pins, computed one way only
)
from fermata.spec.ir import IR_VERSION
from fermata.spec.version import fermata_version as _version

from . import linemap
from .literals import INDENT, WIDTH, docstring, py_literal, py_string
from .pytypes import flow_types

_LINE_MAP_SLOT = "\x00LINE_MAP\x00"

# Every key each IR construct may hold (spec/IR.md). A key outside these
# would be dropped by the templates, so it is an error instead.
_FLOW_KEYS = {"name", "doc", "line", "defs", "fields", "input", "required_input", "output",
              "nodes", "routes", "joins", "interrupt_before", "interrupt_after", "children"}
_FIELD_KEYS = {"name", "schema", "has_default", "default", "optional", "line"}
_NODE_KEYS = {"name", "doc", "line", "retry", "backoff_ms", "timeout_ms", "steps", "for"}
_FOR_KEYS = {"var", "in", "key"}
_STEP_KEYS = {
    "let": {"name", "value"},
    "set": {"field", "op", "value", "check"},
    "call": {"target", "args", "kwargs", "once", "bind"},
    "interrupt": {"label", "payload", "schema", "bind", "where", "to", "within", "remind_every_ms"},
    "if": {"cond", "then", "else"},
    "fail": {"message"},
    "wait": {"label", "for_ms", "until"},
    "run": {"flow", "input", "bind"},
}
_ROUTE_KEYS = {"branches"}
_BRANCH_KEYS = {"when", "targets", "line"}
_JOIN_KEYS = {"sources", "target", "line"}


def emit_python(ir: dict[str, Any], *, flow: str | None = None) -> str:
    """The Python module of flow ``flow`` of ``ir`` (its only flow when None).

    Raises ValueError when the flow cannot be chosen or the IR is not one
    this generator knows (another version, unknown keys).
    """
    if not isinstance(ir, dict) or ir.get("fermata_ir") != IR_VERSION:
        raise ValueError(f"not a Fermata IR document of version {IR_VERSION}")
    flow_ir = _select(ir, flow)
    _check_flow(flow_ir)
    source = ir.get("source") or {}
    path = str(source.get("path") or "<unknown>")
    decls, typing_names, type_names = flow_types(flow_ir, path)
    env = _environment()
    text = env.get_template("module.py.j2").render(
        flow=flow_ir,
        source_path=path,
        source_sha256=str(source.get("sha256") or ""),
        version=_version(),
        ir_version=IR_VERSION,
        ir_hash=ir_hash(flow_ir),
        decls=decls,
        typing_imports=sorted(typing_names | {"Any"}),
        type_names=type_names,
        base=0,
        line_map_slot=_LINE_MAP_SLOT,
    )
    body, transitions = linemap.extract(text)
    head, slot, tail = body.partition(_LINE_MAP_SLOT)
    # Writing the map out moves the lines after it: none of them may be mapped.
    slot_line = head.count("\n") + 1
    if not slot or any(start > slot_line for start in transitions):
        raise AssertionError("module.py.j2 must end with the line map")
    return head + _packed(transitions) + tail


def _packed(line_map: dict[int, int]) -> str:
    """The line map as a dict literal, several entries per line: it is
    long, regular and read by ``spec_line``, not by people."""
    if not line_map:
        return "{}"
    lines, line = [], ""
    for start, spec in line_map.items():
        item = f"{start}: {spec},"
        if line and INDENT + len(line) + 1 + len(item) > WIDTH:
            lines.append(line)
            line = ""
        line = f"{line} {item}" if line else item
    lines.append(line)
    return "{\n" + "".join(" " * INDENT + text + "\n" for text in lines) + "}"


def _select(ir: dict[str, Any], flow: str | None) -> dict[str, Any]:
    flows = ir.get("flows")
    if not isinstance(flows, dict) or not flows:
        raise ValueError("the IR holds no flows")
    if flow is None:
        if len(flows) != 1:
            raise ValueError(f"the IR holds {len(flows)} flows ({', '.join(sorted(flows))}): "
                             "choose one")
        return next(iter(flows.values()))
    if flow not in flows:
        raise ValueError(f"no flow `{flow}` in the IR (it has: {', '.join(sorted(flows))})")
    return flows[flow]  # type: ignore[no-any-return]



# --------------------------------------------------------------------------
# Checking the IR's shape
# --------------------------------------------------------------------------


def _check_keys(obj: Any, allowed: set[str], where: str) -> None:
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected an object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)} "
                         "(is the IR newer than this code generator?)")


def _check_flow(flow: dict[str, Any]) -> None:
    _check_keys(flow, _FLOW_KEYS, "flow")
    for field in flow["fields"]:
        _check_keys(field, _FIELD_KEYS, f"field `{field.get('name')}`")
    for name, node in flow["nodes"].items():
        _check_keys(node, _NODE_KEYS, f"node `{name}`")
        if "for" in node:
            _check_keys(node["for"], _FOR_KEYS, f"node `{name}`, `for`")
        _check_steps(node["steps"], f"node `{name}`")
    for source, route in flow["routes"].items():
        _check_keys(route, _ROUTE_KEYS, f"route from `{source}`")
        for branch in route["branches"]:
            _check_keys(branch, _BRANCH_KEYS, f"route from `{source}`")
    for join in flow["joins"]:
        _check_keys(join, _JOIN_KEYS, "join")
    for child in flow.get("children", {}).values():   # the flows its `run` steps start
        _check_flow(child)


def _check_steps(steps: list[Any], where: str) -> None:
    for step in steps:
        kind = step.get("k") if isinstance(step, dict) else None
        if kind not in _STEP_KEYS:
            raise ValueError(f"{where}: unknown step kind {kind!r}")
        _check_keys(step, _STEP_KEYS[kind] | {"k", "line", "column"}, f"{where}, `{kind}` step")
        if kind == "if":
            _check_steps(step["then"], where)
            _check_steps(step["else"], where)


# --------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # Our own templates generating code from checked data: no sandbox needed
    # (nothing here renders user text as a template), but StrictUndefined so
    # a missing IR key is an error, never an empty string in the output.
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("fermata.compiler.codegen", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["py"] = _py_filter
    env.filters["docstring"] = _docstring_filter
    env.filters["comment"] = _comment_filter
    env.filters["plain"] = _plain
    env.globals.update(begin=linemap.begin, end=linemap.end, only=linemap.only,
                       assign=_assign, entry=_entry, steps=_steps, render=_render)
    return env


def _plain(text: Any) -> str:
    """``text`` escaped as inside a string literal, without the quotes: for comments."""
    return py_string(str(text))[1:-1]


@jinja2.pass_context
def _docstring_filter(context: Any, text: str, indent: int = 0) -> str:
    """``text`` as a docstring at ``indent`` columns into the current block."""
    return docstring(text.rstrip("\n"), indent, width=WIDTH - context["base"])


@jinja2.pass_context
def _comment_filter(context: Any, text: str, indent: int = 0) -> str:
    """``text`` as ``#`` comment lines (wrapped, escaped) at ``indent``."""
    room = max(WIDTH - context["base"] - indent - 2, 20)
    lines: list[str] = []
    for line in _plain(text).split("\\n"):
        lines += textwrap.wrap(line, room, break_long_words=False, break_on_hyphens=False) or [""]
    pad = " " * indent
    return "\n".join(f"{pad}# {line}".rstrip() if line else f"{pad}#" for line in lines)[indent:]


@jinja2.pass_context
def _assign(context: Any, target: str, value: Any) -> str:
    """``target = value`` as a statement of the current block."""
    head = f"{target} = "
    return head + py_literal(value, 0, width=WIDTH - context["base"], prefix=len(head))


@jinja2.pass_context
def _py_filter(context: Any, value: Any, indent: int = 0) -> str:
    """``value`` as a literal on a line indented ``indent`` within the current block."""
    return py_literal(value, indent, width=WIDTH - context["base"])


@jinja2.pass_context
def _entry(context: Any, key: str, value: Any, indent: int = INDENT) -> str:
    """``"key": value`` as a line of a dict literal, ``indent`` into the current block."""
    head = py_string(key) + ": "
    return head + py_literal(value, indent, width=WIDTH - context["base"], prefix=len(head) + 1)


@jinja2.pass_context
def _render(context: Any, construct: str, item: Any, indent: int = 0) -> str:
    """One construct through its template, for a place ``indent`` columns
    into the current block (the caller indents the result by as much)."""
    template = context.environment.get_template(f"{construct}.py.j2")
    text: str = template.render(item=item, base=context["base"] + indent)
    return text.rstrip("\n")


@jinja2.pass_context
def _steps(context: Any, steps: list[dict[str, Any]], indent: int = INDENT) -> str:
    """A list of steps, each through ``step_<kind>.py.j2``; the list's ``[``
    sits on a line ``indent`` columns into the current block."""
    if not steps:
        return "[]"
    inner = indent + INDENT
    pad = " " * inner
    rendered = [_render(context, f"step_{step['k']}", step, inner).replace("\n", "\n" + pad)
                for step in steps]
    return "[\n" + "".join(f"{pad}{text},\n" for text in rendered) + " " * indent + "]"
