"""Shared plumbing for the code generator's tests: IR documents to generate
from, importing a generated module, and running ``ruff`` and ``mypy`` on
generated modules the way a team that commits them would."""

from __future__ import annotations

import importlib.util
import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import fermata.runtime
from fermata.compiler.cli.main import main as fermata_cli
from fermata.compiler.codegen import emit_python
from fermata.runtime import Graph
from tests.runtime.irbuild import (
    ANY,
    BOOL,
    FLOAT,
    INT,
    LIST,
    MAP,
    OPT,
    RECORD,
    STR,
    F,
    L,
    add,
    append,
    bin_,
    call,
    fail,
    fld,
    flow,
    fn,
    get,
    if_,
    index,
    interrupt,
    let,
    lit,
    lst,
    node,
    rec,
    set_,
    tmpl,
)

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
NAMES = sorted(path.stem for path in EXAMPLES.glob("*.flow"))  # the examples, by name
_counter = itertools.count()


def compile_examples(folder: Path) -> dict[str, Path]:
    """Every example compiled to ``folder/<name>_flow.py`` by the CLI, as a
    user would, from the repository root: name -> the module's path."""
    out = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        for name in NAMES:
            out[name] = folder / f"{name}_flow.py"
            assert fermata_cli(["compile", f"examples/{name}.flow", "--target", "python",
                            "-o", str(out[name])]) == 0
    return out


def import_generated(text: str, folder: Path, stem: str = "gen") -> ModuleType:
    """Write a generated module under ``folder`` and import it under a fresh name."""
    name = f"{stem}_{next(_counter)}"
    path = folder / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generated(ir: dict[str, Any], folder: Path, flow_name: str | None = None) -> ModuleType:
    return import_generated(emit_python(ir, flow=flow_name), folder)


def reference_graph(ir: dict[str, Any], store: Any, flow_name: str | None = None) -> Graph:
    """What ``fermata.compiler.load`` builds from the same IR: ``source`` is
    the spec path, which the compiler also writes into the IR."""
    return Graph.from_ir(ir, flow=flow_name, store=store, source=ir["source"]["path"])


# --------------------------------------------------------------------------
# Hand-built IR
# --------------------------------------------------------------------------


