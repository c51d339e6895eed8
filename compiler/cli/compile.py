"""``fermata compile`` and ``fermata graph``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import (
    EXIT_FINDINGS,
    EXIT_OK,
    UsageError,
    json_text_safe,
    read_user_file,
    terminal_safe,
)

if TYPE_CHECKING:
    from fermata.spec.call_policy import CallPolicy


def compile_or_report(file: str, call_policy: CallPolicy | None = None) -> dict[str, Any] | None:
    """The IR of ``file``, or None after printing its diagnostics to stderr.
    ``call_policy``: by default the one configured for the file."""
    from ..lower.ir_cache import cached_ir

    path = Path(file)
    text = read_user_file(file, encoding="utf-8-sig")  # as pipeline.read_source reads it
    policy = call_policy or call_policy_for(path)
    return cached_ir(text, path.as_posix(), policy, lambda: _compile_or_report(text, path, policy))


def _compile_or_report(text: str, path: Path, call_policy: CallPolicy) -> dict[str, Any] | None:
    # Imported here, not above: a cached IR needs neither the compiler nor
    # the runtime (which CompileError loads, and `check` never needs).
    from ..diagnostics import render
    from ..errors import CompileError
    from ..pipeline import compile_source

    try:
        return compile_source(text, path.as_posix(), call_policy)
    except CompileError as exc:
        sources = {path.as_posix(): exc.source or ""}
        sys.stderr.write(terminal_safe(render.render_pretty(list(exc.diagnostics), sources,
                                                            color=render.use_color(sys.stderr)),
                                       keep_colour=True))
        sys.stderr.write(render.summary(list(exc.diagnostics)) + "\n")
        return None


def call_policy_for(path: Path, allow: list[str] | None = None) -> CallPolicy:
    """The call policy configured for the spec ``path`` plus ``--allow-call``
    patterns; a malformed configuration is a usage error."""
    from fermata.spec.call_policy import ConfigError, policy_near

    try:
        return policy_near(path, allow or ())
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def pick_flow(ir: dict[str, Any], name: str | None) -> dict[str, Any]:
    flows = ir["flows"]
    if name is not None:
        if name not in flows:
            raise UsageError(f"no flow `{name}` in {ir['source']['path']} "
                             f"(it has: {', '.join(sorted(flows)) or 'none'})")
        named: dict[str, Any] = flows[name]
        return named
    if len(flows) != 1:
        raise UsageError(f"{ir['source']['path']} holds {len(flows)} flows "
                         f"({', '.join(sorted(flows))}): choose one with --flow")
    only: dict[str, Any] = next(iter(flows.values()))
    return only


def _write(text: str, output: str | None, safe: Callable[[str], str] = terminal_safe) -> None:
    """Write to ``output``, or to stdout made ``safe`` for a terminal (a
    spec's strings may hold control characters)."""
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:  # a missing folder, a read-only file: the user's to fix
            raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(safe(text))


def run_compile(args: argparse.Namespace) -> int:
    from ..lower.lowering import dumps

    if args.output and Path(args.output).resolve() == Path(args.file).resolve():
        # `-o` naming the spec itself would replace the source with its IR.
        raise UsageError(f"the output {args.output} is the spec itself: choose another file")
    ir = compile_or_report(args.file)
    if ir is None:
        return EXIT_FINDINGS
    if getattr(args, "target", "ir") == "python":
        from ..codegen import emit_python

        _write(emit_python(ir, flow=pick_flow(ir, getattr(args, "flow", None))["name"]), args.output)
        return EXIT_OK
    _write(dumps(ir), args.output, json_text_safe)
    return EXIT_OK


def run_graph(args: argparse.Namespace) -> int:
    from ..codegen.diagram import to_dot, to_mermaid

    ir = compile_or_report(args.file)
    if ir is None:
        return EXIT_FINDINGS
    flow = pick_flow(ir, args.flow)
    text = to_mermaid(flow) if args.format == "mermaid" else to_dot(flow)
    _write(text if text.endswith("\n") else text + "\n", None)
    return EXIT_OK
