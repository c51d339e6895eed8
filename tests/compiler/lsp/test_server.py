"""End to end: the real `fermata lsp` over stdio, driven by pytest-lsp."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from fermata.compiler.syntax.fmt import format_source

REPO = Path(__file__).resolve().parents[3]
REFUND = (REPO / "examples" / "refund.flow").read_text(encoding="utf-8")
EMOJI = "\U0001F600"

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(server_command=[sys.executable, "-m", "fermata.compiler.cli.main", "lsp"],
                              server_env={"FERMATA_LSP_DEBOUNCE_MS": "0"}),
)
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
        root_uri=REPO.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(REPO.as_uri(), "repo")]))
    yield
    await lsp_client.shutdown_session()


_counter = [0]


async def open_doc(client: LanguageClient, text: str) -> str:
    """Open ``text`` as a new document; returns its URI once diagnostics came."""
    _counter[0] += 1
    uri = (REPO / "tests" / f"lsp_doc_{_counter[0]}.flow").as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="fermata", version=1, text=text)))
    while uri not in client.diagnostics:
        await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return uri


async def change(client: LanguageClient, uri: str, version: int, text: str) -> list[lsp.Diagnostic]:
    """Replace the document's text; the diagnostics published for it."""
    client.diagnostics.pop(uri, None)
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))
    while uri not in client.diagnostics:
        await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return list(client.diagnostics[uri])


