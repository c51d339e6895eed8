"""``py_literal``: JSON data as Python source that evaluates to the same data."""

from __future__ import annotations

import ast
import json
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from fermata.compiler.codegen.literals import (
    docstring,
    docstring_text,
    py_literal,
    py_string,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


def _same(a: object, b: object) -> bool:
    """Equal as JSON, with key order and int/float/bool distinctions kept."""
    return json.dumps(a) == json.dumps(b) and type(a) is type(b)


@given(json_values, st.integers(0, 40))
def test_a_literal_evaluates_back_to_the_value_with_its_key_order(value, indent):
    text = py_literal(value, indent)
    assert _same(ast.literal_eval(text), value)
    assert text.isascii() and "\x00" not in text


@given(json_values)
def test_every_line_but_the_first_is_indented_and_the_layout_is_stable(value):
    text = py_literal(value, 8, width=40)
    assert text == py_literal(value, 8, width=40)
    for line in text.split("\n")[1:]:
        assert line.startswith(" " * 8)
        assert line == line.rstrip()


def test_containers_wrap_one_item_per_line_only_when_they_do_not_fit():
    value = {"k": "bin", "op": "+", "l": {"k": "field", "n": "a"}, "r": {"k": "lit", "v": 1}}
    assert py_literal(value) == (
        '{"k": "bin", "op": "+", "l": {"k": "field", "n": "a"}, "r": {"k": "lit", "v": 1}}')
    assert py_literal(value, width=60) == (
        '{\n'
        '    "k": "bin",\n'
        '    "op": "+",\n'
        '    "l": {"k": "field", "n": "a"},\n'
        '    "r": {"k": "lit", "v": 1},\n'
        '}')
    assert py_literal([], width=1) == "[]" and py_literal({}, width=1) == "{}"


@pytest.mark.parametrize("value, text", [
    (None, "None"), (True, "True"), (False, "False"), (0, "0"), (-12, "-12"),
    (0.1, "0.1"), (1e-300, "1e-300"), (-0.0, "-0.0"), (2**70, str(2**70)),
    ("caf\u00e9\n\"'\\", '"caf\\xe9\\n\\"\'\\\\"'), ("\u2028\U0001f600", '"\\u2028\\U0001f600"'),
])
def test_scalars(value, text):
    assert py_literal(value) == text


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), (1, 2), {1.5: 2}, b"x"])
def test_what_is_not_json_is_refused(bad):
    with pytest.raises((TypeError, ValueError)):
        py_literal(bad)


@given(st.text())
def test_a_docstring_made_from_any_text_parses_and_keeps_the_text(text):
    source = f'"""{docstring_text(text)}"""'
    parsed = ast.literal_eval(source)
    # Trailing spaces of lines are dropped (every other character is kept,
    # escaped when it is not printable ASCII).
    assert parsed == "\n".join(line.rstrip(" ") for line in text.split("\n"))
    assert source.isascii()


def test_py_string_uses_double_quotes():
    assert py_string("it's") == '"it\'s"'


def test_py_string_picks_the_quotes_that_need_fewer_escapes():
    assert py_string('say "hi"') == "'say \"hi\"'"
    assert py_string("it's \"odd\"") == "'it\\'s \"odd\"'"
    assert py_string("'a' \"b\"") == '"\'a\' \\"b\\""'        # a tie keeps double quotes
    for text in ('say "hi"', "it's \"odd\"", "'a' \"b\"", "\"'\"'\""):
        assert ast.literal_eval(py_string(text)) == text


def test_a_string_too_long_for_its_line_is_split_after_spaces():
    text = " ".join(f"word{i}" for i in range(30))
    literal = py_literal({"doc": text}, 4)
    lines = literal.split("\n")
    assert lines[1] == '        "doc": ('
    assert all(len(line) <= 88 for line in lines)
    assert ast.literal_eval(literal) == {"doc": text}
    # No space to cut at: the string stays whole, however long.
    assert py_literal("x" * 200) == '"' + "x" * 200 + '"'


@given(st.text(alphabet=st.sampled_from("ab \n\"'\\\u00e9"), max_size=120), st.integers(0, 30),
       st.integers(20, 60))
def test_split_strings_evaluate_back_and_fit_when_their_words_do(text, indent, width):
    literal = py_literal([text], indent, width=width)
    assert ast.literal_eval(literal) == [text]
    # A cut is made only after whitespace: a word and the spaces after it stay together.
    longest_piece = max((len(py_string(w)) for w in re.split(r"(?<=\s)(?=\S)", text)), default=0)
    if indent + 2 * 4 + longest_piece <= width:
        assert all(len(line) <= width for line in literal.split("\n")[1:])


@given(st.text(alphabet=st.sampled_from("ab  \n\"'\\\u00e9x"), min_size=1, max_size=300),
       st.sampled_from([0, 4]))
def test_a_docstring_keeps_every_word_and_fits_its_width(text, indent):
    assume(text.strip())
    source = docstring(text, indent, width=50)
    parsed = ast.literal_eval(source)
    assert parsed.split() == text.split()       # wrapping moves words, never changes them
    lines = source.split("\n")
    assert all(line.startswith(" " * indent) or not line for line in lines[1:])
    assert all(len(line) <= 50 for line in lines if " " in line.strip())
    if len(lines) > 1:
        assert lines[-1] == " " * indent + '"""'


def test_docstring_layout():
    assert docstring("One line.") == '"""One line."""'
    assert docstring("Summary.\n\nMore.", 4) == '"""Summary.\n\n    More.\n    """'
    long = "Summary.\n\n" + "word " * 30 + "\n\n    code sample " + "x " * 50
    text = docstring(long, 4)
    assert "\n    word word" in text and "    code sample " + "x " * 49 + "x\n" in text
