"""Re-analysis after an edit inside one flow: re-parse the members it touches.

Parsing is much of an analysis (a 1,000-node spec: ~150 ms of ~350 ms), and
most edits are keystrokes inside one node, a new line, a new node or edge.
When an edit changes text strictly inside the braces of one flow (found by
comparing the old and new texts from both ends), only the *stretch* of that
flow's members the edit touches is re-parsed (``stretch.py``):

- the members whose text the edit overlaps or touches (a node whose body
  changes, an edge extended by `-> c`...), from the end of the member before
  them to the start of the member after them; an edit between two members
  (a new node, a new edge, a blank line) re-parses just the gap;
- the stretch is parsed in place, at its real lines and columns; a stretch
  that does not parse (a half-typed node) is repaired on its own when the
  whole file would fail, and be repaired, the same way;
- what follows the stretch is unchanged text, only moved when the edit adds
  or removes lines: its spans, and the index's positions, are moved in place
  (``shift.py``), not re-parsed;
- the checks then run on the edited flow alone when that is exact
  (``checking.py``), else on the whole module; every diagnostic stays exact
  (the property tested in ``tests/compiler/lsp/test_incremental.py``: after
  any edits, incremental == full analysis);
- the index is updated for the stretch: its members' entries are made
  anew; if its node names change, the edges naming them are re-indexed; if
  a `state` block is in it, the whole flow is. With ``defer_index`` (the
  server) that work, and moving the later flows' trees, waits for
  ``DocumentAnalysis.settle()``: the diagnostics are published first.

The previous analysis is *consumed*: its tree is moved, not copied. Any
other edit (outside a flow, in a flow's header, a stretch the parser fails
past) takes the full path (``analysis.analyze_document``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from fermata.spec.call_policy import CallPolicy

from ..pipeline import Analysis, _finish, _without_cycle_collection, analyze_parsed
from ..syntax import ast
from .analysis import (
    FLOW,
    NODE,
    DocumentAnalysis,
    FlowScope,
    Occurrence,
    Symbol,
    _Indexer,
    _NodeIndexer,
    with_repair,
)
from .checking import check_parts, recheck_flow
from .positions import LineIndex
from .shift import Shift
from .stretch import SYNTAX_ERRORS, Parsed, Stretch, find_stretch, parse_stretch, repair_stretch

Point = tuple[int, int]
_LONG_QUOTES = '"' * 3


def common_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix (comparing halves in C)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def common_suffix(a: str, b: str, limit: int) -> int:
    """The length of the longest common suffix, at most ``limit``."""
    low, high = 0, min(len(a), len(b), limit)
    while low < high:
        middle = (low + high + 1) // 2
        if a[len(a) - middle:len(a) - low] == b[len(b) - middle:len(b) - low]:
            low = middle
        else:
            high = middle - 1
    return low


def reanalyze(previous: DocumentAnalysis, text: str, version: int | None,
              call_policy: CallPolicy | None = None, defer_index: bool = False) -> DocumentAnalysis | None:
    """The analysis of ``text`` from ``previous`` by re-parsing the stretch
    of one flow an edit touched, or None when the edit is not of that kind.
    ``previous`` is consumed when an analysis is returned. With
    ``defer_index``, the index is brought up to date by the analysis'
    ``settle()`` (which any reader of it calls first), not now."""
    previous.settle()
    module = previous.module
    if module is None or any(d.code.startswith("F0") and d.code not in SYNTAX_ERRORS for d in previous.diagnostics):
        return None  # the parser's own warnings would have to be re-made too
    if previous.recovered:
        # The tree is the repaired text's (same layout): compare with that
        # text, so that the stretch holds the repair too.
        if previous.fixed_text is None or len(previous.fixed_text) != len(previous.text):
            return None
        old, old_lines = previous.fixed_text, LineIndex(previous.fixed_text, previous.lines.encoding)
    elif module is previous.analysis.module:
        old, old_lines = previous.text, previous.lines
    else:
        return None
    prefix = common_prefix(old, text)
    if prefix == len(old) == len(text):
        return None
    suffix = common_suffix(old, text, min(len(old), len(text)) - prefix)
    if _touches_a_long_string(old, prefix, len(old) - suffix) or \
            _touches_a_long_string(text, prefix, len(text) - suffix):
        return None
    stretch = find_stretch(module, old_lines, prefix, len(old) - suffix)
    if stretch is None:
        return None
    delta = len(text) - len(old)
    lines = LineIndex(text, old_lines.encoding)
    path = previous.analysis.path
    parsed = parse_stretch(text, lines, stretch, stretch.start, stretch.end + delta, path)
    if parsed is None:
        stretch = stretch.widened()
        parsed = repair_stretch(text, lines, stretch, stretch.start, stretch.end + delta, path)
        if parsed is None:
            return None
    old_end = (*old_lines.line_column(stretch.end), stretch.end)
    new_end = (*lines.line_column(stretch.end + delta), stretch.end + delta)
    shift = Shift(old_end, new_end)
    if any(use.span.line and shift.moves((use.span.line, use.span.column)) for use in module.uses):
        return None  # imported declarations carry the `use` line's span
    with _without_cycle_collection():
        return _Update(previous, old_lines, text, version, lines, stretch, parsed, shift, call_policy,
                       defer_index).run()


def _touches_a_long_string(text: str, start: int, end: int) -> bool:
    """Whether the lines of ``text[start:end]`` hold a long string's quotes,
    the one token that spans lines: an edit there may open or close a string
    that runs past the stretch, which alone would then lex otherwise."""
    first = text.rfind("\n", 0, start) + 1
    last = text.find("\n", end)
    return _LONG_QUOTES in text[first:len(text) if last < 0 else last]


def _inside(span: ast.Span, start: Point, end: Point) -> bool:
    return bool(span.line) and start <= (span.line, span.column) and (span.end_line, span.end_column) <= end


class _Update:
    """The new analysis: the previous one's, with the stretch made anew."""

    def __init__(self, previous: DocumentAnalysis, old_lines: LineIndex, text: str, version: int | None,
                 lines: LineIndex, stretch: Stretch, parsed: Parsed, shift: Shift,
                 call_policy: CallPolicy | None, defer_index: bool):
        self.previous, self.old_lines, self.text, self.lines = previous, old_lines, text, lines
        self.stretch, self.shift, self.parsed = stretch, shift, parsed
        self.members, self.comments = parsed.members, parsed.comments
        self.defer_index = defer_index
        self.call_policy = call_policy
        self.doc = DocumentAnalysis(previous.uri, version, text, lines, previous.analysis, None, False)

    def run(self) -> DocumentAnalysis:
        previous, stretch, shift = self.previous, self.stretch, self.shift
        old_module = previous.module
        assert old_module is not None
        flow = stretch.flow
        new_names = [m.name for m in self.members if isinstance(m, ast.NodeDecl)]
        old_names = [m.name for m in stretch.old_members if isinstance(m, ast.NodeDecl)]
        names = [n.name for n in flow.nodes]
        later_members = flow.members[stretch.last + 1:]
        new_members = (*flow.members[:stretch.first], *self.members, *later_members)
        names_after = [m.name for m in new_members if isinstance(m, ast.NodeDecl)]
        whole_flow = (any(isinstance(m, ast.StateBlock) for m in (*self.members, *stretch.old_members))
                      or len(set(names)) != len(names) or len(set(names_after)) != len(names_after))
        old_start = self.old_lines.line_column(stretch.start)
        old_end = (shift.line, shift.column)
        keep: tuple[str, ...]
        if whole_flow:
            removed, keep = (_point(flow.span), _end_point(flow.span)), ()
        else:
            removed, keep = (old_start, old_end), (FLOW, NODE)
        # 1. What follows the stretch, moved.
        items = old_module.items
        at = items.index(flow)
        comments = [c for c in old_module.comments if _point(c.span) < old_start]
        comments += self.comments
        after = [c for c in old_module.comments if shift.moves(_point(c.span))]
        # The flow's later members and the later types now (the checks see
        # them); the later flows and comments when the index is made (only
        # the edited flow is checked, when the checks go flow by flow).
        later = items[at + 1:]
        shift.tree(later_members)
        shift.tree(i for i in later if not isinstance(i, ast.Flow))
        unmoved: list[list[ast.Node]] = [[i for i in later if isinstance(i, ast.Flow)], list(after)]

        def move_the_rest() -> None:
            while unmoved:
                shift.tree(unmoved.pop())

        if shift.is_identity:
            unmoved.clear()
        new_flow = replace(flow, members=new_members, span=shift.span(flow.span))
        module = replace(old_module, items=(*items[:at], new_flow, *items[at + 1:]),
                         comments=(*comments, *after), span=shift.span(old_module.span))
        # 2. The checks.
        self.doc.analysis = self._check(module, move_the_rest)
        self.doc.module = module

        # 3. The index: the previous one without the stretch (old positions),
        # moved, and the stretch's (or the whole flow's) made anew. Only
        # requests read it: the server publishes the diagnostics first.
        def index() -> None:
            move_the_rest()
            self._copy_index(*removed, keep=keep)
            if not shift.is_identity:
                self._move_index()
            if whole_flow:
                self._index_flow(flow, new_flow)
            else:
                self._index_stretch(flow, new_flow, old_names != new_names)

        if self.defer_index:
            self.doc.pending = index
        else:
            index()
        return self.doc

    # ------------------------------------------------------------- checks

    def _check(self, module: ast.Module, move_the_rest: Callable[[], None]) -> Analysis:
        """The diagnostics: the edited flow's alone when the checks go flow by
        flow, else the whole module's (``move_the_rest`` first, then)."""
        path = self.previous.analysis.path
        parts = self.previous.parts
        again = None
        if parts is not None:
            again = recheck_flow(parts.shifted(self.shift), module, self.stretch.index, path, self.call_policy)
        if again is None:
            move_the_rest()
            again = check_parts(module, path, self.call_policy) if parts is None else None
        self.doc.parts = again
        parsed = self.parsed
        checked = self.text
        if parsed.error is not None:
            assert parsed.repaired is not None
            start, delta = self.stretch.start, len(self.text) - len(self.old_lines.text)
            checked = self.text[:start] + parsed.repaired + self.text[self.stretch.end + delta:]
        if again is None:
            analysis = analyze_parsed(checked, path, module, self.call_policy)
        else:
            analysis = _finish(checked, path, module, again.all, None, self.call_policy)
        if parsed.error is None:
            return analysis
        # As `analysis.analyze_document` shows a repaired text: the syntax
        # error, and the repair's diagnostics but on the lines it blanked.
        self.doc.recovered, self.doc.fixed_text = True, checked
        return with_repair(_finish(self.text, path, None, [parsed.error], None, self.call_policy),
                           analysis, parsed.blanked_lines)

    # -------------------------------------------------------------- index

    def _copy_index(self, start: Point, end: Point, keep: tuple[str, ...]) -> None:
        """The previous index without the entries inside ``start..end``
        (but the symbols of the kinds ``keep``)."""
        previous, doc = self.previous, self.doc
        first, last = start[0], end[0]
        doc.named, doc.types, doc.flow_symbols = previous.named, previous.types, previous.flow_symbols
        doc.symbols = [s for s in previous.symbols if s.kind in keep or s.span.end_line < first
                       or s.span.line > last or not _inside(s.span, start, end)]
        doc.occurrences = dict(previous.occurrences)
        for line in range(first, last + 1):
            kept = [o for o in doc.occurrences.get(line, ()) if not _inside(o.span, start, end)]
            if kept:
                doc.occurrences[line] = kept
            else:
                doc.occurrences.pop(line, None)
        # (By the index's own positions: the tree after the stretch is moved already.)
        doc.exprs = [e for e in previous.exprs if not (start <= e.start and e.end <= end)]
        doc.node_scopes = [n for n in previous.node_scopes if not (start <= n.start and n.end <= end)]
        doc.flows = list(previous.flows)

    def _move_index(self) -> None:
        """The index's positions at or after the shift's point, moved (in place:
        the previous analysis is consumed)."""
        doc, shift = self.doc, self.shift
        span_of = shift.span
        here = shift.point
        moved: dict[int, list[Occurrence]] = {}
        line_at, lines, chars = shift.line, shift.lines, shift.chars
        make, span_type = tuple.__new__, ast.Span
        for line, occurrences in doc.occurrences.items():
            if line < line_at:
                moved[line] = occurrences
                continue
            if line > line_at:
                # The common case, inlined (most of an edit's index work): a
                # later line moves whole, its columns unchanged.
                for o in occurrences:
                    start_line, column, end_line, end_column, start, end = o.span
                    o.__dict__["span"] = make(span_type, (start_line + lines, column, end_line + lines, end_column,
                                                          start + chars, end + chars))
                into = moved.get(line + lines)
                if into is None:
                    moved[line + lines] = occurrences
                else:
                    into.extend(occurrences)
                continue
            for o in occurrences:
                span = o.span
                if (span.line, span.column) >= here:
                    o.__dict__["span"] = span_of(span)   # a frozen dataclass: see shift.py
                moved.setdefault(o.span.line, []).append(o)
        doc.occurrences = moved
        for symbol in doc.symbols:
            span = symbol.span
            if span.line >= shift.line and (span.line, span.column) >= here:
                symbol.span = span_of(span)
        map_point = shift.map_point
        for entry in doc.exprs:
            if entry.start[0] > line_at:   # (inlined: most of them)
                entry.start, entry.end = (entry.start[0] + lines, entry.start[1]), (entry.end[0] + lines, entry.end[1])
            elif entry.end >= here:
                entry.start, entry.end = map_point(entry.start), map_point(entry.end)
        for scope in doc.node_scopes:
            if scope.end >= here:
                scope.start, scope.end = map_point(scope.start), map_point(scope.end)
                for local in scope.locals:
                    local.visible_from = map_point(local.visible_from)
                    local.visible_to = map_point(local.visible_to)
        for flow_scope in doc.flows:
            if flow_scope.end >= here:
                flow_scope.start, flow_scope.end = map_point(flow_scope.start), map_point(flow_scope.end)

    def _flow_scope(self, flow: ast.Flow) -> tuple[int, FlowScope]:
        return next((i, f) for i, f in enumerate(self.doc.flows) if f.flow is flow)

    def _index_stretch(self, flow: ast.Flow, new_flow: ast.Flow, renamed: bool) -> None:
        doc = self.doc
        position, old_scope = self._flow_scope(flow)
        scope = replace(old_scope, flow=new_flow, nodes=dict(old_scope.nodes))
        doc.flows[position] = scope
        flow_symbol = next((s for s in doc.symbols if s.kind == FLOW and s.decl is flow), None)
        if flow_symbol is not None:
            flow_symbol.decl = new_flow
        indexer = _Indexer(doc)
        touched: set[int] = set()
        if renamed:
            self._rename_nodes(indexer, scope, old_scope.nodes, new_flow)
        for member in self.members:
            if isinstance(member, ast.NodeDecl):
                symbol = scope.nodes[member.name]
                if not renamed:
                    symbol.span = member.name_span if member.name_span.line else member.span
                    symbol.decl, symbol.doc = member, member.doc
                indexer.add(symbol.span, symbol, definition=True)
                _NodeIndexer(indexer, scope, member).run()
            else:
                indexer.member(scope, member)
            touched.update(range(member.span.line, member.span.end_line + 1))
        self._sort(touched)

    def _rename_nodes(self, indexer: _Indexer, scope: FlowScope, old_nodes: dict[str, Symbol],
                      new_flow: ast.Flow) -> None:
        """The node names changed: new node symbols for the stretch's nodes,
        and the edges elsewhere that name a node added or gone indexed anew."""
        doc, stretch = self.doc, self.stretch
        gone = {id(m) for m in stretch.old_members}
        by_decl = {id(s.decl): s for s in old_nodes.values()}
        removed = [s for s in old_nodes.values() if id(s.decl) in gone]
        doc.symbols = [s for s in doc.symbols if not (s.kind == NODE and id(s.decl) in gone)]
        scope.nodes = {}
        for node in new_flow.nodes:
            existing = by_decl.get(id(node))
            if existing is None:
                existing = Symbol(NODE, node.name, node.name_span if node.name_span.line else node.span,
                                  flow=new_flow.name, doc=node.doc, decl=node)
                doc.symbols.append(existing)
            scope.nodes.setdefault(node.name, existing)
        # The stretch's nodes all have new symbols: edges naming any of them change.
        changed = {s.name for s in removed} | {m.name for m in self.members if isinstance(m, ast.NodeDecl)}
        in_stretch = {id(m) for m in self.members}
        touched: set[int] = set()
        for member in new_flow.members:
            if not isinstance(member, (ast.Edge, ast.StaticInterrupt)) or id(member) in in_stretch:
                continue
            refs = member.nodes if isinstance(member, ast.StaticInterrupt) else (*member.sources, *member.targets)
            if not any(ref.name in changed for ref in refs):
                continue
            for ref in refs:
                at = (ref.span.line, ref.span.column)
                occurrences = doc.occurrences.get(ref.span.line, [])
                occurrences[:] = [o for o in occurrences
                                  if o.symbol.kind != NODE or o.is_definition or (o.span.line, o.span.column) != at]
            indexer.node_refs(scope, member)
            touched.update(range(member.span.line, member.span.end_line + 1))
        self._sort(touched)

    def _index_flow(self, flow: ast.Flow, new_flow: ast.Flow) -> None:
        """Index the whole flow anew (its state changed, or its node names clash)."""
        doc = self.doc
        position, _scope = self._flow_scope(flow)
        del doc.flows[position]
        indexer = _Indexer(doc)
        indexer.flow(new_flow)
        doc.flows.insert(position, doc.flows.pop())
        self._sort(range(new_flow.span.line, new_flow.span.end_line + 1))

    def _sort(self, lines: object) -> None:
        assert isinstance(lines, (set, range))
        for line in lines:
            occurrences = self.doc.occurrences.get(line)
            if occurrences:
                occurrences.sort(key=lambda o: (o.span.column, o.span.end_column))


def _point(span: ast.Span) -> Point:
    return span.line, span.column


def _end_point(span: ast.Span) -> Point:
    return span.end_line, span.end_column
