"""Plain and Frozen (runtime/plain.py): the run's records without
dataclasses, with what dataclasses gave them: ==, repr, replace, as_dict,
a hash for the frozen ones, and frozen fields that refuse a change."""

from __future__ import annotations

from typing import Any, Final

import pytest

from fermata.runtime.plain import Frozen, FrozenInstanceError, Plain


class Point(Plain):
    __slots__ = ("note", "x", "y")
    _unshown = ("note",)

    x: int
    y: int
    note: str

    def __init__(self, x: int, y: int, note: str = "") -> None:
        self.x = x
        self.y = y
        self.note = note


class Point3(Point):
    __slots__ = ("z",)

    z: int

    def __init__(self, x: int, y: int, z: int, note: str = "") -> None:
        super().__init__(x, y, note)
        self.z = z


class Tag(Frozen):
    __slots__ = ("items", "name")

    name: Final[str]
    items: Final[tuple[Any, ...]]

    def __init__(self, name: str, items: tuple[Any, ...] = ()) -> None:
        self.name = name
        self.items = items


def test_equality_and_repr_are_over_the_fields_shown_in_order() -> None:
    assert Point(1, 2, "a") == Point(1, 2, "b")          # `note` is left out, as compare=False
    assert Point(1, 2) != Point(2, 1)
    assert Point(1, 2) != Point3(1, 2, 0)                 # another class is never equal
    assert repr(Point(1, 2, "a")) == "Point(x=1, y=2)"
    assert repr(Point3(1, 2, 3)) == "Point3(x=1, y=2, z=3)"   # the base's fields first


def test_a_mutable_record_is_unhashable_and_a_frozen_one_hashes_by_its_fields() -> None:
    with pytest.raises(TypeError, match="unhashable"):
        hash(Point(1, 2))
    assert hash(Tag("a", (1,))) == hash(Tag("a", (1,)))
    assert len({Tag("a"), Tag("a"), Tag("b")}) == 2


def test_replace_copies_every_field_with_the_changes() -> None:
    point = Point3(1, 2, 3, "kept")
    moved = point.replace(x=9)
    assert (moved.x, moved.y, moved.z, moved.note) == (9, 2, 3, "kept")
    assert (point.x, type(moved)) == (1, Point3)
    with pytest.raises(TypeError):
        point.replace(w=1)


def test_as_dict_turns_nested_records_into_dicts_and_copies_the_rest() -> None:
    inner = [1, {"a": [2]}]
    tag = Tag("t", (Point(1, 2), inner))
    data = tag.as_dict()
    assert data == {"name": "t", "items": ({"x": 1, "y": 2, "note": ""}, [1, {"a": [2]}])}
    data["items"][1][1]["a"].append(3)
    assert inner == [1, {"a": [2]}]                        # a copy, not the record's own list


def test_a_frozen_field_is_set_once_by_init_and_never_changed_or_deleted() -> None:
    tag = Tag("a")
    with pytest.raises(FrozenInstanceError, match="cannot assign to field 'name' of Tag"):
        tag.name = "b"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError, match="cannot delete field 'name'"):
        del tag.name  # type: ignore[misc]
    assert isinstance(FrozenInstanceError("x"), AttributeError)
    assert tag.name == "a"
    assert tag.replace(name="b").name == "b"               # a changed copy is the way


def test_the_runs_public_records_are_frozen() -> None:
    from fermata.runtime import Command
    from fermata.runtime.checkpoint import ThreadInfo

    command = Command(resume=True)
    with pytest.raises(FrozenInstanceError):
        command.resume = False  # type: ignore[misc]
    info = ThreadInfo("t", "f", "h", None, "2025-01-01T00:00:00+00:00")
    with pytest.raises(FrozenInstanceError):
        info.flow = "g"  # type: ignore[misc]
