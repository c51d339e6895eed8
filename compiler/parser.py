"""Text -> AST. ``parse`` never raises: every problem is a diagnostic.

The grammar is ``spec/fermata.lark`` (LALR(1), so parsing is linear and
errors are found at the first token that cannot continue a valid file). The
Lark tree becomes frozen AST nodes in ``ast_builder.py``; Lark's exceptions
become diagnostics in ``syntax_errors.py``.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import hashlib
from importlib import resources

import lark

from . import ast
from .ast_builder import AstBuilder, BuildError
from .diagnostics import Diagnostic, DiagnosticSink
from .syntax_errors import describe_exception

# Comments are dropped by the grammar (`%ignore`) but the formatter needs
# them; the lexer hands each one to this per-parse list.
_comments: contextvars.ContextVar[list[lark.Token]] = contextvars.ContextVar("fermata_comments")


def _keep_comment(token: lark.Token) -> lark.Token:
    sink = _comments.get(None)
    if sink is not None:
        sink.append(token)
    return token


@functools.cache
def grammar_text() -> str:
    return resources.files("fermata.spec").joinpath("fermata.lark").read_text(encoding="utf-8")


_OPTIONS: dict[str, object] = {"parser": "lalr", "lexer": "basic",
                                "maybe_placeholders": True}


def build_from_grammar() -> lark.Lark:
    """Build the LALR tables from the grammar (about half a second)."""
    return lark.Lark(grammar_text(), lexer_callbacks={"COMMENT": _keep_comment}, **_OPTIONS)


@functools.cache
def lark_parser() -> lark.Lark:
    """The parser, from the pre-built tables in ``spec/parser_tables.py`` when
    they match the grammar (plain literals, never pickle), else built anew."""
    from fermata.spec import parser_tables

    if parser_tables.GRAMMAR_SHA256 != grammar_sha256():
        return build_from_grammar()
    # What Lark's standalone parser does with the same data.
    return lark.Lark._load_from_dict(parser_tables.DATA, parser_tables.MEMO,
                                     lexer_callbacks={"COMMENT": _keep_comment})


def grammar_sha256() -> str:
    return hashlib.sha256(grammar_text().encode("utf-8")).hexdigest()


def parse(text: str, path: str = "<string>") -> tuple[ast.Module | None, list[Diagnostic]]:
    """The module of ``text``, or None with diagnostics saying why not."""
    sink = DiagnosticSink(path)
    comments: list[lark.Token] = []
    reset = _comments.set(comments)
    try:
        tree = lark_parser().parse(text)
    except lark.exceptions.UnexpectedInput as error:
        sink.items.append(describe_exception(error, text, path))
        return None, sink.items
    finally:
        _comments.reset(reset)
    try:
        module = AstBuilder(sink).module(tree, comments)
    except BuildError:
        return None, sink.items
    if sink.has_errors:
        return None, sink.items
    return module, sink.items


def parse_or_raise(text: str, path: str = "<string>") -> ast.Module:
    """For tests and tools that know their input is valid."""
    from .diagnostics import CompileError

    module, diagnostics = parse(text, path)
    if module is None:
        raise CompileError(diagnostics, text)
    return module
