"""Jinja2 templates in strings (``"risk {{ risk }}"``), sandboxed, strict and bounded.

Each distinct template string is compiled once (cached) and rendered against
the node's view: state fields and locals, locals winning, then Jinja's
globals (``range``, ``dict``, ``namespace``, ``cycler``, ``joiner``). The
view is passed to Jinja as a read-only mapping, so rendering never copies
the state.

The environment is :class:`ImmutableSandboxedEnvironment`: besides the usual
sandbox it refuses to call methods that mutate lists and dicts, because the
runtime shares state values without copying and relies on nobody changing
them in place. ``StrictUndefined`` makes an undefined name an error (the
compiler checks names; a value of type ``any`` can still lack a member).
Values render as ``str()`` shows them: ``true``, ``null``, JSON for lists.

A spec comes from a pull request, so a template must not be able to hold a
worker: ``{{ ('x' * 100000000)|length }}``, nested loops over ``range`` or
``10 ** 10 ** 7`` would. Every render is bounded (the limits below, which
docs/guide/security.md documents): sizes are checked *before* a string,
list or integer is built where an operator or argument announces it
(``*``, ``**``, ``+``, ``%``, a width of 10**8), and a budget of operations
(loop iterations, ``range`` items, items a filter walks, calls) is spent as
the render goes. The same checks stop a render whose node ``timeout`` has
passed, so an abandoned attempt does not burn CPU in the background. A
render over a limit fails its step with :class:`EvalError` on the spec line.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache, wraps
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace, _PassArg

from fermata.spec.templates import LEFT_OUT, TEMPLATE_GLOBALS

from .calls import current_cancel
from .errors import EvalError
from .values import format_value

MAX_OUTPUT = 1_000_000        # characters one render may produce
MAX_SIZE = 1_000_000          # length of any string or list a template builds
MAX_INT_BITS = 10_000         # about 3,000 decimal digits
MAX_ARGUMENT = 100_000        # a width or count given to a filter or method; range() items
MAX_OPERATIONS = 1_000_000    # loop iterations, range items, items filters walk, calls



class _LimitExceeded(Exception):
    """Internal: a render went over a limit; ``render`` names the template."""


class _Budget:
    __slots__ = ("cancel", "left")

    def __init__(self, cancel: threading.Event | None):
        self.left = MAX_OPERATIONS
        self.cancel = cancel


_rendering = threading.local()


def _spend(amount: int = 1) -> None:
    """Charge ``amount`` operations to the render in progress on this thread.
    Outside a render (Jinja folding constants while compiling) nothing may
    run: raising makes Jinja leave the expression for the render."""
    budget: _Budget | None = getattr(_rendering, "budget", None)
    if budget is None:
        raise _LimitExceeded("is not rendering")
    budget.left -= amount
    if budget.left < 0:
        raise _LimitExceeded(f"took more than {MAX_OPERATIONS:,} operations (loop iterations, "
                             "range items, items filters go through, calls)")
    if budget.cancel is not None and budget.cancel.is_set():
        raise _LimitExceeded("was stopped: its node's timeout passed")


def _check_size(value: Any) -> Any:
    if isinstance(value, (str, list, tuple, dict)) and len(value) > MAX_SIZE:
        raise _LimitExceeded(f"built a {type(value).__name__} of {len(value):,} items "
                             f"(at most {MAX_SIZE:,})")
    if type(value) is int and value.bit_length() > MAX_INT_BITS:
        raise _LimitExceeded(f"built an integer of more than {MAX_INT_BITS:,} bits")
    return value


# Filters and string methods whose integer arguments say how big a result to build.
_WIDTH_FILTERS = frozenset({"center", "indent", "batch", "slice", "wordwrap", "truncate"})
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


def _check_widths(what: str, args: Iterable[Any]) -> None:
    for arg in args:
        if type(arg) is int and abs(arg) > MAX_ARGUMENT:
            raise _LimitExceeded(f"passed {arg:,} to `{what}` (at most {MAX_ARGUMENT:,})")


# A width or precision of six digits or more in a format string: `%0100000000d`, `{:>100000000}`.
_PRINTF_WIDE = re.compile(r"%[^a-zA-Z%]*\d{6,}")
_FORMAT_WIDE = re.compile(r"\{[^{}]*:[^{}]*\d{6,}[^{}]*\}")


def _check_format(text: Any, pattern: re.Pattern[str]) -> None:
    if isinstance(text, str) and pattern.search(text):
        raise _LimitExceeded(f"formats with a width over {MAX_ARGUMENT:,}")


def _counted(iterable: Any) -> Iterator[Any]:
    """What a ``{% for %}`` loops over: one operation per iteration."""
    for item in iterable:
        _spend()
        yield item


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_ARGUMENT:
        raise _LimitExceeded(f"asked for a range of {len(numbers):,} numbers (at most {MAX_ARGUMENT:,})")
    _spend(len(numbers))
    return numbers


class _BoundedNamespace(Namespace):
    """``namespace()``: the one way a loop carries a value to its next
    iteration, so the one place a value could double each time round."""

    def __setitem__(self, name: str, value: Any) -> None:
        Namespace.__setitem__(self, name, _check_size(value))


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` charged by the size of the value it goes through, with
    its integer arguments and its result bounded."""
    leading = 0 if _PassArg.from_obj(function) is None else 1   # context/environment first

    @wraps(function)  # keeps `jinja_pass_arg`, which Jinja reads to call it
    def bounded(*args: Any, **kwargs: Any) -> Any:
        value = args[leading] if len(args) > leading else None
        _spend(1 + (len(value) if isinstance(value, (str, list, tuple, dict)) else 0))
        if name in _WIDTH_FILTERS:
            _check_widths(name, [*args[leading + 1:], *kwargs.values()])
        if name == "format":
            _check_format(value, _PRINTF_WIDE)
        return _check_size(function(*args, **kwargs))

    return bounded


