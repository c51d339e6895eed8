"""``fermata fmt [--check] [--diff] [PATH ...]``: rewrite specs in canonical form."""

from __future__ import annotations

import argparse
import difflib
import sys

from ..syntax.fmt import format_source
from .check import find_specs
from .common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, read_user_file, terminal_safe


def run_fmt(args: argparse.Namespace) -> int:
    from ..diagnostics import render

    files = find_specs(args.paths or ["."])
    would_change: list[str] = []
    broken = False
    for file in files:
        name = file.as_posix()
        original = read_user_file(name, encoding="utf-8-sig")
        result = format_source(original, name)
        if result.text is None:
            broken = True
            sys.stderr.write(terminal_safe(render.render_pretty(list(result.diagnostics), {name: original},
                                                                color=render.use_color(sys.stderr)),
                                           keep_colour=True))
            continue
        if not result.changed:
            continue
        would_change.append(name)
        if args.diff:
            diff = "".join(difflib.unified_diff(
                original.splitlines(keepends=True), result.text.splitlines(keepends=True),
                f"a/{name}", f"b/{name}"))
            # Escaped only for a person: a diff piped to `patch` must keep the bytes.
            sys.stdout.write(terminal_safe(diff) if sys.stdout.isatty() else diff)
        if not (args.check or args.diff):
            # newline="" keeps the "\n" endings the printer produces on every platform.
            file.write_text(result.text, encoding="utf-8", newline="")
    if args.check:
        for name in would_change:
            print(terminal_safe(f"would reformat {name}"))
    elif not args.diff:
        for name in would_change:
            print(terminal_safe(f"reformatted {name}"), file=sys.stderr)
    kept = len(files) - len(would_change)
    verb = "would be reformatted" if (args.check or args.diff) else "reformatted"
    print(f"{len(would_change)} file{'s' if len(would_change) != 1 else ''} {verb}, "
          f"{kept} unchanged", file=sys.stderr)
    if broken:
        return EXIT_USAGE
    return EXIT_FINDINGS if (args.check and would_change) else EXIT_OK
