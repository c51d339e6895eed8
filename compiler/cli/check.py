"""``fermata check``: every problem in every spec, in the format CI wants."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..diagnostics.diagnostic import Diagnostic, Severity
from ..pipeline import analyze
from .common import (
    EXIT_FINDINGS,
    EXIT_OK,
    UsageError,
    json_text_safe,
    read_user_file,
    require_file,
    terminal_safe,
)

# Folders never searched for specs: tools' caches and virtual environments.
SKIPPED_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__",
                ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis",
                "build", "dist", ".fermata"}


def find_specs(paths: Iterable[str]) -> list[Path]:
    """The `.flow` files named by ``paths`` (folders are searched recursively)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(_walk(path))
        elif path.exists():
            require_file(raw)  # a FIFO or a device: refused, reading it could block
            found.append(path)
        else:
            raise UsageError(f"no such file or folder: {raw}")
    return sorted(dict.fromkeys(found))


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            path = Path(root) / name
            # Only regular files: a FIFO named `x.flow` would block the read forever.
            if name.endswith(".flow") and path.is_file():
                yield path


def check_paths(files: Iterable[Path], resolve: bool = False,
                allow_calls: list[str] | None = None) -> tuple[list[Diagnostic], dict[str, str]]:
    """Diagnostics of every file, and the texts they point into (for rendering).
    Each file's calls are judged by the call policy configured for it, plus
    the ``--allow-call`` patterns ``allow_calls``."""
    from ..modules import ModuleSet
    from .compile import call_policy_for

    diagnostics: list[Diagnostic] = []
    sources: dict[str, str] = {}
    # One set for all: a file that others `use` is read and checked once.
    modules = ModuleSet(policy_for=lambda path: call_policy_for(path, allow_calls))
    for file in files:
        name = file.as_posix()
        known = modules.analyses.get(file.resolve())
        if known is not None and not resolve:
            sources[known.path] = known.text
            diagnostics.extend(known.diagnostics)
            continue
        text = read_user_file(name, encoding="utf-8-sig")
        sources[name] = text
        # Call targets are resolved inside `analyze`, before suppressions
        # apply, so `# fermata: ignore[F450]` works like any other.
        analysis = analyze(text, name, resolve_root=file.resolve().parent if resolve else None,
                           call_policy=call_policy_for(file, allow_calls), modules=modules)
        modules.analyses.setdefault(file.resolve(), analysis)
        diagnostics.extend(analysis.diagnostics)
    return diagnostics, sources


def run_check(args: argparse.Namespace) -> int:
    from ..diagnostics import render

    files = find_specs(args.paths or ["."])
    diagnostics, sources = check_paths(files, resolve=args.resolve,
                                       allow_calls=getattr(args, "allow_call", None))
    fmt = args.format or ("pretty" if sys.stdout.isatty() else "text")
    if fmt == "pretty":
        out = render.render_pretty(diagnostics, sources, color=render.use_color(sys.stdout))
        summary = render.summary(diagnostics)
        if diagnostics:
            out = out.rstrip("\n") + "\n" + summary
        else:
            out = f"checked {len(files)} file{'s' if len(files) != 1 else ''}: no problems"
    elif fmt == "sarif":
        from ..diagnostics.catalogue import load_catalogue, rules_for_sarif

        out = render.render_sarif(diagnostics, rules_for_sarif(load_catalogue()))
    else:
        out = {"text": render.render_text, "json": render.render_json,
               "github": render.render_github}[fmt](diagnostics)
    if out:
        # Paths and quoted spec text come from the files checked: printed safely.
        safe = json_text_safe(out) if fmt in ("json", "sarif") else terminal_safe(out, keep_colour=fmt == "pretty")
        sys.stdout.write(safe if safe.endswith("\n") else safe + "\n")
    failing = [d for d in diagnostics
               if d.severity is Severity.ERROR or (args.strict and d.severity is Severity.WARNING)]
    return EXIT_FINDINGS if failing else EXIT_OK