def at(text: str, needle: str, nth: int = 0, offset: int = 0) -> lsp.Position:
    """The LSP position of the ``nth`` occurrence of ``needle`` (ASCII lines)."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    index += offset
    line = text.count("\n", 0, index)
    return lsp.Position(line, index - (text.rfind("\n", 0, index) + 1))


def ident(uri: str) -> lsp.TextDocumentIdentifier:
    return lsp.TextDocumentIdentifier(uri=uri)


# --------------------------------------------------------------------------


async def test_open_reports_check_diagnostics_with_codes_and_help(client: LanguageClient):
    text = REFUND.replace("set risk = r", "set risk = rr")
    uri = await open_doc(client, text)
    (found,) = [d for d in client.diagnostics[uri] if d.code == "F120"]
    assert found.range.start == at(text, "rr")
    assert "did you mean `r`?" in found.message
    assert found.data == {"help": "did you mean `r`?"}


async def test_an_edit_updates_the_diagnostics(client: LanguageClient):
    uri = await open_doc(client, REFUND)
    assert list(client.diagnostics[uri]) == []
    broken = REFUND.replace("set approved = d.approved", "set approved = d.aproved")
    diagnostics = await change(client, uri, 2, broken)
    assert [d.code for d in diagnostics] == ["F129"]
    assert await change(client, uri, 3, REFUND) == []


async def test_columns_after_non_bmp_characters_are_utf16(client: LanguageClient):
    text = REFUND.replace('["rejected"]', f'["{EMOJI} {{{{ nope }}}}"]')
    uri = await open_doc(client, text)
    (found,) = [d for d in client.diagnostics[uri] if d.code == "F431"]
    line = text.splitlines()[at(text, "nope").line]
    assert found.range.start.character == line.index("nope") + 1  # the emoji is two units


async def test_one_missing_brace_does_not_hide_the_other_diagnostics(client: LanguageClient):
    # The `}` closing node `assess` is gone, and a later node misspells a name.
    text = REFUND.replace('set log += ["risk {{ risk }}"]\n    }', 'set log += ["risk {{ risk }}"]\n', 1)
    text = text.replace("set approved = d.approved", "set approved = d.aproved")
    uri = await open_doc(client, text)
    codes = [d.code for d in client.diagnostics[uri]]
    assert codes[0] == "F001"
    assert "F129" in codes


async def test_hover_shows_types_ids_schemas_docstrings_and_codes(client: LanguageClient):
    text = REFUND.replace("    node reject {", "    node reject {  # fermata: ignore[F124]", 1)
    uri = await open_doc(client, text)

    async def hover(position: lsp.Position) -> str:
        result = await client.text_document_hover_async(lsp.HoverParams(text_document=ident(uri), position=position))
        assert result is not None
        assert isinstance(result.contents, lsp.MarkupContent)
        return result.contents.value

    assert "risk: float = 0.0" in await hover(at(text, "risk", nth=1))
    assert "let d: Decision" in await hover(at(text, "set decision = d", offset=15))
    interrupt = await hover(at(text, "interrupt approval", offset=10))
    assert "`review:approval`" in interrupt and '"approved"' in interrupt
    assert "A person approves or rejects." in await hover(at(text, "review -> pay"))
    assert "unused local" in await hover(at(text, "F124", offset=1))
    assert "bool" in await hover(at(text, "d.approved", offset=3))


async def test_definition_and_references(client: LanguageClient):
    uri = await open_doc(client, REFUND)
    found = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=ident(uri), position=at(REFUND, "risk > 0.5")))
    assert isinstance(found, lsp.Location)
    assert found.range.start == at(REFUND, "risk: float")
    refs = await client.text_document_references_async(lsp.ReferenceParams(
        text_document=ident(uri), position=at(REFUND, "pay -> end"),
        context=lsp.ReferenceContext(include_declaration=True)))
    assert refs is not None
    starts = {(r.range.start.line, r.range.start.character) for r in refs}
    expected = [at(REFUND, "node pay", offset=5), at(REFUND, "-> pay", offset=3),
                at(REFUND, "-> pay", nth=1, offset=3), at(REFUND, "pay -> end"), at(REFUND, "before pay", offset=7)]
    assert starts == {(p.line, p.character) for p in expected}


async def test_rename_edits_every_occurrence_templates_included(client: LanguageClient):
    uri = await open_doc(client, REFUND)
    edit = await client.text_document_rename_async(
        lsp.RenameParams(text_document=ident(uri), position=at(REFUND, "risk: float"), new_name="score"))
    assert edit is not None and edit.changes is not None
    renamed = _apply(REFUND, edit.changes[uri])
    assert not re.search(r"\brisk\b", renamed.replace('"risk {{', "").replace("(risk {{", ""))
    assert '"risk {{ score }}"' in renamed and "(risk {{ score }})" in renamed
    assert await change(client, uri, 2, renamed) == []


@pytest.mark.parametrize("new_name", ["null", "amount", "9lives"])
async def test_rename_refuses_keywords_clashes_and_non_names(client: LanguageClient, new_name: str):
    uri = await open_doc(client, REFUND)
    with pytest.raises(Exception, match=r"keyword|already the name|not a name"):
        await client.text_document_rename_async(
            lsp.RenameParams(text_document=ident(uri), position=at(REFUND, "risk: float"),
                             new_name=new_name))


async def test_completion_by_context(client: LanguageClient):
    base = REFUND.replace("    reject -> end\n", "    reject -> \n", 1)
    base = base.replace('set log += ["reviewed"]', 'set log += ["{{ am }}"]\n        let c = d.')
    uri = await open_doc(client, base)

    async def labels(position: lsp.Position) -> set[str]:
        result = await client.text_document_completion_async(
            lsp.CompletionParams(text_document=ident(uri), position=position))
        assert isinstance(result, lsp.CompletionList)
        return {item.label for item in result.items}

    assert {"assess", "review", "pay", "reject", "end"} <= await labels(at(base, "reject -> ", offset=10))
    assert await labels(at(base, "d.\n", offset=2)) == {"approved", "comment"}
    in_template = await labels(at(base, '"{{ am }}"', offset=6))
    assert {"amount", "risk", "d"} <= in_template
    assert {"float", "Decision", "str"} <= await labels(at(base, "expect Decision", offset=7))
    steps = await labels(lsp.Position(at(base, "set decision").line, 8))
    assert {"let", "set", "call", "interrupt", "amount", "d"} <= steps


async def test_formatting_is_the_fmt_engine(client: LanguageClient):
    messy = REFUND.replace("    node reject {\n        set log", "node   reject{\n set log")
    uri = await open_doc(client, messy)
    edits = await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        text_document=ident(uri), options=lsp.FormattingOptions(tab_size=4, insert_spaces=True)))
    assert edits is not None
    assert _apply(messy, edits) == format_source(messy).text


async def test_symbols_tokens_and_a_quick_fix(client: LanguageClient):
    text = REFUND.replace("set risk = r", "set risk = rr")
    uri = await open_doc(client, text)
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=ident(uri)))
    assert symbols is not None
    assert [s.name for s in symbols] == ["Decision", "refund"]
    tokens = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=ident(uri)))
    assert tokens is not None and len(tokens.data) % 5 == 0 and tokens.data
    diagnostics = [d for d in client.diagnostics[uri] if d.code == "F120"]
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=ident(uri), range=diagnostics[0].range,
        context=lsp.CodeActionContext(diagnostics=diagnostics)))
    assert actions is not None
    (action,) = actions
    assert isinstance(action, lsp.CodeAction) and action.edit is not None
    assert _apply(text, action.edit.changes[uri]) == REFUND


def _apply(text: str, edits: list[lsp.TextEdit]) -> str:
    """Apply LSP edits to an ASCII text (last first, so positions hold)."""
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)

    def offset(p: lsp.Position) -> int:
        return min(starts[p.line] + p.character, len(text)) if p.line < len(lines) else len(text)

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[:offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end):]
    return text
