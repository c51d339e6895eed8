"""The language server: pygls wiring from LSP requests to ``features.py``.

One :class:`DocumentAnalysis` is kept per open document and version. An
edit schedules a new analysis after a short pause (``DEBOUNCE``: a burst of
keystrokes is analysed once) and publishes its diagnostics; the index that
requests read is brought up to date after them, in the next edit's pause
or once idle (edits back to back then wait for one of the two); a request that
needs positions of the current version (definition, rename, formatting...)
analyses at once if the pause is still running. Completion and hover use
the newest analysis of a text that parsed, or was repaired, when the
current one has neither: half-typed text still completes.

Every handler is guarded: a bug in a feature answers "nothing here" and is
logged, never a crash or an error response to the editor (the brief's
property, tested by feeding random edits in ``tests/compiler/lsp``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from . import features
from .analysis import DocumentAnalysis, analyze_document
from .config import ProjectConfig, project_config

DEBOUNCE = float(os.environ.get("FERMATA_LSP_DEBOUNCE_MS", "30")) / 1000
LOG = logging.getLogger("fermata.lsp")

R = TypeVar("R")
REQUEST_FAILED = -32803  # LSP's error code for a request that is valid but refused


class FermataServer(LanguageServer):
    def __init__(self) -> None:
        from fermata.spec.version import fermata_version as _version

        super().__init__("fermata", _version(), text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.analyses: dict[str, DocumentAnalysis] = {}
        self.last_indexed: dict[str, DocumentAnalysis] = {}   # newest with a module
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.configs: dict[str, ProjectConfig] = {}

    # ------------------------------------------------------------ analysis

    def encoding(self) -> str:
        try:
            return str(self.workspace.position_encoding or "utf-16")
        except RuntimeError:  # no workspace before `initialize`
            return "utf-16"

    def current(self, uri: str, settled: bool = True) -> DocumentAnalysis:
        """The analysis of the document's current text, made now if needed;
        ``settled``: with its index up to date (not needed for diagnostics)."""
        document = self.workspace.get_text_document(uri)
        cached = self.analyses.get(uri)
        if cached is not None and cached.version == document.version and cached.text == document.source:
            return cached.settle() if settled else cached
        config = self.configs.get(uri)
        # An incremental analysis consumes the previous one (its tree is
        # moved, not copied): if it fails half-way, neither is kept.
        self.analyses.pop(uri, None)
        try:
            doc = analyze_document(document.source, uri, _display_path(uri), document.version, self.encoding(),
                                   previous=cached, call_policy=config.call_policy if config else None,
                                   defer_index=True)
        except Exception:
            if cached is not None and self.last_indexed.get(uri) is cached:
                del self.last_indexed[uri]
            raise
        self.analyses[uri] = doc
        if doc.module is not None:
            self.last_indexed[uri] = doc
        return doc.settle() if settled else doc

    def indexed(self, uri: str) -> DocumentAnalysis:
        """The current analysis if it has an index, else the newest one that has."""
        doc = self.current(uri)
        if doc.module is None and uri in self.last_indexed:
            return self.last_indexed[uri].settle()
        return doc

    def publish(self, uri: str) -> None:
        from ..diagnostics.render import render_lsp

        doc = self.current(uri, settled=False)
        rendered = render_lsp(doc.diagnostics, doc.text, uri, encoding=self.encoding())
        diagnostics = [self.protocol._converter.structure(d, lsp.Diagnostic) for d in rendered]
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, version=doc.version, diagnostics=diagnostics))
        if doc.pending is not None:
            # The diagnostics first, then the index (which requests read): in
            # the pause of the next edit if one comes first (``_publish_later``),
            # else once the server has been idle that long. A request makes it
            # at once (``current``).
            asyncio.get_running_loop().call_later(DEBOUNCE, _guarded(doc, doc.settle))

    def schedule(self, uri: str) -> None:
        task = self.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        self.pending[uri] = asyncio.get_event_loop().create_task(self._publish_later(uri))

    async def _publish_later(self, uri: str) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        previous = self.analyses.get(uri)
        if previous is not None:
            # The index of the analysis before, left for later by `publish`:
            # made during this pause, which waits anyway, not before it.
            _guarded(previous, previous.settle)()
        await asyncio.sleep(max(0.0, DEBOUNCE - (loop.time() - started)))
        self.pending.pop(uri, None)
        _guarded(None, lambda: self.publish(uri))()


server = FermataServer()


def _guarded(default: R, fn: Callable[[], R]) -> Callable[[], R]:
    """``fn``, answering ``default`` instead of raising (and logging why)."""

    def run() -> R:
        try:
            return fn()
        except features.RenameRefused:
            raise
        except Exception:  # noqa: BLE001 - the editor gets "nothing", the log the bug
            report = f"fermata lsp: internal error (a bug: please report it)\n{traceback.format_exc()}"
            LOG.error("%s", report)
            try:
                server.window_log_message(lsp.LogMessageParams(type=lsp.MessageType.Error, message=report))
            except Exception:  # noqa: BLE001, S110 - no connection to tell: stderr has it already
                pass
            return default

    return run


def _display_path(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
        try:
            return path.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return path.as_posix()
    return uri


def _fs_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


# --------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: FermataServer, params: lsp.DidOpenTextDocumentParams) -> None:
    uri = params.text_document.uri
    _guarded(None, lambda: _load_config(ls, uri))()
    _guarded(None, lambda: ls.publish(uri))()


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: FermataServer, params: lsp.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: FermataServer, params: lsp.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    task = ls.pending.pop(uri, None)
    if task is not None:
        task.cancel()
    ls.analyses.pop(uri, None)
    ls.last_indexed.pop(uri, None)
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


def _load_config(ls: FermataServer, uri: str) -> None:
    path = _fs_path(uri)
    if path is None:
        return
    roots = [p for p in (_fs_path(f.uri) for f in ls.workspace.folders.values()) if p is not None]
    ls.configs[uri] = project_config(path, roots)


# --------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------


def _at(ls: FermataServer, uri: str, position: lsp.Position, *, indexed: bool = False) -> tuple[DocumentAnalysis, Any]:
    doc = ls.indexed(uri) if indexed else ls.current(uri)
    current = ls.current(uri)
    return doc, features.point_of(current, position)


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def hover(ls: FermataServer, params: lsp.HoverParams) -> lsp.Hover | None:
    def answer() -> lsp.Hover | None:
        doc, point = _at(ls, params.text_document.uri, params.position, indexed=True)
        return features.hover(doc, point)

    return _guarded(None, answer)()


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
def definition(ls: FermataServer, params: lsp.DefinitionParams) -> lsp.Location | None:
    def answer() -> lsp.Location | None:
        doc, point = _at(ls, params.text_document.uri, params.position)
        return features.definition(doc, point)

    return _guarded(None, answer)()


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
def references(ls: FermataServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
    def answer() -> list[lsp.Location]:
        doc, point = _at(ls, params.text_document.uri, params.position)
        return features.references(doc, point, params.context.include_declaration)

    return _guarded(list[lsp.Location](), answer)()


@server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
def prepare_rename(ls: FermataServer, params: lsp.PrepareRenameParams) -> lsp.PrepareRenamePlaceholder | None:
    def answer() -> lsp.PrepareRenamePlaceholder | None:
        doc, point = _at(ls, params.text_document.uri, params.position)
        return features.prepare_rename(doc, point)

    return _guarded(None, answer)()


@server.feature(lsp.TEXT_DOCUMENT_RENAME)
def rename(ls: FermataServer, params: lsp.RenameParams) -> lsp.WorkspaceEdit | None:
    def answer() -> lsp.WorkspaceEdit | None:
        doc, point = _at(ls, params.text_document.uri, params.position)
        if not doc.parsed:
            raise features.RenameRefused("the file has a syntax error: fix it before renaming")
        return features.rename(doc, point, params.new_name)

    try:
        return _guarded(None, answer)()
    except features.RenameRefused as refused:
        # An error response (LSP's RequestFailed) is the protocol's way to
        # refuse a rename: the editor shows the message and changes nothing.
        from pygls.exceptions import JsonRpcException

        raise JsonRpcException(str(refused), code=REQUEST_FAILED) from None


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                lsp.CompletionOptions(trigger_characters=[".", ">", ":", " ", "{"]))
def completion(ls: FermataServer, params: lsp.CompletionParams) -> lsp.CompletionList:
    def answer() -> lsp.CompletionList:
        uri = params.text_document.uri
        text = ls.workspace.get_text_document(uri).source
        doc, point = _at(ls, uri, params.position, indexed=True)
        return lsp.CompletionList(is_incomplete=False, items=features.completion(doc, text, point))

    return _guarded(lsp.CompletionList(is_incomplete=False, items=[]), answer)()


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
def formatting(ls: FermataServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit]:
    return _guarded(list[lsp.TextEdit](), lambda: features.formatting(ls.current(params.text_document.uri)))()


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbol(ls: FermataServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
    return _guarded(list[lsp.DocumentSymbol](),
                    lambda: features.document_symbols(ls.indexed(params.text_document.uri)))()


@server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
                lsp.SemanticTokensLegend(token_types=features.TOKEN_TYPES,
                                         token_modifiers=features.TOKEN_MODIFIERS))
def semantic_tokens(ls: FermataServer, params: lsp.SemanticTokensParams) -> lsp.SemanticTokens:
    return lsp.SemanticTokens(data=_guarded(list[int](), lambda: features.semantic_tokens(
        ls.current(params.text_document.uri)))())


@server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
def code_action(ls: FermataServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    return _guarded(list[lsp.CodeAction](), lambda: features.code_actions(ls.current(params.text_document.uri),
                                                       params.context.diagnostics))()


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def main() -> int:
    """``fermata lsp``: serve over stdin/stdout until the editor exits."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(message)s")
    server.start_io()
    return 0
