"""Plain classes for the records a run is made of, instead of dataclasses.

Every class that ``fermata resume`` imports is a plain class with
``__slots__`` and an explicit ``__init__``: importing ``dataclasses`` (it
imports ``inspect``) and building ~25 dataclasses (each one generates and
compiles its methods) cost each start-up ~13 ms, a third of it (#17). An
explicit ``__init__`` builds an object as fast as a dataclass's; a frozen
class's attributes are ``Final``, which ``mypy --strict`` enforces at no run
time cost. :class:`Plain` gives them what dataclasses gave: ``==``, ``repr``,
``replace``, and (:class:`Frozen`) a hash. Classes off the start-up path (the
compiler, the LSP, the server) stay dataclasses.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self


class Plain:
    """``==`` and ``repr`` over the fields of a class, and ``replace``. The
    fields are the names the class annotates, in order (its ``__slots__``,
    which ruff sorts); its ``__init__`` takes each by that name."""

    __slots__ = ()
    #: Fields left out of ``==`` and ``repr`` (a dataclass's ``compare=False, repr=False``).
    _unshown: ClassVar[tuple[str, ...]] = ()

    def _fields(self) -> tuple[Any, ...]:
        unshown = self._unshown
        return tuple(getattr(self, name) for name in type(self).__annotations__ if name not in unshown)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()

    __hash__: ClassVar[None] = None   # type: ignore[assignment]  # mutable: unhashable, as a dataclass

    def __repr__(self) -> str:
        unshown = self._unshown
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in type(self).__annotations__
                          if name not in unshown)
        return f"{type(self).__qualname__}({shown})"

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` (``dataclasses.replace``)."""
        return type(self)(**{**{name: getattr(self, name) for name in type(self).__annotations__}, **changes})


class Frozen(Plain):
    """A :class:`Plain` class whose fields never change (``Final``): hashable."""

    __slots__ = ()

    def __hash__(self) -> int:   # type: ignore[override]
        return hash(self._fields())
