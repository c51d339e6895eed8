"""What each request answers, as functions of a :class:`DocumentAnalysis`.

Handlers in ``server.py`` convert positions and call these; every function
here answers from the index built once per document version, never by
analysing again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from ..semantics import types as T
from ..syntax import ast
from .analysis import (
    FIELD,
    FLOW,
    INTERRUPT,
    LOCAL,
    NODE,
    TYPE,
    DocumentAnalysis,
    Point,
    Symbol,
)
from .fixes import quoted_key_edit
from .positions import Position

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def lsp_range(doc: DocumentAnalysis, span: ast.Span) -> lsp.Range:
    start, end = doc.lines.range(span)
    return lsp.Range(lsp.Position(*start), lsp.Position(*end))


def point_of(doc: DocumentAnalysis, position: lsp.Position) -> Point:
    return doc.lines.column(Position(position.line, position.character))


# --------------------------------------------------------------------------
# Hover
# --------------------------------------------------------------------------


def hover(doc: DocumentAnalysis, point: Point) -> lsp.Hover | None:
    answer = _hover(doc, point)
    # Under a squiggle: the catalogue entry of each diagnostic there too.
    codes = dict.fromkeys(d.code for d in doc.diagnostics
                          if d.span.line and (d.span.line, d.span.column) <= point
                          <= (d.span.end_line, d.span.end_column))
    entries = [text for text in map(describe_code, codes) if text is not None]
    if not entries:
        return answer
    if answer is None:
        return lsp.Hover(_markdown("\n\n---\n\n".join(entries)))
    assert isinstance(answer.contents, lsp.MarkupContent)
    return lsp.Hover(_markdown("\n\n---\n\n".join([answer.contents.value, *entries])), answer.range)


def _hover(doc: DocumentAnalysis, point: Point) -> lsp.Hover | None:
    occurrence = doc.occurrence_at(point)
    if occurrence is not None:
        return lsp.Hover(_markdown(describe(doc, occurrence.symbol)), lsp_range(doc, occurrence.span))
    code = _code_at(doc, point)
    if code is not None:
        text = describe_code(code)
        if text is not None:
            return lsp.Hover(_markdown(text))
    found = doc.expr_at(point)
    if found is not None:
        expr, env = found
        from ..semantics.inference import infer, source

        return lsp.Hover(_markdown(f"```fermata\n{source(expr)}: {infer(expr, env)}\n```"),
                         lsp_range(doc, expr.span))
    return None


def _markdown(text: str) -> lsp.MarkupContent:
    return lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text)


def describe(doc: DocumentAnalysis, symbol: Symbol) -> str:
    """A symbol's hover text: its declaration, type and docstring."""
    decl = symbol.decl
    if symbol.kind == FIELD:
        assert isinstance(decl, ast.StateField)
        default = ""
        if decl.default is not None:
            from ..semantics.inference import source

            default = f" = {source(decl.default)}"
        head, what = f"{symbol.name}: {symbol.detail}{default}", f"state field of flow `{symbol.flow}`"
    elif symbol.kind == LOCAL and isinstance(decl, ast.FanOut):
        head, what = (f"for {symbol.name}: {symbol.detail}",
                      f"one item of fan-out node `{symbol.node}`'s list")
    elif symbol.kind == LOCAL:
        head, what = f"let {symbol.name}: {symbol.detail}", f"local of node `{symbol.node}`"
    elif symbol.kind == NODE:
        # The flow's current declaration: after an edit inside the node,
        # the symbol (shared with earlier versions) keeps the older one.
        flow = next((f for f in doc.flows if f.flow.name == symbol.flow), None)
        decl = next((n for n in flow.flow.nodes if n.name == symbol.name), decl) if flow else decl
        assert isinstance(decl, ast.NodeDecl)
        options = "".join([f" retry {decl.retry}" if decl.retry is not None else "",
                           f" backoff {decl.backoff.text}" if decl.backoff else "",
                           f" timeout {decl.timeout.text}" if decl.timeout else ""])
        labels = [s.label for s in decl.all_steps if isinstance(s, ast.Interrupt)] + [
            s.value.label for s in decl.all_steps if isinstance(s, ast.Let) and isinstance(s.value, ast.Interrupt)]
        head, what = f"node {symbol.name}{options}", f"node of flow `{symbol.flow}`"
        if labels:
            what += "; interrupts " + ", ".join(f"`{symbol.name}:{label}`" for label in labels)
    elif symbol.kind == TYPE:
        t = symbol.type
        head, what = f"type {symbol.name} = {t.written() if t is not None else 'any'}", "declared type"
    elif symbol.kind == FLOW:
        assert isinstance(decl, ast.Flow)
        head, what = f"flow {symbol.name}", f"{len(decl.nodes)} nodes, {len(decl.state_fields)} state fields"
        # What a `run` of it gives and gets.
        from ..checks.runs import signature

        sig = signature(decl, doc.named)
        what += ("; input " + (", ".join(f"`{n}`" for n in sig.inputs) or "none")
                 + f"; output `{sig.output}`")
    else:  # INTERRUPT
        assert isinstance(decl, ast.Interrupt)
        head = f"interrupt {symbol.name}" + (f" expect {symbol.detail}" if symbol.type is not None else "")
        what = f"interrupt id `{symbol.node}:{symbol.name}`"
        if decl.expect is not None:
            from ..lower.lowering import type_schema

            named_ast = {d.name: d.type for d in (doc.module.types if doc.module else ())}
            try:
                schema = json.dumps(type_schema(decl.expect, named_ast), indent=2)
            except RecursionError:  # a recursive type (F127): no finite schema to show
                schema = None
            if schema is not None:
                what += f"\n\nanswer schema:\n```json\n{schema}\n```"
        else:
            what += "; any answer (no `expect`)"
    parts = [f"```fermata\n{head}\n```", what]
    docstring = decl.doc if isinstance(decl, (ast.NodeDecl, ast.Flow)) else symbol.doc
    if docstring:
        parts.append(docstring.strip())
    return "\n\n".join(parts)


