"""Templates render against the node's view, sandboxed and strict."""

from __future__ import annotations

import pytest
from fermata.runtime.errors import EvalError
from fermata.runtime.templates import compile_template

from tests.runtime.test_expressions import View


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
