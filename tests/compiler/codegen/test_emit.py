"""``emit_python`` and ``fermata compile --target python``: one readable,
importable, lint-clean, type-clean module per flow, the same bytes every time."""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fermata.compiler import CompileError, compile_source
from fermata.compiler.cli.main import main as fermata
from fermata.compiler.codegen import emit_python
from fermata.compiler.pipeline import compile_file
from fermata.runtime import FermataError
from fermata.runtime.program import ir_hash

from .support import (
    EXAMPLES,
    NAMES,
    REPO,
    compile_examples,
    import_generated,
    kitchen_sink_ir,
    mypy_strict,
    ruff,
)


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every example as ``fermata compile examples/X.flow --target python -o
    X_flow.py`` writes it from the repository root, plus the kitchen sink."""
    folder = tmp_path_factory.mktemp("modules")
    out = compile_examples(folder)
    out["sink"] = folder / "sink_flow.py"
    out["sink"].write_text(emit_python(kitchen_sink_ir()), encoding="utf-8")
    return out


def _other_specs() -> list[Path]:
    """Every other spec of the repository that compiles (fixtures, and the
    diagnostic catalogue's warning examples): odd corners real code has."""
    found = []
    for path in sorted([*(REPO / "spec").rglob("*.flow"), *(REPO / "tests").rglob("*.flow")]):
        try:
            compile_file(path)
        except CompileError:
            continue
        found.append(path)
    return found


@pytest.fixture(scope="module")
def other_modules(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("other")
    out = []
    for number, path in enumerate(_other_specs()):
        ir = compile_file(path)
        for name in ir["flows"]:
            out.append(folder / f"spec{number}_{name}.py")
            out[-1].write_text(emit_python(ir, flow=name), encoding="utf-8")
    return out


# ------------------------------------------------------------------ determinism


@pytest.mark.slow
def test_the_same_spec_gives_the_same_bytes_in_every_process(modules, monkeypatch):
    """Two runs of the CLI in fresh processes with different hash seeds write
    byte-identical modules, identical to what this process generates."""
    monkeypatch.chdir(REPO)
    program = ("import hashlib, sys\n"
               "from fermata.compiler.codegen import emit_python\n"
               "from fermata.compiler.pipeline import compile_file\n"
               "for name in sys.argv[1:]:\n"
               "    text = emit_python(compile_file(f'examples/{name}.flow'))\n"
               "    print(name, hashlib.sha256(text.encode()).hexdigest())\n")
    digests = []
    for seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-c", program, *NAMES], cwd=REPO, check=True,
                              capture_output=True, text=True, env={"PYTHONHASHSEED": seed, "PATH": ""})
        digests.append(done.stdout)
    here = "".join(f"{name} {hashlib.sha256(modules[name].read_bytes()).hexdigest()}\n"
                   for name in NAMES)
    assert digests[0] == digests[1] == here


def test_emitting_twice_and_printing_to_stdout_give_the_same_text(modules, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    for name in NAMES:
        first = emit_python(compile_file(f"examples/{name}.flow"))
        second = emit_python(compile_file(f"examples/{name}.flow"))
        assert first == second == modules[name].read_text(encoding="utf-8")
        assert fermata(["compile", f"examples/{name}.flow", "--target", "python"]) == 0
        assert capsys.readouterr().out == first


# ------------------------------------------------------------------ what the module holds


@pytest.mark.parametrize("name", NAMES)
def test_the_header_names_the_source_and_its_hash(modules, name):
    text = modules[name].read_text(encoding="utf-8")
    source = f"examples/{name}.flow"
    digest = hashlib.sha256((REPO / source).read_bytes()).hexdigest()
    docstring = ast.get_docstring(ast.parse(text))
    assert docstring is not None
    assert f"Source: {source}\nSHA-256: {digest}\n" in docstring
    assert f"fermata compile {source} --target python" in docstring
    assert f'SOURCE = "{source}"\nSOURCE_SHA256 = "{digest}"\n' in text


@pytest.mark.parametrize("name", [*NAMES, "sink"])
def test_the_module_needs_only_typing_and_the_runtime(modules, name):
    tree = ast.parse(modules[name].read_text(encoding="utf-8"))
    imported = set()
    for statement in ast.walk(tree):
        if isinstance(statement, ast.Import):
            imported |= {alias.name for alias in statement.names}
        elif isinstance(statement, ast.ImportFrom):
            imported.add(statement.module)
    assert imported == {"typing", "fermata.runtime"}
    assert modules[name].read_bytes().isascii()


@pytest.mark.parametrize("name", [*NAMES, "sink"])
def test_the_module_holds_exactly_the_compilers_ir(modules, tmp_path, name):
    """Same data, same key order, same int/float/bool distinctions: what
    ``load()`` of the spec runs is what the module runs."""
    ir = kitchen_sink_ir() if name == "sink" else compile_file(EXAMPLES / f"{name}.flow")
    module = import_generated(modules[name].read_text(encoding="utf-8"), tmp_path)
    flow_ir = next(iter(ir["flows"].values()))
    assert json.dumps(module.FLOW_IR) == json.dumps(flow_ir)
    assert json.dumps(module.IR["flows"]) == json.dumps(ir["flows"])
    assert module.IR_HASH == ir_hash(flow_ir) == module.load().ir_hash


def test_the_human_task_clauses_and_waits_are_carried_as_compiled(tmp_path):
    """The optional interrupt keys (`where`, `to`, `within`, `remind_every_ms`)
    and `wait` steps come out in the module exactly as the compiler wrote
    them (ruff and mypy --strict see the module among `other_modules`)."""
    ir = compile_file(REPO / "tests" / "compiler" / "fixtures" / "human_tasks.flow")
    text = emit_python(ir)
    module = import_generated(text, tmp_path)
    assert json.dumps(module.IR["flows"]) == json.dumps(ir["flows"])
    assert ir_hash(module.FLOW_IR) == module.IR_HASH
    steps = module.FLOW_IR["nodes"]["review"]["steps"]
    assert {"where", "to", "within", "remind_every_ms"} <= set(steps[0])
    assert [s["k"] for s in module.FLOW_IR["nodes"]["pay"]["steps"][:2]] == ["wait", "wait"]


def test_long_texts_are_wrapped_and_stay_the_same(tmp_path):
    words = " ".join(f"word{i}" for i in range(60))
    source = (f'flow wordy {{\n    """{words}"""\n    state {{\n        log: list[str] = []\n    }}\n'
              f'    node a {{\n        """{words}"""\n        set log += ["{words} {{{{ log }}}}"]\n    }}\n'
              "    start -> a\n    a -> end\n}\n")
    ir = compile_source(source, "wordy.flow")
    text = emit_python(ir)
    assert max(len(line) for line in text.splitlines()) <= 88
    module = import_generated(text, tmp_path)
    assert json.dumps(module.FLOW_IR) == json.dumps(ir["flows"]["wordy"])
    assert words.replace(" ", "") in module.__doc__.replace("\n", "").replace(" ", "")


def test_a_module_whose_flow_was_edited_refuses_to_load(modules, tmp_path):
    text = modules["refund"].read_text(encoding="utf-8")
    edited = text.replace('"retry": 3,', '"retry": 30,', 1)
    assert edited != text
    module = import_generated(edited, tmp_path)
    with pytest.raises(FermataError, match=re.escape("was edited: regenerate it from examples/refund.flow")):
        module.load()


# ------------------------------------------------------------------ linters and type checkers


def test_ruff_check_passes_with_its_defaults(modules, other_modules):
    assert other_modules, "no other spec compiled: the check below would cover only the examples"
    files = [str(path) for path in [*modules.values(), *other_modules]]
    result = ruff(["check", "--no-cache", *files], next(iter(modules.values())).parent)
    assert result.returncode == 0, result.stdout + result.stderr
    result = ruff(["format", "--no-cache", "--check", *files], next(iter(modules.values())).parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_check_passes_with_every_rule(modules):
    """Beyond the defaults: every rule ruff has, bar a copyright notice and
    the placement of the file (and the pairs of docstring rules that exclude
    each other). The kitchen sink's escaped non-ASCII docstrings are the
    one thing `D301` (backslash in a docstring) objects to."""
    folder = next(iter(modules.values())).parent
    ignored = "CPY001,INP001,D203,D213"
    examples = [str(modules[name]) for name in NAMES]
    result = ruff(["check", "--no-cache", "--select", "ALL", "--ignore", ignored, *examples], folder)
    assert result.returncode == 0, result.stdout + result.stderr
    result = ruff(["check", "--no-cache", "--select", "ALL", "--ignore", ignored + ",D301",
                   str(modules["sink"])], folder)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_strict_passes(modules, other_modules, tmp_path):
    """``mypy --strict`` finds nothing in any generated module, and in the
    same run finds the one type error slipped into a copy of one (so the
    check is able to fail)."""
    broken = tmp_path / "broken_flow.py"
    broken.write_text(modules["refund"].read_text(encoding="utf-8")
                      .replace("def load(store: str | Store | None = None) -> Graph:",
                               "def load(store: str | Store | None = None) -> int:"),
                      encoding="utf-8")
    files = [*modules.values(), *other_modules, broken]
    result = mypy_strict(files, tmp_path)
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and errors[0].startswith("broken_flow.py:"), result.stdout + result.stderr
    assert "Incompatible return value type" in errors[0]
    assert f"Found 1 error in 1 file (checked {len(files)} source files)" in result.stdout


# ------------------------------------------------------------------ refusals


TWO_FLOWS = ("flow one {\n    state {\n        x: int = 0\n    }\n    node a {\n        set x = 1\n    }\n"
             "    start -> a\n    a -> end\n}\n\n"
             "flow two {\n    state {\n        y: int = 0\n    }\n    node b {\n        set y = 2\n    }\n"
             "    start -> b\n    b -> end\n}\n")


def test_a_file_with_several_flows_needs_one_chosen(tmp_path, monkeypatch, capsys):
    ir = compile_source(TWO_FLOWS, "two.flow")
    with pytest.raises(ValueError, match=r"2 flows \(one, two\): choose one"):
        emit_python(ir)
    with pytest.raises(ValueError, match="no flow `three`"):
        emit_python(ir, flow="three")
    module = import_generated(emit_python(ir, flow="two"), tmp_path)
    assert module.FLOW == "two" and list(module.IR["flows"]) == ["two"]
    assert module.load().invoke({}, thread="t").state == {"y": 2}

    monkeypatch.chdir(tmp_path)
    (tmp_path / "two.flow").write_text(TWO_FLOWS, encoding="utf-8")
    assert fermata(["compile", "two.flow", "--target", "python", "--flow", "one", "-o", "one.py"]) == 0
    assert (tmp_path / "one.py").read_text(encoding="utf-8") == emit_python(
        compile_file("two.flow"), flow="one")
    assert fermata(["compile", "two.flow", "--target", "python"]) != 0
    assert "choose one with --flow" in capsys.readouterr().err


@pytest.mark.parametrize("change, message", [
    (lambda ir: ir.update(fermata_ir=2), "not a Fermata IR document of version 1"),
    (lambda ir: ir["flows"]["sink"].update(tags=[]), "flow: unknown key"),
    (lambda ir: ir["flows"]["sink"]["nodes"]["ask"].update(priority=1), "node `ask`: unknown key"),
    (lambda ir: ir["flows"]["sink"]["nodes"]["begin"]["steps"][3]["then"].append({"k": "sleep"}),
     "unknown step kind 'sleep'"),
    (lambda ir: ir["flows"]["sink"]["routes"]["begin"]["branches"][0].update(weight=2),
     "route from `begin`: unknown key"),
])
def test_ir_the_generator_does_not_know_is_refused_not_dropped(change, message):
    ir = copy.deepcopy(kitchen_sink_ir())
    change(ir)
    with pytest.raises(ValueError, match=message):
        emit_python(ir)
