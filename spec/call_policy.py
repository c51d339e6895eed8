"""Which Python a spec may ``call``: the call policy, and where it is configured.

A spec arrives in a pull request like code, and ``call "pkg.mod:fn"`` can name
anything importable (``os:system``, ``builtins:eval``). The policy is the
reviewers' rule for what a spec may call, applied in three places that must
agree, which is why it lives here, beside the grammar, rather than in the
compiler or the runtime alone:

* ``fermata check`` reports each call the policy refuses (F452), without
  importing anything;
* the runtime refuses such a call when the step runs, *before* importing the
  module (importing a module runs its code), and once more after importing,
  on the module that really defines the function, so that a re-export
  (``from os import system`` in your module) does not slip through;
* ``fermata run/resume/replay/check`` and ``load()`` read it from the
  ``[tool.fermata]`` table of the nearest ``pyproject.toml`` above the spec.

A pattern is ``pkg.mod`` (the module and its submodules), an exact target
``pkg.mod:fn``, or a glob over either (``refunds.*``, ``pkg.mod:score_*``).
A call must match an ``allow`` pattern (default: ``*``, everything) and no
``deny`` pattern (default: :data:`DEFAULT_DENY`, plus the configured ones).
An ``allow`` entry naming one target exactly (no glob) beats the deny-list:
``allow = ["refunds", "os.path:join"]`` allows ``os.path:join`` and nothing
else of ``os``. A glob or a module prefix never does, so ``allow = ["*"]``
cannot switch the deny-list off by accident.

This module imports only the standard library: ``check`` uses it without
loading the runtime.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Final

# Modules no workflow step should call: they run commands or code, load
# code, reach into the interpreter or the process, touch files, sockets or
# other machines. (C modules that the public ones re-export from, such as
# `posix` for `os`, are listed too: the runtime also checks the module that
# really defines the function.) A deny-list is never complete; a repository
# that takes specs from pull requests should keep an `allow` list too.
DEFAULT_DENY: tuple[str, ...] = (
    # running commands, code or debuggers
    "builtins", "os", "posix", "nt", "subprocess", "_posixsubprocess", "pty", "runpy", "code",
    "codeop", "timeit", "doctest", "pdb", "bdb", "trace", "cProfile", "profile", "pydoc",
    "webbrowser",
    # loading code, the interpreter itself
    "importlib", "_imp", "_frozen_importlib", "_frozen_importlib_external", "pkgutil",
    "zipimport", "site", "sys", "gc", "ctypes", "_ctypes", "signal", "_signal", "atexit",
    "faulthandler", "threading", "_thread", "multiprocessing", "_multiprocessing",
    "concurrent", "asyncio", "logging.config",
    # deserialising objects (runs code), files
    "pickle", "_pickle", "marshal", "shelve", "copyreg", "io", "_io", "shutil", "tempfile",
    "pathlib", "fcntl", "mmap",
    # the network
    "socket", "_socket", "ssl", "urllib", "http", "ftplib", "smtplib", "poplib", "imaplib",
    "xmlrpc", "socketserver",
    # Fermata itself: its runtime can call anything on a spec's behalf
    "fermata",
)

_GLOB = re.compile(r"[*?\[]")
_PATTERN = re.compile(r"[\w.*?\[\]!]+(:[\w*?\[\]!]+)?")


class ConfigError(ValueError):
    """``[tool.fermata]`` or a pattern is malformed (a usage error, never ignored)."""


def check_pattern(pattern: object, where: str) -> str:
    """``pattern`` if it is a well-formed target pattern, else :class:`ConfigError`."""
    if not isinstance(pattern, str) or not _PATTERN.fullmatch(pattern) or pattern.startswith((".", ":")):
        raise ConfigError(f"{where}: {pattern!r} is not a call pattern (write `pkg.mod`, "
                          "`pkg.mod:function` or a glob such as `pkg.*`)")
    return pattern


def is_exact(pattern: str) -> bool:
    """A pattern naming one function exactly: the only kind that beats the deny-list."""
    return ":" in pattern and not _GLOB.search(pattern)


def matches(pattern: str, module: str, function: str | None) -> bool:
    """Whether ``pattern`` covers ``module:function`` (``function`` None: the
    module as a whole, as when checking where a function is defined)."""
    if ":" in pattern:
        return function is not None and fnmatchcase(f"{module}:{function}", pattern)
    if _GLOB.search(pattern):
        return fnmatchcase(module, pattern)
    return module == pattern or module.startswith(pattern + ".")


class CallPolicy:
    """What a spec may call. ``CallPolicy()`` is the default: anything but
    :data:`DEFAULT_DENY`. ``source`` names where it was configured (messages).

    Immutable (``Final``), compared and hashed by its three fields. Not a
    dataclass: ``fermata resume`` imports this module, and ``dataclasses``
    costs its start-up (``runtime/plain.py`` says more)."""

    __slots__ = ("_decided", "allow", "deny", "source")

    allow: Final[tuple[str, ...]]
    deny: Final[tuple[str, ...]]
    source: Final[str | None]

    def __init__(self, allow: tuple[str, ...] = ("*",), deny: tuple[str, ...] = DEFAULT_DENY,
                 source: str | None = None) -> None:
        for pattern in allow:
            check_pattern(pattern, "allow")
        for pattern in deny:
            check_pattern(pattern, "deny")
        self.allow = allow
        self.deny = deny
        self.source = source
        # target -> refusal (None: allowed); a policy decides each target once.
        self._decided: dict[str, str | None] = {}

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, CallPolicy)
        return (self.allow, self.deny, self.source) == (other.allow, other.deny, other.source)

    def __hash__(self) -> int:
        return hash((self.allow, self.deny, self.source))

    def __repr__(self) -> str:
        return f"CallPolicy(allow={self.allow!r}, deny={self.deny!r}, source={self.source!r})"

    @classmethod
    def configured(cls, allow: Iterable[str] | None = None, deny: Iterable[str] = (),
                   source: str | None = None) -> CallPolicy:
        """The policy of a configuration: ``allow`` None means everything;
        ``deny`` adds to the default deny-list."""
        return cls(allow=("*",) if allow is None else tuple(allow),
                   deny=DEFAULT_DENY + tuple(p for p in deny if p not in DEFAULT_DENY), source=source)

    def also_allowing(self, patterns: Iterable[str]) -> CallPolicy:
        """This policy plus ``--allow-call`` patterns: they only ever add
        (with no ``allow`` list configured they are exceptions to the
        deny-list, which only exact targets can be)."""
        extra = tuple(p for p in patterns if p not in self.allow)
        for pattern in extra:
            check_pattern(pattern, "--allow-call")
        return CallPolicy(self.allow + extra, self.deny, self.source) if extra else self

    def refusal(self, target: str) -> str | None:
        """Why ``target`` (``pkg.mod:fn``) may not be called, or None. Decided
        from the name alone: nothing is imported."""
        if target in self._decided:
            return self._decided[target]
        module, _, function = target.partition(":")
        refusal = None
        if target not in self.allow:   # an exact allow beats the deny-list
            denied = next((p for p in self.deny if matches(p, module, function)), None)
            if denied is not None:
                refusal = (f'call "{target}" is refused by the call policy: `{denied}` is on its '
                           f"deny-list{self._where()}")
            elif not any(matches(p, module, function) for p in self.allow):
                refusal = (f'call "{target}" is refused by the call policy: it matches no `allow` '
                           f"pattern{self._where()}")
        self._decided[target] = refusal
        return refusal

    def refusal_of_definition(self, target: str, defined_in: str | None) -> str | None:
        """Why ``target``, found to be a function of module ``defined_in``
        (its ``__module__``, after importing), may not be called, or None."""
        if not defined_in or target in self.allow:
            return None
        module = target.partition(":")[0]
        if defined_in == module:
            return None   # judged by its name already
        key = f"{target} in {defined_in}"   # a space never occurs in a target
        if key not in self._decided:
            denied = next((p for p in self.deny if ":" not in p and matches(p, defined_in, None)), None)
            self._decided[key] = None if denied is None else (
                f'call "{target}" is refused by the call policy: it is a function of module '
                f"`{defined_in}`, and `{denied}` is on its deny-list{self._where()}")
        return self._decided[key]

    def how_to_allow(self, target: str) -> str:
        """The fix to show beside a refusal."""
        return (f'if the spec really must call it, name it exactly: `allow = ["{target}"]` under '
                f"[tool.fermata.calls] in pyproject.toml (or `--allow-call {target}`); "
                "otherwise call a function of your own package")

    def _where(self) -> str:
        return f" (configured in {self.source})" if self.source else ""


# --------------------------------------------------------------------------
# [tool.fermata] in pyproject.toml
# --------------------------------------------------------------------------


def find_config(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """The nearest ``pyproject.toml`` at or above folder ``start`` that has a
    ``[tool.fermata]`` table, and that table. A ``pyproject.toml`` without
    one is passed over (as ruff does), so a tool's own file deeper in a
    repository does not switch the repository's policy off."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if not candidate.is_file():
            continue
        import tomllib  # here: most runs find no pyproject.toml, and start-up counts

        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {candidate}: {exc}") from None
        table = data.get("tool", {}).get("fermata") if isinstance(data.get("tool"), dict) else None
        if table is not None:
            if not isinstance(table, dict):
                raise ConfigError(f"{candidate}: [tool.fermata] must be a table")
            return candidate, table
    return None


