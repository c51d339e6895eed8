"""End to end: a multi-root workspace, each folder with its own `[tool.fermata]` call allow-list."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

SPEC = 'flow f {\n    node a {\n        call "billing.api:charge"()\n    }\n    start -> a\n    a -> end\n}\n'


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("workspaces")
    billing, refunds = root / "billing", root / "refunds"
    for folder, allowed in ((billing, "billing"), (refunds, "refunds")):
        (folder / "flows").mkdir(parents=True)
        (folder / "pyproject.toml").write_text(f'[tool.fermata.calls]\nallow = ["{allowed}"]\n', encoding="utf-8")
    return billing, refunds


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(server_command=[sys.executable, "-m", "fermata.compiler.cli.main", "lsp"],
                              server_env={"FERMATA_LSP_DEBOUNCE_MS": "0"}),
)
async def client(lsp_client: LanguageClient, folders: tuple[Path, Path]):
    billing, refunds = folders
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
        workspace_folders=[lsp.WorkspaceFolder(billing.as_uri(), "billing"),
                           lsp.WorkspaceFolder(refunds.as_uri(), "refunds")]))
    yield
    await lsp_client.shutdown_session()


async def diagnostics_of(client: LanguageClient, path: Path) -> list[str]:
    uri = path.as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="fermata", version=1, text=SPEC)))
    while uri not in client.diagnostics:
        await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return [str(d.code) for d in client.diagnostics[uri]]


async def test_each_folder_judges_calls_by_its_own_allow_list(client: LanguageClient, folders: tuple[Path, Path]):
    billing, refunds = folders
    assert await diagnostics_of(client, billing / "flows" / "a.flow") == []
    assert await diagnostics_of(client, refunds / "flows" / "a.flow") == ["F452"]
