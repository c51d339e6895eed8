"""Plain classes for the records a run is made of, instead of dataclasses.

Every class that ``fermata resume`` imports is a plain class with
``__slots__`` and an explicit ``__init__``: importing ``dataclasses`` (it
imports ``inspect``) and building ~25 dataclasses (each one generates and
compiles its methods) cost each start-up ~13 ms, a third of it (#17). An
explicit ``__init__`` builds an object as fast as a dataclass's; a frozen
class's attributes are ``Final``, which ``mypy --strict`` enforces at no run
time cost, and which :class:`Frozen` also enforces at run time (a field is
set once, by ``__init__``). :class:`Plain` gives them what dataclasses gave:
``==``, ``repr``, ``replace``, and (:class:`Frozen`) a hash. Classes off the start-up path (the
compiler, the LSP, the server) stay dataclasses.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self


class Plain:
    """``==`` and ``repr`` over the fields of a class, and ``replace``. The
    fields are the names the class (and its bases) annotate, in order: its
    ``__slots__`` say the same, but ruff sorts them. Its ``__init__`` takes
    each field by that name."""

    __slots__ = ()
    #: Fields left out of ``==`` and ``repr`` (a dataclass's ``compare=False, repr=False``).
    _unshown: ClassVar[tuple[str, ...]] = ()

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _shown(type(self)))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()

    __hash__: ClassVar[None] = None   # type: ignore[assignment]  # mutable: unhashable, as a dataclass

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _shown(type(self)))
        return f"{type(self).__qualname__}({shown})"

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` (``dataclasses.replace``)."""
        return type(self)(**{**{name: getattr(self, name) for name in _names(type(self))}, **changes})

    def as_dict(self) -> dict[str, Any]:
        """Every field, as ``dataclasses.asdict`` gives it: Plain objects in
        it (in lists, tuples and dicts too) as dicts, other values deep-copied."""
        return {name: _as_data(getattr(self, name)) for name in _names(type(self))}


class FrozenInstanceError(AttributeError):
    """A field of a :class:`Frozen` object was assigned or deleted (as
    ``dataclasses.FrozenInstanceError``, an ``AttributeError`` too)."""


class Frozen(Plain):
    """A :class:`Plain` class whose fields never change: each is set once, by
    ``__init__`` (and ``Final`` for the type checker); hashable. Setting a
    field through ``__setattr__`` costs ~0.1 µs more than a plain class's;
    no frozen class is built per step."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(self, name):      # a slot not yet set has no value: __init__ is setting it
            raise FrozenInstanceError(f"cannot assign to field {name!r} of {type(self).__qualname__}: it is frozen")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r} of {type(self).__qualname__}: it is frozen")

    def __hash__(self) -> int:   # type: ignore[override]
        return hash(self._fields())


def _as_data(value: Any) -> Any:
    if isinstance(value, Plain):
        return value.as_dict()
    if isinstance(value, tuple) and hasattr(value, "_fields"):   # a named tuple
        return type(value)(*[_as_data(item) for item in value])
    if isinstance(value, (list, tuple)):
        return type(value)(_as_data(item) for item in value)
    if isinstance(value, dict):
        return type(value)((_as_data(key), _as_data(item)) for key, item in value.items())
    import copy  # here: only tests and tools call as_dict (start-up time, #17)

    return copy.deepcopy(value)


_NAMES: dict[type, tuple[str, ...]] = {}
_SHOWN: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    """The fields of ``cls``, its bases' first."""
    names = _NAMES.get(cls)
    if names is None:
        annotated = (vars(base).get("__annotations__", {}) for base in reversed(cls.__mro__)
                     if base not in (Plain, Frozen, object))
        names = _NAMES[cls] = tuple(dict.fromkeys(name for found in annotated for name in found))
    return names


def _shown(cls: type[Plain]) -> tuple[str, ...]:
    """The fields of ``cls`` that ``==`` and ``repr`` look at."""
    shown = _SHOWN.get(cls)
    if shown is None:
        shown = _SHOWN[cls] = tuple(name for name in _names(cls) if name not in cls._unshown)
    return shown
