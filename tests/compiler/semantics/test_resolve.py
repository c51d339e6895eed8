"""``--resolve``: call targets are imported only when asked, each module once,
and what the import does cannot corrupt the report or end the check."""

from __future__ import annotations

import sys
import textwrap
import uuid
from pathlib import Path

from fermata.compiler.semantics.resolve import resolve_call_targets
from fermata.compiler.syntax.parser import parse
from tests.compiler.support import isolated  # noqa: F401 - fixtures


def unique(prefix: str = "fermata_test_mod") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def spec(*targets: str) -> str:
    calls = "\n".join(f"        call {t}(x)" for t in targets)
    return textwrap.dedent("""\
    flow f {
        state {
            x: int = 0
        }
        node a {
    %s
        }
        start -> a
        a -> end
    }
    """) % calls


def resolve(text: str, root: Path):
    module, diagnostics = parse(text, "t.flow")
    assert module is not None, diagnostics
    return resolve_call_targets(module, "t.flow", root)


def test_existing_targets_resolve_cleanly(tmp_path, isolated):
    name = unique()
    (tmp_path / f"{name}.py").write_text("def fn(x):\n    return x\n")
    assert resolve(spec(f'"{name}:fn"', '"os.path:join"'), tmp_path) == []
    assert str(tmp_path) in sys.path  # the spec's folder, as for a script beside it


def test_a_missing_module_is_f450_at_the_target(tmp_path, isolated):
    name = unique("no_such_module")
    text = spec(f'"{name}:fn"')
    (d,) = resolve(text, tmp_path)
    assert d.code == "F450" and d.is_error
    assert d.message == f"cannot import module `{name}` of call target `{name}:fn`"
    assert d.help == f"ModuleNotFoundError: No module named '{name}'"
    line = text.splitlines()[d.span.line - 1]
    assert line[d.span.column - 1: d.span.end_column - 1] == f'"{name}:fn"'


def test_a_missing_or_non_callable_function_is_f451(tmp_path, isolated):
    name = unique()
    (tmp_path / f"{name}.py").write_text("CONSTANT = 3\ndef fn(x):\n    return x\n")
    found = resolve(spec(f'"{name}:nope"', f'"{name}:CONSTANT"', f'"{name}:fn"'), tmp_path)
    assert [(d.code, d.message, d.span.line) for d in found] == [
        ("F451", f"module `{name}` has no function `nope`", 6),
        ("F451", f"module `{name}` has no function `CONSTANT`", 7),
    ]


def test_a_module_that_fails_is_imported_once_and_reported_at_every_call(tmp_path, isolated):
    name = unique()
    counter = tmp_path / "imports.txt"
    (tmp_path / f"{name}.py").write_text(
        f"with open({str(counter)!r}, 'a') as f:\n    f.write('x')\nraise RuntimeError('boom')\n")
    found = resolve(spec(f'"{name}:a"', f'"{name}:b"'), tmp_path)
    assert [(d.code, d.help) for d in found] == [("F450", "RuntimeError: boom")] * 2
    assert counter.read_text() == "x"


def test_printing_at_import_goes_to_stderr(tmp_path, isolated, capsys):
    # `check --resolve --format json` writes JSON on stdout: a module's
    # print() must not end up in it.
    name = unique()
    (tmp_path / f"{name}.py").write_text("print('hello from import')\ndef fn(x):\n    return x\n")
    assert resolve(spec(f'"{name}:fn"'), tmp_path) == []
    out, err = capsys.readouterr()
    assert out == "" and "hello from import" in err


def test_sys_exit_at_import_is_a_diagnostic_not_the_end(tmp_path, isolated):
    name = unique()
    (tmp_path / f"{name}.py").write_text("import sys\nsys.exit(4)\n")
    (d,) = resolve(spec(f'"{name}:fn"'), tmp_path)
    assert (d.code, d.help) == ("F450", "SystemExit: 4")


def test_a_dotted_module_in_a_package(tmp_path, isolated):
    package = unique("pkg")
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "logic.py").write_text("def score(x):\n    return 1\n")
    assert resolve(spec(f'"{package}.logic:score"'), tmp_path) == []
    (d,) = resolve(spec(f'"{package}.other:score"'), tmp_path)
    assert d.code == "F450"


def test_the_examples_resolve(isolated):
    root = Path(__file__).resolve().parents[3] / "examples"
    for path in sorted(root.glob("*.flow")):
        module, _ = parse(path.read_text(encoding="utf-8"), path.name)
        assert module is not None
        assert resolve_call_targets(module, path.name, root) == [], path.name
