"""Which keywords may name what.

Keywords are contextual (LANGUAGE.md, "Keywords are contextual where a name
is unambiguous"): the parser reads a keyword as a name wherever it cannot
take the keyword but can take a name (:meth:`lalr.Driver.read_as`). So
`{type: str}`, `event.type`, `call "m:f"(timeout=3)`, `flow retry {}` and
`state { input: str }` parse with no rule here.

A few names would parse where they are declared but could not be used where
they are referred to, because there the keyword wins. Those are refused at
the declaration (F014), with the reason, rather than left to fail later with
a syntax error far from the cause. Each set below is checked against the
parser by a test (tests/compiler/syntax/test_keywords.py): a word is in it exactly
when a reference to such a name fails to parse.
"""

from __future__ import annotations

# In an expression these are the literals and the prefix operator.
_OPERANDS = frozenset(("true", "false", "null", "not"))

# After a value these continue it, as operators.
_OPERATORS = frozenset(("and", "or", "in"))

# Where a member of a flow begins, these begin something other than an edge
# (or, for `when` and `otherwise`, continue the edge before).
_MEMBER_WORDS = frozenset(("start", "end", "state", "input", "output", "node", "interrupt",
                           "when", "otherwise"))

# The words that begin a step.
_STEP_WORDS = frozenset(("let", "set", "call", "interrupt", "if", "fail", "wait", "run"))

_NOT_NAMES: dict[str, tuple[frozenset[str], str]] = {
    "node": (_MEMBER_WORDS | _OPERATORS,
             "an edge starting from it would read `{word}` as the keyword"),
    "local": (_OPERANDS,
              "in an expression `{word}` is the keyword"),
    "state field": (_OPERANDS | _OPERATORS,
                    "in an expression, or after a default value, `{word}` is the keyword"),
    # Never reported (the parser refuses `f(null=1)` itself): listed for
    # the generators and the test that holds these sets to the parser.
    "keyword argument": (_OPERANDS,
                         "`{word}` would begin the argument's value"),
    # Never reported either: after `let x = run` (the name `run`, a value so
    # far) these words continue the value or begin the next step, so `let r =
    # run WORD {...}` cannot name such a flow; the step `run WORD {...}` and
    # `ns.WORD` can. Listed for the generators and the test.
    "flow run by `let`": (_STEP_WORDS | _OPERATORS,
                          "after `let x = run`, `{word}` continues the value or begins a step"),
    # The labels of the pauses `interrupt before/after NODE` (spec/ir.py).
    "interrupt label": (frozenset(("before", "after")),
                        "it is the label of the pauses `interrupt {word} NODE`"),
}


def refused_name(role: str, word: str) -> str | None:
    """Why ``word`` cannot name a ``role`` (``"node"``, ``"local"``, ``"state
    field"``, ``"interrupt label"``), or None if it can."""
    words, reason = _NOT_NAMES[role]
    if word not in words:
        return None
    if role == "node" and word in ("start", "end"):
        return f"in an edge `{word}` is the flow's own {word}"
    return reason.format(word=word)


def refused_words(role: str) -> frozenset[str]:
    """The words that cannot name a ``role`` (for tests and generators)."""
    return _NOT_NAMES[role][0]


# Every word some role refuses: the builder's quick test before asking which.
REFUSED_SOMEWHERE = frozenset().union(*(words for words, _reason in _NOT_NAMES.values()))
