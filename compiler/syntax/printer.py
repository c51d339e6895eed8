"""AST -> canonical `.flow` text: the printer behind ``fermata fmt``.

The output is the one canonical form of a module: four-space indentation, one
statement per line, a blank line between flow members of different kinds,
minimal parentheses, long lists and records and edge target lists broken one
item per line. Two guarantees, both property-tested:

- ``parse(print_module(m)) == m`` (spans aside): printing never changes meaning;
- every comment of ``m.comments`` is printed exactly once. A comment stays
  before the statement it preceded, or at the end of the line it ended; one
  written inside a statement (in a wrapped list, say) moves above it.
"""

from __future__ import annotations

import bisect
import inspect
import json
import re
from collections.abc import Iterable, Sequence

from . import ast, operators
from .ast import KEYWORDS

INDENT = "    "
WIDTH = 100

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# Binding strength of each operator (compiler/syntax/operators.py); higher binds tighter.
_PRECEDENCE = {op: power for op, (power, _) in operators.BINARY.items()} | {"not": operators.PREFIX["not"]}
_COMPARISONS = operators.COMPARISONS
_UNARY_MINUS = operators.PREFIX["-"]
_POSTFIX = operators.POSTFIX
_ATOM = operators.ATOM


def print_module(module: ast.Module) -> str:
    """The canonical text of ``module``, comments included, ending in one newline."""
    printer = _Printer(module.comments, _statement_starts(module))
    previous: ast.Node | None = None
    for item in module.items:
        if previous is not None and _separate(previous, item, printer.comment_lines):
            printer.blank()
        printer.item(item)
        previous = item
    printer.flush_comments(None, 0)
    return printer.text()


# --------------------------------------------------------------------------
# Expressions and types (no comments inside: they are single tokens' worth)
# --------------------------------------------------------------------------


