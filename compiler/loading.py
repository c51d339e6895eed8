"""``load``: from a `.flow` file (or a compiled IR file) to a runnable graph."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fermata.spec.digest import sha256_hex
from fermata.spec.ir import IR_VERSION

# A `use` line and the path it names (or something that looks like one: a
# false positive only skips the cache, or widens what a digest covers).
_USE_LINE = re.compile(r'^\s*use\s*"([^"\n]*)"', re.MULTILINE)

if TYPE_CHECKING:
    from fermata.runtime import Flow, Store
    from fermata.runtime.clock import Clock
    from fermata.spec.call_policy import CallPolicy


def load(source: str | Path | dict[str, Any], *, flow: str | None = None,
         store: str | Store | None = None, call_policy: CallPolicy | None = None,
         clock: Clock | None = None, durability: str = "observable") -> Flow:
    """Compile ``source`` and build its graph.

    ``source`` is a `.flow` path, a compiled IR file (``.json``) or an IR
    dict. ``flow`` picks one flow of a file holding several. ``store`` is a
    URL (``"memory:"``, ``"sqlite:///runs.db"``) or a Store; the default is an
    in-memory store.

    A spec with errors raises :class:`CompileError` carrying every
    diagnostic; a missing file raises :class:`FileNotFoundError`.

    Call targets (``call "pkg.mod:fn"``) are imported when they first run,
    never here; the spec file's folder is put on ``sys.path`` so that a flow
    finds the Python package that sits beside it, as a script would.

    What those calls may target is ``call_policy``; by default the policy
    configured in ``[tool.fermata.calls]`` of the nearest ``pyproject.toml``
    above the file (for an IR dict: the default policy, which refuses the
    modules of ``fermata.runtime.calls.DEFAULT_DENY``). A malformed
    configuration raises ``fermata.spec.call_policy.ConfigError``.

    ``clock`` (milliseconds since the epoch) is where the runs' recorded
    times come from: when a question was asked, answered, when a deadline
    or timer is due. The default is the system's; tests pass a
    ``fermata.runtime.clock.FakeClock``.

    ``durability`` says which checkpoints are forced to disk: ``"observable"``
    (pauses, ends, once results, accepted answers), ``"step"`` (all) or
    ``"fast"`` (none); docs/guide/durability.md.
    """
    from fermata.runtime import Flow
    from fermata.runtime.clock import default_clock
    from fermata.runtime.records import durability_of

    clock = clock or default_clock

    mode = durability_of(durability)    # a bad name fails before compiling
    if isinstance(source, dict):
        from fermata.spec.call_policy import CallPolicy

        return Flow.from_ir(source, flow=flow, store=store, call_policy=call_policy or CallPolicy(), clock=clock,
                            durability=durability)
    path = Path(source)
    require_file(path)
    if call_policy is None:
        from fermata.spec.call_policy import policy_near

        call_policy = policy_near(path)
    ir = load_ir_file(path) if is_ir_file(path) else _compiled(path, call_policy)
    graph = build_graph(ir, path, flow, store, call_policy, clock)
    graph.durability = mode
    return graph


def _compiled(path: Path, call_policy: CallPolicy) -> dict[str, Any]:
    """``compile_file``'s IR, from the IR cache when the file is unchanged."""
    from .lower.ir_cache import cached_ir

    def compile() -> dict[str, Any]:
        # The parser and checker are imported only on a cache miss.
        from .pipeline import compile_source

        return compile_source(text, path.as_posix(), call_policy)

    text = read_source(path)
    if _USE_LINE.search(text):
        # The IR also depends on the files `use` names, which the cache key
        # (this text's hash) does not cover: compile afresh.
        return compile()
    ir = cached_ir(text, path.as_posix(), call_policy, compile)
    assert ir is not None   # compile_source raises rather than return None
    return ir


def is_ir_file(path: Path) -> bool:
    return path.suffix == ".json"


def require_file(path: Path) -> None:
    # Checked up front so that a `.flow` and an IR file fail alike, and with
    # the path in words rather than an errno.
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a .flow or IR file")
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")