def _finalize(value: Any) -> str:
    if isinstance(value, jinja2.Undefined):
        return str(value)  # StrictUndefined raises UndefinedError here
    return format_value(value)


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with every way to make a big value or a long loop bounded."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(undefined=jinja2.StrictUndefined, autoescape=False,
                         keep_trailing_newline=True, finalize=_finalize)
        for name in list(self.globals):
            if name not in TEMPLATE_GLOBALS:
                del self.globals[name]
        self.globals["range"] = _bounded_range
        self.globals["namespace"] = _BoundedNamespace
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()
                        if name not in LEFT_OUT}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        # Every `{% for %}` iterates through `_counted`, so that loops spend
        # the budget even when their bodies do nothing.
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.ImportedName(f"{__name__}._counted"), [loop.iter], [], None, None,
                                   lineno=loop.iter.lineno)
        return tree

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        _spend()
        if operator == "*":
            _check_product(left, right)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "+":
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                _check_length(len(left) + len(right))
        elif operator == "%":
            _check_format(left, _PRINTF_WIDE)
        return _check_size(super().call_binop(context, operator, left, right))

    def call(self, context: jinja2.runtime.Context, obj: Any, /,
             *args: Any, **kwargs: Any) -> Any:
        _spend()
        for arg in (*args, *kwargs.values()):
            _check_size(arg)   # a macro calling itself with `s ~ s` doubles an argument
        # The sandbox hands out `str.format` wrapped; the method is underneath.
        method = getattr(obj, "__wrapped__", obj)
        owner = getattr(method, "__self__", None)
        if isinstance(owner, str):
            name = getattr(method, "__name__", "")
            if name in _WIDTH_METHODS:
                _check_widths(name, [*args, *kwargs.values()])
            elif name in ("format", "format_map"):
                _check_format(owner, _FORMAT_WIDE)
            elif name == "replace" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
                found = owner.count(args[0]) if args[0] else len(owner) + 1
                _check_length(len(owner) + found * (len(args[1]) - len(args[0])))
            elif name == "join" and args and isinstance(args[0], (list, tuple)):
                _check_length(len(owner) * len(args[0]))
        return _check_size(super().call(context, obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        _spend()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _spend()
        return super().getitem(obj, argument)


def _check_length(length: int) -> None:
    if length > MAX_SIZE:
        raise _LimitExceeded(f"would build a value of {length:,} items (at most {MAX_SIZE:,})")


def _check_product(left: Any, right: Any) -> None:
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, (str, list, tuple)) and type(count) in (int, bool):
            _check_length(len(sequence) * count)
            _spend(max(len(sequence) * count, 0))
    if type(left) is int and type(right) is int and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise _LimitExceeded(f"would build an integer of more than {MAX_INT_BITS:,} bits")


def _check_power(base: Any, exponent: Any) -> None:
    if type(base) in (int, bool) and type(exponent) in (int, bool) and exponent > 0 \
            and abs(base) > 1 and base.bit_length() * exponent > MAX_INT_BITS:
        raise _LimitExceeded(f"would build an integer of more than {MAX_INT_BITS:,} bits")


_ENVIRONMENT = BoundedEnvironment()


class ViewMapping(Mapping[str, Any]):
    """A node's view as Jinja's context: locals, then the node's own writes,
    then the state at step start, then the template globals. (A shared
    context reads only this mapping, so the globals must be in it.)"""

    __slots__ = ("_view",)

    def __init__(self, view: Any):
        self._view = view

    def __getitem__(self, name: str) -> Any:
        view = self._view
        if name in view.locals:
            return view.locals[name]
        if name in view.overlay:
            return view.overlay[name]
        if name in view.state:
            return view.state[name]
        return _ENVIRONMENT.globals[name]

    def __contains__(self, name: object) -> bool:
        view = self._view
        return (name in view.locals or name in view.overlay or name in view.state
                or name in _ENVIRONMENT.globals)

    def __iter__(self) -> Iterator[str]:
        view = self._view
        seen = dict.fromkeys(_ENVIRONMENT.globals)
        seen.update(dict.fromkeys(view.state))
        seen.update(dict.fromkeys(view.overlay))
        seen.update(dict.fromkeys(view.locals))
        return iter(seen)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@lru_cache(maxsize=4096)
def _compiled(source: str) -> jinja2.Template:
    return _ENVIRONMENT.from_string(source)


def compile_template(source: str) -> Callable[[Any], str]:
    """``render(view) -> str`` for one template string. A syntax error is
    reported when the graph is built (the compiler has checked it already)."""
    try:
        template = _compiled(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(f"template {source!r} does not parse: {exc.message}") from None
    render_root = template.root_render_func
    shown = source if len(source) <= 80 else source[:79] + "…"

    def render(view: Any) -> str:
        # Template.render would copy the context into a new dict; a shared
        # context reads the view in place.
        context = template.new_context(ViewMapping(view), shared=True)  # type: ignore[arg-type]  # any Mapping works
        outer = getattr(_rendering, "budget", None)
        _rendering.budget = _Budget(current_cancel())
        try:
            parts: list[str] = []
            size = 0
            for part in render_root(context):
                size += len(part)
                if size > MAX_OUTPUT:
                    raise _LimitExceeded(f"renders more than {MAX_OUTPUT:,} characters")
                parts.append(part)
            return "".join(parts)
        except _LimitExceeded as exc:
            raise EvalError(f"template {shown!r} {exc} (templates are bounded: see "
                            "docs/guide/security.md)") from None
        except jinja2.UndefinedError as exc:
            raise EvalError(f"template {source!r}: {exc.message}") from None
        except SecurityError as exc:
            raise EvalError(f"template {source!r} is not allowed: {exc}") from None
        except EvalError:
            raise
        except Exception as exc:  # noqa: BLE001 - a filter misused on a runtime value
            raise EvalError(f"template {source!r} failed: {type(exc).__name__}: {exc}") from None
        finally:
            _rendering.budget = outer

    return render
