"""Scopes of the type checker (``typecheck.py``): what names mean in a block
of steps, and the explanations of names that are not visible there.

A scope holds the state fields as narrowed in its block and the locals
declared so far; :class:`Checker` is the shared inferer reading through a
scope, and :class:`Names` explains an unknown name of a node (or of a flow's
edges): F120, F121, F130 and, in templates, F431.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from ..diagnostics.diagnostic import DiagnosticSink, Label, Suggestions
from ..semantics import inference as I
from ..semantics import types as T
from ..syntax import ast
from . import templates


@dataclass
class Local:
    let: ast.Let
    type: T.FType


@dataclass
class Scope:
    """What names mean in one block of steps (or an edge condition)."""

    fields: dict[str, T.FType]               # as narrowed here
    locals: dict[str, Local] = field(default_factory=dict)
    parent: Scope | None = None
    _suggestions: Suggestions | None = None   # built on the first unknown name

    def env(self) -> I.Env:
        # A view, not a copy: an env is made for every step, and copying
        # every local each time made a node of n `let`s cost n * n.
        return I.Env(fields=self.fields, locals=_LocalTypes(self.locals))

    def declare(self, name: str, local: Local) -> None:
        self.locals[name] = local
        if self._suggestions is not None:
            self._suggestions.add(name)

    def suggest(self, name: str) -> str | None:
        """The visible name ``name`` is likely a typo of (one index per
        scope: n unknown names do not each list every name in scope)."""
        if self._suggestions is None:
            self._suggestions = Suggestions(self.visible)
        return self._suggestions.closest(name)

    def child(self, env: I.Env | None = None) -> Scope:
        """A nested block's scope, with the narrowing of ``env`` applied."""
        scope = Scope(dict(self.fields), dict(self.locals), self)
        if env is not None:
            scope.narrow(env)
        return scope

    def narrow(self, env: I.Env) -> None:
        """Take the (narrower) types of ``env`` for the names in scope."""
        self.fields.update(env.fields)
        for name, t in env.locals.items():
            if name in self.locals and self.locals[name].type != t:
                self.locals[name] = Local(self.locals[name].let, t)

    def written(self, name: str, declared: T.FType) -> None:
        """A `set` of field ``name``: what a null test proved about it no
        longer holds, here or in any enclosing block."""
        scope: Scope | None = self
        while scope is not None:
            scope.fields[name] = declared
            scope = scope.parent

    @property
    def visible(self) -> list[str]:
        return [*self.fields, *self.locals]


class _LocalTypes(Mapping[str, T.FType]):
    """The types of a scope's locals, read through to the scope's own dict."""

    __slots__ = ("_locals",)

    def __init__(self, locals: Mapping[str, Local]):
        self._locals = locals

    def __getitem__(self, name: str) -> T.FType:
        return self._locals[name].type

    def __contains__(self, name: object) -> bool:
        return name in self._locals

    def __iter__(self) -> Iterator[str]:
        return iter(self._locals)

    def __len__(self) -> int:
        return len(self._locals)


def locals_by_node(flow: ast.Flow) -> dict[str, str]:
    """Local name -> the first node declaring it, for "a local of node `x`" notes."""
    found: dict[str, str] = {}
    for node in flow.nodes:
        for step in node.all_steps:
            if isinstance(step, ast.Let):
                found.setdefault(step.name, node.name)
    return found


class Checker(I.Inferer):
    """The shared inferer with scope-aware explanations of unknown names,
    read tracking and template checks."""

    def __init__(self, owner: Names, scope: Scope):
        super().__init__(scope.env(), owner.sink)
        self.owner = owner
        self.scope = scope

    def unknown_name(self, node: ast.Name) -> None:
        self.owner.unknown(node.name, node.span, self.scope, in_template=False)

    def read(self, node: ast.Name) -> None:
        self.owner.mark_read(node.name, self.scope)

    def template(self, node: ast.Literal) -> None:
        scope, owner = self.scope, self.owner
        templates.check_template(
            owner.sink, node, scope.visible,
            explain=lambda name, span: owner.unknown(name, span, scope, in_template=True),
            read=lambda name: owner.mark_read(name, scope))


class Names:
    """Explains unknown names for one node (or a flow's edges) and records
    which locals are read."""

    def __init__(self, sink: DiagnosticSink, flow: ast.Flow, node: ast.NodeDecl | None,
                 other_locals: Mapping[str, str]):
        self.sink = sink
        self.flow = flow
        self.node = node
        self.other_locals = other_locals
        self.lets = [s for s in node.all_steps if isinstance(s, ast.Let)] if node else []
        self.seen = 0   # lets walked so far, in the order of `self.lets`
        # Name -> the positions of its `let`s in `self.lets`: an unknown name
        # is looked up, not searched for among every `let` of the node.
        self.let_positions: dict[str, list[int]] = {}
        for position, let in enumerate(self.lets):
            self.let_positions.setdefault(let.name, []).append(position)
        self.reads: set[int] = set()

    def mark_read(self, name: str, scope: Scope) -> None:
        local = scope.locals.get(name)
        if local is not None:
            self.reads.add(id(local.let))

    def unknown(self, name: str, span: ast.Span, scope: Scope, in_template: bool) -> bool:
        """Report an unknown name, saying why it is not visible when the node
        declares it elsewhere; always True (the name was explained)."""
        positions = self.let_positions.get(name, [])
        after = bisect.bisect_left(positions, self.seen)
        later = self.lets[positions[after]] if after < len(positions) else None
        if later is not None:
            self.reads.add(id(later))  # moving the `let` up fixes both: report one fault
            self.sink.error("F121", f"local `{name}` is used before its `let`", span,
                            labels=[Label(let_span(later), f"`{name}` is declared here, later in the node")],
                            help=f"move `let {name} = ...` above its first use")
            return True
        earlier = self.lets[positions[0]] if positions and positions[0] < self.seen else None
        if earlier is not None:
            self.reads.add(id(earlier))
            self.sink.error("F130", f"local `{name}` is not visible here", span,
                            labels=[Label(let_span(earlier), f"`{name}` is declared inside an `if` "
                                          "branch and visible only there")],
                            help=f"declare `{name}` before the `if`, or keep the value in a state "
                                 "field with `set`")
            return True
        notes = []
        owner = self.other_locals.get(name)
        if owner is not None and (self.node is None or owner != self.node.name):
            if self.node is None:
                notes.append(f"`{name}` is a local of node `{owner}`; edge conditions see state "
                             "fields only")
            else:
                notes.append(f"`{name}` is a local of node `{owner}`; locals are visible only in "
                             "their own node")
        meant = scope.suggest(name)
        suggestion = f"did you mean `{meant}`?" if meant else None
        if meant in scope.locals:
            self.reads.add(id(scope.locals[meant].let))  # a misspelt read: the local is not unused too
        if notes:
            help = (f"keep the value in a state field: declare `{name}` in `state` and `set` it in "
                    f"node `{owner}`")
        else:
            help = suggestion or (
                f"declare `{name}` in the `state` block"
                + ("" if self.node is None else ", or with `let` earlier in the node"))
        if in_template:
            self.sink.error("F431", f"unknown name `{name}` in a template", span, help=help, notes=notes)
            return True
        self.sink.error("F120", f"unknown name `{name}`", span, help=help, notes=notes)
        return True


def let_span(let: ast.Let) -> ast.Span:
    return let.name_span.or_else(let.span)
