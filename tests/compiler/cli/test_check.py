"""``fermata check``: which files, every problem in each, every output format,
exit codes, suppressions and ``--resolve``, through ``main`` and through the
real console script."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from fermata.compiler.cli import check as cmd_check
from fermata.compiler.cli.check import SKIPPED_DIRS, find_specs
from fermata.compiler.cli.common import (
    EXIT_FINDINGS,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
)
from fermata.compiler.cli.main import main
from tests.compiler.support import (
    THREE,
    clean_env,
    fermata_command,
    isolated,  # noqa: F401 - a fixture
    validate_sarif,
)

REPO = Path(__file__).resolve().parents[3]
ANSI = re.compile(r"\x1b\[[0-9;]*m")

GOOD = textwrap.dedent("""\
    flow f {
        state {
            count: int = 0
        }
        node a {
            set count += 1
        }
        start -> a
        a -> end
    }
    """)


# A warning only (F124, an unused local, at 6:13).
WARNS = GOOD.replace("set count += 1", "let unused = 1\n        set count += 1")

SYNTAX = "flow f {\n    node a {\n        set x = = 1\n    }\n}\n"


@pytest.fixture(autouse=True)
def plain_env(monkeypatch):
    for name in ("NO_COLOR", "FORCE_COLOR", "FERMATA_DEBUG"):
        monkeypatch.delenv(name, raising=False)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def check(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------ which files


def test_folders_are_searched_recursively_and_tool_folders_skipped(tmp_path):
    for name in ("a.flow", "sub/b.flow", "sub/deeper/c.flow", "sub/notes.txt",
                 ".git/x.flow", ".venv/lib/y.flow", "node_modules/z.flow", "sub/__pycache__/w.flow",
                 "pkg.egg-info/v.flow", ".fermata/u.flow", "build/t.flow"):
        write(tmp_path, name, GOOD)
    found = [p.relative_to(tmp_path).as_posix() for p in find_specs([str(tmp_path)])]
    assert found == ["a.flow", "sub/b.flow", "sub/deeper/c.flow"]
    assert {".git", ".venv", "node_modules", "__pycache__"} <= SKIPPED_DIRS


def test_files_are_taken_as_named_whatever_their_suffix_and_only_once(tmp_path):
    spec = write(tmp_path, "spec.txt", GOOD)
    other = write(tmp_path, "b.flow", GOOD)
    assert find_specs([str(spec), str(other), str(tmp_path / "." / "b.flow"), str(tmp_path)]) == sorted(
        [spec, other])


def test_a_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no such file or folder"):
        find_specs([str(tmp_path / "nope.flow")])


def test_the_default_is_the_current_folder(tmp_path, monkeypatch, capsys):
    write(tmp_path, "one.flow", THREE)
    write(tmp_path, "sub/two.flow", THREE)
    write(tmp_path, ".venv/three.flow", THREE)
    monkeypatch.chdir(tmp_path)
    code, out, _ = check(capsys, "--format", "text")
    assert code == EXIT_FINDINGS
    assert sorted({line.split(":")[0] for line in out.splitlines()}) == ["one.flow", "sub/two.flow"]


def test_an_empty_folder_has_no_problems(tmp_path, capsys):
    assert check(capsys, "--format", "text", str(tmp_path)) == (EXIT_OK, "", "")
    code, out, _ = check(capsys, "--format", "pretty", str(tmp_path))
    assert (code, out) == (EXIT_OK, "checked 0 files: no problems\n")


# ------------------------------------------------------------ every problem


def test_every_problem_of_every_file_is_reported(tmp_path, capsys):
    write(tmp_path, "a.flow", THREE)
    write(tmp_path, "b/c.flow", THREE)
    write(tmp_path, "ok.flow", GOOD)
    code, out, err = check(capsys, "--format", "text", str(tmp_path))
    assert code == EXIT_FINDINGS and err == ""
    a, c = (tmp_path / "a.flow").as_posix(), (tmp_path / "b" / "c.flow").as_posix()
    expected = [
        ":7:13: error[F128]: unknown field `cout`",
        ":8:20: error[F300]: expected `str` for `name`, found `int`",
        ":11:21: error[F120]: unknown name `missing`",
    ]
    assert out.splitlines() == [a + e for e in expected] + [c + e for e in expected]


def test_a_syntax_error_does_not_hide_other_files(tmp_path, capsys):
    write(tmp_path, "a.flow", SYNTAX)
    write(tmp_path, "b.flow", THREE)
    code, out, _ = check(capsys, "--format", "json", str(tmp_path))
    found = json.loads(out)["diagnostics"]
    assert code == EXIT_FINDINGS
    assert [Path(d["path"]).name for d in found] == ["a.flow"] + ["b.flow"] * 3
    assert found[0]["code"].startswith("F0")


# ------------------------------------------------------------ formats


def test_text_format(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "w.flow", WARNS)
    code, out, _ = check(capsys, "--format", "text", "w.flow")
    assert (code, out) == (EXIT_OK, "w.flow:6:13: warning[F124]: local `unused` is never used\n")


def test_text_is_the_default_off_a_terminal(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "t.flow", THREE)
    code, out, _ = check(capsys, "t.flow")
    assert code == EXIT_FINDINGS
    assert out.splitlines()[0] == "t.flow:7:13: error[F128]: unknown field `cout`"


def test_pretty_is_the_default_on_a_terminal_with_colour(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "t.flow", THREE)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, _ = check(capsys, "t.flow")
    assert code == EXIT_FINDINGS
    assert "\x1b[1;31merror[F128]" in out
    plain = ANSI.sub("", out)
    assert "error[F128]: unknown field `cout`\n --> t.flow:7:13\n" in plain
    assert "7 |         set cout = 1\n  |             ^^^^\n" in plain
    assert "  = help: did you mean `count`?\n" in plain
    assert plain.endswith("error: 3 errors found\n")


def test_no_color_keeps_pretty_plain_on_a_terminal(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "t.flow", THREE)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("NO_COLOR", "")
    code, out, _ = check(capsys, "t.flow")
    assert code == EXIT_FINDINGS
    assert "\x1b" not in out and out.startswith("error[F128]: unknown field `cout`\n")


def test_pretty_off_a_terminal_has_no_colour(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "t.flow", THREE)
    code, out, _ = check(capsys, "--format", "pretty", "t.flow")
    assert "\x1b" not in out and out.count("^") >= 3
    ok = write(tmp_path, "ok.flow", GOOD)
    code, out, _ = check(capsys, "--format", "pretty", str(ok), str(ok))
    assert (code, out) == (EXIT_OK, "checked 1 file: no problems\n")


def test_pretty_aligns_carets_under_tabs_and_wide_characters(tmp_path, capsys, monkeypatch):
    import unicodedata

    monkeypatch.chdir(tmp_path)
    write(tmp_path, "t.flow", 'flow f {\n\tstate {\n\t\ts: str = ""\n\t}\n'
                              '\tnode a {\n\t\tset s = "日本語" + 1\n\t}\n\tstart -> a\n\ta -> end\n}\n')
    code, out, _ = check(capsys, "--format", "pretty", "t.flow")
    assert code == EXIT_FINDINGS
    rows = out.splitlines()
    i = next(i for i, row in enumerate(rows) if row.startswith("6 |"))
    source, carets = rows[i], rows[i + 1]
    assert "\t" not in source
    prefix = source[: source.rindex("1")]
    columns = sum(2 if unicodedata.east_asian_width(ch) == "W" else 1 for ch in prefix)
    assert carets.index("^") == columns and carets.count("^") == 1


def test_pretty_renders_an_error_at_end_of_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "t.flow", "flow f {\n    node a {\n")
    code, out, _ = check(capsys, "--format", "pretty", "t.flow")
    assert code == EXIT_FINDINGS
    assert "end of file" in out and " --> t.flow:3:1" in out
    assert "3 |\n  | ^\n" in out


def test_json_format_has_every_field(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "t.flow", THREE)
    code, out, _ = check(capsys, "--format", "json", "t.flow")
    document = json.loads(out)
    assert code == EXIT_FINDINGS and document["version"] == 1
    first = document["diagnostics"][0]
    assert first == {"code": "F128", "severity": "error", "message": "unknown field `cout`",
                     "path": "t.flow", "line": 7, "column": 13, "end_line": 7, "end_column": 17,
                     "labels": [], "help": "did you mean `count`?", "notes": []}
    assert [d["code"] for d in document["diagnostics"]] == ["F128", "F300", "F120"]


def test_json_with_no_problems_is_still_json(tmp_path, capsys):
    write(tmp_path, "ok.flow", GOOD)
    code, out, _ = check(capsys, "--format", "json", str(tmp_path))
    assert (code, json.loads(out)) == (EXIT_OK, {"version": 1, "diagnostics": []})


def test_sarif_format(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "t.flow", THREE)
    write(tmp_path, "w.flow", WARNS)
    code, out, _ = check(capsys, "--format", "sarif", "t.flow", "w.flow")
    log = json.loads(out)
    validate_sarif(log)
    assert code == EXIT_FINDINGS
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    from fermata.compiler.diagnostics.catalogue import load_catalogue

    # A rule per code of the catalogue, the codes reported among them.
    assert [r["id"] for r in rules] == sorted(load_catalogue())
    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("F128", "error"), ("F300", "error"), ("F120", "error"), ("F124", "warning")]
    assert results[0]["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "t.flow", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 7, "startColumn": 13, "endLine": 7, "endColumn": 17}}
    assert rules[results[3]["ruleIndex"]]["defaultConfiguration"] == {"level": "warning"}


def test_github_format(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "t.flow", THREE)
    write(tmp_path, "w,1.flow", WARNS)
    code, out, _ = check(capsys, "--format", "github", "t.flow", "w,1.flow")
    lines = out.splitlines()
    assert code == EXIT_FINDINGS and len(lines) == 4
    assert lines[0] == ("::error file=t.flow,line=7,col=13,endLine=7,endColumn=17,title=F128::"
                        "unknown field `cout`%0Ahelp: did you mean `count`?")
    assert lines[3].startswith("::warning file=w%2C1.flow,line=6,col=13,")


def test_an_unknown_format_is_bad_usage(tmp_path, capsys):
    code, _, err = check(capsys, "--format", "xml", str(tmp_path))
    assert code == EXIT_USAGE and "invalid choice" in err


# ------------------------------------------------------------ exit codes


def test_exit_codes(tmp_path, capsys):
    good, warns, bad = (write(tmp_path, n, t) for n, t in
                        (("g.flow", GOOD), ("w.flow", WARNS), ("b.flow", THREE)))
    assert check(capsys, "--format", "text", str(good))[0] == EXIT_OK
    assert check(capsys, "--format", "text", str(warns))[0] == EXIT_OK
    assert check(capsys, "--format", "text", "--strict", str(warns))[0] == EXIT_FINDINGS
    assert check(capsys, "--format", "text", "--strict", str(good))[0] == EXIT_OK
    assert check(capsys, "--format", "text", str(bad))[0] == EXIT_FINDINGS


def test_a_missing_path_exits_2_with_one_line(tmp_path, capsys):
    code, out, err = check(capsys, str(tmp_path / "nope.flow"))
    assert (code, out) == (EXIT_USAGE, "")
    assert err == f"fermata check: error: no such file or folder: {tmp_path / 'nope.flow'}\n"


def test_an_unknown_flag_exits_2(capsys):
    code, _, err = check(capsys, "--bogus")
    assert code == EXIT_USAGE and "unrecognized arguments: --bogus" in err


def test_an_unreadable_file_is_bad_input(tmp_path, capsys):
    (tmp_path / "latin.flow").write_bytes(b"flow f { # caf\xe9\n}\n")
    code, _, err = check(capsys, str(tmp_path / "latin.flow"))
    assert code == EXIT_USAGE and "cannot read" in err


def test_an_internal_failure_exits_3_without_a_traceback(tmp_path, capsys, monkeypatch):
    write(tmp_path, "g.flow", GOOD)

    def broken(*args, **kwargs):
        raise RuntimeError("the checker fell over")

    monkeypatch.setattr(cmd_check, "analyze", broken)
    code, out, err = check(capsys, str(tmp_path))
    assert (code, out) == (EXIT_INTERNAL, "")
    assert "fermata check: internal error: RuntimeError: the checker fell over" in err
    assert "FERMATA_DEBUG=1" in err and "Traceback" not in err

    monkeypatch.setenv("FERMATA_DEBUG", "1")
    code, out, err = check(capsys, str(tmp_path))
    assert code == EXIT_INTERNAL
    assert "Traceback (most recent call last)" in err and "the checker fell over" in err


# ------------------------------------------------------------ suppressions


def test_a_suppression_on_the_line(tmp_path, capsys):
    text = THREE.replace("set cout = 1", "set cout = 1  # fermata: ignore[F128] renamed later")
    code, out, _ = check(capsys, "--format", "text", str(write(tmp_path, "t.flow", text)))
    assert code == EXIT_FINDINGS and "F128" not in out and out.count("\n") == 2


def test_a_suppression_on_the_line_above(tmp_path, capsys):
    text = WARNS.replace("        let unused", "        # fermata: ignore[F124]\n        let unused")
    code, out, _ = check(capsys, "--format", "text", "--strict", str(write(tmp_path, "t.flow", text)))
    assert (code, out) == (EXIT_OK, "")


def test_an_unused_suppression_is_reported(tmp_path, capsys):
    text = GOOD.replace("set count += 1", "set count += 1  # fermata: ignore[F128]")
    code, out, _ = check(capsys, "--format", "text", str(write(tmp_path, "t.flow", text)))
    assert code == EXIT_OK and "warning[F901]" in out
    assert check(capsys, "--format", "text", "--strict", str(tmp_path / "t.flow"))[0] == EXIT_FINDINGS


# ------------------------------------------------------------ --resolve


def with_call(target: str) -> str:
    return GOOD.replace("set count += 1", f'let r = call "{target}"(count)\n        set count = int(r)')


@pytest.mark.usefixtures("isolated")
def test_resolve_reports_missing_modules_and_functions(tmp_path, capsys):
    name = f"fermata_logic_{uuid.uuid4().hex[:10]}"
    write(tmp_path, f"{name}.py", "def score(x):\n    return x\n")
    write(tmp_path, "ok.flow", with_call(f"{name}:score"))
    write(tmp_path, "no_fn.flow", with_call(f"{name}:scroe"))
    write(tmp_path, "no_mod.flow", with_call(f"{name}_gone:score"))
    # Without --resolve nothing is looked up, so all three pass.
    assert check(capsys, "--format", "text", str(tmp_path)) == (EXIT_OK, "", "")
    code, out, _ = check(capsys, "--format", "json", "--resolve", str(tmp_path))
    found = {Path(d["path"]).name: (d["code"], d["line"], d["message"]) for d in json.loads(out)["diagnostics"]}
    assert code == EXIT_FINDINGS
    assert found == {
        "no_fn.flow": ("F451", 6, f"module `{name}` has no function `scroe`"),
        "no_mod.flow": ("F450", 6, f"cannot import module `{name}_gone` of call target `{name}_gone:score`"),
    }


@pytest.mark.usefixtures("isolated")
def test_resolve_output_stays_parseable_when_a_module_prints(tmp_path, capsys):
    name = f"fermata_noisy_{uuid.uuid4().hex[:10]}"
    write(tmp_path, f"{name}.py", "print('hello from import')\ndef f(x):\n    return x\n")
    write(tmp_path, "t.flow", with_call(f"{name}:f"))
    code, out, err = check(capsys, "--format", "sarif", "--resolve", str(tmp_path))
    validate_sarif(json.loads(out))
    assert code == EXIT_OK and "hello from import" in err


@pytest.mark.usefixtures("isolated")
def test_the_examples_resolve(capsys):
    assert check(capsys, "--format", "text", "--strict", "--resolve", str(REPO / "examples")) == (
        EXIT_OK, "", "")


@pytest.mark.usefixtures("isolated")
def test_plain_check_never_imports_call_targets(tmp_path, capsys):
    name = f"fermata_marker_{uuid.uuid4().hex[:10]}"
    marker = tmp_path / "imported.txt"
    write(tmp_path, f"{name}.py", f"open({str(marker)!r}, 'w').close()\ndef f(x):\n    return x\n")
    write(tmp_path, "t.flow", with_call(f"{name}:f"))
    for fmt in ("text", "json", "sarif", "github", "pretty"):
        assert check(capsys, "--format", fmt, "--strict", str(tmp_path))[0] == EXIT_OK
    assert not marker.exists() and name not in sys.modules
    assert check(capsys, "--resolve", str(tmp_path))[0] == EXIT_OK
    assert marker.exists()  # the marker does work: the check above could fail


# ------------------------------------------------------------ the real command


@pytest.mark.slow
def test_the_console_script(tmp_path):
    write(tmp_path, "t.flow", THREE)
    write(tmp_path, "ok.flow", GOOD)
    run = subprocess.run(check=False, args=[*fermata_command(), "check", "--format", "json", "."], cwd=tmp_path,
                         capture_output=True, text=True, env=clean_env(), timeout=120)
    assert run.returncode == EXIT_FINDINGS, run.stderr
    assert [d["line"] for d in json.loads(run.stdout)["diagnostics"]] == [7, 8, 11]
    # Piped, the default is the one-line format.
    run = subprocess.run(check=False, args=[*fermata_command(), "check", "ok.flow"], cwd=tmp_path,
                         capture_output=True, text=True, env=clean_env(), timeout=120)
    assert (run.returncode, run.stdout, run.stderr) == (EXIT_OK, "", "")
    run = subprocess.run(check=False, args=[*fermata_command(), "check", "missing.flow"], cwd=tmp_path,
                         capture_output=True, text=True, env=clean_env(), timeout=120)
    assert run.returncode == EXIT_USAGE and "no such file or folder" in run.stderr


def run_on_a_terminal(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                   stdout=slave, stderr=slave)
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed its side
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = process.wait(timeout=120)
    finally:
        os.close(master)
    return code, b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_on_a_real_terminal_the_default_is_pretty_and_coloured(tmp_path):
    write(tmp_path, "t.flow", THREE)
    code, out = run_on_a_terminal([*fermata_command(), "check", "t.flow"], tmp_path, clean_env())
    assert code == EXIT_FINDINGS
    assert "\x1b[1;31merror[F128]" in out
    assert " --> t.flow:7:13" in ANSI.sub("", out)
    code, out = run_on_a_terminal([*fermata_command(), "check", "t.flow"], tmp_path,
                                  clean_env(NO_COLOR="1"))
    assert code == EXIT_FINDINGS and "\x1b" not in out
    assert out.startswith("error[F128]: unknown field `cout`\n --> t.flow:7:13\n")


@pytest.mark.parametrize("fmt", ["text", "github", "json", "sarif", "pretty"])
def test_a_hostile_file_name_is_printed_escaped(tmp_path, capsys, fmt):
    # A cloned repository may hold any file name: naming it must not drive the terminal.
    spec = tmp_path / "\x1b]0;pwned\x07\x9b2J.flow"
    spec.write_text("flow f {\n}\n", encoding="utf-8")
    assert main(["check", "--format", fmt, str(spec)]) == EXIT_FINDINGS
    out = capsys.readouterr().out
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", out), repr(out)
    if fmt == "json":  # still JSON, naming the same file
        assert json.loads(out)["diagnostics"][0]["path"] == spec.as_posix()
    if fmt == "sarif":
        json.loads(out)
