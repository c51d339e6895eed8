"""Property: for generated constrained types and answers, the runtime (the
lowered JSON Schema, validated by jsonschema with our format checker) and the
compiler (its own reading of the constraints, used for constants) agree on
which answers break the constraints; a refused answer leaves the run
byte-identical, an accepted one is stored as given."""

from __future__ import annotations

from typing import Any

from fermata.compiler.checks.typecheck import named_types
from fermata.compiler.pipeline import compile_source
from fermata.compiler.semantics import types as T
from fermata.compiler.syntax.parser import parse
from fermata.runtime import Command, Graph, ResumeError
from fermata.spec.formats import FORMATS
from hypothesis import given
from hypothesis import strategies as st

from tests.runtime.memstore import JsonMemoryStore

PATTERNS = ["^[a-c]+$", "b", "^a", "c$", "^[0-9]{2}-[a-z]$", "(ab|ba)"]
ALPHABET = "abc0-9 @:"
FORMAT_SAMPLES = ["ada@example.com", "a@", "https://example.com/x", "example.com", "2024-02-29", "2025-02-29",
                  "2026-03-01T09:30:00Z", "2026-03-01T09:30:00", "123e4567-e89b-12d3-a456-426614174000", "12-a"]


@st.composite
def bounds(draw: st.DrawFn, low: int, high: int, whole: bool = True) -> list[str]:
    """`min`/`max` words within [low, high], min <= max, either may be absent."""
    numbers = st.integers(low, high) if whole else st.one_of(
        st.integers(low, high), st.floats(low, high, allow_nan=False).map(lambda f: round(f, 2)))
    a, b = sorted([draw(numbers), draw(numbers)])
    words = []
    if draw(st.booleans()):
        words.append(f"min {a}")
    if draw(st.booleans()):
        words.append(f"max {b}")
    return words


@st.composite
def string_types(draw: st.DrawFn) -> str:
    words = draw(bounds(0, 6))
    if draw(st.booleans()):
        words.append(f'pattern "{draw(st.sampled_from(PATTERNS))}"')
    if draw(st.booleans()):
        words.append(f'format "{draw(st.sampled_from(list(FORMATS)))}"')
    return f"str({', '.join(words)})" if words else "str"


@st.composite
def number_types(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from(["int", "float"]))
    words = draw(bounds(-5, 5, whole=base == "int"))
    return f"{base}({', '.join(words)})" if words else base


@st.composite
def list_types(draw: st.DrawFn) -> str:
    item = draw(st.one_of(string_types(), number_types()))
    words = draw(bounds(0, 3))
    return f"list[{item}]({', '.join(words)})" if words else f"list[{item}]"


@st.composite
def constrained(draw: st.DrawFn) -> str:
    text = draw(st.one_of(string_types(), number_types(), list_types()))
    if draw(st.booleans()):
        text = f"{{v: {text}}}"
    return text + "?" if draw(st.booleans()) else text


strings = st.one_of(st.text(ALPHABET, max_size=7), st.sampled_from(FORMAT_SAMPLES))
numbers = st.one_of(st.integers(-8, 8), st.floats(-8, 8, allow_nan=False).map(lambda f: round(f, 1)))
scalars = st.one_of(strings, numbers)
answers = st.one_of(scalars, st.lists(scalars, max_size=4), st.none(),
                    st.builds(lambda v: {"v": v}, st.one_of(scalars, st.lists(scalars, max_size=4))))

SPEC = """
flow f {{
    state {{
        n: int = 0
    }}

    node a {{
        let answer = interrupt q "?" expect {t}
        set n = 1
    }}

    start -> a
    a -> end
}}
"""


def static_type(text: str) -> T.FType:
    module, problems = parse(f"type X = {text}")
    assert module is not None and not problems
    return T.resolve(module.types[0].type, named_types(module))


def fits_base(value: Any, t: T.FType) -> bool:
    """Whether ``value`` has ``t``'s shape, constraints aside (the runtime
    also refuses other shapes; the compiler's constant check assumes it)."""
    if value is None:
        return T.is_optional(t)
    t = T.strip_optional(t)
    if isinstance(value, bool):
        return False
    if t == T.STR:
        return isinstance(value, str)
    if t == T.INT:
        return isinstance(value, int) or isinstance(value, float) and value.is_integer()
    if t == T.FLOAT:
        return isinstance(value, (int, float))
    if isinstance(t, T.ListT):
        return isinstance(value, list) and all(fits_base(v, t.item) for v in value)
    if isinstance(t, T.RecordT):
        return isinstance(value, dict) and set(value) == {"v"} and fits_base(value["v"], t.field_types["v"])
    return False


def shaped(t: T.FType) -> st.SearchStrategy[Any]:
    """Answers of ``t``'s shape, constraints aside: most break or meet them
    by a little, which is where the two readings could differ."""
    if T.is_optional(t):
        return st.one_of(st.none(), shaped(T.strip_optional(t)))
    if t == T.STR:
        return strings
    if t == T.INT:
        return st.integers(-8, 8)
    if t == T.FLOAT:
        return numbers
    if isinstance(t, T.ListT):
        return st.lists(shaped(t.item), max_size=4)
    assert isinstance(t, T.RecordT)
    return st.fixed_dictionaries({"v": shaped(t.field_types["v"])})


@given(constrained(), st.data())
def test_runtime_and_compiler_agree_and_a_refused_answer_changes_nothing(type_text: str, data: st.DataObject):
    t = static_type(type_text)
    answer = data.draw(st.one_of(shaped(t), answers))
    ir = compile_source(SPEC.format(t=type_text))
    graph = Graph.from_ir(ir, store=JsonMemoryStore())
    graph.invoke({}, thread="t")
    store = graph.store
    before = store.dump("t")  # type: ignore[attr-defined]
    try:
        run = graph.invoke(Command(resume=answer), thread="t")
    except ResumeError as refused:
        assert refused.problems, "a refusal names its reasons"
        assert store.dump("t") == before  # type: ignore[attr-defined]
        if fits_base(answer, t):
            assert T.constant_problems(answer, t), (type_text, answer, refused.problems)
        return
    assert run.status == "done"
    assert fits_base(answer, t) and T.constant_problems(answer, t) == [], (type_text, answer)
