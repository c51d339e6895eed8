"""Templates render against the node's view, sandboxed and strict."""

from __future__ import annotations

import pytest

from fermata.runtime.errors import EvalError
from fermata.runtime.templates import compile_template
from tests.runtime.support import View


def test_renders_fields_and_locals_with_locals_winning() -> None:
    render = compile_template("{{ a }}/{{ b }}/{{ c }}")
    view = View({"a": 1, "b": 2, "c": 3}, overlay={"b": 20, "c": 30}, local={"c": 300})
    assert render(view) == "1/20/300"


def test_values_render_like_str() -> None:
    render = compile_template("{{ t }} {{ n }} {{ f }} {{ l }} {{ m }}")
    assert render(View({"t": True, "n": None, "f": 0.5, "l": ["a", 1], "m": {"k": False}})) == \
        'true null 0.5 ["a", 1] {"k": false}'


def test_filters_and_loops_work() -> None:
    render = compile_template("{{ xs | length }}:{% for x in xs %}{{ x }};{% endfor %}")
    assert render(View({"xs": ["a", "b"]})) == "2:a;b;"


def test_an_undefined_name_is_an_error() -> None:
    with pytest.raises(EvalError, match="'missing' is undefined"):
        compile_template("{{ missing }}")(View())


def test_a_missing_member_is_an_error() -> None:
    with pytest.raises(EvalError, match="has no attribute 'x'"):
        compile_template("{{ d.x }}")(View({"d": {}}))


def test_the_sandbox_refuses_to_mutate_state() -> None:
    items = [1]
    with pytest.raises(EvalError, match="not allowed"):
        compile_template("{{ xs.append(2) }}")(View({"xs": items}))
    assert items == [1]


def test_the_sandbox_refuses_python_internals() -> None:
    with pytest.raises(EvalError):
        compile_template("{{ s.__class__.__mro__ }}")(View({"s": "x"}))


def test_a_syntax_error_is_reported_when_compiling() -> None:
    with pytest.raises(ValueError, match="does not parse"):
        compile_template("{{ oops")


def test_each_template_is_compiled_once() -> None:
    from fermata.runtime import templates

    before = templates._compiled.cache_info().misses
    for _ in range(3):
        compile_template("cached {{ x }}")
    assert templates._compiled.cache_info().misses == before + 1


# --------------------------------------------------------------------------
# Issue #11, point 9: the globals Jinja documents exist at run time
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "expected"), [
    ("{{ range(3)|list }}", "[0, 1, 2]"),
    ("{{ dict(a=1).a }}", "1"),
    ("{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}", "aba"),
    ("{% set j = joiner(', ') %}{% for x in xs %}{{ j() }}{{ x }}{% endfor %}", "1, 2"),
    ("{% set ns = namespace(n=0) %}{% for x in xs %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}", "3"),
])
def test_jinjas_documented_globals_are_defined(source: str, expected: str) -> None:
    # A shared context used to drop the globals: `range` was undefined.
    assert compile_template(source)(View({"xs": [1, 2]})) == expected


def test_a_field_named_like_a_global_wins() -> None:
    assert compile_template("{{ range }}")(View({"range": 5})) == "5"


def test_the_checker_accepts_exactly_what_the_runtime_defines() -> None:
    # `check` judges templates with its own environment (it must not load the
    # runtime): the names it accepts must be the ones a render can use.
    from fermata.compiler.checks import templates as checked
    from fermata.runtime import templates as runtime

    assert set(checked._ENVIRONMENT.globals) == set(runtime._ENVIRONMENT.globals) == set(runtime.TEMPLATE_GLOBALS)
    assert set(checked._NAMES.globals) == set(runtime._ENVIRONMENT.globals)
    assert not set(runtime.LEFT_OUT) & (set(runtime._ENVIRONMENT.filters) | set(runtime._ENVIRONMENT.globals))
    assert set(checked._ENVIRONMENT.filters) == set(runtime._ENVIRONMENT.filters)
    assert set(checked._ENVIRONMENT.tests) == set(runtime._ENVIRONMENT.tests)
    for name in runtime.TEMPLATE_GLOBALS:   # each is usable, not only known
        assert compile_template(f"{{{{ {name} is defined }}}}")(View()) == "true"