_CODE = re.compile(r"\bF\d{3}\b")


def _code_at(doc: DocumentAnalysis, point: Point) -> str | None:
    """A diagnostic code written at ``point`` inside a comment
    (`# fermata: ignore[F124]`)."""
    line = doc.lines.line_text(point[0])
    hash_at = line.find("#")
    if hash_at < 0 or point[1] - 1 < hash_at:
        return None
    for match in _CODE.finditer(line, hash_at):
        if match.start() <= point[1] - 1 <= match.end():
            return match.group()
    return None


def describe_code(code: str) -> str | None:
    from ..diagnostics.catalogue import DOCS_URI

    entry = _catalogue().get(code)
    if entry is None:
        return None
    fix = f"\n\n**Fix:** {entry.fix}" if entry.fix else ""
    return f"**{code}** ({entry.severity}): {entry.title}{fix}\n\n[{code} in the catalogue]({DOCS_URI}#{code.lower()})"


_CATALOGUE: dict[str, Any] = {}


def _catalogue() -> dict[str, Any]:
    if not _CATALOGUE:
        from ..diagnostics.catalogue import load_catalogue

        _CATALOGUE.update(load_catalogue())
    return _CATALOGUE


# --------------------------------------------------------------------------
# Definition, references, rename
# --------------------------------------------------------------------------


def definition(doc: DocumentAnalysis, point: Point) -> lsp.Location | None:
    occurrence = doc.occurrence_at(point)
    if occurrence is None:
        return None
    elsewhere = occurrence.symbol.elsewhere
    if elsewhere is not None:
        # Another file's span, in characters: its names are ASCII, and so,
        # nearly always, is what precedes a `type` declaration's name.
        path, span = elsewhere
        start = lsp.Position(span.line - 1, span.column - 1)
        return lsp.Location(Path(path).as_uri(), lsp.Range(start, lsp.Position(span.end_line - 1, span.end_column - 1)))
    return lsp.Location(doc.uri, lsp_range(doc, occurrence.symbol.span))


