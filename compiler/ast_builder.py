"""Lark parse tree -> frozen AST nodes with spans.

One method per grammar rule, named after it. The few problems the grammar
cannot express (a string with a bad escape, `retry 2.5`, a repeated node
option, `set[int]`) are reported here as syntax diagnostics; they do not stop
the build, so a file with several of them reports them all.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from lark import Token, Tree

from . import ast
from .diagnostics import DiagnosticSink, Label

GENERIC_TYPES = ("list", "map")


class BuildError(Exception):
    """The tree cannot become an AST (only after a diagnostic was reported)."""


def token_span(token: Token) -> ast.Span:
    return ast.Span(token.line, token.column, token.end_line, token.end_column,
                    token.start_pos, token.end_pos)


def _edge_token(node: Tree | Token, last: bool) -> Token | None:
    """The first (or last) token under ``node``; the grammar keeps the tokens
    that begin and end every construct, so this is where its text starts/ends."""
    while isinstance(node, Tree):
        children = [c for c in node.children if c is not None]
        if not children:
            return None
        node = children[-1] if last else children[0]
    return node


def tree_span(tree: Tree) -> ast.Span:
    first, last = _edge_token(tree, False), _edge_token(tree, True)
    if first is None or last is None:
        return ast.NO_SPAN
    return ast.Span(first.line, first.column, last.end_line, last.end_column,
                    first.start_pos, last.end_pos)


def span_of(node: Tree | Token) -> ast.Span:
    return token_span(node) if isinstance(node, Token) else tree_span(node)


def _present(children: Iterable[Any]) -> list[Any]:
    return [c for c in children if c is not None]


def _trees(tree: Tree) -> list[Tree]:
    return [c for c in tree.children if isinstance(c, Tree)]


def _token(tree: Tree, kind: str) -> Token | None:
    return next((c for c in tree.children if isinstance(c, Token) and c.type == kind), None)


class AstBuilder:
    def __init__(self, sink: DiagnosticSink):
        self.sink = sink

    # ------------------------------------------------------------ module

    def module(self, tree: Tree, comments: Sequence[Token]) -> ast.Module:
        items = tuple(self._item(t) for t in _trees(tree) if t.data != "empty")
        return ast.Module(
            items=items,
            comments=tuple(ast.Comment(str(c).rstrip(), token_span(c)) for c in comments),
            span=tree_span(tree),
        )

    def _item(self, tree: Tree) -> ast.TypeDecl | ast.Flow | ast.Use:
        if tree.data == "type_decl":
            _keyword, name, type_tree = tree.children
            return ast.TypeDecl(str(name), self.type(type_tree), tree_span(tree), token_span(name))
        if tree.data == "use":
            _keyword, path, alias = tree.children
            return ast.Use(self.string(path), str(alias) if alias is not None else None, tree_span(tree))
        return self.flow(tree)

    def flow(self, tree: Tree) -> ast.Flow:
        name = tree.children[1]
        doc = next((self.doc(t) for t in _trees(tree) if t.data == "doc"), None)
        members = tuple(self.member(t) for t in _trees(tree) if t.data not in ("doc", "empty"))
        return ast.Flow(str(name), members, doc, tree_span(tree), token_span(name))

    def doc(self, tree: Tree) -> str:
        return self.string(tree.children[0])

    def member(self, tree: Tree) -> Any:
        return getattr(self, tree.data)(tree)

    # ------------------------------------------------------------ members

    def state_block(self, tree: Tree) -> ast.StateBlock:
        return ast.StateBlock(tuple(self.state_field(t) for t in _trees(tree)), tree_span(tree))

    def state_field(self, tree: Tree) -> ast.StateField:
        name, type_tree, default = (c for c in tree.children if not _is_punct(c))
        return ast.StateField(str(name), self.type(type_tree),
                              self.expr(default) if default is not None else None,
                              tree_span(tree), token_span(name))

    def input_list(self, tree: Tree) -> ast.InputList:
        return ast.InputList(self._refs(tree), tree_span(tree))

    def output_list(self, tree: Tree) -> ast.OutputList:
        return ast.OutputList(self._refs(tree), tree_span(tree))

    def _refs(self, tree: Tree) -> tuple[ast.Ref, ...]:
        return tuple(self.ref(t) for t in _trees(tree) if t.data == "ref")

    def ref(self, tree: Tree) -> ast.Ref:
        token = tree.children[0]
        return ast.Ref(str(token), token_span(token))

    def node(self, tree: Tree) -> ast.NodeDecl:
        name = tree.children[1]
        options: dict[str, Any] = {}
        first_seen: dict[str, ast.Span] = {}
        doc: str | None = None
        steps: list[ast.Step] = []
        for child in _trees(tree):
            if child.data in ("retry", "backoff", "timeout"):
                _keyword, value = child.children
                span = tree_span(child)
                if child.data in first_seen:
                    self.sink.error("F007", f"`{child.data}` given twice for node `{name}`", span,
                                    labels=[Label(first_seen[child.data], "first given here")],
                                    help=f"keep one `{child.data}`")
                    continue
                first_seen[child.data] = span
                options[child.data] = (self._retry(value) if child.data == "retry"
                                       else ast.Duration(str(value), token_span(value)))
            elif child.data == "doc":
                doc = self.doc(child)
            elif child.data != "empty":
                steps.append(self.step(child))
        return ast.NodeDecl(str(name), tuple(steps), doc, options.get("retry"), options.get("backoff"),
                            options.get("timeout"), tree_span(tree), token_span(name))

    def _retry(self, token: Token) -> int:
        text = str(token)
        if not text.isdigit():
            self.sink.error("F006", f"`retry` needs a whole number of attempts, found `{text}`",
                            token_span(token), help="write e.g. `retry 3`")
            return 0
        return int(text)

    def edge(self, tree: Tree) -> ast.Edge:
        sources, targets, guard = (c for c in tree.children if not _is_punct(c))
        condition, otherwise = None, False
        if guard is not None:
            if guard.data == "when":
                condition = self.expr(guard.children[1])
            else:
                otherwise = True
        return ast.Edge(self._refs(sources), self._refs(targets), condition, otherwise, tree_span(tree))

    def static_interrupt(self, tree: Tree) -> ast.StaticInterrupt:
        when = tree.children[1]
        return ast.StaticInterrupt(str(when), self._refs(tree), tree_span(tree))

    # ------------------------------------------------------------ steps

    def step(self, tree: Tree) -> ast.Step:
        return getattr(self, "step_" + tree.data)(tree)

    def _steps(self, trees: Iterable[Tree]) -> tuple[ast.Step, ...]:
        return tuple(self.step(t) for t in trees if t.data != "empty")

    def step_let(self, tree: Tree) -> ast.Let:
        _, name, value = (c for c in tree.children if not _is_punct(c))
        if value.data == "call":
            bound: Any = self.step_call(value)
        elif value.data == "interrupt":
            bound = self.step_interrupt(value)
        else:
            bound = self.expr(value)
        return ast.Let(str(name), bound, tree_span(tree), token_span(name))

    def step_set(self, tree: Tree) -> ast.Set:
        op = "+=" if _token(tree, "PLUS_ASSIGN") is not None else "="
        name = tree.children[1]
        return ast.Set(str(name), op, self.expr(tree.children[-1]), tree_span(tree), token_span(name))

    def step_call(self, tree: Tree) -> ast.Call:
        _, once, target, arguments = tree.children
        args: tuple[ast.Expr, ...] | None = None
        kwargs: list[ast.KwArg] = []
        if arguments is not None:
            positional: list[ast.Expr] = []
            for arg in _present(arguments.children):
                if isinstance(arg, Tree) and arg.data == "kwarg":
                    kw_name, kw_value = arg.children
                    kwargs.append(ast.KwArg(str(kw_name), self.expr(kw_value), tree_span(arg)))
                elif not _is_punct(arg):
                    if kwargs:
                        self.sink.error("F009", "positional argument after a keyword argument",
                                        span_of(arg), help="put positional arguments first")
                    positional.append(self.expr(arg))
            args = tuple(positional)
        return ast.Call(self.string(target), args, tuple(kwargs), once is not None,
                        tree_span(tree), token_span(target))

    def step_interrupt(self, tree: Tree) -> ast.Interrupt:
        _, label, payload, _expect, expect_type = tree.children
        return ast.Interrupt(
            str(label),
            self.expr(payload) if payload is not None else None,
            self.type(expect_type) if expect_type is not None else None,
            tree_span(tree), token_span(label),
        )

    def step_if_step(self, tree: Tree) -> ast.If:
        _, condition, then, _else, otherwise = tree.children
        other: tuple[ast.Step, ...] | None = None
        if otherwise is not None:
            other = (self.step_if_step(otherwise),) if otherwise.data == "if_step" else self._block(otherwise)
        return ast.If(self.expr(condition), self._block(then), other, tree_span(tree))

    def _block(self, tree: Tree) -> tuple[ast.Step, ...]:
        return self._steps(_trees(tree))

    def step_fail(self, tree: Tree) -> ast.Fail:
        return ast.Fail(self.expr(tree.children[1]), tree_span(tree))

    # ------------------------------------------------------------ types

    def type(self, tree: Tree | Token) -> ast.Type:
        span = span_of(tree)
        kind = tree.data
        if kind == "named_type":
            return ast.NamedType(str(tree.children[0]), span)
        if kind == "generic_type":
            name, inner, _close = tree.children
            if str(name) not in GENERIC_TYPES:
                self.sink.error("F008", f"`{name}[...]` is not a type", token_span(name),
                                help="the generic types are `list[T]` and `map[T]`")
            if str(name) == "map":
                return ast.MapType(self.type(inner), span)
            return ast.ListType(self.type(inner), span)
        if kind == "optional_type":
            return ast.OptionalType(self.type(tree.children[0]), span)
        if kind == "record_type":
            fields = tuple(
                ast.RecordField(self.key(f.children[0]), self.type(f.children[1]), tree_span(f))
                for f in _trees(tree) if f.data == "record_type_field")
            return ast.RecordType(fields, span)
        if kind == "union_type":
            return ast.LiteralUnion(tuple(self.string(s.children[0]) for s in _trees(tree)), span)
        if kind == "single_literal_type":
            return ast.LiteralUnion((self.string(tree.children[0].children[0]),), span)
        raise AssertionError(f"unknown type rule {kind}")

    def key(self, tree: Tree) -> str:
        token = tree.children[0]
        return self.string(token) if token.type == "STRING" else str(token)

    # ------------------------------------------------------------ expressions

    def expr(self, tree: Tree | Token) -> ast.Expr:
        span = span_of(tree)
        kind = tree.data
        children = tree.children
        if kind == "expr":
            return _Climber(self, tree.children).expression()
        if kind == "prefixed":
            return _Climber(self, [tree]).expression()
        if kind == "parenthesized":
            return self.expr(children[0])
        if kind == "member":
            obj, name = children
            return ast.Member(self.expr(obj), str(name), span)
        if kind == "index":
            obj, index, _close = children
            return ast.Index(self.expr(obj), self.expr(index), span)
        if kind == "func_call":
            name, *args = children
            return ast.FuncCall(str(name), tuple(self.expr(a) for a in _present(args) if not _is_punct(a)),
                                span, token_span(name))
        if kind == "number":
            value = _number(str(children[0]))
            if isinstance(value, float) and math.isinf(value):
                # JSON has no infinity: the IR could not hold it.
                self.sink.error("F010", f"number `{children[0]}` is too large", span,
                                help="numbers are 64-bit floats: the largest is about 1.8e308")
                value = 0
            return ast.Literal(value, span)
        if kind == "string_lit":
            return ast.Literal(self.string(children[0]), span)
        if kind in ("true", "false"):
            return ast.Literal(kind == "true", span)
        if kind == "null":
            return ast.Literal(None, span)
        if kind == "name":
            return ast.Name(str(children[0]), span)
        if kind == "list_expr":
            return ast.ListExpr(tuple(self.expr(c) for c in _present(children) if not _is_punct(c)), span)
        if kind == "record_expr":
            entries = tuple(ast.RecordEntry(self.key(e.children[0]), self.expr(e.children[1]), tree_span(e))
                            for e in _trees(tree) if e.data == "record_entry")
            return ast.RecordExpr(entries, span)
        raise AssertionError(f"unknown expression rule {kind}")

    # ------------------------------------------------------------ strings

    def string(self, token: Token) -> str:
        text = str(token)
        if token.type == "LONG_STRING":
            # Docstring convention: the common indentation is not content.
            return inspect.cleandoc(text[3:-3])
        try:
            # JSON's escapes are "the usual escapes"; raw tabs are allowed.
            return str(json.loads(text, strict=False))
        except json.JSONDecodeError as error:
            bad = ast.Span(token.line, token.column + error.pos, token.line,
                           token.column + error.pos + 2, token.start_pos + error.pos,
                           token.start_pos + error.pos + 2)
            self.sink.error("F004", "invalid escape in string", bad,
                            help='the escapes are \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX')
            return text[1:-1]


# Binding power and associativity of the binary operators; higher binds
# tighter. Comparisons do not associate: `a < b < c` is an error.
_BINARY: dict[str, tuple[int, str]] = {
    "or": (1, "left"), "and": (2, "left"),
    "==": (4, "none"), "!=": (4, "none"), "<": (4, "none"), "<=": (4, "none"), ">": (4, "none"),
    ">=": (4, "none"), "in": (4, "none"),
    "??": (5, "right"), "+": (6, "left"), "-": (6, "left"), "*": (7, "left"), "/": (7, "left"),
    "%": (7, "left"),
}
# A prefix operator's operand takes the binary operators binding tighter than it.
_PREFIX = {"not": 3, "-": 8}


class _Climber:
    """Precedence climbing over the flat ``operand (operator operand)*`` the
    grammar produces, giving the tree a precedence-level grammar would."""

    def __init__(self, builder: AstBuilder, children: Sequence[Tree | Token]):
        self.builder = builder
        # ("prefix", token) / ("operand", tree) / ("binary", token)
        self.items: list[tuple[str, Any]] = []
        for child in children:
            if isinstance(child, Token):  # operators are the only tokens at this level
                self.items.append(("binary", child))
            elif isinstance(child, Tree) and child.data == "prefixed":
                self.items += [("prefix", t) for t in child.children[:-1]]
                self.items.append(("operand", child.children[-1]))
            else:
                self.items.append(("operand", child))
        self.position = 0

    def expression(self) -> ast.Expr:
        return self._climb(0)

    def _peek_binary(self) -> Token | None:
        if self.position < len(self.items) and self.items[self.position][0] == "binary":
            return self.items[self.position][1]
        return None

    def _climb(self, minimum: int) -> ast.Expr:
        kind, value = self.items[self.position]
        self.position += 1
        if kind == "prefix":
            power = _PREFIX[str(value)]
            if power < minimum:
                self.builder.sink.error(
                    "F012", f"`{value}` cannot stand here without parentheses", token_span(value),
                    help=f"`{value}` binds looser than the operator before it: write `({value} ...)`")
            operand = self._climb(power)
            left: ast.Expr = ast.Unary(str(value), operand, token_span(value).cover(operand.span))
        else:
            left = self.builder.expr(value)
        while (op := self._peek_binary()) is not None:
            power, associativity = _BINARY[str(op)]
            if power < minimum:
                break
            self.position += 1
            right = self._climb(power if associativity == "right" else power + 1)
            left = ast.Binary(str(op), left, right, left.span.cover(right.span))
            following = self._peek_binary()
            if associativity == "none" and following is not None and _BINARY[str(following)][0] == power:
                self.builder.sink.error(
                    "F011", f"comparisons do not chain: `{op}` then `{following}`", token_span(following),
                    help="write `a < b and b < c`")
                self.position += 1
                self._climb(power + 1)  # skip the rest of the chain; it is reported once
        return left


_PUNCT = frozenset({"ASSIGN", "LBRACE", "RBRACE", "ARROW", "COMMA", "LPAR", "RPAR", "LSQB", "RSQB",
                    "COLON", "SEMICOLON"})


def _is_punct(child: Any) -> bool:
    return isinstance(child, Token) and child.type in _PUNCT


def _number(text: str) -> int | float:
    if any(c in text for c in ".eE"):
        return float(text)
    return int(text)
