"""Template strings: parsed and their names checked, never rendered; the
positions reported inside the string."""

from __future__ import annotations

import pytest

from fermata.compiler.checks import templates
from fermata.compiler.diagnostics.diagnostic import Diagnostic, DiagnosticSink
from fermata.compiler.syntax import ast
from fermata.compiler.syntax.parser import parse


def literal(value: str, line: int = 3, column: int = 20, quote: int = 1) -> ast.Literal:
    """A string literal as the parser would place it, its raw text being the
    value between quotes (no escapes)."""
    raw = len(value) + 2 * quote
    lines = value.split("\n")
    end_line = line + len(lines) - 1
    end_column = column + raw if len(lines) == 1 else len(lines[-1]) + quote + 1
    return ast.Literal(value, ast.Span(line, column, end_line, end_column, 100, 100 + raw))


def check(lit: ast.Literal, visible=("name", "items", "count"), **kwargs) -> list[Diagnostic]:
    sink = DiagnosticSink()
    templates.check_template(sink, lit, list(visible), **kwargs)
    return sink.items


def test_known_names_pass_and_are_reported_as_read():
    read: list[str] = []
    lit = literal("{{ name }}: {% for i in items %}{{ i }}{{ loop.index }}{% endfor %} {{ range(count) }}")
    assert check(lit, read=read.append) == []
    assert sorted(read) == ["count", "items", "name"]


def test_names_set_inside_the_template_are_not_context_names():
    assert check(literal("{% set total = count + 1 %}{{ total }}")) == []


def test_unknown_name_with_did_you_mean_at_its_column():
    lit = literal("hello {{ nme }}!", column=20)
    [d] = check(lit)
    assert (d.code, d.message, d.help) == ("F431", "unknown name `nme` in a template", "did you mean `name`?")
    # column 20 is the quote; `nme` starts 9 characters into the value
    assert (d.span.line, d.span.column, d.span.end_column) == (3, 20 + 1 + 9, 20 + 1 + 9 + 3)


def test_only_names_inside_tags_are_located():
    lit = literal("nme: {{ nme }}", column=1)
    [d] = check(lit)
    assert d.span.column == 1 + 1 + len("nme: {{ ")


def test_a_position_on_a_later_line_of_a_multi_line_string():
    lit = literal('first line\n  {{ nope }}', line=5, column=9, quote=3)
    [d] = check(lit)
    assert (d.span.line, d.span.column) == (6, 6)


def test_escapes_fall_back_to_the_whole_string():
    # `"a\"b {{ nope }}"`: the raw text is one character longer than the value.
    value = 'a"b {{ nope }}'
    raw = len(value) + 3  # the quotes and the backslash
    lit = ast.Literal(value, ast.Span(1, 1, 1, 1 + raw, 0, raw))
    [d] = check(lit)
    assert d.span == lit.span


def test_syntax_error():
    [d] = check(literal("hello {{ name }"))
    assert d.code == "F430" and d.message.startswith("template does not parse: ")
    assert d.message == d.message.rstrip(".") and d.message.split(": ", 1)[1][0].islower()


def test_syntax_error_on_a_later_line_points_at_that_line():
    lit = literal("line one\nline two {% if %}\nthree", line=7, column=5, quote=3)
    [d] = check(lit)
    assert d.code == "F430" and d.span.line == 8 and d.span.column == 1


@pytest.mark.parametrize("source, kind, name, help", [
    ("{{ name | captialize }}", "filter", "captialize", "did you mean `capitalize`?"),
    ("{% if count is od %}x{% endif %}", "test", "od", "did you mean `odd`?"),
    ("{% if count %}{{ name | nofilter }}{% endif %}", "filter", "nofilter", None),
])
def test_unknown_filter_or_test(source: str, kind: str, name: str, help: str | None):
    found = check(literal(source))
    assert [(d.code, d.message) for d in found] == [("F432", f"unknown {kind} `{name}` in a template")]
    if help:
        assert found[0].help == help


def test_an_unknown_filter_does_not_hide_unknown_names():
    assert [d.code for d in check(literal("{{ nme | lenght }}"))] == ["F432", "F431"]


def test_explain_can_take_over_an_unknown_name():
    seen: list[str] = []

    def explain(name: str, span: ast.Span) -> bool:
        seen.append(name)
        return name == "later"

    found = check(literal("{{ later }} {{ zz }}"), explain=explain)
    assert seen == ["later", "zz"] and [d.message for d in found] == ["unknown name `zz` in a template"]


def test_templates_are_never_rendered(monkeypatch):
    import jinja2

    def boom(*args, **kwargs):  # pragma: no cover - must not run
        raise AssertionError("rendered")

    monkeypatch.setattr(jinja2.Template, "render", boom)
    monkeypatch.setattr(jinja2.Template, "root_render_func", property(boom), raising=False)
    assert check(literal("{{ name }} {{ range(3) | list }}")) == []


def test_positions_from_the_parser_agree():
    text = 'flow f {\n    state { name: str = "" }\n    node n {\n        set name = "hi {{ nmae }}"\n    }\n}\n'
    module, _ = parse(text)
    assert module is not None
    step = module.flows[0].nodes[0].steps[0]
    assert isinstance(step, ast.Set) and isinstance(step.value, ast.Literal)
    [d] = check(step.value, visible=["name"])
    line = text.splitlines()[d.span.line - 1]
    assert line[d.span.column - 1:d.span.end_column - 1] == "nmae"


def test_random_lipsum_is_not_a_template_name():
    # It would render differently on a replay; the runtime does not offer it.
    from fermata.compiler.pipeline import analyze

    text = 'flow f {\n    state { s: str = "" }\n    node a { set s = "{{ lipsum(1) }}" }\n' \
           '    start -> a\n    a -> end\n}\n'
    [d] = analyze(text).diagnostics
    assert (d.code, d.span.line) == ("F431", 3) and "replay" in d.help


def test_the_random_filter_is_refused_with_the_reason():
    from fermata.compiler.pipeline import analyze

    text = 'flow f {\n    state { s: str = "" }\n    node a { set s = "{{ [1, 2]|random }}" }\n' \
           '    start -> a\n    a -> end\n}\n'
    [d] = analyze(text).diagnostics
    assert (d.code, d.span.line) == ("F432", 3) and "replay" in d.help


@pytest.mark.parametrize("source", [
    "{% if count %}" * 150 + "x" + "{% endif %}" * 150,            # Python: too many indents
    "{% for i in items %}" * 30 + "x" + "{% endfor %}" * 30,        # Python: 20 nested loops
    "{{ " + "(" * 80 + "count" + ")" * 80 + " }}",                  # Jinja's compiler recurses
    "{{ " + "(" * 3000 + "count" + ")" * 3000 + " }}",              # Jinja's parser recurses
], ids=["ifs", "fors", "parentheses", "thousands"])
def test_a_template_python_could_not_compile_is_refused(source):
    assert [(d.code, d.message) for d in check(literal(source))] == [
        ("F430", "template does not parse: it nests too deeply")]


def test_a_moderately_nested_template_passes_and_renders():
    from types import SimpleNamespace

    from fermata.runtime.templates import compile_template

    source = "{% if count %}" * 19 + "{{ name }}" + "{% endif %}" * 19
    assert check(literal(source)) == []
    view = SimpleNamespace(locals={"count": 1, "name": "ada"}, overlay={}, state={})
    assert compile_template(source)(view) == "ada"
