"""Jinja2 templates in strings (``"risk {{ risk }}"``), sandboxed and strict.

Each distinct template string is compiled once (cached) and rendered against
the node's view: state fields and locals, locals winning. The view is passed
to Jinja as a read-only mapping, so rendering never copies the state.

The environment is :class:`ImmutableSandboxedEnvironment`: besides the usual
sandbox it refuses to call methods that mutate lists and dicts, because the
runtime shares state values without copying and relies on nobody changing
them in place. ``StrictUndefined`` makes an undefined name an error (the
compiler checks names; a value of type ``any`` can still lack a member).
Values render as ``str()`` shows them: ``true``, ``null``, JSON for lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .errors import EvalError
from .values import format_value


def _finalize(value: Any) -> str:
    if isinstance(value, jinja2.Undefined):
        return str(value)  # StrictUndefined raises UndefinedError here
    return format_value(value)


_ENVIRONMENT = ImmutableSandboxedEnvironment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    finalize=_finalize,
)
# `lipsum()` is random: a template using it would render differently on a
# replay. Every other Jinja global is deterministic.
_ENVIRONMENT.globals.pop("lipsum", None)


class ViewMapping(Mapping[str, Any]):
    """A node's view as Jinja's context: locals, then the node's own writes,
    then the state at step start."""

    __slots__ = ("_view",)

    def __init__(self, view: Any):
        self._view = view

    def __getitem__(self, name: str) -> Any:
        view = self._view
        if name in view.locals:
            return view.locals[name]
        if name in view.overlay:
            return view.overlay[name]
        return view.state[name]

    def __contains__(self, name: object) -> bool:
        view = self._view
        return name in view.locals or name in view.overlay or name in view.state

    def __iter__(self) -> Iterator[str]:
        view = self._view
        seen = dict.fromkeys(view.state)
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
    concat = _ENVIRONMENT.concat

    def render(view: Any) -> str:
        # Template.render would copy the context into a new dict; a shared
        # context reads the view in place.
        context = template.new_context(ViewMapping(view), shared=True)  # type: ignore[arg-type]  # any Mapping works
        try:
            return concat(render_root(context))  # type: ignore[no-any-return]
        except jinja2.UndefinedError as exc:
            raise EvalError(f"template {source!r}: {exc.message}") from None
        except SecurityError as exc:
            raise EvalError(f"template {source!r} is not allowed: {exc}") from None
        except EvalError:
            raise
        except Exception as exc:  # noqa: BLE001 - a filter misused on a runtime value
            raise EvalError(f"template {source!r} failed: {type(exc).__name__}: {exc}") from None

    return render
