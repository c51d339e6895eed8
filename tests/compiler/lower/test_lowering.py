"""Lowering: the IR's shape for every step and expression kind, routes and
joins, defaults, the runtime `check` flag, and the JSON Schemas of types."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from fermata.compiler.lower.lowering import (
    IR_VERSION,
    constant_value,
    dumps,
    type_schema,
)
from fermata.compiler.pipeline import compile_source
from fermata.compiler.syntax import ast

REPO = Path(__file__).resolve().parents[3]
IR_SCHEMA = json.loads((REPO / "spec" / "ir.schema.json").read_text(encoding="utf-8"))

SINK = textwrap.dedent('''\
    # Every construct once.
    type Level = "low" | "mid" | "high"
    type Address = {city: str, zip: str?}
    type Person = {name: str, address: Address, tags: list[str], scores: map[float]}
    type Unused = {never: int}

    flow sink {
        """Exercise the lowering."""

        state {
            count: int = 0
            ratio: float = -1.5
            name: str = "n"
            flag: bool = true
            tags: list[str] = ["a", "b"]
            table: map[int] = {one: 1, two: 2}
            level: Level = "low"
            person: Person?
            note: str?
            blob: any
            required: int
        }

        input count, required, note
        output count, person

        node first retry 2 backoff 250ms timeout 2s {
            """The first node."""
            let n = count + 1
            set count = n
            call "m.sub:plain"
            let r = call once "m.sub:fn"(count, name, limit=3, label="x {{ name }}")
            set ratio = r
            set tags += [r]
            set blob = r
            let p = interrupt ask_person {q: name, n: [1, 2]} expect Person
            set person = p
            interrupt heads_up
            let lvl = interrupt pick "pick one" expect Level
            set level = lvl
            if not flag and count >= 2 {
                set name = upper(name)
            } else {
                fail "bad {{ count }}"
            }
            set note = p.address.zip ?? "none"
            set count += len(tags) % 3 - -count
            set flag = "a" in tags
            set ratio = table["one"] / 2
            set name = tags[0]
        }
        node second {
            set count = 2
        }
        node third {
            set count = 3
        }
        node fourth {
            set ratio = 4.0
        }
        node fin {
            set tags += ["done"]
        }

        start -> first
        first -> second when count > 1
        first -> third, fourth when flag
        first -> end otherwise
        second -> third
        second -> fourth
        third, fourth -> fin
        fin -> end

        interrupt before second, third
        interrupt after fourth
    }
    ''')


def lower(text: str) -> dict[str, Any]:
    return compile_source(text, "t.flow")


def only_flow(text: str) -> dict[str, Any]:
    (flow,) = lower(text)["flows"].values()
    return flow


def line_of(text: str, needle: str) -> int:
    return next(i for i, row in enumerate(text.splitlines(), 1) if needle in row)


def small(steps: str, state: str = "count: int = 0", edges: str = "start -> a\na -> end") -> str:
    state, steps = textwrap.indent(state, " " * 8), textwrap.indent(steps, " " * 8)
    edges = textwrap.indent(edges, " " * 4)
    return f"flow f {{\n    state {{\n{state}\n    }}\n    node a {{\n{steps}\n    }}\n{edges}\n}}\n"


def steps_of(text: str, node: str = "a") -> list[dict[str, Any]]:
    return only_flow(text)["nodes"][node]["steps"]


@pytest.fixture(scope="module")
def sink() -> dict[str, Any]:
    return only_flow(SINK)


@pytest.fixture(scope="module")
def first(sink) -> list[dict[str, Any]]:
    return sink["nodes"]["first"]["steps"]


# ------------------------------------------------------------ the document


def test_the_document_validates_against_the_ir_schema():
    ir = lower(SINK)
    jsonschema.Draft202012Validator.check_schema(IR_SCHEMA)
    jsonschema.Draft202012Validator(IR_SCHEMA).validate(ir)
    assert ir["fermata_ir"] == IR_VERSION == 1
    assert ir["source"]["path"] == "t.flow"
    import hashlib

    assert ir["source"]["sha256"] == hashlib.sha256(SINK.encode("utf-8")).hexdigest()


def test_the_schema_check_can_fail():
    ir = lower(SINK)
    ir["flows"]["sink"]["nodes"]["first"]["steps"][0]["k"] = "lett"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(IR_SCHEMA).validate(ir)


def test_dumps_is_canonical():
    ir = lower(SINK)
    text = dumps(ir)
    assert text.endswith("}\n") and json.loads(text) == ir
    # Keys sorted at every level, whatever order the dicts were built in.
    shuffled = json.loads(json.dumps(ir), object_pairs_hook=lambda pairs: dict(reversed(pairs)))
    assert dumps(shuffled) == text
    assert dumps(lower(SINK)) == text


def test_dumps_refuses_non_json_numbers():
    with pytest.raises(ValueError):
        dumps({"v": float("inf")})


def test_flow_header(sink):
    assert sink["name"] == "sink" and sink["doc"] == "Exercise the lowering."
    assert sink["line"] == line_of(SINK, "flow sink {")
    assert sink["input"] == ["count", "required", "note"]
    assert sink["required_input"] == ["required"]
    assert sink["output"] == ["count", "person"]
    assert sink["interrupt_before"] == ["second", "third"]
    assert sink["interrupt_after"] == ["fourth"]


def test_input_and_output_default_to_every_field():
    flow = only_flow(small("set count = 1", state="count: int\nname: str = \"\"\nnote: str?"))
    assert flow["input"] == flow["output"] == ["count", "name", "note"]
    assert flow["required_input"] == ["count"]
    assert flow["doc"] is None


# ------------------------------------------------------------ fields and defaults


def test_fields_defaults_and_positions(sink):
    fields = {f["name"]: f for f in sink["fields"]}
    assert [f["name"] for f in sink["fields"]] == ["count", "ratio", "name", "flag", "tags", "table",
                                                   "level", "person", "note", "blob", "required"]
    assert {name: (f["has_default"], f["default"], f["optional"]) for name, f in fields.items()} == {
        "count": (True, 0, False), "ratio": (True, -1.5, False), "name": (True, "n", False),
        "flag": (True, True, False), "tags": (True, ["a", "b"], False),
        "table": (True, {"one": 1, "two": 2}, False), "level": (True, "low", False),
        # `T?` and `any` without a default start as null.
        "person": (False, None, True), "note": (False, None, True), "blob": (False, None, True),
        "required": (False, None, False),
    }
    for name, f in fields.items():
        assert f["line"] == line_of(SINK, f"        {name}: "), name


def test_constant_value():
    assert constant_value(ast.Literal(3)) == 3
    assert constant_value(ast.Unary("-", ast.Literal(2.5))) == -2.5
    assert constant_value(ast.ListExpr((ast.Literal("a"), ast.Literal(None)))) == ["a", None]
    assert constant_value(ast.RecordExpr((ast.RecordEntry("k", ast.ListExpr(())),))) == {"k": []}
    with pytest.raises(ValueError):
        constant_value(ast.Name("x"))


# ------------------------------------------------------------ schemas


def test_field_schemas_refer_to_defs(sink):
    fields = {f["name"]: f["schema"] for f in sink["fields"]}
    assert fields["count"] == {"type": "integer"}
    assert fields["ratio"] == {"type": "number"}
    assert fields["tags"] == {"type": "array", "items": {"type": "string"}}
    assert fields["table"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert fields["level"] == {"$ref": "#/$defs/Level"}
    assert fields["person"] == {"anyOf": [{"$ref": "#/$defs/Person"}, {"type": "null"}]}
    assert fields["blob"] == {}
    # Every declared type a flow uses, and what those use in turn; no other.
    assert sorted(sink["defs"]) == ["Address", "Level", "Person"]
    assert sink["defs"]["Person"]["properties"]["address"] == {"$ref": "#/$defs/Address"}
    assert sink["defs"]["Address"] == {
        "type": "object", "additionalProperties": False, "required": ["city"],
        "properties": {"city": {"type": "string"}, "zip": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}
    assert sink["defs"]["Level"] == {"type": "string", "enum": ["low", "mid", "high"]}


PERSON = {"name": "Ada", "address": {"city": "London"}, "tags": [], "scores": {"x": 1.5}}


def test_field_schemas_validate_values_with_the_defs_beside_them(sink):
    schema = {"$defs": sink["defs"], **next(f for f in sink["fields"] if f["name"] == "person")["schema"]}
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid(PERSON) and validator.is_valid(None)
    assert not validator.is_valid({**PERSON, "address": {"city": 3}})
    assert not validator.is_valid({**PERSON, "extra": 1})
    assert not validator.is_valid({"name": "Ada"})


def test_interrupt_schemas_are_self_contained(first):
    interrupts = [s for s in first if s["k"] == "interrupt"]
    assert [s["label"] for s in interrupts] == ["ask_person", "heads_up", "pick"]
    person, heads_up, pick = (s["schema"] for s in interrupts)
    assert "$ref" not in json.dumps(person) and "$ref" not in json.dumps(pick)
    assert heads_up is None
    assert pick == {"type": "string", "enum": ["low", "mid", "high"]}
    # Usable on its own, with no defs around it.
    validator = jsonschema.Draft202012Validator(person)
    assert validator.is_valid(PERSON)
    assert not validator.is_valid({**PERSON, "address": {"zip": "x"}})


def test_type_schema_of_each_type_node():
    named = ast.NamedType("Thing")
    assert type_schema(ast.NamedType("str")) == {"type": "string"}
    assert type_schema(ast.NamedType("bool")) == {"type": "boolean"}
    assert type_schema(ast.NamedType("any")) == {}
    assert type_schema(named) == {"$ref": "#/$defs/Thing"}
    assert type_schema(named, {"Thing": ast.NamedType("int")}) == {"type": "integer"}
    assert type_schema(ast.OptionalType(ast.ListType(named)), {"Thing": ast.NamedType("float")}) == {
        "anyOf": [{"type": "array", "items": {"type": "number"}}, {"type": "null"}]}
    assert type_schema(ast.LiteralUnion(("a", "b"))) == {"type": "string", "enum": ["a", "b"]}
    with pytest.raises(TypeError):
        type_schema(ast.Literal(1))  # type: ignore[arg-type]


# ------------------------------------------------------------ steps


def test_every_step_has_its_position(first):
    def walk(steps):
        for step in steps:
            yield step
            if step["k"] == "if":
                yield from walk(step["then"])
                yield from walk(step["else"])

    rows = SINK.splitlines()
    for step in walk(first):
        row = rows[step["line"] - 1]
        keyword = {"call": "call", "interrupt": "interrupt"}.get(step["k"], step["k"])
        # A bound call or interrupt starts at its `let`.
        assert row[step["column"] - 1:].startswith((keyword, "let")), (step["k"], row)


def test_let_and_set(first):
    let, set_ = first[0], first[1]
    assert let == {"k": "let", "name": "n", "line": let["line"], "column": 9,
                   "value": {"k": "bin", "op": "+", "l": {"k": "field", "n": "count"},
                             "r": {"k": "lit", "v": 1}}}
    assert set_ == {"k": "set", "field": "count", "op": "=", "value": {"k": "local", "n": "n"},
                    "check": False, "line": let["line"] + 1, "column": 9}
    append = next(s for s in first if s["k"] == "set" and s["op"] == "+=" and s["field"] == "count")
    assert append["value"]["op"] == "-"


def test_calls(first):
    plain, bound = (s for s in first if s["k"] == "call")
    assert {k: v for k, v in plain.items() if k not in ("line", "column")} == {
        "k": "call", "target": "m.sub:plain", "args": None, "kwargs": [], "once": False, "bind": None}
    assert {k: v for k, v in bound.items() if k not in ("line", "column")} == {
        "k": "call", "target": "m.sub:fn", "once": True, "bind": "r",
        "args": [{"k": "field", "n": "count"}, {"k": "field", "n": "name"}],
        "kwargs": [["limit", {"k": "lit", "v": 3}], ["label", {"k": "tmpl", "src": "x {{ name }}"}]]}
    assert bound["line"] == line_of(SINK, 'call once "m.sub:fn"')
    # An empty argument list is a call with no arguments, not the state form.
    (step,) = steps_of(small('call "m:f"()'))
    assert step["args"] == []


def test_interrupts(first):
    ask, heads_up, pick = (s for s in first if s["k"] == "interrupt")
    assert ask["bind"] == "p" and ask["payload"] == {"k": "record", "items": [
        ["q", {"k": "field", "n": "name"}],
        ["n", {"k": "list", "items": [{"k": "lit", "v": 1}, {"k": "lit", "v": 2}]}]]}
    assert (heads_up["bind"], heads_up["payload"], heads_up["schema"]) == (None, None, None)
    assert pick["bind"] == "lvl" and pick["payload"] == {"k": "lit", "v": "pick one"}


def test_if_else_and_fail(first):
    (branch,) = (s for s in first if s["k"] == "if")
    assert branch["cond"] == {"k": "bin", "op": "and",
                              "l": {"k": "not", "e": {"k": "field", "n": "flag"}},
                              "r": {"k": "bin", "op": ">=", "l": {"k": "field", "n": "count"},
                                    "r": {"k": "lit", "v": 2}}}
    (then,) = branch["then"]
    assert then["value"] == {"k": "fn", "n": "upper", "a": [{"k": "field", "n": "name"}]}
    assert branch["else"] == [{"k": "fail", "message": {"k": "tmpl", "src": "bad {{ count }}"},
                               "line": line_of(SINK, "fail \"bad"), "column": 13}]
    (step,) = steps_of(small("if count > 1 {\n    set count = 0\n}"))
    assert step["else"] == []


def test_expressions(first):
    values = {s["line"]: s["value"] for s in first if s["k"] == "set"}
    assert values[line_of(SINK, "set note =")] == {
        "k": "bin", "op": "??", "r": {"k": "lit", "v": "none"},
        "l": {"k": "get", "n": "zip", "o": {"k": "get", "n": "address", "o": {"k": "local", "n": "p"}}}}
    assert values[line_of(SINK, "set count += len")]["r"] == {"k": "neg", "e": {"k": "field", "n": "count"}}
    assert values[line_of(SINK, "set flag =")] == {"k": "bin", "op": "in", "l": {"k": "lit", "v": "a"},
                                                   "r": {"k": "field", "n": "tags"}}
    assert values[line_of(SINK, "set ratio = table")]["l"] == {
        "k": "index", "o": {"k": "field", "n": "table"}, "i": {"k": "lit", "v": "one"}}


def test_a_string_with_braces_but_no_template_is_a_literal():
    (step,) = steps_of(small('set name = "{ not a template }"', state='name: str = ""'))
    assert step["value"] == {"k": "lit", "v": "{ not a template }"}


def test_locals_and_fields_are_told_apart_per_node():
    text = small("let x = count\nset count = x")
    let, set_ = steps_of(text)
    assert let["value"] == {"k": "field", "n": "count"}
    assert set_["value"] == {"k": "local", "n": "x"}


def test_node_settings(sink):
    first, second = sink["nodes"]["first"], sink["nodes"]["second"]
    assert (first["retry"], first["backoff_ms"], first["timeout_ms"], first["doc"]) == (
        2, 250, 2000, "The first node.")
    assert (second["retry"], second["backoff_ms"], second["timeout_ms"], second["doc"]) == (
        0, 0, None, None)
    assert first["line"] == line_of(SINK, "node first")
    assert list(sink["nodes"]) == ["first", "second", "third", "fourth", "fin"]


# ------------------------------------------------------------ `check`


@pytest.mark.parametrize("state, steps, expected", [
    # A value of static type `any` written to a typed field: checked at run time.
    ("x: int = 0", 'let r = call "m:f"()\nset x = r', True),
    ("x: list[str] = []", 'let r = call "m:f"()\nset x += [r]', True),
    ("x: list[str] = []", 'let r = call "m:f"()\nset x += r', True),
    ("x: {a: int}?", 'let r = call "m:f"()\nset x = {a: r}', True),
    ("x: int = 0", 'let r = call "m:f"()\nset x = r.count', True),
    ("x: bool = false", 'let r = interrupt ask\nset x = r', True),
    # Statically typed values, or a field of type `any`: nothing to check.
    ("x: int = 0", "set x = 1", False),
    ("x: int = 0", 'let r = call "m:f"()\nset x = int(r)', False),
    ("x: any", 'let r = call "m:f"()\nset x = r', False),
    ("x: bool = false", 'let r = interrupt ask expect bool\nset x = r', False),
])
def test_check_flag(state: str, steps: str, expected: bool):
    step = steps_of(small(steps, state=state))[-1]
    assert step["k"] == "set" and step["check"] is expected


def test_check_flags_of_the_sink(first):
    checks = {(s["field"], s["line"]): s["check"] for s in first if s["k"] == "set"}
    assert checks[("ratio", line_of(SINK, "set ratio = r"))] is True
    assert checks[("tags", line_of(SINK, "set tags += [r]"))] is True
    assert checks[("blob", line_of(SINK, "set blob = r"))] is False
    assert checks[("person", line_of(SINK, "set person = p"))] is False


# ------------------------------------------------------------ routes and joins


def test_routes_group_per_source(sink):
    routes = sink["routes"]
    assert sorted(routes) == ["fin", "first", "second", "start"]  # no route for join sources
    assert routes["start"] == {"branches": [{"when": None, "targets": ["first"],
                                             "line": line_of(SINK, "start -> first")}]}
    group = routes["first"]["branches"]
    assert [(b["targets"], b["when"] is None) for b in group] == [
        (["second"], False), (["third", "fourth"], False), (["end"], True)]
    assert group[0]["when"] == {"k": "bin", "op": ">", "l": {"k": "field", "n": "count"},
                                "r": {"k": "lit", "v": 1}}
    assert [b["line"] for b in group] == [line_of(SINK, "first -> second"),
                                          line_of(SINK, "first -> third"),
                                          line_of(SINK, "first -> end")]
    # Plain edges of one source merge into one branch, in declaration order.
    assert routes["second"] == {"branches": [{"when": None, "targets": ["third", "fourth"],
                                              "line": line_of(SINK, "second -> third")}]}


def test_plain_edges_drop_duplicate_targets():
    text = small("set count = 1", edges="start -> a\na -> end\na -> end, end")
    assert only_flow(text)["routes"]["a"]["branches"][0]["targets"] == ["end"]


def test_joins(sink):
    assert sink["joins"] == [{"sources": ["third", "fourth"], "target": "fin",
                              "line": line_of(SINK, "third, fourth -> fin")}]


def test_a_join_to_several_targets_is_one_join_each():
    text = textwrap.dedent("""\
        flow f {
            state {
                a: int = 0
                b: int = 0
                c: int = 0
                d: int = 0
            }
            node n1 { set a = 1 }
            node n2 { set b = 1 }
            node n3 { set c = 1 }
            node n4 { set d = 1 }
            start -> n1, n2
            n1, n2 -> n3, n4
            n3 -> end
            n4 -> end
        }
        """)
    joins = only_flow(text)["joins"]
    assert [(j["sources"], j["target"]) for j in joins] == [(["n1", "n2"], "n3"), (["n1", "n2"], "n4")]
    assert {j["line"] for j in joins} == {13}


def test_several_flows_lower_separately():
    text = small("set count = 1") + small("set count = 2").replace("flow f", "flow g")
    assert list(lower(text)["flows"]) == ["f", "g"]


def test_the_examples_lower_and_validate():
    validator = jsonschema.Draft202012Validator(IR_SCHEMA)
    for path in sorted((REPO / "examples").glob("*.flow")):
        ir = compile_source(path.read_text(encoding="utf-8"), str(path))  # its `use` lines resolve beside it
        validator.validate(ir)
        assert ir["flows"], path.name


def test_named_types_resolve_in_linear_work(monkeypatch):
    # Declared so that each type names the next (the worst order for a fixpoint
    # that retries every pending declaration per round: n rounds of n walks).
    from fermata.compiler.lower.lowering import lower_module
    from fermata.compiler.syntax import ast as fast
    from fermata.compiler.syntax.parser import parse_or_raise

    def chain(n: int) -> fast.Module:
        types = "".join(f"type T{i} = list[T{i + 1}]\n" for i in range(n)) + f"type T{n} = int\n"
        return parse_or_raise(types + "flow f {\n    state {\n        x: T0 = []\n    }\n}\n")

    walks = 0
    original = fast.Node.walk

    def counted(self):  # type: ignore[no-untyped-def]
        nonlocal walks
        walks += 1
        return original(self)

    monkeypatch.setattr(fast.Node, "walk", counted)
    costs = []
    for n in (20, 200):
        module = chain(n)
        walks = 0
        lower_module(module, "", "t.flow")
        costs.append(walks)
    assert costs[1] <= 20 * costs[0], costs  # linear: x10; the old fixpoint: x100


# ------------------------------------------------------------ human-task clauses and `wait`


HUMAN_TASKS = (REPO / "tests" / "compiler" / "fixtures" / "human_tasks.flow").read_text(encoding="utf-8")


def test_the_clauses_lower_to_the_optional_interrupt_keys():
    flow = only_flow(HUMAN_TASKS)
    (ask, _set) = flow["nodes"]["review"]["steps"]
    assert ask["bind"] == "d"
    assert ask["where"] == {
        "cond": {"k": "bin", "op": "or", "l": {"k": "get", "o": {"k": "local", "n": "d"}, "n": "approved"},
                 "r": {"k": "bin", "op": "!=", "l": {"k": "get", "o": {"k": "local", "n": "d"}, "n": "comment"},
                       "r": {"k": "lit", "v": None}}},
        "message": "a rejection needs a comment"}
    assert ask["to"] == [{"k": "field", "n": "approvers"}, {"k": "field", "n": "manager"}]
    assert ask["within"] == {"ms": 48 * 3_600_000, "goto": "escalate"}
    assert ask["remind_every_ms"] == 12 * 3_600_000
    escalation = flow["nodes"]["escalate"]["steps"][0]
    assert escalation["within"] == {"ms": 86_400_000, "answer": {"k": "lit", "v": False}}
    assert escalation["to"] == [{"k": "lit", "v": "heads"}] and "where" not in escalation
    assert "remind_every_ms" not in escalation


def test_wait_lowers_to_a_timer_step():
    flow = only_flow(HUMAN_TASKS)
    first, second = flow["nodes"]["pay"]["steps"][:2]
    line = line_of(HUMAN_TASKS, "wait cooling_off")
    assert first == {"k": "wait", "label": "cooling_off", "for_ms": 86_400_000, "line": line, "column": 9}
    assert second == {"k": "wait", "label": "payday", "until": {"k": "field", "n": "pay_after"},
                      "line": line + 1, "column": 9}


def test_where_reads_earlier_locals_as_locals_and_the_answer_by_its_bind():
    text = small('let limit = 3\nlet n = interrupt ask expect int where n < limit and n > count\nset count = n')
    rule = steps_of(text)[1]["where"]["cond"]
    assert rule["l"]["l"] == {"k": "local", "n": "n"} and rule["l"]["r"] == {"k": "local", "n": "limit"}
    assert rule["r"]["r"] == {"k": "field", "n": "count"}


def test_a_spec_without_clauses_lowers_to_the_same_keys_as_before():
    (ask,) = steps_of(small("interrupt ask"))
    assert set(ask) == {"k", "label", "payload", "schema", "bind", "line", "column"}


def test_clause_ir_follows_the_schema_and_the_schema_refuses_a_bad_deadline():
    ir = lower(HUMAN_TASKS)
    validator = jsonschema.Draft202012Validator(IR_SCHEMA)
    validator.validate(ir)
    assert ir["fermata_ir"] == IR_VERSION == 1   # optional additions: still version 1
    step = ir["flows"]["refund_review"]["nodes"]["review"]["steps"][0]
    for bad in ({"ms": 0, "goto": "escalate"}, {"ms": 5, "goto": "escalate", "answer": {"k": "lit", "v": 1}},
                {"ms": 5}):
        step["within"] = bad
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(ir)
    step["within"] = {"ms": 5, "goto": "escalate"}
    wait = ir["flows"]["refund_review"]["nodes"]["pay"]["steps"][0]
    wait["until"] = {"k": "lit", "v": "2026-12-24T09:00:00Z"}   # both `for_ms` and `until`
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(ir)
