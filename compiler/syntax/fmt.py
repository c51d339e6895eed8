"""``fermata fmt``'s engine: source text -> canonical source text.

Formatting is printing the parsed module (``printer.py``). Before a result is
handed back it is verified: it must parse to the same AST and hold the same
comments, so a printer bug can never cost a user their spec — the file is left
alone and the failure reported instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics.diagnostic import Diagnostic
from .parser import parse
from .printer import print_module


class FormatterBug(Exception):
    """The printed text would change the spec's meaning or drop a comment."""


@dataclass(frozen=True)
class Formatted:
    path: str
    original: str
    text: str | None  # None when the source does not parse
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def changed(self) -> bool:
        return self.text is not None and self.text != self.original


def format_source(text: str, path: str = "<string>") -> Formatted:
    module, diagnostics = parse(text, path)
    if module is None:
        return Formatted(path, text, None, tuple(diagnostics))
    printed = print_module(module)
    again, problems = parse(printed, path)
    if again is None or again != module:
        raise FormatterBug(f"{path}: formatting would change the spec ({problems[:1]})")
    if [c.text for c in again.comments] != [c.text for c in module.comments]:
        raise FormatterBug(f"{path}: formatting would lose or reorder a comment")
    return Formatted(path, text, printed)