def references(doc: DocumentAnalysis, point: Point, include_declaration: bool) -> list[lsp.Location]:
    occurrence = doc.occurrence_at(point)
    if occurrence is None:
        return []
    return [lsp.Location(doc.uri, lsp_range(doc, occ.span)) for occ in doc.references(occurrence.symbol)
            if include_declaration or not occ.is_definition]


class RenameRefused(Exception):
    """A rename that would not compile, or would change what a name means."""


def prepare_rename(doc: DocumentAnalysis, point: Point) -> lsp.PrepareRenamePlaceholder | None:
    occurrence = doc.occurrence_at(point)
    if occurrence is None:
        return None
    return lsp.PrepareRenamePlaceholder(lsp_range(doc, occurrence.span), occurrence.symbol.name)


def rename(doc: DocumentAnalysis, point: Point, new_name: str) -> lsp.WorkspaceEdit | None:
    occurrence = doc.occurrence_at(point)
    if occurrence is None:
        return None
    symbol = occurrence.symbol
    if symbol.elsewhere is not None:
        raise RenameRefused(f"`{symbol.name}` is declared in {symbol.elsewhere[0]}: rename it there")
    if new_name == symbol.name:
        return lsp.WorkspaceEdit(changes={doc.uri: []})
    refuse_clash(doc, symbol, new_name)
    occurrences = doc.references(symbol)
    _refuse_keyword_read_as_keyword(doc, [occ.span for occ in occurrences], new_name)
    edits = [lsp.TextEdit(lsp_range(doc, occ.span), new_name) for occ in occurrences]
    return lsp.WorkspaceEdit(changes={doc.uri: edits})


def _refuse_keyword_read_as_keyword(doc: DocumentAnalysis, spans: Sequence[ast.Span], new_name: str) -> None:
    """Keywords are names wherever the parser cannot take the keyword, so a
    keyword may be the new name, unless somewhere it would be read as the
    keyword (`let y = call`) or it cannot name this symbol (F014): the
    renamed text is parsed to find out."""
    from ..syntax.ast import KEYWORDS
    from ..syntax.parser import parse

    if new_name not in KEYWORDS:
        return
    text = doc.text
    for span in sorted(spans, key=lambda s: s.start, reverse=True):
        text = text[:span.start] + new_name + text[span.end:]
    module, diagnostics = parse(text)
    if module is None:
        first = diagnostics[0]
        raise RenameRefused(f"`{new_name}` is a keyword, and at line {first.span.line} it would not be "
                            f"read as a name: {first.message}")


def refuse_clash(doc: DocumentAnalysis, symbol: Symbol, new_name: str) -> None:
    """Raise :class:`RenameRefused` when ``new_name`` cannot replace ``symbol``'s name."""
    if not IDENTIFIER.fullmatch(new_name):
        raise RenameRefused(f"`{new_name}` is not a name: names are letters, digits and `_`, "
                            "not starting with a digit")
    if symbol.kind == TYPE and new_name in T.PRIMITIVES:
        raise RenameRefused(f"`{new_name}` is a built-in type")
    for other in doc.symbols:
        if other is symbol or other.name != new_name:
            continue
        if _same_namespace(symbol, other):
            raise RenameRefused(f"`{new_name}` is already the name of the {other.kind} declared at "
                                f"line {other.span.line}")


def _same_namespace(a: Symbol, b: Symbol) -> bool:
    """Whether two symbols may not share a name: fields and locals of a
    flow share one (a `let` may not shadow a field, F123), locals one per
    node, nodes one per flow, labels one per node, types and flows one per file."""
    if a.kind in (TYPE, FLOW):
        return b.kind == a.kind
    if a.flow != b.flow:
        return False
    if a.kind == FIELD:
        return b.kind in (FIELD, LOCAL)
    if a.kind == LOCAL:
        return b.kind == FIELD or (b.kind == LOCAL and b.node == a.node)
    if a.kind == NODE:
        return b.kind == NODE
    return b.kind == INTERRUPT and b.node == a.node


