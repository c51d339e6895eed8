"""Constrained types end to end: compiled to JSON Schema, then enforced on
input, on answers (refused, the run unchanged, every violation listed) and on
checked writes; trusted writes are not checked."""

from __future__ import annotations

from typing import Any

import pytest

from fermata.compiler.pipeline import compile_source
from fermata.runtime import Command, Graph, InputError, ResumeError
from fermata.runtime.program import Program

SPEC = """
type Reason = str(min 1, max 20)

flow signup {
    state {
        name: str(min 1, max 10)
        email: str(format "email")
        age: int(min 18)
        code: str(pattern "^[A-Z]{3}-[0-9]+$")?
        tags: list[str(min 1)](max 2) = []
        note: Reason?
        raw: str = ""
        short: str(max 3) = "abc"
    }

    input name, email, age, code, raw

    node ask {
        let answer = interrupt why "Why?" expect {reason: Reason, day: str(format "date")?}
        set note = answer.reason
        set tags += ["a"]
        set short = raw
    }

    start -> ask
    ask -> end
}
"""

GOOD = {"name": "Ada", "email": "ada@example.com", "age": 36}


@pytest.fixture
def graph(store: Any) -> Graph:
    return Graph.from_ir(compile_source(SPEC), store=store, validate=True)


def test_the_schemas_carry_the_constraints():
    flow = compile_source(SPEC)["flows"]["signup"]
    fields = {f["name"]: f["schema"] for f in flow["fields"]}
    assert flow["defs"]["Reason"] == {"type": "string", "minLength": 1, "maxLength": 20}
    assert fields["name"] == {"type": "string", "minLength": 1, "maxLength": 10}
    assert fields["email"] == {"type": "string", "format": "email"}
    assert fields["age"] == {"type": "integer", "minimum": 18}
    assert fields["code"] == {"anyOf": [{"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"}, {"type": "null"}]}
    assert fields["tags"] == {"type": "array", "items": {"type": "string", "minLength": 1}, "maxItems": 2}
    steps = {s.get("field"): s for s in flow["nodes"]["ask"]["steps"] if s["k"] == "set"}
    # `answer.reason` is a `Reason` already; `+=` may cross `max`; `raw` is any `str`.
    assert (steps["note"]["check"], steps["tags"]["check"], steps["short"]["check"]) == (False, True, True)


def test_input_is_refused_with_every_violation_and_nothing_is_stored(graph: Graph, store: Any):
    with pytest.raises(InputError) as caught:
        graph.invoke({"name": "", "email": "ada", "age": 17, "code": "abc"}, thread="t")
    assert caught.value.problems == [
        '`name`: expected at least 1 character, got ""',
        '`email`: expected a valid email, got "ada"',
        "`age`: expected at least 18, got 17",
        '`code`: expected a string matching the pattern "^[A-Z]{3}-[0-9]+$", got "abc"',
    ]
    assert store.dump("t") == store.dump("never-used")


def test_a_bad_answer_is_refused_and_the_run_stays_as_it_was(graph: Graph, store: Any):
    graph.invoke(GOOD, thread="t")
    before = store.dump("t")
    with pytest.raises(ResumeError) as caught:
        graph.invoke(Command(resume={"reason": "", "day": "2026-02-30"}), thread="t")
    assert caught.value.problems == [
        '`ask:why`: `day`: expected a valid date, got "2026-02-30"',
        '`ask:why`: `reason`: expected at least 1 character, got ""',
    ]
    # The same facts, structured: a form places them without parsing text.
    assert caught.value.located == {"ask:why": [("day", 'expected a valid date, got "2026-02-30"'),
                                                ("reason", 'expected at least 1 character, got ""')]}
    assert store.dump("t") == before
    run = graph.invoke(Command(resume={"reason": "automation", "day": "2026-02-28"}), thread="t")
    assert run.status == "done"
    assert (run.state["note"], run.state["tags"], run.state["short"]) == ("automation", ["a"], "")


def test_a_checked_write_that_breaks_a_constraint_fails_the_node(graph: Graph):
    graph.invoke({**GOOD, "raw": "too long"}, thread="t")
    run = graph.invoke(Command(resume={"reason": "x"}), thread="t")
    assert run.status == "failed"
    assert "the value for `short` does not match its type: expected at most 3 characters" in str(run.error)


def test_an_append_past_max_items_fails_the_node(store: Any):
    spec = SPEC.replace("tags: list[str(min 1)](max 2) = []", 'tags: list[str(min 1)](max 2) = ["x", "y"]')
    graph = Graph.from_ir(compile_source(spec), store=store)
    graph.invoke(GOOD, thread="t")
    run = graph.invoke(Command(resume={"reason": "x"}), thread="t")
    assert run.status == "failed" and "expected at most 2 items" in str(run.error)


def test_an_update_is_checked_against_the_constraints(graph: Graph, store: Any):
    graph.invoke(GOOD, thread="t")
    before = store.dump("t")
    with pytest.raises(Exception, match="expected at most 2 items"):
        graph.invoke(Command(update={"tags": ["a", "b", "c"]}), thread="t")
    assert store.dump("t") == before


PARALLEL = """
flow gather {
    state {
        tags: list[str](max 2) = []
        log: list[str] = []
    }

    node a {
        set tags += ["a"]
        set log += ["a"]
    }

    node b {
        set tags += {{B}}
        set log += ["b"]
    }

    start -> a, b
    a -> end
    b -> end
}
"""


def test_what_parallel_appends_give_together_is_checked(store: Any):
    # Each node's `+=` fits `max 2` on its own; together they hold three items.
    graph = Graph.from_ir(compile_source(PARALLEL.replace("{{B}}", '["b1", "b2"]')), store=store)
    run = graph.invoke({}, thread="t")
    assert run.status == "failed"
    assert run.error is not None and run.error["message"] == (
        "the value the nodes' `+=` give `tags` together does not match its type: "
        'expected at most 2 items, got ["a", "b1", "b2"]')
    fine = Graph.from_ir(compile_source(PARALLEL.replace("{{B}}", '["b"]')), store=store)
    assert fine.invoke({}, thread="u").state["tags"] == ["a", "b"]


def test_only_fields_with_constraints_are_checked_after_parallel_appends():
    flow = Program(compile_source(PARALLEL.replace("{{B}}", "[]"))["flows"]["gather"])
    assert flow.constrained_fields == frozenset({"tags"})


def test_constrains_finds_a_keyword_at_any_depth_through_refs():
    from fermata.runtime.schemas import Schemas

    schemas = Schemas({"Reason": {"type": "string", "minLength": 1}, "Plain": {"type": "string"}})
    assert schemas.constrains({"type": "array", "items": {"$ref": "#/$defs/Reason"}})
    assert schemas.constrains({"anyOf": [{"type": "object", "properties": {"x": {"maximum": 1}}}, {"type": "null"}]})
    assert schemas.constrains({"type": "object", "additionalProperties": {"format": "uuid"}})
    assert not schemas.constrains({"type": "array", "items": {"$ref": "#/$defs/Plain"}})
    assert not schemas.constrains({"type": "string", "enum": ["a"]})
