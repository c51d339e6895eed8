"""The answers pass: F440 (an interrupt without `expect`, with a type
guessed from how its answer is used) and F435 (a template in a record key)."""

from __future__ import annotations

import pytest

from fermata.compiler import analyze
from fermata.compiler.checks import answers
from fermata.compiler.checks.context import CheckContext
from fermata.compiler.diagnostics.diagnostic import Diagnostic, DiagnosticSink
from fermata.compiler.syntax.parser import parse_or_raise

FIELDS = "approved: bool = false\n note: str = \"\"\n count: int = 0\n tags: list[str] = []"


def run(steps: str) -> list[Diagnostic]:
    module = parse_or_raise(f"flow f {{ state {{ {FIELDS} }} node a {{ {steps} }} start -> a a -> end }}")
    context = CheckContext(module, DiagnosticSink("t.flow"))
    answers.check(context)
    return context.sink.items


@pytest.mark.parametrize("steps, suggestion", [
    ('let d = interrupt ok "?" set approved = d', "expect bool"),
    ('let d = interrupt ok "?" set note = d', "expect str"),
    ('let d = interrupt ok "?" if d { set count = 1 }', "expect bool"),
    ('let d = interrupt ok "?" if d == 3 { set count = 1 }', "expect int"),
    ('let d = interrupt ok "?" set approved = d.approved set note = d.comment',
     "expect {approved: bool, comment: str}"),
    ('let d = interrupt ok "?" if d.approved and d.level > 2 { set note = "x" }',
     "expect {approved: bool, level: int}"),
    ('let d = interrupt ok "?" set tags += [d.type]', "expect {type: any}"),
    ('let d = interrupt ok "?" let e = interrupt again d', "expect T"),   # nothing to go on
    ('interrupt ok "just pause"', "expect bool"),
])
def test_an_interrupt_without_expect_is_f440_with_a_suggested_type(steps, suggestion):
    (found,) = run(steps)[:1]
    assert found.code == "F440" and found.severity == "warning"
    assert "interrupt `ok` has no `expect`" in found.message
    assert suggestion in (found.help or "")


def test_an_interrupt_with_expect_is_not_reported():
    assert run('let d = interrupt ok "?" expect bool set approved = d') == []


def test_f440_fails_a_strict_check_and_passes_a_plain_one(tmp_path):
    from fermata.compiler.cli.main import main

    spec = tmp_path / "f.flow"
    spec.write_text('flow f { state { ok: bool = false } node a { let d = interrupt ask "?" set ok = d } '
                    "start -> a a -> end }\n")
    assert main(["check", str(spec)]) == 0
    assert main(["check", "--strict", str(spec)]) == 1


def test_a_template_in_a_record_key_is_f435_at_the_key():
    text = 'flow f { state { m: map[int] = {} } node a { set m = {ok: 1, "{{ m }}": 2} } start -> a a -> end }'
    found = [d for d in analyze(text, "t.flow").diagnostics if d.code == "F435"]
    assert len(found) == 1 and found[0].severity == "error"
    assert text[found[0].span.start:found[0].span.end] == '"{{ m }}"'


def test_a_template_in_a_record_value_is_still_a_template():
    text = 'flow f { state { m: map[str] = {} } node a { set m = {ok: "{{ m }}"} } start -> a a -> end }'
    assert "F435" not in [d.code for d in analyze(text, "t.flow").diagnostics]
