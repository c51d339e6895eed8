"""`use "other.flow" [as ns]`: specs made of several files.

A file's `use` lines are resolved before it is checked: each names a file
relative to the using file, which is read, parsed and checked once per
:class:`ModuleSet` (``fermata check DIR`` shares one set across the folder,
so a file imported by ten others is parsed once). What an import brings in
is put on the using module (``imported_types``, ``imported_flows``), so the
checker, lowering and code generation see the imported declarations as if
they were written in the file, and the IR stays one self-contained document.

- ``use "f.flow"`` brings in f's types and flows under their own names;
- ``use "f.flow" as ns`` brings them in as ``ns.Decision``, ``ns.draft``.

Every imported node's span is the `use` line's: whatever the checker says
about an imported declaration points at the line that brought it in (the
imported file itself is checked, and its own diagnostics reported, on its
own). An imported file with errors brings nothing in (F117), so one mistake
is reported once, where it is, and not again in every file importing it.

Codes: F113 missing file, F114 import cycle, F115 name clash, F116 unknown
``ns.Name`` (reported by the type checker, which reads the names), F117
imported file with errors.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .diagnostics import codes
from .diagnostics.diagnostic import Diagnostic, DiagnosticSink, Label
from .syntax import ast

if TYPE_CHECKING:
    from fermata.spec.call_policy import CallPolicy

    from .pipeline import Analysis

CODES = codes.reported_by(codes.MODULES)

N = TypeVar("N", bound=ast.Node)


@dataclass
class ModuleSet:
    """Files loaded through `use`, each analysed once (by resolved path)."""

    call_policy: CallPolicy | None = None
    # The policy each file's calls are judged by (`fermata check` reads each
    # file's pyproject.toml); without it, ``call_policy`` for every file.
    policy_for: Callable[[Path], CallPolicy | None] | None = None
    analyses: dict[Path, Analysis] = field(default_factory=dict)
    # The files being loaded, outermost first: a `use` of one of them is a cycle.
    loading: list[Path] = field(default_factory=list)
    # Each `use` (from, to) found on a cycle, with the cycle's files: every
    # file on it reports the cycle (F114), not only the one that closed it.
    cycles: dict[tuple[Path, Path], list[Path]] = field(default_factory=dict)
    # Where each imported declaration was written, by the id of its rebased
    # copy (kept alive beside it): one declaration reached along two paths
    # (a diamond) is no clash.
    origins: dict[int, tuple[ast.Node, str]] = field(default_factory=dict)

    def origin(self, node: ast.Node, default: str) -> str:
        found = self.origins.get(id(node))
        return found[1] if found is not None and found[0] is node else default

    def remember(self, node: ast.Node, origin: str) -> None:
        self.origins[id(node)] = (node, origin)

    def analysis(self, path: Path) -> Analysis:
        """The analysis of the file at ``path`` (read once, then cached)."""
        from .pipeline import analyze, read_source

        key = path.resolve()
        found = self.analyses.get(key)
        if found is None:
            policy = self.policy_for(path) if self.policy_for is not None else self.call_policy
            found = analyze(read_source(path), path.as_posix(), call_policy=policy, modules=self)
            self.analyses[key] = found
        return found


def with_imports(module: ast.Module, path: str,
                 modules: ModuleSet | None = None) -> tuple[ast.Module, list[Diagnostic]]:
    """``module`` with what its `use` lines bring in, and the diagnostics of
    resolving them (reported at the `use` lines)."""
    if not module.uses:
        return module, []
    modules = modules if modules is not None else ModuleSet()
    sink = DiagnosticSink(path)
    own = _own_path(path)
    modules.loading.append(own)
    try:
        imports = _Imports(sink, module, modules)
        for use in module.uses:
            target = _load(sink, use, own, modules)
            if target is not None:
                imports.add(use, target, Path(os.path.abspath(own.parent / use.path)))
    finally:
        modules.loading.pop()
    imports.check_local_clashes()
    return dataclasses.replace(module, imported_types=tuple(imports.types.values()),
                               imported_flows=tuple(imports.flows.values()),
                               imported_locations=imports.locations), sink.items


def _own_path(path: str) -> Path:
    # A text without a file (`analyze(text)`, an editor's unsaved buffer)
    # resolves its `use` lines from the current directory.
    if path.startswith("<"):
        return Path(os.getcwd()) / "<string>"
    return Path(os.path.abspath(path))


def _load(sink: DiagnosticSink, use: ast.Use, own: Path, modules: ModuleSet) -> ast.Module | None:
    """The checked module ``use`` names, or None after reporting why not."""
    target = Path(os.path.abspath(own.parent / use.path))
    if target in modules.loading:
        loop = modules.loading[modules.loading.index(target):]
        for i, here in enumerate(loop):
            modules.cycles[(here, loop[(i + 1) % len(loop)])] = loop
    analysis = None
    if (own, target) not in modules.cycles:
        if not target.is_file():
            sink.error("F113", f"`use \"{use.path}\"`: no such file {_shown(target)}", use.span,
                       help="the path is relative to the folder of the file that has the `use` line")
            return None
        try:
            # Named as people read it: its diagnostics carry this path.
            analysis = modules.analysis(Path(_shown(target)))   # may find a cycle through this `use`
        except (OSError, UnicodeDecodeError) as exc:
            why = "it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else (exc.strerror or str(exc))
            sink.error("F113", f"`use \"{use.path}\"`: cannot read {_shown(target)}: {why}", use.span,
                       help="`use` names a `.flow` file, saved as UTF-8")
            return None
    ring = modules.cycles.get((own, target))
    if ring is not None or analysis is None:
        ring = ring or [own]
        start = ring.index(own)
        chain = ring[start:] + ring[:start] + [own]
        sink.error("F114", "import cycle: " + " -> ".join(_shown(p) for p in chain), use.span,
                   help="move the declarations these files share into a file that none of them imports from")
        return None
    if not analysis.ok or analysis.module is None:
        first = analysis.errors[0] if analysis.errors else None
        where = f": {_shown(target)}:{first.span.line}:{first.span.column}: {first.message}" if first else ""
        sink.error("F117", f"`use \"{use.path}\"`: that file has errors{where}", use.span,
                   help=f"run `fermata check {_shown(target)}` and fix it first")
        return None
    return analysis.module


def _shown(path: Path) -> str:
    """A path as people read it: relative to the current directory when below it."""
    try:
        return path.relative_to(os.getcwd()).as_posix()
    except ValueError:
        return path.as_posix()


class _Imports:
    """The names a file's `use` lines bring in, with clash detection (F115)."""

    def __init__(self, sink: DiagnosticSink, module: ast.Module, modules: ModuleSet) -> None:
        self.sink = sink
        self.modules = modules
        self.module = module
        self.types: dict[str, ast.TypeDecl] = {}
        self.flows: dict[str, ast.Flow] = {}
        self.origin: dict[str, tuple[ast.Use, str]] = {}   # name -> the use that brought it, where written
        self.namespaces: dict[str, ast.Use] = {}
        self.locations: dict[str, tuple[str, ast.Span]] = {}

    def add(self, use: ast.Use, target: ast.Module, target_path: Path) -> None:
        if use.alias is not None:
            if use.alias in self.namespaces:
                first = self.namespaces[use.alias]
                self.sink.error("F115", f"namespace `{use.alias}` is used by two `use` lines", use.span,
                                labels=[Label(first.span, "first here")],
                                help=f"give this import another name: `use \"{use.path}\" as other`")
                return
            self.namespaces[use.alias] = use
        types = target.all_types
        flows = target.imported_flows + target.flows
        renamed = {d.name: f"{use.alias}.{d.name}" for d in types} if use.alias else {}
        # `run draft` inside an imported flow names `ns.draft` once imported as `ns`.
        renamed_flows = {f.name: f"{use.alias}.{f.name}" for f in flows} if use.alias else {}
        for decl in types:
            origin = self.modules.origin(decl, f"{target_path}#{decl.name}")
            rebased = _rebase(decl, use.span, renamed, {})
            if self._put(self.types, use, rebased, "type", origin):
                where = target.imported_locations.get(decl.name, (target_path.as_posix(), decl.name_span))
                self.locations[rebased.name] = where
        for flow in flows:
            origin = self.modules.origin(flow, f"{target_path}#{flow.name}")
            flow_copy = _rebase(flow, use.span, renamed, renamed_flows)
            if use.alias:
                flow_copy = dataclasses.replace(flow_copy, name=f"{use.alias}.{flow.name}")
            self._put(self.flows, use, flow_copy, "flow", origin)

    def _put(self, table: dict[str, N], use: ast.Use, node: N, kind: str, origin: str) -> bool:
        """Enter ``node``; False when its name was already taken."""
        name = node.name  # type: ignore[attr-defined]
        self.modules.remember(node, origin)
        seen = self.origin.get(f"{kind} {name}")
        if seen is not None:
            if seen[1] != origin:   # the same declaration reached twice (a diamond) is no clash
                self.sink.error("F115", f"{kind} `{name}` is brought in by two `use` lines", use.span,
                                labels=[Label(seen[0].span, "first here")],
                                help=f"import one of the files with a namespace: `use \"{use.path}\" as ns`")
            return False
        self.origin[f"{kind} {name}"] = (use, origin)
        table[name] = node
        return True

    def check_local_clashes(self) -> None:
        """A name declared in the file and brought in by a `use` too (F115, at the `use`)."""
        local = [("type", d.name, d.name_span) for d in self.module.types] + \
                [("flow", f.name, f.name_span) for f in self.module.flows]
        for kind, name, span in local:
            seen = self.origin.get(f"{kind} {name}")
            if seen is not None:
                use = seen[0]
                self.sink.error("F115", f"{kind} `{name}` is declared in this file and also brought in "
                                f"by `use \"{use.path}\"`", use.span, labels=[Label(span, "declared here")],
                                help=f"rename one, or import with a namespace: `use \"{use.path}\" as ns`")