# --------------------------------------------------------------------------
# Issue #11, point 16: renders are bounded
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "message"), [
    ("{{ ('x' * 100000000)|length }}", "would build a value of 100,000,000 items"),
    ("{{ [0] * 100000000 }}", "would build a value of 100,000,000 items"),
    ("{{ 10 ** (10 ** 7) }}", "would build an integer of more than 10,000 bits"),
    ("{% set ns = namespace(n=3) %}{% for i in range(40) %}{% set ns.n = ns.n * ns.n %}{% endfor %}",
     "would build an integer of more than 10,000 bits"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
     "took more than 1,000,000 operations"),
    ("{% for a in xs %}{% for b in xs %}{% for c in xs %}{% endfor %}{% endfor %}{% endfor %}",
     "took more than 1,000,000 operations"),
    ("{% for i in range(100) %}{{ range(100000)|sum }}{% endfor %}", "took more than 1,000,000 operations"),
    ("{{ range(100001)|length }}", "asked for a range of 100,001 numbers"),
    ("{% for i in range(100000) %}{{ 'xxxxxxxxxxxxxxxxxxxx' }}{% endfor %}", "renders more than 1,000,000 characters"),
    ("{{ 'x'|center(100000000) }}", "passed 100,000,000 to `center`"),
    ("{{ 'x'.ljust(100000000) }}", "passed 100,000,000 to `ljust`"),
    ("{{ [1]|batch(100000000, 0)|list }}", "passed 100,000,000 to `batch`"),
    ("{{ '%0100000000d' % 1 }}", "formats with a width over 100,000"),
    ("{{ '%0100000000d'|format(1) }}", "formats with a width over 100,000"),
    ("{{ '{:>100000000}'.format(1) }}", "formats with a width over 100,000"),
    ("{{ 'abc'.replace('', 'x' * 900000) }}", "would build a value of 3,600,003 items"),
    ("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
     "built a str of 1,048,576 items"),
    ("{% macro f(s, n) %}{% if n %}{{ f(s ~ s, n - 1) }}{% endif %}{% endmacro %}{{ f('x', 40) }}",
     "built a str of 1,048,576 items"),
])
def test_a_runaway_template_fails_with_a_clear_error(source: str, message: str) -> None:
    with pytest.raises(EvalError, match="templates are bounded") as caught:
        compile_template(source)(View({"xs": list(range(1000))}))
    assert message in str(caught.value)


def test_ordinary_arithmetic_and_formatting_still_work() -> None:
    render = compile_template("{{ 2 * 3 }} {{ 2 ** 10 }} {{ 'a' + 'b' }} {{ [1] + [2] }} {{ '%05d' % 42 }} "
                              "{{ 'ab' * 2 }} {{ amount * 2 }} {{ '{:>4}'.format(7) }} {{ 5000000|default(1) }} "
                              "{{ dict(a=5000000).a }}")
    assert render(View({"amount": 2.5})) == "6 1024 ab [1, 2] 00042 abab 5.0    7 5000000 5000000"


def test_the_budget_is_per_render() -> None:
    render = compile_template("{% for i in range(90000) %}{% endfor %}{{ xs|length }}")
    for _ in range(20):   # 20 x 180,000 operations: more than one budget, never in one render
        assert render(View({"xs": [1]})) == "1"


def test_a_runaway_template_fails_its_step_on_the_spec_line(store) -> None:
    from tests.runtime.irbuild import STR, fld, flow, make_graph, node, set_, tmpl

    doc = flow(fields=[fld("s", STR, "")],
               nodes=[node("n", set_("s", tmpl("{{ ('x' * 100000000)|length }}"), line=9))],
               edges={"start": ["n"], "n": ["end"]})
    run = make_graph(doc, store).invoke({}, thread="t")
    assert run.status == "failed" and run.error["line"] == 9
    assert "would build a value of 100,000,000 items" in run.error["message"]


def test_a_render_stops_when_its_attempts_timeout_has_passed() -> None:
    # The attempt's worker thread is held until the timeout has passed, then
    # renders: the render must stop at its first operation, not run on.
    import threading

    from fermata.runtime.calls import run_with_timeout
    from fermata.runtime.errors import CallTimeoutError

    render = compile_template("{% for x in xs %}{% endfor %}done")
    release, finished = threading.Event(), threading.Event()
    outcome: list[object] = []

    def attempt() -> None:
        release.wait()
        try:
            outcome.append(render(View({"xs": list(range(100000))})))
        except EvalError as exc:
            outcome.append(exc)
        finished.set()

    with pytest.raises(CallTimeoutError):
        run_with_timeout(attempt, 1, "node `n`")
    release.set()
    assert finished.wait(30)
    (error,) = outcome
    assert isinstance(error, EvalError) and "was stopped: its node's timeout passed" in str(error)
