"""Random edits of the examples: the server answers every request, without
an error response and without an internal error in its log.

Hypothesis drives a real `fermata lsp` over stdio through pytest-lsp's
client, which runs on an event loop of its own in a background thread (a
Hypothesis test is synchronous, and one server serves every example: one
start-up, not one per example).
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted(p.read_text(encoding="utf-8") for p in (REPO / "examples").glob("*.flow"))
PIECES = ["}", "{", "->", '"', "{{", "}}", ".", "let x = ", "set ", "\n", "\U0001F600", "node", ":", "?",
          "(", ")", "[", "#", '"""', "interrupt", "when", ",", "é"]

T = TypeVar("T")


class Driver:
    """A pytest-lsp client on its own event loop, called synchronously."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client: LanguageClient = self.run(self._start())
        self.version = 0

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    async def _start(self) -> LanguageClient:
        config = ClientServerConfig(server_command=[sys.executable, "-m", "fermata.compiler.cli.main", "lsp"],
                                    server_env={"FERMATA_LSP_DEBOUNCE_MS": "0"})
        client: LanguageClient = await config.start()  # type: ignore[assignment]
        await client.initialize_session(lsp.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"), root_uri=REPO.as_uri()))
        return client

    def close(self) -> None:
        async def stop() -> None:
            await self.client.shutdown_session()
            await self.client.stop()

        self.run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def driver():
    driver = Driver()
    yield driver
    driver.close()


edit = st.one_of(
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 40)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.sampled_from(PIECES) | st.text(max_size=4)),
    st.tuples(st.just("duplicate"), st.floats(0, 1), st.integers(1, 80)),
)


def apply(text: str, change: tuple[str, float, Any]) -> str:
    kind, where, what = change
    at = int(where * len(text))
    if kind == "delete":
        return text[:at] + text[at + what:]
    if kind == "insert":
        return text[:at] + what + text[at:]
    return text[:at] + text[at:at + what] + text[at:]


@pytest.mark.slow
@given(example=st.sampled_from(EXAMPLES), edits=st.lists(edit, min_size=1, max_size=4),
       positions=st.lists(st.tuples(st.integers(0, 80), st.integers(0, 120)), min_size=1, max_size=3))
def test_every_request_is_answered_after_random_edits(driver: Driver, example: str,
                                                      edits: list[tuple[str, float, Any]],
                                                      positions: list[tuple[int, int]]) -> None:
    client = driver.client
    logged_before = len(client.log_messages)
    driver.version += 1
    uri = (REPO / "tests" / f"random_{driver.version}.flow").as_uri()
    doc = lsp.TextDocumentIdentifier(uri=uri)
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="fermata", version=0, text=example)))
    text = example
    for version, change in enumerate(edits, 1):
        text = apply(text, change)
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))

    async def ask_everything() -> None:
        for line, character in positions:
            at = lsp.Position(line=line, character=character)
            await client.text_document_hover_async(lsp.HoverParams(text_document=doc, position=at))
            await client.text_document_completion_async(lsp.CompletionParams(text_document=doc, position=at))
            await client.text_document_definition_async(lsp.DefinitionParams(text_document=doc, position=at))
            await client.text_document_references_async(lsp.ReferenceParams(
                text_document=doc, position=at, context=lsp.ReferenceContext(include_declaration=True)))
            await client.text_document_prepare_rename_async(
                lsp.PrepareRenameParams(text_document=doc, position=at))
        await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=doc))
        await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=doc))
        await client.text_document_formatting_async(lsp.DocumentFormattingParams(
            text_document=doc, options=lsp.FormattingOptions(tab_size=4, insert_spaces=True)))
        await client.text_document_code_action_async(lsp.CodeActionParams(
            text_document=doc, range=lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)),
            context=lsp.CodeActionContext(diagnostics=list(client.diagnostics.get(uri, ())))))

    driver.run(ask_everything())
    client.text_document_did_close(lsp.DidCloseTextDocumentParams(text_document=doc))
    errors = [m.message for m in client.log_messages[logged_before:] if m.type == lsp.MessageType.Error]
    assert errors == [], errors[0]
    assert client.error is None
