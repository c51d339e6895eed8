"""The flows a server serves: every flow of every `.flow` file in a folder.

Flows are known by name (a run records its flow's name, and the store has no
other link between a run and a file), so two files defining one name are an
error at start-up rather than a coin toss at run time. A file with errors
stops the server too: serving the other files silently would hide the
mistake until someone waits for a question that never comes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fermata.runtime import Flow, Store

SKIPPED_FOLDERS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".fermata"})


class CatalogError(Exception):
    """The flow folder cannot be served; the message says why (one or more lines)."""


@dataclass(frozen=True)
class Question:
    """An interrupt a flow can reach, known before any run reaches it: what
    the OpenAPI document and the forms are generated from."""

    flow: str
    node: str
    label: str
    schema: dict[str, Any] | None

    @property
    def id(self) -> str:
        return f"{self.node}:{self.label}"


@dataclass(frozen=True)
class FlowEntry:
    name: str
    graph: Flow
    path: Path

    @property
    def ir(self) -> dict[str, Any]:
        return self.graph.ir

    def on(self, store: Store) -> Flow:
        """This flow bound to another store object (another connection to
        the same store): the same compiled program, source and settings."""
        graph = self.graph
        other = Flow(graph.compiled, store, graph.source, graph.path, graph.source_hash, graph.clock,
                     durability=graph.durability)
        other.lease_ttl = graph.lease_ttl
        return other

    @property
    def ir_hash(self) -> str:
        return self.graph.ir_hash

    @property
    def doc(self) -> str:
        return str(self.ir.get("doc") or "")

    @property
    def defs(self) -> dict[str, Any]:
        return dict(self.ir.get("defs") or {})

    def input_schema(self) -> dict[str, Any]:
        """The JSON Schema of this flow's input: its input fields, the
        required ones required, nothing else accepted (as ``check_input``)."""
        compiled = self.graph.compiled
        return {"type": "object",
                "properties": {name: compiled.field_schemas[name] for name in compiled.inputs},
                "required": list(compiled.required_input),
                "additionalProperties": False}

    def questions(self) -> list[Question]:
        """Every dynamic interrupt in the flow's nodes (static `before`/`after`
        pauses take no answer), in node order."""
        found: list[Question] = []
        for name, node in self.ir["nodes"].items():
            for step in _interrupt_steps(node.get("steps", [])):
                found.append(Question(self.name, name, step["label"], step.get("schema")))
        return found


def _interrupt_steps(value: Any) -> Iterator[dict[str, Any]]:
    # Interrupts may sit in `if` branches and loops: walk every nested step.
    if isinstance(value, dict):
        if value.get("k") == "interrupt" and "label" in value:
            yield value
        for child in value.values():
            yield from _interrupt_steps(child)
    elif isinstance(value, list):
        for child in value:
            yield from _interrupt_steps(child)


class FlowCatalog:
    """The served flows by name."""

    def __init__(self, entries: dict[str, FlowEntry]):
        self._entries = dict(sorted(entries.items()))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str) -> FlowEntry | None:
        return self._entries.get(name)

    def names(self) -> list[str]:
        return list(self._entries)

    def entries(self) -> list[FlowEntry]:
        return list(self._entries.values())


def flow_files(folder: Path) -> list[Path]:
    """The `.flow` files under ``folder``, sorted, skipping tool folders."""
    if folder.is_file():
        return [folder]
    files = []
    for path in sorted(folder.rglob("*.flow")):
        if not any(part in SKIPPED_FOLDERS for part in path.relative_to(folder).parts[:-1]):
            files.append(path)
    return files


def load_catalog(folder: str | Path, store: Store) -> FlowCatalog:
    """Compile every `.flow` file under ``folder`` and bind each flow to ``store``."""
    from fermata.compiler.errors import CompileError
    from fermata.compiler.loading import build_graph
    from fermata.compiler.pipeline import compile_file

    root = Path(folder)
    if not root.exists():
        raise CatalogError(f"no such folder: {root}")
    files = flow_files(root)
    if not files:
        raise CatalogError(f"no .flow files in {root}")
    entries: dict[str, FlowEntry] = {}
    problems: list[str] = []
    for path in files:
        try:
            ir = compile_file(path)
        except CompileError as exc:
            errors = [d for d in exc.diagnostics if d.is_error]
            problems += [f"{d.path}:{d.span.line}:{d.span.column}: error[{d.code}]: {d.message}"
                         for d in errors]
            continue
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot read: {exc}")
            continue
        for name in sorted(ir["flows"]):
            if name in entries:
                problems.append(f"{path}: flow `{name}` is also defined in {entries[name].path}")
                continue
            entries[name] = FlowEntry(name, build_graph(ir, path, name, store), path)
    if problems:
        raise CatalogError("cannot serve these flows (`fermata check` shows the details):\n  "
                           + "\n  ".join(problems))
    return FlowCatalog(entries)
