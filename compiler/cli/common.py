"""What the command line reads from the user and prints back, made safe.

Reading: every file a command is given (a spec, an IR, a history, an
``--input @FILE``) and stdin is read as bytes and decoded strictly, so that a
file that is missing, a folder, a FIFO or not UTF-8 becomes one clear
:class:`UsageError` naming it (exit 2), never an exception from deep inside
(exit 3, "a bug in fermata"). JSON is read strictly too: Python's ``json``
takes ``NaN``, ``Infinity``, ``1e999`` (a float that is infinite) and lone
surrogates (``"\\ud800"``, half a UTF-16 pair, which no UTF-8 store or
terminal can hold); no other JSON reader does, and neither do we.

Printing: run data (payloads, state, error messages, tracebacks, file and
thread names) comes from users and from user code; printed raw, an escape
sequence in it would drive the terminal (clear the screen, retitle the
window, forge output). :func:`terminal_safe` is the one function every text
printer passes its output through; :func:`dump_json` is the one JSON writer.
"""

from __future__ import annotations

import json
import math
import re
import stat
import sys
from pathlib import Path
from typing import Any

# Exit codes and the default store, shared by main.py and every command
# (commands never import main.py, so the CLI has no import cycle).
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

DEFAULT_STORE = "sqlite:///.fermata/runs.db"


class UsageError(Exception):
    """Bad arguments or bad input: printed as one line, exit code 2."""


# ---------------------------------------------------------------- printing

# C0 controls but newline and tab, DEL, C1 controls (U+0080-U+009F: U+009B
# is a one-character CSI on some terminals), lone surrogates (printing one
# raises UnicodeEncodeError) and the bidirectional controls (U+061C,
# U+200E-U+200F, U+202A-U+202E, U+2066-U+2069), which reorder what a reader
# sees: "Trojan Source", CVE-2021-42574.
_ASCII_CONTROLS = "\x00-\x08\x0b-\x1f\x7f"
_CONTROLS = _ASCII_CONTROLS + "\x80-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE_ASCII = re.compile(f"[{_ASCII_CONTROLS}]")
# As text: compiling the whole class costs ~0.7 ms (its surrogate and bidi
# ranges), so re compiles (and caches) it for the first text that is not
# ASCII, the only kind that can hold more than the ASCII controls (#17).
_UNSAFE = f"[{_CONTROLS}]"
# As text: re compiles (and caches) it for the first coloured output (`check`
# on a terminal); every other command's start-up would pay for it in vain.
_UNSAFE_BUT_COLOUR = f"(?!\x1b\\[[0-9;]*m)[{_CONTROLS}]"


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str, *, keep_colour: bool = False) -> str:
    """``text`` with every control character but newline and tab, and every
    lone surrogate, replaced by a visible escape (``\\x1b``, ``\\ud800``).

    ``keep_colour`` keeps colour sequences (``ESC [ 1;31 m``, which can only
    change how text looks), for output the renderer coloured itself."""
    if keep_colour:
        return re.sub(_UNSAFE_BUT_COLOUR, _visible, text)
    return _unsafe_in(text).sub(_visible, text)


def _unsafe_in(text: str) -> re.Pattern[str]:
    """What matches the characters of ``text`` that need escaping."""
    return _UNSAFE_ASCII if text.isascii() else re.compile(_UNSAFE)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def dump_json(value: Any, indent: int | None = None) -> str:
    """``value`` as JSON that is safe on a terminal and valid UTF-8.

    ``json.dumps`` escapes C0 controls but, with ``ensure_ascii=False``
    (kept so that names read as written), lets DEL, C1 controls and lone
    surrogates through raw. Outside its strings JSON text is ASCII, so any
    such character is inside a string, where ``\\uXXXX`` means the same."""
    return json_text_safe(json.dumps(value, indent=indent, ensure_ascii=False))


def json_text_safe(text: str) -> str:
    """JSON text (from any ``json.dumps``) with DEL, C1 controls, bidi
    controls and lone surrogates written as ``\\uXXXX`` escapes, which mean
    the same there."""
    return _unsafe_in(text).sub(_json_escape, text)


def write_out(text: str) -> None:
    sys.stdout.write(terminal_safe(text))


def write_err(text: str) -> None:
    sys.stderr.write(terminal_safe(text))


# ----------------------------------------------------------------- reading


def read_user_file(name: str, what: str = "", *, regular: bool = True, encoding: str = "utf-8") -> str:
    """The text of the file ``name``, or a :class:`UsageError` saying why not.

    ``what`` describes the file in messages ("--input file", "history").
    ``regular=True`` (a FILE argument: a spec, an IR) refuses anything but a
    regular file, before opening it: reading a FIFO would wait forever for a
    writer. ``@FILE`` passes False, so that ``--input @<(make-input)`` (a
    pipe) works. ``encoding="utf-8-sig"`` drops an editor's byte-order mark."""
    require_file(name, what, regular=regular)
    try:
        data = Path(name).read_bytes()
    except OSError as exc:
        raise _unreadable(name, what, exc.strerror or str(exc)) from None
    return decode(data, f"{what} {name}" if what else name, encoding)


