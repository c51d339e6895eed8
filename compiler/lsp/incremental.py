"""Re-analysis after an edit inside one node: re-parse that node only.

Parsing is most of an analysis (a 1,000-node spec: ~130 ms of ~250 ms), and
most edits are keystrokes inside one node's body. When an edit

- changes text strictly inside the braces of one node (found by comparing
  the old and new texts from both ends), and
- leaves the number of lines as it was,

every other construct keeps its line and column, so the node alone is
re-parsed and spliced into the previous tree; the checks then run on the
whole spliced module as usual (every diagnostic stays exact: the graph
checks see the whole flow), and the index is updated for that node only.

The node is parsed in place: a text of the same layout as the document,
blank (newlines kept) except for a synthetic ``flow _ {`` at its start and
the node's own text, so the parser gives the node's constructs their real
lines and columns. Character offsets (``Span.start``/``end``) of constructs
after the edit are left as they were; nothing in the server reads them
(positions go through lines and columns), and the next full analysis
renews them. Any other edit, or a node that does not parse, takes the full
path (``analysis.analyze_document``).
"""

from __future__ import annotations

import re
from dataclasses import replace

from fermata.spec.call_policy import CallPolicy

from ..pipeline import _without_cycle_collection, analyze_parsed
from ..syntax import ast
from ..syntax.parser import parse
from .analysis import (
    INTERRUPT,
    LOCAL,
    DocumentAnalysis,
    Occurrence,
    _Indexer,
    _NodeIndexer,
)
from .positions import LineIndex

_HEADER = "flow _ {"
_NOT_NEWLINE = re.compile(r"[^\n]+")


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
              call_policy: CallPolicy | None = None) -> DocumentAnalysis | None:
    """The analysis of ``text`` from ``previous`` by re-parsing one node, or
    None when the edit is not of that kind."""
    module = previous.analysis.module
    old = previous.text
    if module is None or previous.recovered or text.count("\n") != old.count("\n"):
        return None
    if any(d.code.startswith("F0") for d in previous.diagnostics):
        return None  # the parser's own reports would have to be re-made too
    prefix = common_prefix(old, text)
    if prefix == len(old) == len(text):
        return None
    suffix = common_suffix(old, text, min(len(old), len(text)) - prefix)
    old_lines = previous.lines
    edit_start = old_lines.line_column(prefix)
    edit_end = old_lines.line_column(len(old) - suffix)
    found = _node_holding(module, old_lines, edit_start, edit_end)
    if found is None:
        return None
    flow, node = found
    start = old_lines.offset_of(node.span.line, node.span.column)
    end = old_lines.offset_of(node.span.end_line, node.span.end_column) + len(text) - len(old)
    if start < len(_HEADER) + 1:
        return None
    new_node = _parse_node(text, start, end, node.name)
    if new_node is None:
        return None
    new_flow = replace(flow, members=tuple(new_node if m is node else m for m in flow.members))
    new_module = ast.Module(tuple(new_flow if i is flow else i for i in module.items), module.comments,
                            module.span)
    analysis = analyze_parsed(text, previous.analysis.path, new_module, call_policy)
    with _without_cycle_collection():
        return _reindex(previous, text, version, analysis, flow, new_flow, node, new_node)


def _node_holding(module: ast.Module, lines: LineIndex, first: tuple[int, int],
                  last: tuple[int, int]) -> tuple[ast.Flow, ast.NodeDecl] | None:
    """The node whose body (strictly inside its braces) holds the edit."""
    for flow in module.flows:
        if not (flow.span.line, flow.span.column) <= first <= (flow.span.end_line, flow.span.end_column):
            continue
        names = [n.name for n in flow.nodes]
        for node in flow.nodes:
            span = node.span
            if not ((span.line, span.column) < first and last <= (span.end_line, span.end_column - 1)):
                continue
            if names.count(node.name) > 1:
                return None
            brace = lines.text.find("{", lines.offset_of(*_after_header(node)))
            if brace < 0 or lines.line_column(brace + 1) > first:
                return None  # the edit touches the node's name or options
            return flow, node
        return None
    return None


def _after_header(node: ast.NodeDecl) -> tuple[int, int]:
    options = [d.span for d in (node.backoff, node.timeout) if d is not None]
    last = max([node.name_span, *options], key=lambda s: (s.end_line, s.end_column))
    return last.end_line, last.end_column


def _parse_node(text: str, start: int, end: int, name: str) -> ast.NodeDecl | None:
    """The node at ``text[start:end]``, parsed with its real positions."""
    blank = _NOT_NEWLINE.sub(lambda run: " " * len(run.group()), text[len(_HEADER):start])
    module, diagnostics = parse(_HEADER + blank + text[start:end] + "}")
    if module is None or diagnostics or len(module.flows) != 1:
        return None
    members = module.flows[0].members
    if len(members) != 1 or not isinstance(members[0], ast.NodeDecl) or members[0].name != name:
        return None
    return members[0]


def _inside(span: ast.Span, outer: ast.Span) -> bool:
    return (outer.line, outer.column) <= (span.line, span.column) and \
        (span.end_line, span.end_column) <= (outer.end_line, outer.end_column)


def _reindex(previous: DocumentAnalysis, text: str, version: int | None, analysis: object,
             flow: ast.Flow, new_flow: ast.Flow, node: ast.NodeDecl,
             new_node: ast.NodeDecl) -> DocumentAnalysis:
    """``previous``'s index with the node's part made anew."""
    from ..pipeline import Analysis

    assert isinstance(analysis, Analysis)
    old_span = node.span
    doc = DocumentAnalysis(previous.uri, version, text, LineIndex(text, previous.lines.encoding), analysis,
                           analysis.module, False)
    doc.named, doc.types, doc.flow_symbols = previous.named, previous.types, previous.flow_symbols
    doc.symbols = [s for s in previous.symbols
                   if not (s.kind in (LOCAL, INTERRUPT) and s.flow == flow.name and s.node == node.name)]
    doc.occurrences = dict(previous.occurrences)
    for line in range(old_span.line, old_span.end_line + 1):
        kept = [o for o in doc.occurrences.get(line, ()) if not _inside(o.span, old_span)]
        if kept:
            doc.occurrences[line] = kept
        else:
            doc.occurrences.pop(line, None)
    doc.exprs = [e for e in previous.exprs if not _inside(e.expr.span, old_span)]
    doc.node_scopes = [n for n in previous.node_scopes if n.node is not node]
    # The previous analysis is left as it was (it may still serve as the
    # last good one): the flow's scope is copied, not changed. The node's
    # symbol is kept (edges elsewhere refer to it); hover reads the node's
    # current declaration through the flow (``features.describe``).
    doc.flows = [replace(f, flow=new_flow) if f.flow is flow else f for f in previous.flows]
    scope = next(f for f in doc.flows if f.flow is new_flow)
    symbol = scope.nodes.get(node.name)
    indexer = _Indexer(doc)
    if symbol is not None:
        indexer.add(symbol.span, symbol, definition=True)  # its name is inside the node's span too
    _NodeIndexer(indexer, scope, new_node).run()
    for line in range(new_node.span.line, new_node.span.end_line + 1):
        occurrences: list[Occurrence] | None = doc.occurrences.get(line)
        if occurrences:
            occurrences.sort(key=lambda o: (o.span.column, o.span.end_column))
    return doc