def build_graph(ir: dict[str, Any], path: Path, flow: str | None,
                store: str | Store | None, call_policy: CallPolicy | None = None,
                clock: Clock | None = None) -> Flow:
    """The graph of ``ir``, read from ``path``; its calls obey ``call_policy``,
    by default the one configured for ``path``. Each run records the file's
    absolute path and the sha256 of its text, so that ``fermata resume``
    finds the very file again, from any directory, and sees if it changed."""
    from fermata.runtime import Flow
    from fermata.runtime.clock import default_clock
    from fermata.spec.call_policy import policy_near

    if call_policy is None:
        call_policy = policy_near(path)

    ir_file = is_ir_file(path)
    add_import_root(path.resolve().parent)
    digest = (ir.get("source") or {}).get("sha256") if not ir_file else None
    if not isinstance(digest, str) or _USE_LINE.search(read_source(path)):
        # An IR file's own text; or a spec's text with every file it `use`s,
        # which the compiled text's hash does not cover.
        digest = source_digest(path)
    # An IR file may be hand-written or come from another version: check its
    # shape before building on it (the compiler's own output needs no check).
    graph = Flow.from_ir(ir, flow=flow, store=store, source=Path(os.path.abspath(path)).as_posix(),
                          validate=ir_file, path=path.as_posix(), source_hash=digest,
                          call_policy=call_policy, clock=clock or default_clock)
    if ir_file:
        # Runtime errors carry the *spec's* line numbers: name the spec, not
        # the IR file, or "refund.json:20" would point at an unrelated line.
        graph.path = (ir.get("source") or {}).get("path") or graph.path
    return graph


def source_digest(path: Path) -> str:
    """sha256 of a flow or IR file's text, as the compiler hashes the text
    it compiles (``ir["source"]["sha256"]``); for a spec that ``use``s other
    files, of its text and of every file it reaches through ``use`` (path and
    text, in the order first reached), so that ``fermata resume`` sees a
    changed import as a changed spec."""
    text = read_source(path)
    own = _sha256(text)
    used = _used_files(path, text)
    if not used:
        return own
    combined = [own]
    for file in used:
        try:
            seen = _sha256(read_source(file))
        except (OSError, UnicodeDecodeError):
            seen = "unreadable"     # the compiler reports it; the digest only has to differ
        combined.append(f"\0{file.as_posix()}\0{seen}")
    return sha256_hex("".join(combined).encode())


def uses_others(path: Path) -> bool:
    """Whether the spec in ``path`` has a ``use`` line."""
    try:
        return _USE_LINE.search(read_source(path)) is not None
    except (OSError, UnicodeDecodeError):
        return False


def _sha256(text: str) -> str:
    return sha256_hex(text.encode("utf-8"))


def _used_files(path: Path, text: str) -> list[Path]:
    """The files ``path`` reaches through ``use`` lines, transitively, each
    once (an import cycle, an error of its own, ends here too). Paths are
    resolved as the compiler resolves them: relative to the using file."""
    reached: list[Path] = []
    seen = {Path(os.path.abspath(path))}
    pending = [(Path(os.path.abspath(path)), text)]
    while pending:
        user, user_text = pending.pop(0)
        for match in _USE_LINE.finditer(user_text):
            file = Path(os.path.abspath(user.parent / match.group(1)))
            if file in seen:
                continue
            seen.add(file)
            reached.append(file)
            try:
                pending.append((file, read_source(file)))
            except (OSError, UnicodeDecodeError):
                pass
    return reached


def load_ir_file(path: Path) -> dict[str, Any]:
    """The IR document in ``path``; a :class:`FermataError` naming the file if
    it cannot be read, is not JSON (strictly: no NaN, no lone surrogates) or
    is not an IR document."""
    from fermata.runtime.errors import FermataError

    from .cli.common import loads_strict, not_utf8

    try:
        ir = loads_strict(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise FermataError(f"cannot read IR file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise FermataError(f"cannot read IR file {path}: {not_utf8(exc)}") from None
    except RecursionError:  # Python's JSON parser gives up past ~1,000 levels
        raise FermataError(f"cannot read IR file {path}: it is nested too deeply to be read") from None
    except ValueError as exc:
        raise FermataError(f"cannot read IR file {path}: {exc}") from None
    if not isinstance(ir, dict) or ir.get("fermata_ir") != IR_VERSION or not isinstance(ir.get("flows"), dict):
        raise FermataError(f"{path} is not a Fermata IR file (version {IR_VERSION})")
    return ir


def read_source(path: Path) -> str:
    """``pipeline.read_source`` (the same reading), without importing the compiler."""
    # utf-8-sig: an editor's byte-order mark must not become a syntax error.
    return path.read_text(encoding="utf-8-sig")


def add_import_root(folder: Path) -> None:
    entry = str(folder)
    if entry not in sys.path:
        sys.path.insert(0, entry)
