"""How fast does `fermata lsp` answer on a 1,000-node spec?

Starts the real server over stdio (as an editor would) and measures, over
``--repeat`` rounds:

- diagnostics after an edit: from sending ``didChange`` to receiving the
  ``publishDiagnostics`` of that version (the server's debounce included),
  for five edits in the middle of the file, in turns: one character
  changed, a line added in a node, that line deleted, a node added between
  two nodes, that node deleted;
- hover on a state field's use, and on a member access (`r.ok`);
- completion of step keywords and names in a node, and of members after `.`.

Two shapes of 1,000 nodes: one flow of 1,000 nodes, and 20 flows of 50.
The issue's targets: diagnostics <= 150 ms, hover and completion <= 50 ms.

    python bench/lsp_bench.py [--repeat 20] [--nodes 1000] [--against PYTHONPATH] [--pause MS]

``--against`` runs a second server on other code (before/after a change),
the two taking their rounds in turns, so a busy machine weighs on both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient


def big_spec(nodes: int, flows: int = 1) -> str:
    """``nodes`` nodes in ``flows`` flows, each node with a `let`, a `set`,
    a template and an `if`; every 10th routes conditionally, every 50th
    has an interrupt."""
    lines = ["type Review = {ok: bool, note: str?}", ""]
    per_flow = nodes // flows
    for f in range(flows):
        lines += [f"flow big{f} {{", "    state {", "        count: int = 0", "        total: float = 0.0",
                  "        log: list[str] = []", "        review: Review?", "        flag: bool = false",
                  "    }"]
        for i in range(per_flow):
            lines.append(f"    node n{i} {{")
            lines.append(f"        let v = count + {i}")
            lines.append("        set count = v")
            lines.append(f'        set log += ["step {i}: {{{{ count }}}}"]')
            lines.append("        if flag { set total += 1.5 }")
            if i % 50 == 0:
                lines.append(f'        let r = interrupt ask{i} "ok at {{{{ count }}}}?" expect Review')
                lines.append("        set flag = r.ok")
            lines.append("    }")
        lines.append("    start -> n0")
        for i in range(per_flow - 1):
            if i % 10 == 9:
                lines.append(f"    n{i} -> n{i + 1} when flag or count > {i}")
                lines.append(f"    n{i} -> end otherwise")
            else:
                lines.append(f"    n{i} -> n{i + 1}")
        lines += [f"    n{per_flow - 1} -> end", "}", ""]
    return "\n".join(lines)


def position_of(text: str, needle: str, offset: int = 0) -> lsp.Position:
    index = text.index(needle) + offset
    return lsp.Position(text.count("\n", 0, index), index - (text.rfind("\n", 0, index) + 1))


class Bench:
    def __init__(self, pause: float = 0.0) -> None:
        self.pause = pause   # after each edit's diagnostics: a person's pause before the next action
        self.client = LanguageClient("lsp-bench", "1")
        self.published: dict[int, asyncio.Future[list[lsp.Diagnostic]]] = {}

        @self.client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: lsp.PublishDiagnosticsParams) -> None:
            future = self.published.get(params.version or -1)
            if future is not None and not future.done():
                future.set_result(list(params.diagnostics))

    async def start(self, root: Path, python_path: str | None = None) -> None:
        env = None if python_path is None else {**os.environ, "PYTHONPATH": python_path}
        await self.client.start_io(sys.executable, "-m", "fermata.compiler.cli.main", "lsp", env=env)
        await self.client.initialize_async(lsp.InitializeParams(
            capabilities=lsp.ClientCapabilities(), root_uri=root.as_uri(),
            workspace_folders=[lsp.WorkspaceFolder(root.as_uri(), "bench")]))
        self.client.initialized(lsp.InitializedParams())

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()

    def expect(self, version: int) -> asyncio.Future[list[lsp.Diagnostic]]:
        future: asyncio.Future[list[lsp.Diagnostic]] = asyncio.get_running_loop().create_future()
        self.published[version] = future
        return future

    async def open(self, text: str, uri: str) -> None:
        """Open the spec; the places edited and asked about."""
        client = self.client
        first = self.expect(1)
        client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id="fermata", version=1, text=text)))
        diagnostics = await asyncio.wait_for(first, 120)
        assert not [d for d in diagnostics if d.severity == lsp.DiagnosticSeverity.Error], diagnostics[:3]
        self.uri, self.version = uri, 1
        middle = text.index("let v = count + ", len(text) // 2) + len("let v = count + ")
        self.edit_at = position_of(text, text[middle - 30:middle + 1], 30)
        self.field_use = position_of(text, "set count = v", len("set count = "))  # the local `v`
        self.member = position_of(text, "set flag = r.ok", len("set flag = r.o"))
        self.in_node = position_of(text, "        set count = v", 8)
        self.after_dot = position_of(text, "set flag = r.ok", len("set flag = r."))
        self.node_line = text.count("\n", 0, text.index("\n    node n", len(text) // 2) + 1)  # a node's first line

    async def round(self, number: int, times: dict[str, list[float]]) -> None:
        """Five edits, each timed to its diagnostics, then hovers and completions.
        Each round leaves the text's layout as it found it: the positions
        asked about stay where they are."""
        client, doc, edit_at = self.client, lsp.TextDocumentIdentifier(uri=self.uri), self.edit_at
        below = lsp.Position(edit_at.line + 1, 0)
        node_at = lsp.Position(self.node_line, 0)
        new_node = "    node extra {\n        set count = 1\n    }\n"
        for name, edit, new_text in (
                ("diagnostics after an edit",
                 lsp.Range(edit_at, lsp.Position(edit_at.line, edit_at.character + 1)), str(number % 10)),
                ("... after a new line", lsp.Range(below, below), "        let w = 1\n"),
                ("... after a line deleted", lsp.Range(below, lsp.Position(below.line + 1, 0)), ""),
                ("... after a new node", lsp.Range(node_at, node_at), new_node),
                ("... after a node deleted", lsp.Range(node_at, lsp.Position(self.node_line + 3, 0)), "")):
            self.version += 1
            published = self.expect(self.version)
            started = time.perf_counter()
            client.text_document_did_change(lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                content_changes=[lsp.TextDocumentContentChangePartial(range=edit, text=new_text)]))
            await asyncio.wait_for(published, 120)
            times.setdefault(name, []).append(time.perf_counter() - started)
            await asyncio.sleep(self.pause)
        for name, request in (
                ("hover (local)", lambda: client.text_document_hover_async(
                    lsp.HoverParams(text_document=doc, position=self.field_use))),
                ("hover (member r.ok)", lambda: client.text_document_hover_async(
                    lsp.HoverParams(text_document=doc, position=self.member))),
                ("completion (in a node)", lambda: client.text_document_completion_async(
                    lsp.CompletionParams(text_document=doc, position=self.in_node))),
                ("completion (after `.`)", lambda: client.text_document_completion_async(
                    lsp.CompletionParams(text_document=doc, position=self.after_dot)))):
            started = time.perf_counter()
            answer = await request()
            times.setdefault(name, []).append(time.perf_counter() - started)
            assert answer is not None, name


async def main_async(repeat: int, nodes: int, against: str | None, pause: float = 0.0) -> None:
    """Each shape: one server per code tree (this one, and ``against``'s if
    given), their rounds taken in turns on the same machine."""
    trees: list[tuple[str, str | None]] = [("this", None)] + ([("against", against)] if against else [])
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        print(f"fermata lsp over stdio, {repeat} rounds; times in ms (min / median / max)\n")
        print(f"{'spec':<24} {'measure':<28} {'code':<8} {'min':>7} {'median':>7} {'max':>7}")
        for flows in (1, 20):
            text = big_spec(nodes, flows)
            path = root / f"big_{flows}.flow"
            path.write_text(text, encoding="utf-8")
            benches = []
            try:
                for _label, python_path in trees:
                    bench = Bench(pause)
                    benches.append(bench)
                    await bench.start(root, python_path)
                    await bench.open(text, path.as_uri())
                times: list[dict[str, list[float]]] = [{} for _ in trees]
                for number in range(repeat):
                    for bench, into in zip(benches, times, strict=True):
                        await bench.round(number, into)
            finally:
                for bench in benches:
                    await bench.stop()
            label = f"{nodes} nodes, {flows} flow{'s' if flows > 1 else ''}"
            for name in times[0]:
                for (code, _path), into in zip(trees, times, strict=True):
                    ms = [v * 1000 for v in into[name]]
                    print(f"{label:<24} {name:<28} {code:<8} "
                          f"{min(ms):7.1f} {statistics.median(ms):7.1f} {max(ms):7.1f}")
            print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--against", metavar="PYTHONPATH",
                        help="also run a server with this PYTHONPATH (another checkout's code, e.g. a folder "
                             "holding `fermata/` linked to its spec, compiler, runtime and server), in turns")
    parser.add_argument("--pause", type=float, default=0.0, metavar="MS",
                        help="wait this long after each edit's diagnostics (default 0: edits back to back, "
                             "so an edit also waits for the work the one before left for after its diagnostics)")
    args = parser.parse_args()
    asyncio.run(main_async(args.repeat, args.nodes, args.against, args.pause / 1000))


if __name__ == "__main__":
    main()
