"""Quick fixes the diagnostics' ``help`` cannot name: the text itself says what to do.

A record key that is not a name (`{first-name: 1}`, `{a b: str}`) stops the
parser at its second token with "expected `:`"; the fix is to quote the key
(LANGUAGE.md: a key is a name or a string). The key is found in the line's
text, from the name before the error to the `:` after it.
"""

from __future__ import annotations

import re

from lsprotocol import types as lsp

from .positions import LineIndex, Position

_KEY_START = re.compile(r"[{,]\s*$")
_NAME_BEFORE = re.compile(r"[A-Za-z_][\w]*$")
_NOT_IN_A_KEY = set('{}[]",:#')


def quoted_key_edit(lines: LineIndex, diagnostic: lsp.Diagnostic) -> tuple[str, lsp.TextEdit] | None:
    """The edit quoting the record key ``diagnostic`` (a syntax error
    expecting `:` after a key's first word) stopped at, and the key."""
    if diagnostic.code not in ("F001", "F002") or "expected `:`" not in diagnostic.message:
        return None
    line, column = lines.column(Position(diagnostic.range.start.line, diagnostic.range.start.character))
    text = lines.line_text(line)
    at = column - 1
    name = _NAME_BEFORE.search(text[:at].rstrip())
    if name is None or not _KEY_START.search(text[:name.start()]):
        return None
    colon = text.find(":", at)
    if colon < 0:
        return None
    key = text[name.start():colon].rstrip()
    if not key or _NOT_IN_A_KEY & set(key):
        return None
    start = lines.position(line, name.start() + 1)
    end = lines.position(line, name.start() + len(key) + 1)
    return key, lsp.TextEdit(lsp.Range(lsp.Position(*start), lsp.Position(*end)), f'"{key}"')