def policy_from_table(table: dict[str, Any], source: str) -> CallPolicy:
    """The policy of a ``[tool.fermata]`` table (its ``calls`` entry)."""
    calls = table.get("calls", {})
    if not isinstance(calls, dict):
        raise ConfigError(f"{source}: [tool.fermata] calls must be a table: "
                          'calls = {allow = ["pkg"], deny = ["pkg.mod"]}')
    unknown = sorted(set(calls) - {"allow", "deny"})
    if unknown:
        raise ConfigError(f"{source}: [tool.fermata.calls] has no setting "
                          + ", ".join(f"`{k}`" for k in unknown) + " (it has `allow` and `deny`)")
    lists: dict[str, list[str] | None] = {}
    for key in ("allow", "deny"):
        value = calls.get(key)
        if value is not None and not (isinstance(value, list)):
            raise ConfigError(f"{source}: [tool.fermata.calls] {key} must be a list of patterns")
        lists[key] = None if value is None else [check_pattern(p, f"{source}: calls.{key}") for p in value]
    return CallPolicy.configured(lists["allow"], lists["deny"] or (), source=source)


def policy_near(spec: Path, allow: Iterable[str] = ()) -> CallPolicy:
    """The policy for the spec file ``spec``: its project's configuration
    (or the default), plus the ``--allow-call`` patterns ``allow``."""
    found = find_config(spec.resolve().parent)
    policy = CallPolicy() if found is None else policy_from_table(found[1], found[0].as_posix())
    return policy.also_allowing(allow)