def _rebase(node: N, span: ast.Span, renamed: dict[str, str], flows: dict[str, str]) -> N:
    """``node`` with every span set to ``span``, the type names in
    ``renamed`` renamed (declarations and references alike), and the flows
    its `run` steps name renamed by ``flows``."""
    rebased: N = _rebased(node, span, renamed, flows)
    return rebased


def _rebased(node: Any, span: ast.Span, renamed: dict[str, str], flows: dict[str, str]) -> Any:
    # Generic over every node class (they are all frozen dataclasses), so a
    # node kind added to the language needs nothing here.
    changes: dict[str, object] = {}
    for f in dataclasses.fields(node):
        if not f.init:
            continue
        value = getattr(node, f.name)
        if isinstance(value, ast.Span):
            changes[f.name] = span
        elif isinstance(value, ast.Node):
            changes[f.name] = _rebased(value, span, renamed, flows)
        elif isinstance(value, tuple) and value and isinstance(value[0], ast.Node):
            changes[f.name] = tuple(_rebased(v, span, renamed, flows) if isinstance(v, ast.Node) else v
                                    for v in value)
    if isinstance(node, (ast.NamedType, ast.TypeDecl)) and node.name in renamed:
        changes["name"] = renamed[node.name]
    elif isinstance(node, ast.Run) and node.flow in flows:
        changes["flow"] = flows[node.flow]
    return dataclasses.replace(node, **changes)
