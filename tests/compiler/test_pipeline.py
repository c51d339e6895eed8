"""The chained stages: ``analyze`` never raises and reports everything in
order, ``compile_source`` raises with every diagnostic, call targets are
imported only when asked."""

from __future__ import annotations

import textwrap
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fermata.compiler.diagnostics.diagnostic import CompileError, Diagnostic, Severity
from fermata.compiler.pipeline import Analysis, analyze, compile_file, compile_source
from tests.compiler.support import isolated  # noqa: F401 - a fixture

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

# Three independent faults, on lines 7, 8 and 11, plus an unused local (a warning).
THREE_ERRORS = textwrap.dedent("""\
    flow f {
        state {
            count: int = 0
            name: str = ""
        }
        node a {
            set cout = 1
            set name = 5
        }
        node b {
            let unused = 1
            set count = missing
        }
        start -> a
        a -> b
        b -> end
    }
    """)


def codes(found: list[Diagnostic]) -> list[tuple[str, int]]:
    return [(d.code, d.span.line) for d in found]


# ------------------------------------------------------------ analyze


def test_a_good_spec_is_ok():
    analysis = analyze(GOOD, "good.flow")
    assert isinstance(analysis, Analysis)
    assert analysis.ok and analysis.diagnostics == [] and analysis.errors == []
    assert analysis.module is not None and analysis.path == "good.flow" and analysis.text == GOOD


def test_every_problem_is_reported_in_source_order():
    analysis = analyze(THREE_ERRORS, "bad.flow")
    assert codes(analysis.diagnostics) == [("F128", 7), ("F300", 8), ("F124", 11), ("F120", 12)]
    assert codes(analysis.errors) == [("F128", 7), ("F300", 8), ("F120", 12)]
    assert not analysis.ok and analysis.module is not None
    assert {d.path for d in analysis.diagnostics} == {"bad.flow"}


def test_warnings_alone_keep_a_spec_ok():
    text = GOOD.replace("set count += 1", "let unused = 1\n        set count += 1")
    analysis = analyze(text)
    assert [d.severity for d in analysis.diagnostics] == [Severity.WARNING]
    assert analysis.ok


def test_a_syntax_error_leaves_no_module():
    analysis = analyze("flow f {\n    node a {\n", "t.flow")
    assert analysis.module is None and not analysis.ok
    assert analysis.errors and all(d.code.startswith("F0") for d in analysis.errors)


def test_suppressions_apply_in_analyze():
    text = THREE_ERRORS.replace("set cout = 1", "set cout = 1  # fermata: ignore[F128]")
    assert ("F128", 7) not in codes(analyze(text).diagnostics)


# A small alphabet of the language's own pieces makes the fuzzer reach the
# checker, not only the tokenizer, in few examples.
PIECES = st.sampled_from([
    "flow f {", "}", "{", "state {", "x: int = 0", "s: str?", "node a", "node b", "start -> a",
    "a -> end", "a -> b when x > 1", "a -> b otherwise", "a, b -> end", "set x = 1", "set x += y",
    "let y = call \"m:f\"(x)", "interrupt ask \"{{ x }}\" expect {a: int}", "if x { fail \"no\" }",
    "type T = {a: int}", "\n", " ", ";", "\"", "\"\"\"", "#", "# fermata: ignore[F201]", "(", ")",
    "[", "]", ",", ".", "??", "\t", "é", "日本", "\r\n", "\x00", "\ufeff",
])


@given(st.binary(max_size=300))
def test_analyze_never_raises_on_arbitrary_bytes(data: bytes):
    for text in (data.decode("utf-8", errors="replace"), data.decode("latin-1")):
        analysis = analyze(text, "fuzz.flow")
        assert analysis.ok == (analysis.module is not None and not analysis.errors)


@given(st.lists(PIECES, max_size=40).map(" ".join))
def test_analyze_never_raises_on_spec_like_text(text: str):
    analysis = analyze(text, "fuzz.flow")
    assert analysis.diagnostics == sorted(analysis.diagnostics, key=Diagnostic.sort_key)
    if analysis.ok:
        compile_source(text, "fuzz.flow")  # an ok analysis always lowers


# ------------------------------------------------------------ compile


