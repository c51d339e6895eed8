"""Shared plumbing for the property tests: compile a model through the real
toolchain, and the graph factories each way of running needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from fermata.compiler import analyze, compile_source, load
from fermata.runtime import Graph
from hypothesis import note

from .model import FlowModel, to_source


def compile_model(model: FlowModel, annotate: bool = True) -> tuple[str, dict[str, Any]]:
    """Print the model's AST, then parse, check and lower the text. Every
    generated flow must check without errors (warnings are allowed).
    ``annotate`` shows the spec with a failing example (only inside @given)."""
    source = to_source(model)
    if annotate:
        note(f"generated spec:\n{source}")
    analysis = analyze(source, "generated.flow")
    assert not analysis.errors, "\n".join(
        f"{d.span.line}:{d.span.column}: {d.code} {d.message}" for d in analysis.errors) + "\n" + source
    return source, compile_source(source, "generated.flow")


def memory_graphs(ir: dict[str, Any]) -> Callable[[], Graph]:
    """Fresh graph objects over one shared memory store."""
    first = Graph.from_ir(ir, store="memory:")
    return lambda: Graph.from_ir(ir, store=first.store)


def sqlite_graphs(ir: dict[str, Any], path: Path) -> Callable[[], Graph]:
    """A new connection to the same SQLite file for every graph."""
    url = f"sqlite:///{path}"
    return lambda: Graph.from_ir(ir, store=url)


def loaded_graphs(source: str, folder: Path, store: Any) -> Callable[[], Graph]:
    """A fresh ``load()`` of the spec file for every call, as a new process would."""
    spec = folder / "generated.flow"
    spec.write_text(source, encoding="utf-8")
    shared = load(str(spec), store=store)
    return lambda: load(str(spec), store=shared.store)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
