"""Reductions -> frozen AST nodes with spans, bottom up.

The LALR driver (``lalr.py``) calls one method per grammar rule, named after
the rule or its alias, with the children a Lark tree node of that rule would
hold: tokens as ``(type, text, span)`` tuples, ``None`` for an absent
``[optional]`` part, and what the methods of the rules below returned. A
construct's span runs from its first token to its last, which is why the
grammar keeps the tokens that begin and end every construct.

The few problems the grammar cannot express (a string with a bad escape,
`retry 2.5`, a repeated node option, `set[int]`) are reported here as syntax
diagnostics; they do not stop the build, so a file with several of them
reports them all.

The spans and parts the rules build with are ``build_support.py``'s; the
precedence climbing of expressions is ``climber.py``'s.
"""

from __future__ import annotations

import contextvars
import dataclasses
import inspect
import json
import math
import re
from typing import Any, TypeVar

from ..diagnostics.diagnostic import DiagnosticSink, Label
from . import ast
from .ast import MAX_DEPTH
from .build_support import (
    EMPTY,
    MAX_INT,
    MAX_INT_TEXT,
    Part,
    between,
    built_nodes,
    cover,
    new_part,
    new_span,
    shown,
    span_of,
    too_large,
    whole,
)
from .climber import Climber
from .keywords import REFUSED_SOMEWHERE, refused_name
from .lexer import Token

GENERIC_TYPES = ("list", "map")
NODE_OPTIONS = ("retry", "backoff", "timeout")
# An interrupt's clauses, by the kind of their Part: how each is written.
CLAUSE_WORDS = {"where": "where", "to": "to", "within": "within", "remind": "remind every"}


class ParseState:
    """What one parse keeps while the driver runs: its diagnostics, and the
    depth of every composite node built so far (leaves are depth 1).

    Depths are keyed by ``id()``: sound because every node a valid parse
    builds stays in the tree until the parse ends, so no id is reused (only
    after an error is a subtree dropped, and then the parse fails anyway).
    """

    def __init__(self, sink: DiagnosticSink):
        self.sink = sink
        self.depths: dict[int, int] = {}
        self.too_deep = False


# The builder's methods are bound once into the driver's tables, so the state
# of the parse at hand is looked up here.
current_parse: contextvars.ContextVar[ParseState] = contextvars.ContextVar("fermata_parse")

# What the depth bookkeeping returns: the node it was given, with its type.
_Built = TypeVar("_Built", bound=ast.Node)


