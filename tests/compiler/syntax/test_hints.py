"""A syntax error's hint depends on the mistake, not on what precedes it.

Lark's ``match_examples`` compared the depth of the parser's stack too, so
a `type` above the flow, or a member before the node, was enough to lose
the hint: the language server, which parses a flow's members without the
rest of the file, then said something else than `fermata check`.
"""

from __future__ import annotations

import pytest

from fermata.compiler.diagnostics.catalogue import fixtures
from fermata.compiler.syntax import errors, grammar
from fermata.compiler.syntax.errors import HINTS
from fermata.compiler.syntax.parser import parse

# Whole items that may come before any other.
BEFORE = ["", "type R = {ok: bool}\n", 'use "pkg.mod" as m\n', "flow g {\n    start -> end\n}\n",
          'type R = int\nuse "pkg.mod"\nflow g {\n}\n\n']

EXAMPLES = [(label, text) for label, texts in HINTS.items() for text in texts]
SYNTAX_EXAMPLES = {name: text for name, text in fixtures().items() if parse(text)[0] is None}


def help_of(text: str) -> str | None:
    module, diagnostics = parse(text, "t.flow")
    assert module is None, text
    return diagnostics[0].help


def in_contexts(text: str) -> list[str]:
    """``text`` after each of :data:`BEFORE`, and with members before the
    first member of its flow (as the language server parses a stretch of
    members after the one before it)."""
    texts = [before + text for before in BEFORE]
    if text.startswith("flow f { "):
        texts.append(text.replace("flow f { ", "flow f { node z { } ", 1))
        texts.append(text.replace("flow f { ", "flow f { state { n: int } input n\n", 1))
    return texts


@pytest.mark.parametrize("label, text", EXAMPLES)
def test_each_hint_example_gets_its_hint_whatever_precedes_it(label: str, text: str):
    helps = {help_of(version) for version in in_contexts(text)}
    assert len(helps) == 1, helps
    (found,) = helps
    # `let x = call pkg`: a keyword read as a name would have gone on, and that hint speaks first.
    assert found == label or "is read as the keyword here" in (found or "")


@pytest.mark.parametrize("label, text", EXAMPLES)
def test_each_hint_example_is_matched_by_its_own_hint(label: str, text: str):
    """No example is shadowed by an earlier one failing in the same place."""
    from lark.exceptions import UnexpectedInput

    with pytest.raises(UnexpectedInput) as failure:
        grammar.lark_parser().parse(text)
    assert errors._matching_hint(errors._Where.of(failure.value)) == label


@pytest.mark.parametrize("name", sorted(SYNTAX_EXAMPLES))
def test_each_syntax_catalogue_example_gets_one_help_whatever_precedes_it(name: str):
    text = SYNTAX_EXAMPLES[name]
    helps = [help_of(before + text) for before in BEFORE]
    assert helps == [helps[0]] * len(BEFORE)


def test_the_catalogue_example_of_a_step_without_keyword_gets_the_hint():
    """The flow's state comes before the node: the example's stack is one
    deeper than the hint's example (it got no hint before)."""
    assert help_of(SYNTAX_EXAMPLES["F001"]) == next(label for label in HINTS if label.startswith("every step"))


@pytest.mark.parametrize("text", [
    'flow f {\n node c {\n call x"os:system"(name)\n }\n}\n',
    'type R = {ok: bool}\nflow f {\n node c {\n call x"os:system"(name)\n }\n}\n',
    'flow f {\n state { name: str }\n node b { }\n node c {\n set name = "x"\n call x"os:system"(name)\n }\n}\n',
])
def test_a_call_target_that_is_not_a_string_gets_the_hint_anywhere(text: str):
    assert help_of(text) == 'the call target is a string: `call "package.module:function"(...)`'
