"""`use "file.flow" [as ns]`: imports across files (compiler/modules.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fermata.compiler import CompileError, compile_file, load
from fermata.compiler.cli.main import main
from fermata.compiler.pipeline import analyze
from fermata.compiler.syntax import parser
from fermata.compiler.syntax.fmt import format_source
from fermata.runtime import Command, FermataError, Flow

REPO = Path(__file__).resolve().parents[2]

SHARED = """\
type Verdict = "yes" | "no"
type Decision = {verdict: Verdict, note: str?}

flow draft {
    state {
        topic: str
        text: str = ""
    }
    input topic
    output text
    node write {
        set text = "about " + topic
    }
    start -> write
    write -> end
}
"""


def _flow(state_type: str, expect: str, uses: str) -> str:
    return f"""{uses}

flow intake {{
    state {{
        d: {state_type}? = null
    }}
    output d
    node ask {{
        let v = interrupt ask "ok?" expect {expect}
        set d = v
    }}
    start -> ask
    ask -> end
}}
"""


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")


def _codes(path: Path) -> list[tuple[str, int]]:
    analysis = analyze(path.read_text(encoding="utf-8"), path.as_posix())
    return [(d.code, d.span.line) for d in analysis.diagnostics]


def _messages(path: Path) -> list[str]:
    return [d.message for d in analyze(path.read_text(encoding="utf-8"), path.as_posix()).diagnostics]


# -------------------------------------------------------------------- imports that work


def test_types_come_in_by_name_and_the_ir_carries_them(tmp_path: Path):
    _write(tmp_path, {"shared/review.flow": SHARED,
                      "main.flow": _flow("Decision", "Decision", 'use "shared/review.flow"')})
    ir = compile_file(tmp_path / "main.flow")
    defs = ir["flows"]["intake"]["defs"]
    assert set(defs) == {"Decision", "Verdict"}
    assert defs["Verdict"]["enum"] == ["yes", "no"]
    # Only this file's flows are lowered: `use` brings names, not flows to run.
    assert set(ir["flows"]) == {"intake"}


def test_namespaced_types_are_written_ns_dot_name(tmp_path: Path):
    _write(tmp_path, {"shared/review.flow": SHARED,
                      "main.flow": _flow("review.Decision", "review.Decision",
                                         'use "shared/review.flow" as review')})
    ir = compile_file(tmp_path / "main.flow")
    defs = ir["flows"]["intake"]["defs"]
    assert set(defs) == {"review.Decision", "review.Verdict"}
    # References inside the imported declarations are renamed too.
    assert defs["review.Decision"]["properties"]["verdict"] == {"$ref": "#/$defs/review.Verdict"}


def test_the_ir_runs_with_the_runtime_alone_and_checks_answers_against_imported_types(tmp_path: Path):
    _write(tmp_path, {"shared/review.flow": SHARED,
                      "main.flow": _flow("review.Decision", "review.Decision",
                                         'use "shared/review.flow" as review')})
    ir = json.loads(json.dumps(compile_file(tmp_path / "main.flow")))
    (tmp_path / "shared/review.flow").unlink()       # the IR needs no other file
    graph = Flow.from_ir(ir)
    paused = graph.invoke({}, thread="t")
    assert [i.id for i in paused.interrupts] == ["ask:ask"]
    with pytest.raises(FermataError, match="verdict"):
        graph.invoke(Command(resume={"verdict": "maybe"}), thread="t")   # not a Verdict
    assert graph.state("t").checkpoint_id == paused.checkpoint_id        # refused: nothing changed
    done = graph.invoke(Command(resume={"verdict": "yes"}), thread="t")
    assert done.output == {"d": {"verdict": "yes"}}


def test_paths_are_relative_to_the_using_file_not_the_current_folder(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch):
    _write(tmp_path, {"specs/shared/review.flow": SHARED,
                      "specs/main.flow": _flow("Decision", "Decision", 'use "shared/review.flow"')})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert _codes(tmp_path / "specs/main.flow") == []


def test_an_imported_file_may_itself_import(tmp_path: Path):
    _write(tmp_path, {"base.flow": 'type Level = "low" | "high"\n',
                      "mid.flow": 'use "base.flow" as base\ntype Ticket = {level: base.Level}\n',
                      "main.flow": _flow("Ticket", "Ticket", 'use "mid.flow"')})
    ir = compile_file(tmp_path / "main.flow")
    assert ir["flows"]["intake"]["defs"]["Ticket"]["properties"]["level"] == {"$ref": "#/$defs/base.Level"}


def test_a_file_reached_twice_is_no_clash(tmp_path: Path):
    # main -> a -> base and main -> b -> base: `Level` arrives twice, the same declaration.
    _write(tmp_path, {"base.flow": 'type Level = "low" | "high"\n',
                      "a.flow": 'use "base.flow"\ntype A = {level: Level}\n',
                      "b.flow": 'use "base.flow"\ntype B = {rank: Level}\n',
                      "main.flow": _flow("A", "B", 'use "a.flow"\nuse "b.flow"')})
    assert _codes(tmp_path / "main.flow") == [("F300", 11)]   # a B is not an A: real type checking


def test_load_sees_a_change_to_an_imported_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FERMATA_IR_CACHE", str(tmp_path / "cache"))
    _write(tmp_path, {"shared/review.flow": SHARED,
                      "main.flow": _flow("Verdict", "Verdict", 'use "shared/review.flow"')})
    first = load(tmp_path / "main.flow")
    first.invoke({}, thread="a")
    with pytest.raises(FermataError):
        first.invoke(Command(resume="later"), thread="a")
    _write(tmp_path, {"shared/review.flow": SHARED.replace('"yes" | "no"', '"yes" | "no" | "later"')})
    second = load(tmp_path / "main.flow")
    second.invoke({}, thread="b")
    assert second.invoke(Command(resume="later"), thread="b").output == {"d": "later"}


# -------------------------------------------------------------------- diagnostics


def test_a_missing_file_is_reported_at_its_use_line(tmp_path: Path):
    _write(tmp_path, {"main.flow": _flow("str", "str", '# shared types\nuse "nope/types.flow"')})
    assert _codes(tmp_path / "main.flow") == [("F113", 2)]


def test_an_import_cycle_is_printed_as_a_chain_in_every_file_on_it(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, {"a.flow": 'use "b.flow"\ntype A = str\n',
                      "b.flow": 'type B = str\nuse "c.flow"\n',
                      "c.flow": 'use "a.flow"\ntype C = str\n'})
    assert _codes(Path("a.flow")) == [("F114", 1)]
    assert _messages(Path("a.flow")) == ["import cycle: a.flow -> b.flow -> c.flow -> a.flow"]
    assert _codes(Path("b.flow")) == [("F114", 2)]
    assert _messages(Path("b.flow")) == ["import cycle: b.flow -> c.flow -> a.flow -> b.flow"]


def test_a_file_that_uses_itself_is_a_cycle(tmp_path: Path):
    _write(tmp_path, {"main.flow": _flow("str", "str", 'use "./main.flow"')})
    assert _codes(tmp_path / "main.flow") == [("F114", 1)]


def test_a_local_declaration_clashing_with_an_import_is_reported_at_the_use(tmp_path: Path):
    _write(tmp_path, {"shared.flow": SHARED,
                      "main.flow": _flow("Decision", "Decision",
                                         'use "shared.flow"\ntype Decision = {ok: bool}')})
    analysis = analyze((tmp_path / "main.flow").read_text(), (tmp_path / "main.flow").as_posix())
    assert [(d.code, d.span.line) for d in analysis.diagnostics] == [("F115", 1)]
    assert [label.span.line for label in analysis.diagnostics[0].labels] == [2]


def test_two_imports_of_one_name_and_a_namespace_used_twice_clash(tmp_path: Path):
    _write(tmp_path, {"one.flow": "type Decision = str\n", "two.flow": "type Decision = int\n",
                      "main.flow": _flow("str", "str", 'use "one.flow"\nuse "two.flow"\n'
                                         'use "one.flow" as x\nuse "two.flow" as x')})
    assert _codes(tmp_path / "main.flow") == [("F115", 2), ("F115", 4)]


def test_namespaced_imports_of_the_same_names_do_not_clash(tmp_path: Path):
    _write(tmp_path, {"one.flow": "type Decision = str\n", "two.flow": "type Decision = int\n",
                      "main.flow": _flow("one.Decision", "one.Decision",
                                         'use "one.flow" as one\nuse "two.flow" as two')})
    assert _codes(tmp_path / "main.flow") == []


def test_an_unknown_name_in_a_namespace_suggests_the_right_one(tmp_path: Path):
    _write(tmp_path, {"shared.flow": SHARED,
                      "main.flow": _flow("review.Decison", "review.Decision",
                                         'use "shared.flow" as review')})
    analysis = analyze((tmp_path / "main.flow").read_text(), (tmp_path / "main.flow").as_posix())
    assert [(d.code, d.span.line) for d in analysis.diagnostics] == [("F116", 5)]
    assert "Decision" in (analysis.diagnostics[0].help or "")


def test_an_imported_file_with_errors_is_reported_once_at_the_use(tmp_path: Path):
    _write(tmp_path, {"broken.flow": "type Bad = Missing\n",
                      "main.flow": _flow("Bad", "Bad", 'use "broken.flow"')})
    analysis = analyze((tmp_path / "main.flow").read_text(), (tmp_path / "main.flow").as_posix())
    # One error at the `use` (quoting the imported file's), none of the
    # unknown-type errors that follow from importing nothing... but `Bad` is
    # unknown here, and says so.
    assert [(d.code, d.span.line) for d in analysis.diagnostics] == [("F117", 1), ("F126", 5), ("F126", 9)]
    assert "broken.flow:1:12" in analysis.diagnostics[0].message
    with pytest.raises(CompileError):
        compile_file(tmp_path / "main.flow")


# -------------------------------------------------------------------- tools


def test_check_of_a_folder_parses_each_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, {"shared/review.flow": SHARED,
                      **{f"flow{i}.flow": _flow("Decision", "Decision", 'use "shared/review.flow"')
                         for i in range(4)},
                      "broken.flow": _flow("Nope", "str", 'use "shared/review.flow"')})
    parsed: list[str] = []
    real_parse = parser.parse

    def counting_parse(text: str, path: str = "<string>"):  # type: ignore[no-untyped-def]
        parsed.append(Path(path).name)
        return real_parse(text, path)

    monkeypatch.setattr(parser, "parse", counting_parse)
    assert main(["check", "--format", "text", "."]) == 1
    assert sorted(parsed) == sorted(["review.flow", "broken.flow", *(f"flow{i}.flow" for i in range(4))])
    out = capsys.readouterr().out
    assert out.count("error[") == 1 and "broken.flow:5:12: error[F126]" in out


def test_check_reports_an_imported_files_own_errors_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, {"a.flow": 'use "shared.flow"\n', "shared.flow": "type T = Missing\n"})
    assert main(["check", "--format", "text", "."]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[0] for line in lines] == ["a.flow:1:1", "shared.flow:1:10"]


def test_use_lines_and_namespaced_types_survive_the_formatter():
    text = _flow("review.Decision", "review.Decision", 'use "shared/review.flow" as review\nuse "x.flow"')
    formatted = format_source(text)
    assert formatted.text is not None
    assert 'use "shared/review.flow" as review' in formatted.text
    assert "expect review.Decision" in formatted.text
    again = format_source(formatted.text)
    assert again.text == formatted.text


def test_the_shipped_composition_example_checks_and_runs():
    graph = load(REPO / "examples/composition/publish.flow")
    paused = graph.invoke({"title": "Tides"}, thread="t")
    assert [i.id for i in paused.interrupts] == ["decide:decide"]
    done = graph.invoke(Command(resume={"verdict": "publish", "comments": "lovely"}), thread="t")
    assert done.output == {"verdict": "publish", "notes": ["lovely"]}


def test_generated_python_runs_without_the_imported_file(tmp_path: Path):
    import importlib.util

    _write(tmp_path, {"shared/review.flow": SHARED,
                      "main.flow": _flow("review.Decision", "review.Decision",
                                         'use "shared/review.flow" as review')})
    out = tmp_path / "main_flow.py"
    assert main(["compile", str(tmp_path / "main.flow"), "--target", "python", "-o", str(out)]) == 0
    (tmp_path / "shared/review.flow").unlink()
    spec = importlib.util.spec_from_file_location("main_flow_generated", out)
    assert spec is not None and spec.loader is not None
    generated = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generated)
    graph = generated.load()
    assert [i.id for i in graph.invoke({}, thread="t").interrupts] == ["ask:ask"]
    with pytest.raises(FermataError):
        graph.invoke(Command(resume={"verdict": "later"}), thread="t")
    assert graph.invoke(Command(resume={"verdict": "no", "note": "x"}), thread="t").output == \
        {"d": {"verdict": "no", "note": "x"}}


def test_an_unreadable_import_is_a_diagnostic_not_a_crash(tmp_path: Path):
    (tmp_path / "latin1.flow").write_bytes('type T = "caf\xe9"\n'.encode("latin-1"))
    _write(tmp_path, {"main.flow": _flow("str", "str", 'use "latin1.flow"\nuse "."')})
    assert _codes(tmp_path / "main.flow") == [("F113", 1), ("F113", 2)]
    assert "not UTF-8" in _messages(tmp_path / "main.flow")[0]