class AstBuilder:
    """Stateless: every method returns the value of its rule's reduction."""

    @property
    def sink(self) -> DiagnosticSink:
        return current_parse.get().sink

    def _nest(self, node: _Built, *parts: Any) -> _Built:
        """Record ``node``'s depth, one more than its deepest part's; past
        :data:`MAX_DEPTH`, report F013 (once per file)."""
        state = current_parse.get()
        depths = state.depths
        depth = 1
        for part in parts:
            below = depths.get(id(part), 1)
            if below >= depth:
                depth = below + 1
        depths[id(node)] = depth
        if depth > MAX_DEPTH and not state.too_deep:
            self._too_deep(state, node.span)
        return node

    def _nest_one(self, node: _Built, part: Any) -> _Built:
        """:meth:`_nest` for the commonest case, one part (`set`, `.name`)."""
        state = current_parse.get()
        depth = state.depths[id(node)] = state.depths.get(id(part), 1) + 1
        if depth > MAX_DEPTH and not state.too_deep:
            self._too_deep(state, node.span)
        return node

    def _level(self, node: _Built, inner: Any) -> _Built:
        """``node`` (a record entry, a keyword argument) is one level with ``inner``."""
        depths = current_parse.get().depths
        depths[id(node)] = depths.get(id(inner), 1)
        return node

    def _declared(self, role: str, token: Token) -> None:
        """F014 if the keyword ``token`` names a ``role`` it could not be
        referred to as (see ``keywords.py``)."""
        if token[1] in REFUSED_SOMEWHERE:
            reason = refused_name(role, token[1])
            if reason is not None:
                self.sink.error("F014", f"`{token[1]}` cannot name a {role}: {reason}", token[2],
                                help="choose another name")

    def _too_deep(self, state: ParseState, span: ast.Span) -> None:
        state.too_deep = True
        state.sink.error("F013", f"nested more than {MAX_DEPTH} levels deep", span,
                         help="split it: compute parts with `let`, or declare nested types with `type`")

    # ------------------------------------------------------------ module

    def start(self, children: list[Any]) -> Part:
        """The module's items; the parser adds the comments the lexer kept."""
        return Part("module", built_nodes(children), whole(children))

    def type_decl(self, children: list[Any]) -> ast.TypeDecl:
        _keyword, name, type_ = children
        return ast.TypeDecl(name[1], type_, between(_keyword, type_), name[2])

    def use(self, children: list[Any]) -> ast.Use:
        keyword, path, alias = children
        return ast.Use(self.string(path), alias[1] if alias is not None else None,
                       between(keyword, alias if alias is not None else path))

    def flow(self, children: list[Any]) -> ast.Flow:
        name = children[1]
        doc = children[3]
        members = built_nodes(children[4:-1])
        return ast.Flow(name[1], members, doc.value if doc is not None else None,
                        between(children[0], children[-1]), name[2])

    def doc(self, children: list[Any]) -> Part:
        (token,) = children
        return Part("doc", self.string(token), token[2])

    def empty(self, children: list[Any]) -> Part:
        return EMPTY

    # ------------------------------------------------------------ members

    def state_block(self, children: list[Any]) -> ast.StateBlock:
        return ast.StateBlock(built_nodes(children), between(children[0], children[-1]))

    def state_field(self, children: list[Any]) -> ast.StateField:
        name, type_, default = children
        self._declared("state field", name)
        return ast.StateField(name[1], type_, default,
                              between(name, default if default is not None else type_), name[2])

    def input_list(self, children: list[Any]) -> ast.InputList:
        return ast.InputList(built_nodes(children), between(children[0], children[-1]))

    def output_list(self, children: list[Any]) -> ast.OutputList:
        return ast.OutputList(built_nodes(children), between(children[0], children[-1]))

    def ref(self, children: list[Any]) -> ast.Ref:
        (token,) = children
        return ast.Ref(token[1], token[2])

    def refs(self, children: list[Any]) -> Part:
        a, b = children[0].span, children[-1].span
        span = new_span(ast.Span, (a[0], a[1], b[2], b[3], a[4], b[5]))
        return new_part(Part, ("refs", tuple(children), span))

    def node(self, children: list[Any]) -> ast.NodeDecl:
        name, fan_out = children[1], children[2]
        if fan_out is not None:
            decl = self.node([*children[:2], None, *children[3:]])
            return dataclasses.replace(decl, fan_out=fan_out)
        self._declared("node", name)
        if children[3][0] == "LBRACE" and children[4] is None:
            # No options, no docstring: the common case, and every child
            # between the braces is a step (or a stray `;`).
            between = children[5:-1]
            if Part in map(type, between):  # (no == on nodes: that would call their __eq__)
                between = [s for s in between if s is not EMPTY]
            a, b = children[0][2], children[-1][2]
            return ast.NodeDecl(name[1], tuple(between), None, None, None, None,
                                new_span(ast.Span, (a[0], a[1], b[2], b[3], a[4], b[5])), name[2])
        options: dict[str, Any] = {}
        first_seen: dict[str, ast.Span] = {}
        doc: str | None = None
        steps: list[ast.Step] = []
        for child in built_nodes(children[3:]):
            kind = child.kind if child.__class__ is Part else None
            if kind in NODE_OPTIONS:
                if kind in first_seen:
                    self.sink.error("F007", f"`{kind}` given twice for node `{name[1]}`", child.span,
                                    labels=[Label(first_seen[kind], "first given here")],
                                    help=f"keep one `{kind}`")
                    continue
                first_seen[kind] = child.span
                value = child.value
                options[kind] = self._retry(value) if kind == "retry" else self._duration(value)
            elif kind == "doc":
                doc = child.value
            else:
                steps.append(child)
        return ast.NodeDecl(name[1], tuple(steps), doc, options.get("retry"), options.get("backoff"),
                            options.get("timeout"), cover(children[0][2], children[-1][2]), name[2])

    def fan_out(self, children: list[Any]) -> ast.FanOut:
        # `for` and `key` are lexed as names (keywords only in this clause).
        word, var, _in, items, key_word, key = children
        self._clause_word(word, "for", "node review for item in items { ... }")
        if key_word is not None:
            self._clause_word(key_word, "key", "node review for item in items key item.id { ... }")
        return ast.FanOut(var[1], items, key, cover(word[2], span_of(key if key is not None else items)),
                          var[2])

    def _clause_word(self, token: Token, expected: str, example: str) -> None:
        if token[1] != expected:
            self.sink.error("F030", f"expected `{expected}` here, found `{token[1]}`", token[2],
                            notes=[f"a fan-out node reads `{example}`"],
                            help=f"write `{expected}`")

    def retry(self, children: list[Any]) -> Part:
        return Part("retry", children[1], between(children[0], children[1]))

    def backoff(self, children: list[Any]) -> Part:
        return Part("backoff", children[1], between(children[0], children[1]))

    def timeout(self, children: list[Any]) -> Part:
        return Part("timeout", children[1], between(children[0], children[1]))

    def _retry(self, token: Token) -> int:
        text = token[1]
        if not text.isdigit():
            self.sink.error("F006", f"`retry` needs a whole number of attempts, found `{text}`",
                            token[2], help="write e.g. `retry 3`")
            return 0
        if too_large(text):
            self._too_large(token, "integer")
            return 0
        return int(text.lstrip("0") or "0")

    def _duration(self, token: Token) -> ast.Duration:
        duration = ast.Duration(token[1], token[2])
        digits = token[1].rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
        if too_large(digits) or (duration.milliseconds or 0) > MAX_INT:
            self._too_large(token, "duration")  # in milliseconds
            return ast.Duration("0ms", token[2])
        return duration

    def _too_large(self, token: Token, what: str) -> None:
        self.sink.error("F010", f"{what} {shown(token[1])} is too large", token[2],
                        help=f"integers (durations in milliseconds too) are 64-bit: the largest is {MAX_INT_TEXT}")

    def edge(self, children: list[Any]) -> ast.Edge:
        sources, _arrow, targets, guard = children
        condition, otherwise = None, False
        if guard is not None:
            if guard.kind == "when":
                condition = guard.value
            else:
                otherwise = True
        a, b = sources.span, (guard if guard is not None else targets).span
        return ast.Edge(sources.value, targets.value, condition, otherwise,
                        new_span(ast.Span, (a[0], a[1], b[2], b[3], a[4], b[5])))

    def when(self, children: list[Any]) -> Part:
        return Part("when", children[1], between(children[0], children[1]))

    def otherwise(self, children: list[Any]) -> Part:
        return Part("otherwise", None, children[0][2])

    def static_interrupt(self, children: list[Any]) -> ast.StaticInterrupt:
        return ast.StaticInterrupt(children[1][1], tuple(children[2:]), between(children[0], children[-1]))

    # ------------------------------------------------------------ steps

    def let(self, children: list[Any]) -> ast.Let:
        keyword, name, value = children
        self._declared("local", name)
        return self._nest_one(ast.Let(name[1], value, cover(keyword[2], value.span), name[2]), value)

    def set(self, children: list[Any]) -> ast.Set:
        keyword, name, operator, value = children
        a, b = keyword[2], value.span
        return self._nest_one(ast.Set(name[1], operator[1], value,
                                      new_span(ast.Span, (a[0], a[1], b[2], b[3], a[4], b[5])), name[2]), value)

    def call(self, children: list[Any]) -> ast.Call:
        keyword, once, target, arguments = children
        args: tuple[ast.Expr, ...] | None = None
        kwargs: list[ast.KwArg] = []
        if arguments is not None:
            positional: list[ast.Expr] = []
            for arg in arguments.value:
                if arg.__class__ is ast.KwArg:
                    kwargs.append(arg)
                else:
                    if kwargs:
                        self.sink.error("F009", "positional argument after a keyword argument",
                                        arg.span, help="put positional arguments first")
                    positional.append(arg)
            args = tuple(positional)
        call = ast.Call(self.string(target), args, tuple(kwargs), once is not None,
                        between(keyword, arguments if arguments is not None else target), target[2])
        return self._nest(call, *(args or ()), *kwargs)

    def call_args(self, children: list[Any]) -> Part:
        return Part("args", built_nodes(children), between(children[0], children[-1]))

    def kwarg(self, children: list[Any]) -> ast.KwArg:
        name, value = children
        return self._level(ast.KwArg(name[1], value, between(name, value)), value)

    def interrupt(self, children: list[Any]) -> ast.Interrupt:
        _keyword, label, payload, _expect, expect_type, *clauses = children
        self._declared("interrupt label", label)
        found: dict[str, Part] = {}
        for clause in clauses:
            word = "within" if clause.kind.startswith("within") else clause.kind
            if word in found:
                self.sink.error("F020", f"`{CLAUSE_WORDS[word]}` given twice for interrupt `{label[1]}`",
                                clause.span, labels=[Label(found[word].span, "first given here")],
                                help=f"keep one `{CLAUSE_WORDS[word]}` clause")
                continue
            found[word] = clause
        where = found["where"].value if "where" in found else None
        to = found["to"].value if "to" in found else ()
        within = found["within"].value if "within" in found else None
        remind = found["remind"].value if "remind" in found else None
        interrupt = ast.Interrupt(label[1], payload, expect_type, whole(children), label[2],
                                  where, to, within, remind)
        return self._nest(interrupt, payload, expect_type, where, *to, within)

    def where_clause(self, children: list[Any]) -> Part:
        keyword, condition, message = children
        where = ast.Where(condition, self.string(message) if message is not None else None,
                          between(keyword, message if message is not None else condition))
        return Part("where", self._level(where, condition), where.span)

    def to_clause(self, children: list[Any]) -> Part:
        return Part("to", tuple(children[1:]), between(children[0], children[-1]))

    def within_goto(self, children: list[Any]) -> Part:
        keyword, duration, _arrow, target = children
        deadline = ast.Deadline(self._duration(duration), target, None, between(keyword, target))
        return Part("within", deadline, deadline.span)

    def within_answer(self, children: list[Any]) -> Part:
        keyword, duration, _answer, answer = children
        deadline = ast.Deadline(self._duration(duration), None, answer, between(keyword, answer))
        return Part("within_answer", self._level(deadline, answer), deadline.span)

    def remind_clause(self, children: list[Any]) -> Part:
        keyword, _every, duration = children
        return Part("remind", self._duration(duration), between(keyword, duration))

    def wait(self, children: list[Any]) -> ast.Wait:
        keyword, label, how, value = children
        self._declared("interrupt label", label)
        span = between(keyword, value)
        if how[0] == "FOR":
            return ast.Wait(label[1], self._duration(value), None, span, label[2])
        return self._nest_one(ast.Wait(label[1], None, value, span, label[2]), value)

    def run(self, children: list[Any]) -> ast.Run:
        # `let x = run ...` lexes `run` as a name (see the grammar): its text is checked here.
        word, flow, record = children
        if word[0] == "NAME" and word[1] != "run":
            self.sink.error("F031", f"expected `run` here, found `{word[1]}`", word[2],
                            notes=["a child run reads `let r = run draft {topic: topic}`"],
                            help="write `run FLOW {...}` to start a child run, or an expression")
        return self._nest_one(ast.Run(flow.value, record, between(word, record), flow.span), record)

    def flow_name(self, children: list[Any]) -> Part:
        if len(children) == 1:
            return Part("flow", children[0][1], children[0][2])
        namespace, name = children
        return Part("flow", f"{namespace[1]}.{name[1]}", between(namespace, name))

    def if_step(self, children: list[Any]) -> ast.If:
        _keyword, condition, then, _else, otherwise = children
        other: tuple[ast.Step, ...] | None = None
        if otherwise is not None:
            other = (otherwise,) if otherwise.__class__ is ast.If else otherwise.value
        return self._nest(ast.If(condition, then.value, other, whole(children)),
                          condition, *then.value, *(other or ()))

    def block(self, children: list[Any]) -> Part:
        return Part("block", built_nodes(children), between(children[0], children[-1]))

    def fail(self, children: list[Any]) -> ast.Fail:
        return self._nest(ast.Fail(children[1], between(children[0], children[1])), children[1])

    # ------------------------------------------------------------ types

    def named_type(self, children: list[Any]) -> ast.NamedType:
        (name,) = children
        return ast.NamedType(name[1], name[2])

    def qualified_type(self, children: list[Any]) -> ast.NamedType:
        # `review.Decision`: one name, as the namespaced import declares it.
        namespace, name = children
        return ast.NamedType(f"{namespace[1]}.{name[1]}", between(namespace, name))

    def generic_type(self, children: list[Any]) -> ast.Type:
        name, inner, close = children
        span = between(name, close)
        if name[1] not in GENERIC_TYPES:
            self.sink.error("F008", f"`{name[1]}[...]` is not a type", name[2],
                            help="the generic types are `list[T]` and `map[T]`")
        if name[1] == "map":
            return self._nest(ast.MapType(inner, span), inner)
        return self._nest(ast.ListType(inner, span), inner)

    def optional_type(self, children: list[Any]) -> ast.OptionalType:
        inner, mark = children
        return self._nest(ast.OptionalType(inner, between(inner, mark)), inner)

    def constrained_type(self, children: list[Any]) -> ast.ConstrainedType:
        base, constraints = children[0], built_nodes(children[1:])
        return self._nest(ast.ConstrainedType(base, constraints, between(base, children[-1])), base)

    def constraint(self, children: list[Any]) -> ast.Constraint:
        name, value = children[0], children[-1]
        if value[0] == "STRING":
            return ast.Constraint(name[1], self.string(value), between(name, value))
        number = self.number([value]).value
        assert isinstance(number, (int, float)) and not isinstance(number, bool)
        negative = len(children) == 3 and children[1] is not None
        return ast.Constraint(name[1], -number if negative else number, between(name, value))

    def record_type(self, children: list[Any]) -> ast.RecordType:
        fields = built_nodes(children)
        return self._nest(ast.RecordType(fields, between(children[0], children[-1])), *fields)

    def record_type_field(self, children: list[Any]) -> ast.RecordField:
        key, type_ = children
        return self._level(ast.RecordField(key.value, type_, between(key, type_)), type_)

    def union_type(self, children: list[Any]) -> ast.LiteralUnion:
        return ast.LiteralUnion(tuple(s.value for s in children), between(children[0], children[-1]))

    def single_literal_type(self, children: list[Any]) -> ast.LiteralUnion:
        (literal,) = children
        return ast.LiteralUnion((literal.value,), literal.span)

    def key(self, children: list[Any]) -> Part:
        (token,) = children
        return Part("key", self.string(token) if token[0] == "STRING" else token[1], token[2])

    # ------------------------------------------------------------ expressions

    def expr(self, children: list[Any]) -> ast.Expr:
        if len(children) == 3 and children[1].__class__ is tuple and children[0].__class__ is not tuple:
            # `a + b`, the commonest case: one binary operator, no prefixes.
            left, operator, right = children
            a, b = left.span, right.span
            return self._nest(ast.Binary(operator[1], left, right,
                                         new_span(ast.Span, (a[0], a[1], b[2], b[3], a[4], b[5]))), left, right)
        if len(children) > 2 * MAX_DEPTH:  # precedence climbing recurses once per operator
            state = current_parse.get()
            if not state.too_deep:
                self._too_deep(state, between(children[0], children[-1]))
            return ast.Literal(None, between(children[0], children[-1]))
        return Climber(self, children).expression()

    def parenthesized(self, children: list[Any]) -> ast.Expr:
        inner: ast.Expr = children[0]
        return inner  # the parentheses are not part of the tree (nor of its span)

    def member(self, children: list[Any]) -> ast.Member:
        obj, name = children
        return self._nest_one(ast.Member(obj, name[1], between(obj, name)), obj)

    def index(self, children: list[Any]) -> ast.Index:
        obj, index, close = children
        return self._nest(ast.Index(obj, index, between(obj, close)), obj, index)

    def func_call(self, children: list[Any]) -> ast.FuncCall:
        name = children[0]
        args = built_nodes(children[1:])
        return self._nest(ast.FuncCall(name[1], args, between(name, children[-1]), name[2]), *args)

    def number(self, children: list[Any]) -> ast.Literal:
        (token,) = children
        text = token[1]
        if text.isdigit():
            if too_large(text):
                self._too_large(token, "integer")
                return ast.Literal(0, token[2])
            return ast.Literal(int(text.lstrip("0") or "0"), token[2])
        value = float(text)
        if math.isinf(value):
            # JSON has no infinity: the IR could not hold it.
            self.sink.error("F010", f"number {shown(text)} is too large", token[2],
                            help="numbers are 64-bit floats: the largest is about 1.8e308")
            value = 0
        return ast.Literal(value, token[2])

    def string_lit(self, children: list[Any]) -> ast.Literal:
        (token,) = children
        return ast.Literal(self.string(token), token[2])

    def true(self, children: list[Any]) -> ast.Literal:
        return ast.Literal(True, children[0][2])

    def false(self, children: list[Any]) -> ast.Literal:
        return ast.Literal(False, children[0][2])

    def null(self, children: list[Any]) -> ast.Literal:
        return ast.Literal(None, children[0][2])

    def name(self, children: list[Any]) -> ast.Name:
        (token,) = children
        return ast.Name(token[1], token[2])

    def list_expr(self, children: list[Any]) -> ast.ListExpr:
        items = built_nodes(children)
        return self._nest(ast.ListExpr(items, between(children[0], children[-1])), *items)

    def record_expr(self, children: list[Any]) -> ast.RecordExpr:
        entries = built_nodes(children)
        return self._nest(ast.RecordExpr(entries, between(children[0], children[-1])), *entries)

    def record_entry(self, children: list[Any]) -> ast.RecordEntry:
        key, value = children
        return self._level(ast.RecordEntry(key.value, value, between(key, value)), value)

    # ------------------------------------------------------------ strings

    def string(self, token: Token) -> str:
        kind, text, span = token
        if kind == "LONG_STRING":
            # Docstring convention: the common indentation is not content.
            return inspect.cleandoc(text[3:-3])
        try:
            # JSON's escapes are "the usual escapes"; raw tabs are allowed.
            value = str(json.loads(text, strict=False))
        except json.JSONDecodeError as error:
            self._bad_escape(span, error.pos, 2, "invalid escape in string")
            return text[1:-1]
        if not value.isascii() and _LONE_SURROGATE.search(value):
            # JSON lets `\ud800` stand alone; no UTF-8 text (so no store, no
            # JSON file, no terminal) can hold it.
            escape = _LONE_SURROGATE_ESCAPE.search(text)
            self._bad_escape(span, escape.start() if escape else 0, 6 if escape else len(text),
                             "a lone surrogate escape is not a character")
            return text[1:-1]
        return value

    def _bad_escape(self, span: ast.Span, offset: int, width: int, message: str) -> None:
        bad = ast.Span(span.line, span.column + offset, span.line, span.column + offset + width,
                       span.start + offset, span.start + offset + width)
        self.sink.error("F004", message, bad,
                        help='the escapes are \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX '
                             "(a character past U+FFFF is a pair: \\ud83d\\ude00)")


# A surrogate code point with no partner: in the decoded text, and as the
# escape that wrote it (a high one not followed by a low one, or a low one
# not preceded by a high one).
_LONE_SURROGATE = re.compile("[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]")
_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                                    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")