def require_file(name: str, what: str = "", *, regular: bool = True) -> None:
    """A UsageError unless ``name`` is a file (a regular one if ``regular``)."""
    if not name:  # Path("") is the current folder
        raise UsageError(f"no such file: {what or 'the file name'} is empty")
    try:
        mode = Path(name).stat().st_mode
    except FileNotFoundError:
        raise _unreadable(name, what, "no such file") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise _unreadable(name, what, getattr(exc, "strerror", None) or str(exc)) from None
    if stat.S_ISDIR(mode):
        raise _unreadable(name, what, "it is a folder, not a file")
    if regular and not stat.S_ISREG(mode):
        raise _unreadable(name, what, "it is not a regular file (a pipe or a device): "
                                      "save it to a file first")


def _unreadable(name: str, what: str, reason: str) -> UsageError:
    if not what and reason == "no such file":
        return UsageError(f"no such file: {name}")
    return UsageError(f"cannot read {what + ' ' if what else ''}{name}: {reason}")


def read_stdin(what: str) -> str:
    """All of stdin, decoded strictly (the text layer would decode it with the
    locale's codec, or smuggle bad bytes through as surrogates)."""
    label = f"{what} from stdin"
    buffer = getattr(sys.stdin, "buffer", None)
    try:
        if buffer is None:  # replaced by a text-only stream (tests, embedding)
            return sys.stdin.read()
        return decode(buffer.read(), label)
    except OSError as exc:
        raise UsageError(f"cannot read {label}: {exc.strerror or exc}") from None


def decode(data: bytes, label: str, encoding: str = "utf-8") -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UsageError(f"cannot read {label}: {not_utf8(exc)}; save it as UTF-8") from None


def not_utf8(exc: UnicodeDecodeError) -> str:
    """``not UTF-8 text (byte 0xe9 at line 3, column 7)``: where an editor finds it."""
    data = exc.object  # what was decoded: after a byte-order mark, for utf-8-sig
    line = data.count(b"\n", 0, exc.start) + 1
    column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
    return f"not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}, column {column})"


class NotJson(ValueError):
    """Text Python's ``json`` would accept but JSON does not allow."""


def _no_constant(name: str) -> Any:
    raise NotJson(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise NotJson(f"the number {text} is too large")
    return value


def loads_strict(text: str) -> Any:
    """``json.loads`` that refuses what JSON does not allow: NaN, Infinity,
    numbers too large for a float, and strings holding lone surrogates.
    Raises ValueError (:class:`NotJson` among them) or RecursionError."""
    value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    # Only a `\\uD800`-style escape or a raw surrogate in the text can make
    # one: walk the value (a large IR's every string) only then.
    if not (_SURROGATE_ESCAPE.search(text) or _surrogate_in(text)):
        return value
    found = _lone_surrogate(value)
    if found is not None:
        where, char = found
        raise NotJson(f"{where} holds a lone surrogate \\u{ord(char):04x} "
                      "(half of a UTF-16 pair, not a character)")
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _surrogate_in(text: str) -> re.Match[str] | None:
    """The first lone surrogate in ``text``. Only a text that is not ASCII
    can hold one: the pattern (~0.2 ms to compile, #17) is compiled, and
    cached by re, for the first such text."""
    return None if text.isascii() else re.search("[\ud800-\udfff]", text)


def _lone_surrogate(value: Any) -> tuple[str, str] | None:
    """Which string in ``value`` holds a lone surrogate ("the string at
    `a.b[2]`", "the key `k`"), and the surrogate.

    Iterative: the value may be nested as deeply as ``json.loads`` allows."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            match = _surrogate_in(item)
            if match:
                return (f"the string at `{path}`" if path else "the string", match.group())
        elif isinstance(item, dict):
            for key, inner in item.items():
                match = _surrogate_in(key)
                if match:
                    return (f"the key `{terminal_safe(key)}`", match.group())
                stack.append((f"{path}.{key}" if path else key, inner))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", inner) for i, inner in enumerate(item))
    return None


def parse_json_text(text: str, what: str) -> Any:
    """The JSON value of ``text``, given as ``what``, or a UsageError."""
    if not text.strip():
        raise UsageError(f"{what} is not valid JSON: it is empty")
    try:
        return loads_strict(text)
    except RecursionError:  # Python's JSON parser gives up past ~1,000 levels
        raise UsageError(f"{what} is nested too deeply to be read") from None
    except ValueError as exc:
        raise UsageError(f"{what} is not valid JSON: {exc}") from None


def parse_json_arg(raw: str | None, what: str) -> Any:
    """``--input``/``--value``: inline JSON, ``@path`` to a JSON file, or
    ``@-`` for stdin. None when the option was not given."""
    if raw is None:
        return None
    if not raw.startswith("@"):
        if _surrogate_in(raw):  # how Python hands over argv bytes that are not UTF-8
            raise UsageError(f"{what} is not UTF-8 text")
        return parse_json_text(raw, what)
    source = raw[1:]
    if source == "-":
        return parse_json_text(read_stdin(what), f"{what} (from stdin)")
    text = read_user_file(source, f"{what} file", regular=False)
    return parse_json_text(text, f"{what} file {source}")
