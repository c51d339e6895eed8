"""Suppression comments: where they apply, strings that look like comments,
and the F901 (unused) / F902 (malformed) warnings."""

from __future__ import annotations

import textwrap

import pytest

from fermata.compiler.diagnostics.diagnostic import Diagnostic, Severity
from fermata.compiler.diagnostics.suppress import apply_suppressions, scan
from fermata.compiler.syntax.ast import Span


def diag(code: str, line: int, column: int = 5) -> Diagnostic:
    return Diagnostic(code, f"problem {code}", Span(line, column, line, column + 3),
                      Severity.ERROR, "t.flow")


def apply(text: str, *diagnostics: Diagnostic) -> list[Diagnostic]:
    return apply_suppressions(list(diagnostics), textwrap.dedent(text), "t.flow")


def summary(found: list[Diagnostic]) -> list[tuple[str, int]]:
    return sorted((d.code, d.span.line) for d in found)


# ------------------------------------------------------------ where they apply


def test_a_trailing_suppression_silences_its_own_line():
    text = """\
    flow f {
        node extra {  # fermata: ignore[F201]
        }
    }
    """
    assert apply(text, diag("F201", 2)) == []


def test_a_suppression_alone_on_its_line_silences_the_next_line():
    text = """\
    flow f {
        # fermata: ignore[F201]
        node extra {
        }
    }
    """
    assert apply(text, diag("F201", 3)) == []


def test_stacked_suppressions_above_a_line_all_apply_to_it():
    text = """\
    flow f {
        # fermata: ignore[F201]
        # unreachable on purpose: kept for the next release
        # fermata: ignore[F202]
        node extra {
        }
    }
    """
    assert apply(text, diag("F201", 5), diag("F202", 5)) == []


def test_a_suppression_does_not_reach_past_a_blank_line():
    text = """\
    flow f {
        # fermata: ignore[F201]

        node extra {
        }
    }
    """
    found = apply(text, diag("F201", 4))
    assert summary(found) == [("F201", 4), ("F901", 2)]


def test_a_trailing_suppression_does_not_silence_the_next_line():
    text = """\
    flow f {
        node a {}  # fermata: ignore[F201]
        node extra {}
    }
    """
    assert summary(apply(text, diag("F201", 3))) == [("F201", 3), ("F901", 2)]


def test_only_the_named_codes_are_silenced():
    text = """\
    flow f {
        node extra {}  # fermata: ignore[F201]
    }
    """
    found = apply(text, diag("F201", 2), diag("F202", 2))
    assert summary(found) == [("F202", 2)]


def test_several_codes_in_one_suppression():
    text = """\
    flow f {
        node extra {}  # fermata: ignore[F201, F202]
    }
    """
    assert apply(text, diag("F201", 2), diag("F202", 2)) == []


def test_a_reason_may_follow_after_a_space():
    text = """\
    flow f {
        node extra {}  # fermata: ignore[F201] kept for the next release
    }
    """
    assert apply(text, diag("F201", 2)) == []


def test_spacing_inside_the_comment_is_free():
    text = """\
    flow f {
        node extra {}  #fermata:ignore [ F201 ,F202 ]
    }
    """
    assert apply(text, diag("F201", 2), diag("F202", 2)) == []


def test_crlf_line_endings():
    text = "flow f {\r\n    # fermata: ignore[F201]\r\n    node extra {}\r\n}\r\n"
    assert apply_suppressions([diag("F201", 3)], text, "t.flow") == []


def test_a_file_without_directives_is_returned_unchanged():
    found = [diag("F201", 2), diag("F202", 3)]
    assert apply("flow f {\n  # a comment\n}\n", *found) == found


# ------------------------------------------------------------ strings are not comments


def test_a_hash_inside_a_string_is_not_a_comment():
    text = """\
    flow f {
        node a {
            set log += ["# fermata: ignore[F201]"]
        }
    }
    """
    # Not a directive: the diagnostic stays and there is nothing unused.
    assert summary(apply(text, diag("F201", 3))) == [("F201", 3)]


