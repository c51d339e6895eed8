"""The line map: from generated lines back to the `.flow` source.

Every part of a generated module that comes from the spec (a field, a type
key, a node, a step, an edge, a join, the flow) maps back to its spec line,
and the runtime errors of a generated module's runs name the same spec
lines (and the `.flow` file) that ``load()`` of the spec names.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fermata.compiler import compile_source, load
from fermata.compiler.codegen import emit_python, linemap
from fermata.compiler.pipeline import compile_file

from .support import EXAMPLES, REPO, import_generated, kitchen_sink_ir

NAMES = sorted(path.stem for path in EXAMPLES.glob("*.flow"))

# ------------------------------------------------------------------ extract / lookup


def test_blocks_nest_and_a_line_takes_the_innermost_open_block():
    text = "\n".join([
        "head",
        f"node {{{linemap.begin(10)}",
        f"  step{linemap.only(11)}",
        f"  step {{{linemap.begin(12)}",
        "    inner",
        f"  }}{linemap.end()}",
        "  tail of node",
        f"}}{linemap.end()}",
        "foot",
    ])
    body, line_map = linemap.extract(text)
    assert "\x00" not in body
    assert body.splitlines()[1] == "node {"
    assert line_map == {2: 10, 3: 11, 4: 12, 7: 10, 9: 0}
    assert [linemap.lookup(line_map, n) for n in range(1, 10)] == [
        None, 10, 11, 12, 12, 12, 10, 10, None]


@pytest.mark.parametrize("text", [f"x{linemap.end()}", f"x{linemap.begin(3)}\ny"])
def test_unbalanced_markers_are_template_bugs(text):
    with pytest.raises(ValueError):
        linemap.extract(text)


# ------------------------------------------------------------------ generated modules


def _modules():
    for name in NAMES:
        ir = compile_file(EXAMPLES / f"{name}.flow")
        yield name, ir, emit_python(ir)
    yield "kitchen sink", kitchen_sink_ir(), emit_python(kitchen_sink_ir())


def test_every_part_from_the_spec_maps_back_to_its_spec_line(tmp_path):
    for name, ir, text in _modules():
        module = import_generated(text, tmp_path)
        lines = text.splitlines()
        checked = 0
        in_children = False
        for number, line in enumerate(lines, start=1):
            # A child run's flow (CHILDREN) is another flow's data, whose lines
            # are its own file's (or the `use` line's): not this module's map.
            if line.startswith("CHILDREN"):
                in_children = True
            elif line[:1] not in ("", " ", "}", "]", ")"):
                in_children = False
            if in_children:
                continue
            # Each construct's data holds its own spec line: `"line": N`.
            found = re.fullmatch(r'\s*"line": (\d+),', line)
            if found:
                assert module.spec_line(number) == int(found.group(1)), (name, number, line)
                assert linemap.lookup(module.LINE_MAP, number) == int(found.group(1))
                checked += 1
        flow = next(iter(ir["flows"].values()))
        constructs = (len(flow["fields"]) + len(flow["nodes"]) + len(flow["joins"]) + 1
                      + sum(len(r["branches"]) for r in flow["routes"].values())
                      + sum(_count_steps(n["steps"]) for n in flow["nodes"].values()))
        assert checked == constructs, name


def _count_steps(steps) -> int:
    return sum(1 + _count_steps(s.get("then", [])) + _count_steps(s.get("else", [])) for s in steps)


def test_state_type_keys_map_to_their_fields_and_the_rest_to_nothing(tmp_path):
    for name, ir, text in _modules():
        module = import_generated(text, tmp_path)
        flow = next(iter(ir["flows"].values()))
        field_lines = {f["name"]: f["line"] for f in flow["fields"]}
        lines = text.splitlines()
        state_class = next(i for i, line in enumerate(lines, 1)
                           if re.match(r"class \w+State\(TypedDict\):", line))
        for number in range(state_class + 1, state_class + 40):
            key = re.fullmatch(r"    (\w+): .+", lines[number - 1])
            if key and key.group(1) in field_lines:
                assert module.spec_line(number) == field_lines[key.group(1)], (name, number)
        # The header, the imports and the functions come from no spec line.
        for number, line in enumerate(lines, start=1):
            if line.startswith(("from ", "import ", "def ", '"""Flow')) or line == "IR: dict[str, Any] = {":
                assert module.spec_line(number) is None, (name, number, line)
        assert list(module.LINE_MAP) == sorted(module.LINE_MAP)


# ------------------------------------------------------------------ runtime errors

OOPS = '''\
flow oops {
    state {
        mode: str
        zero: int = 0
        flag: any
        out: float = 0.0
    }

    node divide {
        set out = 1 / zero
    }

    node shout {
        call "tests.runtime.calls_fixture:boom"("no")
    }

    node check {
        set out = 1.0
    }

    node stop {
        fail "stopped: {{ mode }}"
    }

    start -> divide when mode == "divide"
    start -> shout when mode == "shout"
    start -> check otherwise
    check -> stop when flag
    check -> end otherwise
    divide -> end
    shout -> end
    stop -> end
}
'''

# input -> (spec line, node, error kind, text marking the construct's generated lines)
FAILURES = [
    ({"mode": "divide"}, 10, "divide", "runtime", '"r": {"k": "field", "n": "zero"}'),
    ({"mode": "shout"}, 14, "shout", "user_code", '"target": "tests.runtime.calls_fixture:boom"'),
    ({"mode": "check", "flag": "yes"}, 28, "check", "runtime", '"when": {"k": "field", "n": "flag"}'),
    ({"mode": "check", "flag": True}, 22, "stop", "fail", '"k": "fail"'),
]


@pytest.mark.parametrize("given, line, node, kind, marker", FAILURES)
def test_a_runtime_error_of_a_generated_module_names_the_spec_line(tmp_path, monkeypatch, given,
                                                                   line, node, kind, marker):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(REPO))
    Path("oops.flow").write_text(OOPS, encoding="utf-8")
    module = import_generated(emit_python(compile_source(OOPS, "oops.flow")), tmp_path)

    run = module.load().invoke(given, thread="t")
    expected = load("oops.flow").invoke(given, thread="t")

    assert run.status == "failed"
    assert run.error["line"] == line and run.error["node"] == node and run.error["kind"] == kind
    assert run.error["path"] == "oops.flow"
    assert run.error == expected.error and run.events == expected.events
    if kind == "user_code":
        assert "_inner_boom" in run.error["traceback"] and "fermata" not in run.error["traceback"]
    # The generated lines holding the failing construct map to the same line.
    text = Path(module.__file__).read_text(encoding="utf-8").splitlines()
    hits = [n for n, text_line in enumerate(text, 1) if marker in text_line]
    assert hits and {module.spec_line(n) for n in hits} == {line}