def string_literal(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def key_text(key: str) -> str:
    # A keyword is a name where a key stands (keywords are contextual).
    return key if _IDENTIFIER.match(key) else string_literal(key)


def _led_by_keyword(expr: ast.Expr) -> bool:
    """Whether ``expr``'s text would begin with a keyword read as a name
    (a local named `call`). Right after `let x =` or an interrupt's label
    the keyword would win (`let y = call`), so there the value is printed
    in parentheses, where a keyword that cannot stand is a name."""
    while isinstance(expr, (ast.Binary, ast.Member, ast.Index)):
        expr = expr.left if isinstance(expr, ast.Binary) else expr.obj
    return isinstance(expr, ast.Name) and expr.name in KEYWORDS


def _lead_text(expr: ast.Expr) -> str:
    """``expr``'s text where a keyword would win over a name it begins with."""
    text = expr_text(expr)
    return f"({text})" if _led_by_keyword(expr) else text


def _number(value: float) -> str:
    if isinstance(value, float):
        text = repr(value)
        return text if any(c in text for c in ".eE") else text + ".0"
    return str(value)


def _precedence(expr: ast.Expr) -> int:
    if isinstance(expr, ast.Binary):
        return _PRECEDENCE[expr.op]
    if isinstance(expr, ast.Unary):
        return _PRECEDENCE["not"] if expr.op == "not" else _UNARY_MINUS
    if isinstance(expr, (ast.Member, ast.Index, ast.FuncCall)):
        return _POSTFIX
    if isinstance(expr, ast.Literal) and isinstance(expr.value, (int, float)) \
            and not isinstance(expr.value, bool) and expr.value < 0:
        return _UNARY_MINUS
    return _ATOM


def expr_text(expr: ast.Expr) -> str:
    """One-line text of an expression, parenthesised only where needed."""
    if isinstance(expr, ast.Literal):
        value = expr.value
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return _number(value)
        return string_literal(value)
    if isinstance(expr, ast.Name):
        return expr.name
    if isinstance(expr, ast.ListExpr):
        return "[" + ", ".join(expr_text(i) for i in expr.items) + "]"
    if isinstance(expr, ast.RecordExpr):
        return "{" + ", ".join(f"{key_text(e.key)}: {expr_text(e.value)}" for e in expr.entries) + "}"
    if isinstance(expr, ast.Member):
        return f"{_operand(expr.obj, _POSTFIX)}.{expr.name}"
    if isinstance(expr, ast.Index):
        return f"{_operand(expr.obj, _POSTFIX)}[{expr_text(expr.index)}]"
    if isinstance(expr, ast.FuncCall):
        return f"{expr.name}(" + ", ".join(expr_text(a) for a in expr.args) + ")"
    if isinstance(expr, ast.Unary):
        if expr.op == "not":
            return "not " + _operand(expr.operand, _PRECEDENCE["not"])
        inner = _operand(expr.operand, _UNARY_MINUS)
        # `- -x`, not `--x`; `-(-3)` keeps a negative literal's minus apart.
        return "-" + (" " + inner if inner.startswith("-") else inner)
    if isinstance(expr, ast.Binary):
        level = _PRECEDENCE[expr.op]
        if expr.op == "??":  # right-associative
            left, right = _operand(expr.left, level + 1), _operand(expr.right, level)
        elif expr.op in _COMPARISONS:  # non-associative
            left, right = _operand(expr.left, level + 1), _operand(expr.right, level + 1)
        else:
            left, right = _operand(expr.left, level), _operand(expr.right, level + 1)
        return f"{left} {expr.op} {right}"
    raise TypeError(f"not an expression: {expr!r}")


def _operand(expr: ast.Expr, minimum: int) -> str:
    text = expr_text(expr)
    if _precedence(expr) < minimum:
        return f"({text})"
    # A number cannot take `.name` or `[i]` directly (`1.x` would not lex).
    if minimum == _POSTFIX and isinstance(expr, ast.Literal) and isinstance(expr.value, (int, float)):
        return f"({text})"
    return text


def type_text(node: ast.Type) -> str:
    if isinstance(node, ast.NamedType):
        return node.name
    if isinstance(node, ast.ListType):
        return f"list[{type_text(node.item)}]"
    if isinstance(node, ast.MapType):
        return f"map[{type_text(node.value)}]"
    if isinstance(node, ast.OptionalType):
        inner = node.inner
        text = type_text(inner)
        # `T??` would lex as the `??` operator; unions bind looser than `?`.
        needs_parens = isinstance(inner, ast.OptionalType) or (
            isinstance(inner, ast.LiteralUnion) and len(inner.values) > 1)
        return f"({text})?" if needs_parens else f"{text}?"
    if isinstance(node, ast.RecordType):
        return "{" + ", ".join(f"{key_text(f.name)}: {type_text(f.type)}" for f in node.fields) + "}"
    if isinstance(node, ast.LiteralUnion):
        return " | ".join(string_literal(v) for v in node.values)
    if isinstance(node, ast.ConstrainedType):
        base = node.base
        text = type_text(base)
        # Constraints follow a base type only: `str?`, a union or a constrained
        # type in that place is parenthesized, as it was written.
        if isinstance(base, (ast.OptionalType, ast.ConstrainedType)) or (
                isinstance(base, ast.LiteralUnion) and len(base.values) > 1):
            text = f"({text})"
        return text + "(" + ", ".join(constraint_text(c) for c in node.constraints) + ")"
    raise TypeError(f"not a type: {node!r}")


def constraint_text(node: ast.Constraint) -> str:
    value = node.value
    return f"{node.name} {string_literal(value) if isinstance(value, str) else _number(value)}"


def doc_text(doc: str, indent: str) -> str:
    """A docstring as written by hand: triple-quoted, continuation lines indented."""
    lines = doc.split("\n")
    body = lines[0] + "".join("\n" + (indent + line if line else "") for line in lines[1:])
    candidate = f'"""{body}"""' if len(lines) == 1 else f'"""{body}\n{indent}"""'
    inner = candidate[3:-3]
    # Fall back to an escaped string where triple quotes cannot say it exactly.
    if '"""' in doc or doc.endswith('"') or inspect.cleandoc(inner) != doc:
        return string_literal(doc)
    return candidate


# --------------------------------------------------------------------------
# Statements, with comments
# --------------------------------------------------------------------------


class _Printer:
    def __init__(self, comments: Sequence[ast.Comment], statement_starts: Sequence[int] = ()):
        self.lines: list[str] = []
        self.comments = sorted(comments, key=lambda c: c.span.start)
        self.next_comment = 0
        self.depth = 0
        self.comment_lines = frozenset(c.span.line for c in comments)
        self.statement_starts = sorted(statement_starts)

    def text(self) -> str:
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(self.lines) + "\n" if self.lines else ""

    @property
    def indent(self) -> str:
        return INDENT * self.depth

    def line(self, text: str) -> None:
        self.lines.append(self.indent + text if text else "")

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    # -- comments

    def flush_comments(self, before: int | None, depth: int, next_line: int | None = None) -> None:
        """Print, on their own lines, the comments that start before offset ``before``.

        A blank line the author left after a comment (before the next comment
        or ``next_line``, the statement that follows) is kept.
        """
        while self.next_comment < len(self.comments):
            comment = self.comments[self.next_comment]
            if before is not None and comment.span.start >= before:
                return
            self.lines.append(INDENT * depth + comment.text)
            self.next_comment += 1
            following = next_line
            if self.next_comment < len(self.comments):
                upcoming = self.comments[self.next_comment]
                if before is None or upcoming.span.start < before:
                    following = upcoming.span.line
            if following is not None and following - comment.span.end_line > 1:
                self.blank()

    def trailing_comment(self, node: ast.Node) -> None:
        """Keep a comment written at the end of ``node``'s last line there."""
        if self.next_comment >= len(self.comments) or node.span is ast.NO_SPAN or node.span.end == 0:
            return
        comment = self.comments[self.next_comment]
        if comment.span.line == node.span.end_line and comment.span.start >= node.span.end:
            # `a; b  # c` is about `b`: a comment trails only the last statement before it.
            following = bisect.bisect_left(self.statement_starts, node.span.end)
            if following < len(self.statement_starts) and self.statement_starts[following] < comment.span.start:
                return
            self.lines[-1] += "  " + comment.text
            self.next_comment += 1

    def statement(self, node: ast.Node, lines: Iterable[str]) -> None:
        """A simple statement: its inner comments move above it."""
        if node.span.end:
            self.flush_comments(node.span.end, self.depth, node.span.line)
        for text in lines:
            self.line(text)
        self.trailing_comment(node)

    def open(self, node: ast.Node) -> None:
        if node.span.end:
            self.flush_comments(node.span.start, self.depth, node.span.line)

    def close(self, node: ast.Node, closing: str = "}") -> None:
        """End a block: comments left inside it go before its `}`."""
        if node.span.end:
            self.flush_comments(node.span.end, self.depth + 1)
        self.line(closing)
        self.trailing_comment(node)

    # -- items

    def item(self, item: ast.TypeDecl | ast.Flow | ast.Use) -> None:
        if isinstance(item, ast.TypeDecl):
            flat = f"type {item.name} = {type_text(item.type)}"
            if len(self.indent + flat) <= WIDTH or not isinstance(item.type, ast.RecordType):
                self.statement(item, [flat])
            else:
                self.statement(item, _wrapped_type(f"type {item.name} = ", item.type))
        elif isinstance(item, ast.Use):
            alias = f" as {item.alias}" if item.alias else ""
            self.statement(item, [f"use {string_literal(item.path)}{alias}"])
        else:
            self.flow(item)

    def flow(self, flow: ast.Flow) -> None:
        self.open(flow)
        self.line(f"flow {flow.name} {{")
        self.depth += 1
        if flow.doc is not None:
            self.line(doc_text(flow.doc, self.indent))
        previous: ast.Node | None = None
        for member in flow.members:
            if (previous is not None or flow.doc is not None) and _separate(previous, member, self.comment_lines):
                self.blank()
            self.member(member)
            previous = member
        self.depth -= 1
        self.close(flow)

    def member(self, member: ast.FlowMember) -> None:
        if isinstance(member, ast.StateBlock):
            self.open(member)
            self.line("state {")
            self.depth += 1
            for field in member.fields:
                default = f" = {expr_text(field.default)}" if field.default is not None else ""
                head = f"{field.name}: {type_text(field.type)} = "
                if field.default is not None and len(self.indent + head + default) > WIDTH:
                    self.statement(field, _wrapped(head, field.default))
                else:
                    self.statement(field, [f"{field.name}: {type_text(field.type)}{default}"])
            self.depth -= 1
            self.close(member)
        elif isinstance(member, ast.InputList):
            self.statement(member, ["input " + ", ".join(r.name for r in member.names)])
        elif isinstance(member, ast.OutputList):
            self.statement(member, ["output " + ", ".join(r.name for r in member.names)])
        elif isinstance(member, ast.NodeDecl):
            self.node(member)
        elif isinstance(member, ast.Edge):
            self.statement(member, self._edge(member))
        elif isinstance(member, ast.StaticInterrupt):
            self.statement(member, [f"interrupt {member.when} " + ", ".join(r.name for r in member.nodes)])
        else:
            raise TypeError(f"not a flow member: {member!r}")

    def _edge(self, edge: ast.Edge) -> list[str]:
        sources = ", ".join(r.name for r in edge.sources)
        targets = [r.name for r in edge.targets]
        guard = ""
        if edge.condition is not None:
            guard = " when " + expr_text(edge.condition)
        elif edge.otherwise:
            guard = " otherwise"
        flat = f"{sources} -> {', '.join(targets)}{guard}"
        if len(self.indent + flat) <= WIDTH or len(targets) == 1:
            return [flat]
        lines = [f"{sources} -> {targets[0]},"]
        lines += [f"{INDENT}{t}," for t in targets[1:-1]]
        lines.append(f"{INDENT}{targets[-1]}{guard}")
        return lines

    def node(self, node: ast.NodeDecl) -> None:
        self.open(node)
        header = f"node {node.name}"
        if node.fan_out is not None:
            fan = node.fan_out
            header += f" for {fan.var} in {expr_text(fan.items)}"
            if fan.key is not None:
                header += f" key {expr_text(fan.key)}"
        if node.retry is not None:
            header += f" retry {node.retry}"
        if node.backoff is not None:
            header += f" backoff {node.backoff.text}"
        if node.timeout is not None:
            header += f" timeout {node.timeout.text}"
        if not node.steps and node.doc is None and not self._comments_inside(node):
            self.line(header + " {}")
            self.trailing_comment(node)
            return
        self.line(header + " {")
        self.depth += 1
        if node.doc is not None:
            self.line(doc_text(node.doc, self.indent))
        self.steps(node.steps)
        self.depth -= 1
        self.close(node)

    def _comments_inside(self, node: ast.Node) -> bool:
        if self.next_comment >= len(self.comments) or not node.span.end:
            return False
        return self.comments[self.next_comment].span.start < node.span.end

    def steps(self, steps: Sequence[ast.Step]) -> None:
        for step in steps:
            self.step(step)

    def step(self, step: ast.Step) -> None:
        if isinstance(step, ast.If):
            self.if_step(step)
            return
        self.statement(step, self._simple_step(step))

    def if_step(self, step: ast.If, prefix: str = "") -> None:
        """``if``; ``prefix`` is ``"} else "`` when continuing an ``else if`` chain."""
        if not prefix:
            self.open(step)
        self.line(f"{prefix}if {expr_text(step.condition)} {{")
        self.depth += 1
        self.steps(step.then)
        self.depth -= 1
        otherwise = step.otherwise
        if otherwise is not None and len(otherwise) == 1 and isinstance(otherwise[0], ast.If):
            nested = otherwise[0]
            if nested.span.end:
                self.flush_comments(nested.span.start, self.depth + 1)
            self.if_step(nested, "} else ")
            return
        if otherwise is not None:
            if step.then and step.then[-1].span.end:
                self.flush_comments(_first_start(otherwise, step.span.end), self.depth + 1)
            self.line("} else {")
            self.depth += 1
            self.steps(otherwise)
            self.depth -= 1
        self.close(step)

    def _simple_step(self, step: ast.Step) -> list[str]:
        if isinstance(step, ast.Let):
            head = f"let {step.name} = "
            if isinstance(step.value, ast.Call):
                return self._call(step.value, head)
            if isinstance(step.value, ast.Interrupt):
                return self._interrupt(step.value, head)
            if isinstance(step.value, ast.Run):
                return self._value(f"{head}run {step.value.flow} ", step.value.input)
            if _led_by_keyword(step.value):
                return [head + _lead_text(step.value)]
            return self._value(head, step.value)
        if isinstance(step, ast.Set):
            return self._value(f"set {step.field} {step.op} ", step.value)
        if isinstance(step, ast.Call):
            return self._call(step, "")
        if isinstance(step, ast.Interrupt):
            return self._interrupt(step, "")
        if isinstance(step, ast.Fail):
            return self._value("fail ", step.message)
        if isinstance(step, ast.Run):
            return self._value(f"run {step.flow} ", step.input)
        if isinstance(step, ast.Wait):
            if step.duration is not None:
                return [f"wait {step.label} for {step.duration.text}"]
            return self._value(f"wait {step.label} until ", step.until)  # type: ignore[arg-type]
        raise TypeError(f"not a step: {step!r}")

    def _value(self, head: str, value: ast.Expr) -> list[str]:
        flat = head + expr_text(value)
        if len(self.indent + flat) <= WIDTH:
            return [flat]
        return _wrapped(head, value)

    def _interrupt(self, step: ast.Interrupt, head: str) -> list[str]:
        """An interrupt by the rule of `set`: a long list or record payload
        one item per line, then a long record type after `expect` likewise;
        then its clauses, one per line, one level in."""
        return self._interrupt_head(step, head) + [INDENT + clause for clause in clause_texts(step)]

    def _interrupt_head(self, step: ast.Interrupt, head: str) -> list[str]:
        flat = head + _interrupt_text(step)
        if len(self.indent + flat) <= WIDTH:
            return [flat]
        lines = [f"{head}interrupt {step.label}"]
        if step.payload is not None:
            lines = ([f"{lines[0]} {_lead_text(step.payload)}"] if _led_by_keyword(step.payload)
                     else _wrapped(lines[0] + " ", step.payload))
        if step.expect is not None:
            with_type = f"{lines[-1]} expect {type_text(step.expect)}"
            if len(self.indent + with_type) <= WIDTH or not isinstance(step.expect, ast.RecordType):
                lines[-1] = with_type
            else:
                lines[-1:] = _wrapped_type(f"{lines[-1]} expect ", step.expect)
        return lines

    def _call(self, call: ast.Call, head: str) -> list[str]:
        keyword = "call once " if call.once else "call "
        opening = f"{head}{keyword}{string_literal(call.target)}"
        if call.args is None:
            return [opening]
        arguments = [expr_text(a) for a in call.args]
        arguments += [f"{kw.name}={expr_text(kw.value)}" for kw in call.kwargs]
        flat = f"{opening}({', '.join(arguments)})"
        if len(self.indent + flat) <= WIDTH or not arguments:
            return [flat]
        lines = [opening + "("]
        inner = self.indent + INDENT
        values = [*call.args, *(kw.value for kw in call.kwargs)]
        names = [""] * len(call.args) + [f"{kw.name}=" for kw in call.kwargs]
        for text, name, value in zip(arguments, names, values, strict=True):
            if len(f"{inner}{text},") <= WIDTH:
                lines.append(f"{INDENT}{text},")
            else:   # a long list or record argument, by the rule of `set`, one level in
                wrapped = _wrapped(name, value)
                wrapped[-1] += ","
                lines += [INDENT + line for line in wrapped]
        return lines + [")"]


def clause_texts(step: ast.Interrupt) -> list[str]:
    """An interrupt's clauses, in the canonical order."""
    texts = []
    if step.where is not None:
        texts.append(f"where {expr_text(step.where.condition)}"
                     + (f" {string_literal(step.where.message)}" if step.where.message is not None else ""))
    if step.to:
        texts.append("to " + ", ".join(expr_text(e) for e in step.to))
    if step.within is not None:
        deadline = step.within
        texts.append(f"within {deadline.duration.text} -> {deadline.target.name}" if deadline.target is not None
                     else f"within {deadline.duration.text} answer {expr_text(deadline.answer)}")  # type: ignore[arg-type]
    if step.remind_every is not None:
        texts.append(f"remind every {step.remind_every.text}")
    return texts


def _interrupt_text(step: ast.Interrupt) -> str:
    text = f"interrupt {step.label}"
    if step.payload is not None:
        text += " " + _lead_text(step.payload)
    if step.expect is not None:
        text += " expect " + type_text(step.expect)
    return text


def _wrapped(head: str, value: ast.Expr) -> list[str]:
    """A long list or record value, one item per line; other values stay on one line."""
    if isinstance(value, ast.ListExpr) and value.items:
        return [head + "["] + [f"{INDENT}{expr_text(i)}," for i in value.items] + ["]"]
    if isinstance(value, ast.RecordExpr) and value.entries:
        return ([head + "{"] + [f"{INDENT}{key_text(e.key)}: {expr_text(e.value)}," for e in value.entries]
                + ["}"])
    return [head + expr_text(value)]


def _wrapped_type(head: str, record: ast.RecordType) -> list[str]:
    """A long record type, one field per line (as `_wrapped` breaks a record value)."""
    if not record.fields:
        return [head + type_text(record)]
    return ([head + "{"] + [f"{INDENT}{key_text(f.name)}: {type_text(f.type)}," for f in record.fields]
            + ["}"])


_STATEMENTS = (ast.TypeDecl, ast.Use, ast.Flow, ast.StateBlock, ast.StateField, ast.InputList, ast.OutputList,
               ast.NodeDecl, ast.Edge, ast.StaticInterrupt, ast.Let, ast.Set, ast.Call, ast.Interrupt, ast.If,
               ast.Fail, ast.Wait, ast.Run)


def _statement_starts(module: ast.Module) -> list[int]:
    return [n.span.start for n in module.walk() if isinstance(n, _STATEMENTS) and n.span.end]


def _first_start(steps: Sequence[ast.Step], default: int) -> int:
    return steps[0].span.start if steps and steps[0].span.end else default


_GROUPED = (ast.Edge, ast.StaticInterrupt, ast.TypeDecl, ast.Use)


def _separate(previous: ast.Node | None, member: ast.Node, comment_lines: frozenset[int]) -> bool:
    """Whether a blank line goes between two flow members."""
    if previous is None:
        return True
    if isinstance(previous, (ast.InputList, ast.OutputList)) and isinstance(member, (ast.InputList,
                                                                                    ast.OutputList)):
        return False
    if type(previous) is type(member) and isinstance(member, _GROUPED):
        # Edges stay together, but a blank line the author put between two
        # groups of edges is kept.
        if not previous.span.end:
            return False
        between = range(previous.span.end_line + 1, member.span.line)
        return any(line not in comment_lines for line in between)
    return True