def test_an_escaped_quote_does_not_end_a_string():
    text = r"""
    flow f {
        node a {
            set log += ["say \"hi\" # fermata: ignore[F201]"]
        }
    }
    """
    assert summary(apply(text, diag("F201", 4))) == [("F201", 4)]


def test_a_hash_inside_a_triple_quoted_string_is_not_a_comment():
    text = '''\
    flow f {
        """A doc string with a # fermata: ignore[F201]
        # fermata: ignore[F202]
        spanning lines."""
        node a {}
    }
    '''
    found = apply(text, diag("F201", 2), diag("F202", 3), diag("F203", 5))
    assert summary(found) == [("F201", 2), ("F202", 3), ("F203", 5)]


def test_a_backslash_does_not_escape_the_end_of_a_triple_quoted_string():
    # As in the grammar's LONG_STRING: the first `"""` closes it.
    text = 'flow f {\n    """ends here\\"""  # fermata: ignore[F201]\n}\n'
    assert apply_suppressions([diag("F201", 2)], text, "t.flow") == []


def test_a_directive_after_a_string_holding_a_hash():
    text = """\
    flow f {
        node a { set x = "#" }  # fermata: ignore[F201]
    }
    """
    assert apply(text, diag("F201", 2)) == []


def test_scan_reports_comments_and_code_lines():
    text = 'flow f {  # one\n    # two\n    "# not three"\n\n}\n'
    comments, code_lines = scan(text)
    assert [(c.line, c.column, c.text, c.trailing) for c in comments] == [
        (1, 11, " one", True), (2, 5, " two", False)]
    assert code_lines == {1, 3, 5}


def test_an_unclosed_string_ends_at_its_line():
    text = 'flow f {\n    set x = "oops\n    # fermata: ignore[F201]\n    node a {}\n}\n'
    comments, _ = scan(text)
    assert [c.line for c in comments] == [3]


def test_plain_comments_mentioning_fermata_are_not_directives():
    text = """\
    # fermata: the refund flow, see README
    # about fermata: ignore[F201] is how you silence one
    flow f {}
    """
    assert apply(text, diag("F112", 3)) == [diag("F112", 3)]


# ------------------------------------------------------------ F901 unused


def test_an_unused_suppression_is_a_warning_at_the_code():
    text = """\
    flow f {
        node a {}  # fermata: ignore[F201, F202]
    }
    """
    found = apply(text, diag("F201", 2))
    assert len(found) == 1
    d = found[0]
    assert (d.code, d.severity, d.path) == ("F901", Severity.WARNING, "t.flow")
    line = textwrap.dedent(text).splitlines()[1]
    assert (d.span.line, d.span.column, d.span.end_column) == (2, line.index("F202") + 1,
                                                                line.index("F202") + 5)
    assert "`F202`" in d.message and "line 2" in d.message
    assert d.help


def test_the_path_defaults_to_the_diagnostics_path():
    text = "flow f {\n    node a {}  # fermata: ignore[F201]\n}\n"
    found = apply_suppressions([diag("F202", 2)], text)
    assert [(d.code, d.path) for d in found] == [("F202", "t.flow"), ("F901", "t.flow")]


def test_no_unused_warning_after_a_syntax_error():
    # The checks did not run: the suppression may be needed once the syntax is fixed.
    text = "flow f {\n    node a {  # fermata: ignore[F201]\n"
    found = apply_suppressions([diag("F005", 3)], text, "t.flow")
    assert summary(found) == [("F005", 3)]


# ------------------------------------------------------------ F902 malformed