def kitchen_sink_ir() -> dict[str, Any]:
    """Every kind of type, step and edge, and the awkward names: keys that are
    Python keywords or shadow type names, a type named like a module global,
    non-ASCII and quote-laden text."""
    verdict = {"type": "string", "enum": ["approve", "reject", "it's \"odd\""]}
    defs = {
        "Verdict": verdict,
        "Graph": RECORD({"class": INT, "str": STR}, {"None": BOOL}),
        "Nested": RECORD({"inner": RECORD({"deep": LIST(RECORD({"x": FLOAT}))}),
                          "pick": {"$ref": "#/$defs/Verdict"}}),
        "Alias": LIST({"$ref": "#/$defs/Nested"}),
        "Maybe": OPT({"$ref": "#/$defs/Graph"}),
    }
    fields = [
        fld("count", INT, 0, line=3),
        fld("ratio", FLOAT, 0.1, line=4),
        fld("name", STR, line=5),
        fld("flag", BOOL, False, line=6),
        fld("tags", LIST(STR), ["caf\u00e9", "\u2028", "\"\"\"", "\\"], line=7),
        fld("scores", MAP(FLOAT), {"b": 2.5, "a": 1e-300}, line=8),
        fld("anything", ANY, optional=True, line=9),
        fld("verdict", {"$ref": "#/$defs/Verdict"}, "approve", line=10),
        fld("graph", OPT({"$ref": "#/$defs/Graph"}), optional=True, line=11),
        fld("alias", {"$ref": "#/$defs/Alias"}, [], line=12),
        fld("maybe", {"$ref": "#/$defs/Maybe"}, optional=True, line=13),
        fld("inline", RECORD({"a": INT}, {"b": LIST(MAP(STR))}), {"a": 1}, line=14),
        fld("level", {"type": "string", "enum": ["low", "high"]}, "low", line=15),
        fld("big", INT, 2**70, line=16),
    ]
    nodes = [
        node("begin",
             let("n", add(F("count"), lit(1)), line=21),
             set_("count", L("n"), line=22),
             call("tests.runtime.calls_fixture:echo", F("name"), kwargs={"k": lit(1)}, bind="e", line=23),
             if_(bin_(">", F("count"), lit(0)),
                 [append("tags", lst(tmpl("n={{ count }}")), line=25),
                  if_(F("flag"), [fail(lit("never"), line=27)], line=26)],
                 [set_("ratio", lit(-0.0), line=29)], line=24),
             set_("scores", rec(c=fn("float", F("count"))), op="+=", line=31),
             line=20),
        node("ask",
             interrupt("confirm", rec(name=F("name"), tags=F("tags")), BOOL, bind="ok", line=35),
             set_("flag", L("ok"), line=36),
             interrupt("note", line=37),
             set_("verdict", lit("reject"), line=38),
             retry=2, backoff_ms=10, timeout_ms=5000, line=34),
        node("left", append("tags", lst(index(F("tags"), lit(0))), line=41), line=40),
        node("right", set_("graph", rec(**{"class": lit(1), "str": lit("s")}), line=44),
             set_("count", get(F("graph"), "class"), op="+=", line=45), line=43),
        node("done", set_("name", tmpl("{{ name }}!"), line=48), line=47),
    ]
    doc = flow("sink", fields=fields, nodes=nodes,
               edges={"start": ["begin"],
                      "begin": [(["ask"], bin_("<", F("count"), lit(100))), (["end"], None)],
                      "ask": ["left", "right"]},
               joins=[(["left", "right"], "done")], before=["ask"], after=["done"],
               input=["name", "count", "flag"], output=["count", "tags", "name", "graph", "level"],
               defs=defs)
    flow_ir = doc["flows"]["sink"]
    flow_ir["doc"] = 'Every construct.\n\nWith "quotes", a backslash \\ and caf\u00e9."'
    flow_ir["nodes"]["ask"]["doc"] = "Asks twice."
    doc["source"] = {"path": "specs/sink \u00e9.flow", "sha256": "ab" * 32}
    return doc


# --------------------------------------------------------------------------
# Linters and type checkers, as subprocesses
# --------------------------------------------------------------------------


def _tool(name: str) -> list[str]:
    """How to run ``name``: its console script, else ``python -m name``; skip
    the test (saying why) when neither exists."""
    found = shutil.which(name)
    if found:
        return [found]
    if importlib.util.find_spec(name) is not None:
        return [sys.executable, "-m", name]
    pytest.skip(f"`{name}` is not installed (it comes with the `dev` extra: pip install -e '.[dev]')")


def ruff(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``ruff ARGS`` with ruff's own defaults (``--isolated``: no project
    configuration), as on a team's machine that has none."""
    return subprocess.run([*_tool("ruff"), *args, "--isolated"], cwd=cwd,
                          capture_output=True, text=True, check=False)


def mypy_strict(files: list[Path], folder: Path) -> subprocess.CompletedProcess[str]:
    """``mypy --strict FILES``, with ``fermata.runtime`` found as source.

    The editable install maps ``fermata.runtime`` to ``runtime/`` through an
    import hook mypy cannot follow, so ``folder/typeshed/fermata/runtime``
    links to it and is put on ``MYPYPATH``. ``--follow-imports=silent``
    checks the generated modules against the runtime's types without
    reporting the runtime's own findings, as mypy treats any installed
    package.
    """
    root = folder / "typeshed" / "fermata"
    root.mkdir(parents=True, exist_ok=True)
    link = root / "runtime"
    if not link.exists():
        link.symlink_to(Path(fermata.runtime.__file__).resolve().parent, target_is_directory=True)
    env = {**os.environ, "MYPYPATH": str(folder / "typeshed")}
    command = [*_tool("mypy"), "--strict", "--follow-imports=silent", "--no-color-output",
               "--cache-dir", str(folder / ".mypy_cache"), *map(str, files)]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, check=False)