# --------------------------------------------------------------------------
# Completion
# --------------------------------------------------------------------------

STEP_KEYWORDS = ("let", "set", "call", "call once", "interrupt", "if", "else", "fail", "wait", "run")
FLOW_KEYWORDS = ("state", "input", "output", "node", "interrupt before", "interrupt after",
                 "start", "when", "otherwise")
TOP_KEYWORDS = ("flow", "type", "use")

_KIND_OF = {FIELD: lsp.CompletionItemKind.Field, LOCAL: lsp.CompletionItemKind.Variable,
            NODE: lsp.CompletionItemKind.Function, TYPE: lsp.CompletionItemKind.Class,
            FLOW: lsp.CompletionItemKind.Module, INTERRUPT: lsp.CompletionItemKind.Event}


def completion(doc: DocumentAnalysis, text: str, point: Point) -> list[lsp.CompletionItem]:
    """Completions at ``point`` of ``text`` (the document as it is now);
    ``doc`` may be an older version's analysis when the text does not
    parse yet: scopes are looked up by line and column."""
    line = text.split("\n")[point[0] - 1] if point[0] - 1 < text.count("\n") + 1 else ""
    before = line[: point[1] - 1]
    if _in_string(before):
        if before.rfind("{{") > before.rfind("}}") or before.rfind("{%") > before.rfind("%}"):
            return _names(doc, point)
        return []
    before = before.split("#", 1)[0] if "#" in before and not _in_string(before.split("#", 1)[0]) else before
    if len(before) != len(line[: point[1] - 1]):
        return []  # in a comment
    member = re.search(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\.\w*$", before)
    if member is not None:
        return _members(doc, point, member.group(1).split("."))
    if (re.search(r"->\s*(?:\w+\s*,\s*)*\w*$", before)
            or re.search(r"interrupt\s+(before|after)\s+(?:\w+\s*,\s*)*\w*$", before)):
        return _nodes(doc, point, with_end="->" in before)
    if re.search(r"(?::\s*|expect\s+|type\s+\w+\s*=\s*|\[|\|\s*)\w*$", before) and \
            (doc.node_at(point) is None or "expect" in before):
        return _types(doc)
    if doc.node_at(point) is not None and re.search(r"(?:^|[;{]|=)\s*run\s+\w*$", before):
        return [_item(s) for s in doc.flow_symbols.values()]   # the flows a `run` may name
    if doc.node_at(point) is not None:
        items = [lsp.CompletionItem(k, kind=lsp.CompletionItemKind.Keyword) for k in STEP_KEYWORDS]
        return items + _names(doc, point)
    flow = doc.flow_at(point)
    if flow is not None:
        items = [lsp.CompletionItem(k, kind=lsp.CompletionItemKind.Keyword) for k in FLOW_KEYWORDS]
        if re.search(r"(?:input|output)\s+(?:\w+\s*,\s*)*\w*$", before) or re.search(r"\bwhen\b", before):
            items = []
        return items + (_names(doc, point) if items == [] else _nodes(doc, point, with_end=False))
    return [lsp.CompletionItem(k, kind=lsp.CompletionItemKind.Keyword) for k in TOP_KEYWORDS]


def _in_string(before: str) -> bool:
    """Whether the end of ``before`` is inside a one-line string."""
    quotes = len(re.findall(r'(?<!\\)"', before.replace('\\\\', '')))
    return quotes % 2 == 1


def _item(symbol: Symbol) -> lsp.CompletionItem:
    return lsp.CompletionItem(symbol.name, kind=_KIND_OF[symbol.kind], detail=symbol.detail or symbol.kind,
                              documentation=symbol.doc)


def _names(doc: DocumentAnalysis, point: Point) -> list[lsp.CompletionItem]:
    """Fields and locals in scope at ``point``, with their types."""
    flow = doc.flow_at(point)
    items = [_item(s) for s in flow.fields.values()] if flow else []
    return items + [_item(s) for s in doc.locals_at(point)]


def _nodes(doc: DocumentAnalysis, point: Point, with_end: bool) -> list[lsp.CompletionItem]:
    flow = doc.flow_at(point)
    items = [_item(s) for s in flow.nodes.values()] if flow else []
    if with_end:
        items.append(lsp.CompletionItem("end", kind=lsp.CompletionItemKind.Keyword, detail="the flow's exit"))
    return items


def _types(doc: DocumentAnalysis) -> list[lsp.CompletionItem]:
    items = [lsp.CompletionItem(name, kind=lsp.CompletionItemKind.TypeParameter, detail="built-in type")
             for name in T.PRIMITIVES]
    items += [lsp.CompletionItem(name, kind=lsp.CompletionItemKind.TypeParameter, detail="list[T]",
                                 insert_text=f"{name}[", ) for name in ("list", "map")]
    return items + [_item(s) for s in doc.types.values()]


def _members(doc: DocumentAnalysis, point: Point, chain: Sequence[str]) -> list[lsp.CompletionItem]:
    """The fields of the record that ``a.b.`` names, by the types in scope."""
    env = doc.env_at(point)
    t = env.lookup(chain[0])
    for name in chain[1:]:
        if t is None:
            break
        t = T.strip_optional(t)
        t = t.field_types.get(name) if isinstance(t, T.RecordT) else None
    if t is None:
        return []
    t = T.strip_optional(t)
    if not isinstance(t, T.RecordT):
        return []
    return [lsp.CompletionItem(name, kind=lsp.CompletionItemKind.Field, detail=str(ft))
            for name, ft in t.fields]


# --------------------------------------------------------------------------
# Symbols and semantic tokens
# --------------------------------------------------------------------------


def document_symbols(doc: DocumentAnalysis) -> list[lsp.DocumentSymbol]:
    found: list[lsp.DocumentSymbol] = []
    module = doc.module
    if module is None:
        return found
    by_decl = {id(s.decl): s for s in doc.symbols}
    for item in module.items:
        if isinstance(item, ast.TypeDecl):
            found.append(lsp.DocumentSymbol(item.name, lsp.SymbolKind.Class, lsp_range(doc, item.span),
                                            lsp_range(doc, _sel(item.name_span, item.span)),
                                            detail=by_decl[id(item)].detail if id(item) in by_decl else None))
        elif isinstance(item, ast.Flow):
            children = [lsp.DocumentSymbol(f.name, lsp.SymbolKind.Field, lsp_range(doc, f.span),
                                           lsp_range(doc, _sel(f.name_span, f.span)),
                                           detail=by_decl[id(f)].detail if id(f) in by_decl else None)
                        for f in item.state_fields]
            children += [lsp.DocumentSymbol(n.name, lsp.SymbolKind.Function, lsp_range(doc, n.span),
                                            lsp_range(doc, _sel(n.name_span, n.span)), detail=n.doc)
                         for n in item.nodes]
            found.append(lsp.DocumentSymbol(item.name, lsp.SymbolKind.Module, lsp_range(doc, item.span),
                                            lsp_range(doc, _sel(item.name_span, item.span)),
                                            detail=item.doc, children=children))
    return found


def _sel(name_span: ast.Span, span: ast.Span) -> ast.Span:
    return name_span if name_span.line else span


TOKEN_TYPES = ["namespace", "function", "type", "property", "variable", "event"]
TOKEN_MODIFIERS = ["declaration"]
_TOKEN_OF = {FLOW: 0, NODE: 1, TYPE: 2, FIELD: 3, LOCAL: 4, INTERRUPT: 5}


def semantic_tokens(doc: DocumentAnalysis) -> list[int]:
    """Every name the index knows, as LSP's relative integer encoding."""
    data: list[int] = []
    previous_line, previous_start = 0, 0
    for line in sorted(doc.occurrences):
        last_end = -1
        for occ in doc.occurrences[line]:
            span = occ.span
            if span.end_line != span.line:
                continue
            start, end = doc.lines.range(span)
            if start.character < last_end:
                continue  # overlapping tokens are not allowed
            last_end = end.character
            delta_line = start.line - previous_line
            delta_start = start.character - previous_start if delta_line == 0 else start.character
            data += [delta_line, delta_start, end.character - start.character,
                     _TOKEN_OF[occ.symbol.kind], 1 if occ.is_definition else 0]
            previous_line, previous_start = start.line, start.character
    return data


# --------------------------------------------------------------------------
# Formatting and code actions
# --------------------------------------------------------------------------


def formatting(doc: DocumentAnalysis) -> list[lsp.TextEdit]:
    """The `fmt` engine's result as one edit; none when the text does not
    parse (or formatting would change it: ``FormatterBug``)."""
    from ..syntax.fmt import FormatterBug, format_source

    try:
        formatted = format_source(doc.text)
    except FormatterBug:
        return []
    if formatted.text is None or not formatted.changed:
        return []
    end = doc.lines.position(len(doc.lines.lines), len(doc.lines.lines[-1]) + 1)
    return [lsp.TextEdit(lsp.Range(lsp.Position(0, 0), lsp.Position(*end)), formatted.text)]


_DID_YOU_MEAN = re.compile(r"^did you mean `([^`]+)`\?$")
_WRITE = re.compile(r"^write `([^`.]+)`$")
_EDGE = re.compile(r"`([A-Za-z_]\w*(?:\s*,\s*\w+)*\s*->\s*[\w, ]+?(?:\s+otherwise)?)`")


def code_actions(doc: DocumentAnalysis, diagnostics: Sequence[lsp.Diagnostic]) -> list[lsp.CodeAction]:
    """Quick fixes for diagnostics whose help names the fix: "did you mean
    `x`?" and "write `x`" replace the span; a help naming a missing edge
    ("add `review -> end`", "e.g. `a -> end otherwise`") inserts it; a
    record key that is not a name is quoted (``fixes.py``)."""
    actions: list[lsp.CodeAction] = []
    for diagnostic in diagnostics:
        quoted = quoted_key_edit(doc.lines, diagnostic)
        if quoted is not None:
            actions.append(_action(f'Quote the key: `"{quoted[0]}"`', doc, diagnostic, [quoted[1]]))
            continue
        data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
        help_text = data.get("help")
        if not isinstance(help_text, str):
            continue
        match = _DID_YOU_MEAN.match(help_text) or _WRITE.match(help_text)
        if match is not None:
            actions.append(_action(f"Replace with `{match.group(1)}`", doc, diagnostic,
                                   [lsp.TextEdit(diagnostic.range, match.group(1))]))
            continue
        edge = _EDGE.search(help_text)
        if edge is not None and ("add" in help_text or "e.g." in help_text):
            edit = _insert_in_flow(doc, diagnostic.range.start, edge.group(1))
            if edit is not None:
                actions.append(_action(f"Add `{edge.group(1)}`", doc, diagnostic, [edit]))
    return actions


def _action(title: str, doc: DocumentAnalysis, diagnostic: lsp.Diagnostic,
            edits: list[lsp.TextEdit]) -> lsp.CodeAction:
    return lsp.CodeAction(title, kind=lsp.CodeActionKind.QuickFix, diagnostics=[diagnostic],
                          edit=lsp.WorkspaceEdit(changes={doc.uri: edits}), is_preferred=True)


def _insert_in_flow(doc: DocumentAnalysis, at: lsp.Position, line_text: str) -> lsp.TextEdit | None:
    """An edit adding ``line_text`` as the last member of the flow at ``at``."""
    point = doc.lines.column(Position(at.line, at.character))
    flow = doc.flow_at(point)
    if flow is None or not flow.flow.span.line:
        return None
    end_line, end_column = flow.end
    closing = lsp.Position(*doc.lines.position(end_line, end_column - 1))
    indent = "    "
    if doc.lines.line_text(end_line)[: end_column - 2].strip():
        return lsp.TextEdit(lsp.Range(closing, closing), f"\n{indent}{line_text}\n")
    start_of_line = lsp.Position(end_line - 1, 0)
    return lsp.TextEdit(lsp.Range(start_of_line, start_of_line), f"{indent}{line_text}\n")
