"""``fermata.compiler.load``: a `.flow` file, an IR file or an IR dict to a graph."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from fermata.compiler import CompileError, compile_file, load
from fermata.compiler.cli.main import main
from fermata.runtime import Command, FermataError, Graph
from fermata.runtime.sqlite_store import SqliteStore
from fermata.runtime.stores import MemoryStore, StoreError

REPO_ROOT = Path(__file__).resolve().parents[2]
REFUND = REPO_ROOT / "examples" / "refund.flow"

# A flow whose call sits in a package beside the spec, as in a user's project.
CALLER_FLOW = """\
flow greet {
    state {
        name: str
        greeting: str = ""
    }
    input name
    output greeting

    node hello {
        let g = call "fermata_load_fixture:hello"(name)
        set greeting = g
    }
    start -> hello
    hello -> end
}
"""
CALL_LINE = CALLER_FLOW.splitlines().index('        let g = call "fermata_load_fixture:hello"(name)') + 1


@pytest.fixture(autouse=True)
def _keep_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))


def approve_refund(graph: Graph, thread: str) -> dict:
    run = graph.invoke({"amount": 250, "reason": "damaged"}, thread=thread)
    assert run.status == "interrupted"
    assert [i.id for i in run.interrupts] == ["review:approval"]
    run = graph.invoke(Command(resume={"approved": True}), thread=thread)
    assert [i.id for i in run.interrupts] == ["pay:before"]
    run = graph.invoke(None, thread=thread)
    assert run.status == "done"
    return run.output


def compiled_ir_file(tmp_path: Path, source: Path = REFUND) -> Path:
    out = tmp_path / (source.stem + ".json")
    assert main(["compile", str(source), "-o", str(out)]) == 0
    return out


def test_a_flow_file(tmp_path: Path) -> None:
    graph = load(REFUND)
    assert isinstance(graph, Graph) and graph.name == "refund"
    assert graph.source == REFUND.as_posix()
    assert approve_refund(graph, "t1") == {"approved": True, "log": ["risk 0.25", "reviewed", "paid 250"]}


def test_a_path_given_as_str_or_path() -> None:
    assert load(str(REFUND)).ir_hash == load(REFUND).ir_hash


def test_a_compiled_ir_file(tmp_path: Path) -> None:
    ir_file = compiled_ir_file(tmp_path)
    graph = load(ir_file)
    assert graph.ir_hash == load(REFUND).ir_hash  # the same flow, to the byte
    assert graph.source == ir_file.as_posix()
    assert approve_refund(graph, "t1")["log"][-1] == "paid 250"


def test_an_ir_dict() -> None:
    graph = load(compile_file(REFUND))
    assert graph.ir_hash == load(REFUND).ir_hash
    assert graph.invoke({"amount": 5}, thread="t").status == "interrupted"


def test_the_default_store_is_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    first, second = load(REFUND), load(REFUND)
    assert isinstance(first.store, MemoryStore)
    first.invoke({"amount": 250}, thread="t1")
    assert first.state("t1") is not None
    assert second.state("t1") is None  # each load has its own store
    assert list(tmp_path.iterdir()) == []  # and nothing was written to disk


def test_a_memory_store_url() -> None:
    graph = load(REFUND, store="memory:")
    assert isinstance(graph.store, MemoryStore)


def test_a_sqlite_store_url_keeps_runs_across_loads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/runs.db"
    graph = load(REFUND, store=url)
    assert isinstance(graph.store, SqliteStore)
    graph.invoke({"amount": 250}, thread="t1")
    assert (tmp_path / "runs.db").is_file()

    again = load(REFUND, store=url)
    run = again.state("t1")
    assert run is not None and run.status == "interrupted"
    run = again.invoke(Command(resume={"approved": False}), thread="t1")
    assert run.status == "done" and run.output["log"][-1] == "rejected"


def test_a_store_object_is_used_as_is() -> None:
    store = MemoryStore()
    graph = load(REFUND, store=store)
    assert graph.store is store
    graph.invoke({"amount": 250}, thread="t1")
    assert [info.thread for info in store.threads()] == ["t1"]
    # a second graph on the same store sees the run
    assert load(REFUND, store=store).state("t1").status == "interrupted"


def test_a_bad_store_url() -> None:
    with pytest.raises(StoreError, match="unknown store"):
        load(REFUND, store="mysql://db")


def test_a_spec_with_errors_raises_compile_error_with_every_diagnostic(tmp_path: Path) -> None:
    path = tmp_path / "broken.flow"
    path.write_text(CALLER_FLOW.replace("set greeting = g", "set greting = g")
                    .replace("hello -> end", "hello -> ned"), encoding="utf-8")
    with pytest.raises(CompileError) as exc:
        load(path)
    errors = [d for d in exc.value.diagnostics if d.is_error]
    messages = [d.message for d in errors]
    assert "unknown field `greting`" in messages
    assert "unknown node `ned` in an edge" in messages
    assert {d.path for d in errors} == {path.as_posix()}
    assert str(exc.value).startswith(f"{path.as_posix()}:")
    assert "(and 1 more error)" in str(exc.value)


def test_a_syntax_error_raises_compile_error(tmp_path: Path) -> None:
    path = tmp_path / "syntax.flow"
    path.write_text("flow f {\n    state {\n", encoding="utf-8")
    with pytest.raises(CompileError) as exc:
        load(path)
    assert exc.value.diagnostics and exc.value.diagnostics[0].is_error


@pytest.mark.parametrize("name", ["nope.flow", "nope.json"])
def test_a_missing_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with pytest.raises(FileNotFoundError) as exc:
        load(path)
    assert str(exc.value) == f"no such file: {path}"


def test_a_folder_is_not_a_flow(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match="is a folder"):
        load(tmp_path)


def test_a_json_file_that_is_not_ir(tmp_path: Path) -> None:
    (tmp_path / "data.json").write_text('{"amount": 1}', encoding="utf-8")
    with pytest.raises(FermataError, match="is not a Fermata IR file"):
        load(tmp_path / "data.json")
    (tmp_path / "junk.json").write_text("{", encoding="utf-8")
    with pytest.raises(FermataError, match="cannot read IR file"):
        load(tmp_path / "junk.json")


def test_an_ir_file_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    ir = json.loads(compiled_ir_file(tmp_path).read_text(encoding="utf-8"))
    del ir["flows"]["refund"]["nodes"]
    (tmp_path / "bad.json").write_text(json.dumps(ir), encoding="utf-8")
    with pytest.raises(FermataError, match=re.escape("does not follow spec/ir.schema.json")):
        load(tmp_path / "bad.json")


def test_flow_picks_one_of_several(tmp_path: Path) -> None:
    path = tmp_path / "two.flow"
    text = CALLER_FLOW + "\n" + CALLER_FLOW.replace("flow greet", "flow greet_again")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FermataError, match="2 flows"):
        load(path)
    assert load(path, flow="greet_again").name == "greet_again"
    with pytest.raises(FermataError, match="no flow `other`"):
        load(path, flow="other")


def test_calls_import_the_package_beside_the_spec(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "fermata_load_fixture.py").write_text(
        "def hello(name):\n    return 'hello ' + name\n", encoding="utf-8")
    (project / "greet.flow").write_text(CALLER_FLOW, encoding="utf-8")
    graph = load(project / "greet.flow")
    assert str(project.resolve()) in sys.path
    run = graph.invoke({"name": "ada"}, thread="t")
    assert run.status == "done" and run.output == {"greeting": "hello ada"}


def test_runtime_errors_of_an_ir_file_name_the_spec(tmp_path: Path) -> None:
    """The IR's line numbers are the spec's, so errors must name the spec."""
    (tmp_path / "greet.flow").write_text(CALLER_FLOW.replace("fermata_load_fixture", "no_such_pkg_x"),
                                         encoding="utf-8")
    ir_file = compiled_ir_file(tmp_path, tmp_path / "greet.flow")
    run = load(ir_file).invoke({"name": "ada"}, thread="t")
    assert run.status == "failed"
    assert run.error["line"] == CALL_LINE
    assert run.error["path"] == (tmp_path / "greet.flow").as_posix()
    # a .flow's own errors name it too
    run = load(tmp_path / "greet.flow").invoke({"name": "ada"}, thread="t")
    assert run.error["path"] == (tmp_path / "greet.flow").as_posix()