@pytest.mark.parametrize("comment, words", [
    ("# fermata: ignore", "without the codes"),
    ("# fermata: ignore F201", "without the codes"),
    ("# fermata: ignore[]", "names no code"),
    ("# fermata: ignore[F201", "never closed"),
    ("# fermata: ignore[F201]x", "after `]`"),
    ("# fermata: ignroe[F201]", "unknown directive `ignroe`"),
    ("# fermata: noqa", "unknown directive `noqa`"),
    ("# fermata:", "empty"),
    ("# fermata:   ", "empty"),
    ("# fermata: ignore[F999]", "unknown diagnostic code `F999`"),
    ("# fermata: ignore[E501]", "unknown diagnostic code `E501`"),
    ("# fermata: ignore[unreachable]", "codes look like"),
])
def test_malformed_suppressions(comment: str, words: str):
    text = f"flow f {{\n    node a {{}}  {comment}\n}}\n"
    found = apply_suppressions([diag("F201", 2)], text, "t.flow")
    malformed = [d for d in found if d.code == "F902"]
    assert len(malformed) == 1, found
    assert words in malformed[0].message
    assert malformed[0].severity is Severity.WARNING and malformed[0].span.line == 2
    # A malformed suppression silences nothing.
    assert "F201" in [d.code for d in found]


def test_an_empty_code_is_reported_and_the_others_still_apply():
    text = "flow f {\n    node a {}  # fermata: ignore[F201,]\n}\n"
    found = apply_suppressions([diag("F201", 2)], text, "t.flow")
    assert [(d.code, d.message) for d in found] == [("F902", "empty code in `ignore[...]`")]


def test_a_misspelt_code_gets_a_suggestion():
    text = "flow f {\n    node a {}  # fermata: ignore[F2O1]\n}\n"
    (d,) = [d for d in apply_suppressions([diag("F201", 2)], text, "t.flow") if d.code == "F902"]
    assert d.help == "did you mean `F201`?"
    assert text.splitlines()[1][d.span.column - 1:d.span.end_column - 1] == "F2O1"


def test_a_misspelt_directive_gets_a_suggestion():
    text = "flow f {\n    node a {}  # fermata: ignroe[F201]\n}\n"
    (d,) = [d for d in apply_suppressions([], text, "t.flow")]
    assert d.help == "did you mean `ignore`?"


def test_a_bad_code_does_not_spoil_the_good_ones():
    text = "flow f {\n    node a {}  # fermata: ignore[F201, F999]\n}\n"
    found = apply_suppressions([diag("F201", 2)], text, "t.flow")
    assert summary(found) == [("F902", 2)]


def test_syntax_errors_cannot_be_suppressed():
    text = "flow f {\n    node a {  # fermata: ignore[F001]\n"
    found = apply_suppressions([diag("F001", 2)], text, "t.flow")
    assert summary(found) == [("F001", 2), ("F902", 2)]
    (d,) = [d for d in found if d.code == "F902"]
    assert "syntax error" in d.message


def test_suppression_warnings_cannot_be_suppressed():
    text = "flow f {\n    node a {}  # fermata: ignore[F201, F901]\n}\n"
    found = apply_suppressions([], text, "t.flow")
    assert summary(found) == [("F901", 2), ("F902", 2)]


# ------------------------------------------------------------ with the real parser and checks


def test_with_the_parser_and_the_graph_pass():
    from fermata.compiler.checks import graph
    from fermata.compiler.checks.context import CheckContext
    from fermata.compiler.diagnostics.diagnostic import DiagnosticSink
    from fermata.compiler.syntax.parser import parse

    text = textwrap.dedent("""\
        flow count {
            state {
                count: int = 0
            }
            node step {
                set count += 1
            }
            # fermata: ignore[F201] kept for later
            node extra {
                set count += 10
            }
            node other {  # fermata: ignore[F201]
                set log += ["# fermata: ignore[F202]"]
            }
            start -> step
            step -> end
            extra -> end
        }
        """)
    module, syntax = parse(text, "t.flow")
    assert module is not None and not syntax, syntax
    context = CheckContext(module, DiagnosticSink("t.flow"))
    graph.check(context)
    before = summary(context.sink.items)
    assert ("F201", 9) in before and ("F201", 12) in before
    after = summary(apply_suppressions(context.sink.items, text, "t.flow"))
    assert after == [c for c in before if c not in {("F201", 9), ("F201", 12)}]