def test_compile_source_gives_the_ir():
    ir = compile_source(GOOD, "good.flow")
    assert ir["fermata_ir"] == 1 and ir["source"]["path"] == "good.flow"
    assert list(ir["flows"]) == ["f"]


def test_compile_source_raises_with_every_error():
    with pytest.raises(CompileError) as caught:
        compile_source(THREE_ERRORS, "bad.flow")
    error = caught.value
    # Warnings too, so that `fermata compile` shows what `fermata check` would.
    assert codes(list(error.diagnostics)) == [("F128", 7), ("F300", 8), ("F124", 11), ("F120", 12)]
    assert error.source == THREE_ERRORS
    assert str(error) == "bad.flow:7:13: error[F128]: unknown field `cout` (and 2 more errors)"


def test_a_compile_error_is_a_fermata_error():
    # Issue #11, 13: the README says every error derives from FermataError;
    # `except FermataError` around `load(...)` let a CompileError through.
    import fermata.compiler
    from fermata.runtime import FermataError

    with pytest.raises(FermataError) as caught:
        compile_source(THREE_ERRORS, "bad.flow")
    assert isinstance(caught.value, fermata.compiler.CompileError)
    assert fermata.compiler.CompileError is CompileError  # one class, wherever it is imported from


def test_compile_source_raises_on_a_syntax_error():
    with pytest.raises(CompileError) as caught:
        compile_source("flow f {", "t.flow")
    assert caught.value.diagnostics[0].code.startswith("F0")


def test_compile_file_reads_utf8_with_or_without_a_byte_order_mark(tmp_path):
    plain, marked = tmp_path / "plain.flow", tmp_path / "marked.flow"
    plain.write_text(GOOD, encoding="utf-8")
    marked.write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    first, second = compile_file(plain), compile_file(marked)
    assert first["flows"] == second["flows"]
    assert first["source"]["sha256"] == second["source"]["sha256"]
    assert second["source"]["path"] == marked.as_posix()


# ------------------------------------------------------------ resolution




@pytest.mark.usefixtures("isolated")
def test_call_targets_are_imported_only_when_asked(tmp_path):
    name = f"fermata_marker_{uuid.uuid4().hex[:10]}"
    marker = tmp_path / "imported"
    (tmp_path / f"{name}.py").write_text(
        f"open({str(marker)!r}, 'w').close()\ndef fn(x):\n    return x\n")
    text = GOOD.replace("set count += 1", f'call "{name}:fn"(count)')
    assert analyze(text, "t.flow").ok
    compile_source(text, "t.flow")
    assert not marker.exists()
    assert analyze(text, "t.flow", resolve_root=tmp_path).ok
    assert marker.exists()  # so the check above could have failed


@pytest.mark.usefixtures("isolated")
def test_resolution_diagnostics_are_sorted_and_suppressible(tmp_path, monkeypatch):
    missing = f"fermata_missing_{uuid.uuid4().hex[:10]}"
    text = THREE_ERRORS.replace("set cout = 1", f'call "{missing}:fn"(1)\n        set cout = 1')
    found = analyze(text, "t.flow", resolve_root=tmp_path).diagnostics
    assert codes(found) == [("F450", 7), ("F128", 8), ("F300", 9), ("F124", 12), ("F120", 13)]
    # Resolution runs before suppressions apply. (F450 is not in the
    # catalogue yet, so the suppression parser is told the code exists.)
    from fermata.compiler.diagnostics import catalogue

    monkeypatch.setattr(catalogue, "known_codes", lambda: frozenset({"F450", "F128"}))
    quiet = text.replace('(1)\n', '(1)  # fermata: ignore[F450]\n')
    assert codes(analyze(quiet, "t.flow", resolve_root=tmp_path).diagnostics) == [
        ("F128", 8), ("F300", 9), ("F124", 12), ("F120", 13)]


@pytest.mark.usefixtures("isolated")
def test_nothing_is_resolved_after_a_syntax_error(tmp_path, monkeypatch):
    called = []
    monkeypatch.setattr("fermata.compiler.semantics.resolve.resolve_call_targets",
                        lambda *args: called.append(args) or [])
    analyze('flow f { node a { call "m:f"(1) ', "t.flow", resolve_root=tmp_path)
    assert called == []
    analyze(GOOD, "t.flow", resolve_root=tmp_path)
    assert len(called) == 1

