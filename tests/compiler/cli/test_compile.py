"""``fermata compile`` and ``fermata graph``: plain, versioned, deterministic
JSON that validates against spec/ir.schema.json; diagnostics and no output on
errors; diagrams of every example."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import jsonschema
import pytest

from fermata.compiler.cli.common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from fermata.compiler.cli.main import main
from tests.compiler.support import THREE, clean_env, fermata_command

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((REPO / "examples").glob("*.flow"))
IR_SCHEMA = json.loads((REPO / "spec" / "ir.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def plain_env(monkeypatch):
    for name in ("NO_COLOR", "FORCE_COLOR", "FERMATA_DEBUG"):
        monkeypatch.delenv(name, raising=False)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def example(name: str) -> Path:
    return REPO / "examples" / f"{name}.flow"


# ------------------------------------------------------------ compile


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_compiles_to_valid_ir(capsys, path: Path):
    code, out, err = run(capsys, "compile", str(path))
    assert (code, err) == (EXIT_OK, "")
    ir = json.loads(out)
    jsonschema.Draft202012Validator(IR_SCHEMA).validate(ir)
    assert ir["fermata_ir"] == 1
    assert ir["source"]["path"] == path.as_posix()


def test_the_ir_is_plain_json_with_sorted_keys(capsys):
    code, out, _ = run(capsys, "compile", str(example("refund")))
    assert code == EXIT_OK

    def strict(pairs):
        keys = [k for k, _ in pairs]
        assert keys == sorted(keys)
        return dict(pairs)

    json.loads(out, object_pairs_hook=strict,
               parse_constant=lambda name: pytest.fail(f"not JSON: {name}"))
    assert out.endswith("}\n")


def test_the_ir_holds_source_positions(capsys):
    path = example("refund")
    rows = path.read_text(encoding="utf-8").splitlines()
    flow = json.loads(run(capsys, "compile", str(path))[1])["flows"]["refund"]
    assert rows[flow["line"] - 1].startswith("flow refund")
    for name, node in flow["nodes"].items():
        assert rows[node["line"] - 1].lstrip().startswith(f"node {name}")
        for step in node["steps"]:
            assert rows[step["line"] - 1][step["column"] - 1:].startswith(("let", "set", "call", "if"))
    for source, route in flow["routes"].items():
        for branch in route["branches"]:
            row = rows[branch["line"] - 1].strip()
            assert row.startswith(f"{source} ->") and all(t in row for t in branch["targets"])
    for field in flow["fields"]:
        assert rows[field["line"] - 1].strip().startswith(field["name"] + ":")


def test_compiling_twice_gives_the_same_bytes(tmp_path, capsys):
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    for out in (first, second):
        assert run(capsys, "compile", str(example("research")), "-o", str(out)) == (EXIT_OK, "", "")
    assert first.read_bytes() == second.read_bytes()
    assert run(capsys, "compile", str(example("research")))[1].encode("utf-8") == first.read_bytes()


@pytest.mark.slow
def test_two_processes_give_the_same_bytes(tmp_path):
    # Different hash seeds: nothing may depend on set or dict-of-str order.
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"{seed}.json"
        done = subprocess.run(check=False, args=[*fermata_command(), "compile", str(example("refund")), "-o", str(out)],
                              capture_output=True, text=True, timeout=120,
                              env=clean_env(PYTHONHASHSEED=seed))
        assert done.returncode == EXIT_OK, done.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_output_to_a_file(tmp_path, capsys):
    out = tmp_path / "refund.json"
    assert run(capsys, "compile", str(example("refund")), "--output", str(out)) == (EXIT_OK, "", "")
    assert json.loads(out.read_text(encoding="utf-8"))["flows"]["refund"]["name"] == "refund"


def test_a_spec_with_errors_writes_nothing(tmp_path, capsys):
    spec = tmp_path / "bad.flow"
    spec.write_text(THREE, encoding="utf-8")
    out = tmp_path / "bad.json"
    code, stdout, err = run(capsys, "compile", str(spec), "-o", str(out))
    assert (code, stdout) == (EXIT_FINDINGS, "")
    assert not out.exists()
    assert err.count("error[") == 3
    assert f"--> {spec.as_posix()}:7:13" in err and "^^^^" in err
    assert err.endswith("error: 3 errors found\n")


def test_warnings_are_shown_beside_errors(tmp_path, capsys):
    spec = tmp_path / "bad.flow"
    spec.write_text(THREE.replace("set count = missing", "let unused = 1\n        set count = missing"),
                    encoding="utf-8")
    code, _, err = run(capsys, "compile", str(spec))
    assert code == EXIT_FINDINGS
    assert "warning[F124]" in err and err.endswith("error: 3 errors and 1 warning found\n")


def test_a_syntax_error_on_stderr(tmp_path, capsys):
    spec = tmp_path / "broken.flow"
    spec.write_text("flow f {\n    node a {\n", encoding="utf-8")
    code, out, err = run(capsys, "compile", str(spec))
    assert (code, out) == (EXIT_FINDINGS, "")
    assert "error[F0" in err and "end of file" in err


def test_bad_usage(tmp_path, capsys):
    code, _, err = run(capsys, "compile", str(tmp_path / "missing.flow"))
    assert code == EXIT_USAGE and "no such file" in err
    code, _, err = run(capsys, "compile", str(example("refund")), "-o", str(tmp_path / "no" / "dir.json"))
    assert code == EXIT_USAGE and "cannot write" in err and "Traceback" not in err
    code, _, err = run(capsys, "compile")
    assert code == EXIT_USAGE


def test_the_output_cannot_be_the_spec(tmp_path, capsys, monkeypatch):
    spec = tmp_path / "t.flow"
    spec.write_text(THREE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "compile", "t.flow", "-o", str(spec))
    assert code == EXIT_USAGE and "is the spec itself" in err
    assert spec.read_text(encoding="utf-8") == THREE


def test_compile_never_imports_call_targets(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    name = f"fermata_marker_{uuid.uuid4().hex[:10]}"
    marker = tmp_path / "imported.txt"
    (tmp_path / f"{name}.py").write_text(f"open({str(marker)!r}, 'w').close()\ndef f():\n    return 1\n")
    spec = tmp_path / "t.flow"
    spec.write_text(textwrap.dedent(f"""\
        flow f {{
            state {{
                x: int = 0
            }}
            node a {{
                let r = call "{name}:f"()
                set x = r
            }}
            start -> a
            a -> end
        }}
        """), encoding="utf-8")
    assert run(capsys, "compile", str(spec), "-o", str(tmp_path / "t.json"))[0] == EXIT_OK
    assert run(capsys, "graph", str(spec))[0] == EXIT_OK
    assert not marker.exists() and name not in sys.modules
    # The module does write its marker when imported.
    __import__(name)
    assert marker.exists()
    del sys.modules[name]


# ------------------------------------------------------------ graph


def flow_of(path: Path) -> dict:
    from fermata.compiler.pipeline import compile_file

    (flow,) = compile_file(path)["flows"].values()
    return flow


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_every_example_draws(capsys, path: Path, fmt: str):
    code, out, err = run(capsys, "graph", str(path), "--format", fmt)
    assert (code, err) == (EXIT_OK, "")
    assert out.endswith("\n")
    flow = flow_of(path)
    rows = [row.strip() for row in out.splitlines()]
    for name in flow["nodes"]:
        # Each node is declared once, with a label that shows its name.
        fan_out = "for" in flow["nodes"][name]   # drawn as Mermaid's stacked shape
        start = (f'n_{name}@{{ shape: procs, label: "' if fan_out else f'n_{name}["') if fmt == "mermaid" \
            else f'"n_{name}" [label="'
        (row,) = (row for row in rows if row.startswith(start))
        label = row[len(start):].split('"')[0]
        assert name in label.split("<br/>" if fmt == "mermaid" else "\\n"), row
    if fmt == "mermaid":
        assert out.splitlines()[1] == "flowchart TD"
    else:
        assert out.splitlines()[1].startswith("digraph ") and out.rstrip().endswith("}")
    # Every interrupt, static or in a step, is marked.
    labels = [s["label"] for n in flow["nodes"].values() for s in n["steps"] if s["k"] == "interrupt"]
    for label in labels:
        assert f"⏸ {label}" in out
    for name in flow["interrupt_before"]:
        assert "⏸ before" in out and name in out
    if any(len(r["branches"]) > 1 for r in flow["routes"].values()):
        assert "otherwise" in out


def test_condition_labels(capsys):
    out = run(capsys, "graph", str(example("refund")), "--format", "dot")[1]
    assert '"n_assess" -> "n_review" [label="risk > 0.5 or amount > 100"]' in out
    assert '"n_review" -> "n_pay" [label="approved"]' in out
    assert '"n_assess" -> "n_pay" [label="otherwise", style=dashed]' in out
    out = run(capsys, "graph", str(example("refund")))[1]
    assert 'n_review -->|"approved"| n_pay' in out
    assert 'n_assess -.->|"otherwise"| n_pay' in out
    out = run(capsys, "graph", str(example("revise")), "--format", "dot")[1]
    assert '[label="2: round < max_rounds"]' in out


def test_joins_are_drawn(capsys):
    out = run(capsys, "graph", str(example("research")))[1]
    assert "n_search_web --> join_1" in out and "join_1 ==> n_synthesize" in out


def test_graph_of_a_file_with_several_flows(tmp_path, capsys):
    one = ("flow %s {\n    state {\n        x: int = 0\n    }\n"
           "    node a {\n        set x = 1\n    }\n    start -> a\n    a -> end\n}\n")
    spec = tmp_path / "two.flow"
    spec.write_text(one % "first" + one % "second", encoding="utf-8")
    code, _, err = run(capsys, "graph", str(spec))
    assert code == EXIT_USAGE and "holds 2 flows (first, second)" in err and "--flow" in err
    code, out, _ = run(capsys, "graph", str(spec), "--flow", "second")
    assert code == EXIT_OK and out.startswith("%% flow second")
    code, _, err = run(capsys, "graph", str(spec), "--flow", "third")
    assert code == EXIT_USAGE and "no flow `third`" in err


def test_graph_of_a_spec_with_errors(tmp_path, capsys):
    spec = tmp_path / "bad.flow"
    spec.write_text(THREE, encoding="utf-8")
    code, out, err = run(capsys, "graph", str(spec))
    assert (code, out) == (EXIT_FINDINGS, "") and "error[F128]" in err


def test_graph_unknown_format_is_bad_usage(capsys):
    assert run(capsys, "graph", str(example("refund")), "--format", "svg")[0] == EXIT_USAGE


@pytest.mark.slow
def test_the_console_script_compiles_and_draws(tmp_path):
    done = subprocess.run(check=False, args=[*fermata_command(), "compile", str(example("revise"))],
                          capture_output=True, text=True, timeout=120, env=clean_env())
    assert done.returncode == EXIT_OK, done.stderr
    jsonschema.Draft202012Validator(IR_SCHEMA).validate(json.loads(done.stdout))
    done = subprocess.run(check=False, args=[*fermata_command(), "graph", str(example("revise")), "--format", "dot"],
                          capture_output=True, text=True, timeout=120, env=clean_env())
    assert done.returncode == EXIT_OK and done.stdout.startswith("// flow revise")
    bad = tmp_path / "bad.flow"
    bad.write_text(THREE, encoding="utf-8")
    out = tmp_path / "bad.json"
    done = subprocess.run(check=False, args=[*fermata_command(), "compile", str(bad), "-o", str(out)],
                          capture_output=True, text=True, timeout=120, env=clean_env())
    assert done.returncode == EXIT_FINDINGS and not out.exists()
    assert done.stdout == "" and "error[F300]" in done.stderr and "\x1b" not in done.stderr


# A string default holding ESC and the one-character CSI U+009B, escaped in the spec.
CONTROL_FLOW = """\
flow f {
    state {
        s: str = "\\u009b31m\\u001b[2J"
    }
    output s
    node a {
    }
    start -> a
    a -> end
}
"""


@pytest.mark.parametrize("argv", [["compile"], ["compile", "--target", "python"], ["graph"]])
def test_stdout_holds_no_raw_control_characters(tmp_path, capsys, argv):
    spec = tmp_path / "control.flow"
    spec.write_text(CONTROL_FLOW, encoding="utf-8")
    assert main([*argv, str(spec)]) == EXIT_OK
    out = capsys.readouterr().out
    assert not any((ch < " " and ch not in "\n\t") or "\x7f" <= ch <= "\x9f" for ch in out), repr(out)
    if argv == ["compile"]:  # still the same IR
        assert json.loads(out)["flows"]["f"]["fields"][0]["default"] == "\x9b31m\x1b[2J"
