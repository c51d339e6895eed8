"""Written types: the types a module's `type` declarations and state fields
write, checked for unknown names (F116, F126), repeated record fields (F132),
redeclared built-ins (F131), cycles (F127) and nesting (F013), and the
declarations resolved in dependency order.

Part of the type checker (``typecheck.py``), which reports these codes; the
types themselves are ``compiler/semantics/types.py``'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from ..diagnostics.diagnostic import DiagnosticSink, Label, did_you_mean
from ..semantics import types as T
from ..syntax import ast
from ..syntax.ast import MAX_DEPTH
from .components import shortest_cycle, strong_components

# Names people bring from other languages, with what to write instead.
_TYPE_HINTS = {
    "string": "str", "text": "str", "integer": "int", "number": "float", "double": "float",
    "boolean": "bool", "dict": "map[T]", "object": "map[T]", "array": "list[T]",
    "list": "list[T]", "map": "map[T]", "null": "T?", "none": "T?",
}


def _unknown_qualified(sink: DiagnosticSink, part: ast.NamedType, declared: set[str]) -> None:
    """F116: ``ns.Name`` where ``ns`` names no import, or its file declares no ``Name``."""
    namespace, _, name = part.name.partition(".")
    in_namespace = [d.partition(".")[2] for d in declared if d.startswith(namespace + ".")]
    if not in_namespace:
        sink.error("F116", f"unknown type `{part.name}`: no `use \"...\" as {namespace}` brings in a `{name}`",
                   part.span, help=f"import the file that declares it: `use \"path/to/file.flow\" as {namespace}`")
        return
    sink.error("F116", f"unknown type `{part.name}`: the file imported as `{namespace}` declares no type `{name}`",
               part.span, help=did_you_mean(name, in_namespace)
               or "its types are " + ", ".join(f"`{namespace}.{n}`" for n in sorted(in_namespace)))


def check_type(sink: DiagnosticSink, node: ast.Type, declared: Iterable[str]) -> None:
    """F126 for unknown names and F132 for repeated record fields in a written type."""
    declared = set(declared)
    for part in node.walk():
        if isinstance(part, ast.NamedType) and part.name not in T.PRIMITIVES \
                and part.name not in declared and "." in part.name:
            _unknown_qualified(sink, part, declared)
        elif isinstance(part, ast.NamedType) and part.name not in T.PRIMITIVES \
                and part.name not in declared:
            hint = _TYPE_HINTS.get(part.name.lower())
            sink.error("F126", f"unknown type `{part.name}`", part.span,
                       help=(f"write `{hint}`" if hint else None)
                       or did_you_mean(part.name, [*T.PRIMITIVES, *declared])
                       or f"declare it with `type {part.name} = ...`, or use one of "
                          "`str int float bool any`")
        elif isinstance(part, ast.RecordType):
            first: dict[str, ast.Span] = {}
            for f in part.fields:
                if f.name in first:
                    sink.error("F132", f"field `{f.name}` is declared twice in a record type",
                               _name_of_field(f), labels=[Label(first[f.name], "first declared here")],
                               help=f"remove one of the two `{f.name}` fields")
                first.setdefault(f.name, _name_of_field(f))


class TypeDeclarations:
    """`type Name = T` declarations: their names, references and cycles."""

    def __init__(self, sink: DiagnosticSink, decls: Iterable[ast.TypeDecl]):
        self.sink = sink
        self.decls: dict[str, ast.TypeDecl] = {}
        for decl in decls:
            self.decls.setdefault(decl.name, decl)  # a duplicate is F102's; the first counts

    def refs(self, name: str) -> list[ast.NamedType]:
        return [n for n in self.decls[name].type.walk()
                if isinstance(n, ast.NamedType) and n.name in self.decls]

    def resolve(self) -> dict[str, T.FType]:
        for decl in self.decls.values():
            if decl.name in T.PRIMITIVES:
                self.sink.error("F131", f"`{decl.name}` is a built-in type and cannot be redeclared",
                                decl.name_span.or_else(decl.span),
                                help=f"name the type something else, e.g. `My{decl.name.title()}`")
            check_type(self.sink, decl.type, self.decls)
        graph = {name: [r.name for r in self.refs(name)] for name in self.decls}
        # Each component comes after those it refers to: the order to resolve in.
        components = strong_components(list(self.decls), graph)
        cyclic = self._report_cycles(components, graph)
        resolved: dict[str, T.FType] = {}
        depths: dict[str, int] = {}
        too_deep_reported = False
        for component in components:
            (name,) = component if len(component) == 1 else (None,)
            if name is None or name in cyclic or name in T.PRIMITIVES:
                continue
            decl = self.decls[name]
            depth = self._depth(decl.type, depths)
            if depth > MAX_DEPTH:
                # Deeper types would make every later stage recurse too far.
                # Left unresolved, like a cycle, so the names that refer to it
                # read it as `any`; reported once.
                if not too_deep_reported:
                    self.sink.error(
                        "F013", f"type `{name}` nests more than {MAX_DEPTH} levels deep "
                        "(each type it names counts as a level)", decl.name_span.or_else(decl.span),
                        help="flatten it: fewer levels of `type` names that only rename another")
                    too_deep_reported = True
                continue
            depths[name] = depth
            # Names left unresolved (cyclic, too deep or unknown, all reported) are `any`.
            resolved[name] = replace(T.resolve(decl.type, resolved), alias=name)
        return resolved

    def _depth(self, node: ast.Node, depths: Mapping[str, int]) -> int:
        """Levels of ``node``, a named type counting one more than its own
        (a written type is at most MAX_DEPTH levels: the parser saw to it)."""
        if isinstance(node, ast.NamedType):
            return 1 + depths.get(node.name, 0)
        if isinstance(node, ast.RecordField):  # one level with its type, as in the parser
            return self._depth(node.type, depths)
        return 1 + max((self._depth(child, depths) for child in node.child_list()), default=0)

    def _report_cycles(self, components: list[set[str]], graph: Mapping[str, list[str]]) -> set[str]:
        """F127 once per cycle, at the first declaration of it in the file;
        returns every name on a cycle."""
        order = {name: i for i, name in enumerate(self.decls)}
        cyclic: set[str] = set()
        for members in sorted(components, key=lambda c: min(order[n] for n in c)):
            component = sorted(members, key=order.__getitem__)
            first = component[0]
            if len(component) == 1 and first not in graph[first]:
                continue
            cyclic.update(component)
            chain = shortest_cycle(first, {n: [s for s in graph[n] if s in members] for n in members})
            ref = next(r for r in self.refs(first) if r.name == chain[1])
            decl = self.decls[first]
            self.sink.error(
                "F127", f"type `{first}` refers to itself: `{' -> '.join(chain)}`",
                decl.name_span.or_else(decl.span),
                labels=[Label(ref.span, f"`{first}` refers to `{chain[1]}` here")],
                notes=["a type compiles to a JSON Schema, which must be finite here"],
                help="break the cycle with `any` for the nested part, e.g. `children: list[any]`")
        return cyclic


def _name_of_field(f: ast.RecordField) -> ast.Span:
    span = f.span
    if not span.line:
        return span
    return ast.Span(span.line, span.column, span.line, span.column + len(f.name),
                    span.start, span.start + len(f.name))
