"""The generated types: JSON Schemas -> TypedDicts and aliases a team's own
Python can be type-checked against."""

from __future__ import annotations

import typing

import pytest

from fermata.compiler.codegen import emit_python
from fermata.compiler.codegen.pytypes import (
    TypeBuilder,
    TypedDictDecl,
    flow_types,
    pascal,
)
from fermata.compiler.pipeline import compile_file
from tests.runtime.irbuild import (
    ANY,
    BOOL,
    FLOAT,
    INT,
    LIST,
    MAP,
    OPT,
    RECORD,
    STR,
    fld,
    flow,
    lit,
    node,
    set_,
)

from .support import EXAMPLES, import_generated, kitchen_sink_ir, mypy_strict


def _expr(schema, defs=None) -> str:
    return TypeBuilder(defs or {}, "t.flow").expr(schema, "Hint", "a test")


@pytest.mark.parametrize("schema, text", [
    (STR, "str"), (INT, "int"), (FLOAT, "float"), (BOOL, "bool"), (ANY, "Any"),
    ({"type": "null"}, "None"),
    (LIST(MAP(INT)), "list[dict[str, int]]"),
    ({"type": "object"}, "dict[str, Any]"),
    (OPT(STR), "str | None"),
    ({"anyOf": [{"type": "null"}, INT, FLOAT]}, "float | None"),      # int is a float; None last
    ({"anyOf": [STR, ANY]}, "Any"),                                     # Any absorbs the rest
    ({"type": ["string", "integer"]}, "str | int"),
    ({"type": "string", "enum": ["low", "high"]}, 'Literal["low", "high"]'),
    ({"enum": ["a", None]}, 'Literal["a"] | None'),
    ({"const": 3}, "Literal[3]"),
    ({"$ref": "#/$defs/Missing"}, "Any"),                              # stays total
])
def test_schema_to_type_expression(schema, text):
    assert _expr(schema) == text


def test_pascal_case():
    assert pascal("document_review") == "DocumentReview"
    assert pascal("a__b_") == "AB" and pascal("_") == ""


def _flow_ir(defs, fields, name="shop"):
    return flow(name, fields=fields, nodes=[node("a", set_(fields[0]["name"], lit(1)))],
                edges={"start": ["a"], "a": ["end"]}, defs=defs)


def test_records_are_typeddicts_whose_optional_members_may_be_missing(tmp_path):
    defs = {"Item": RECORD({"sku": STR, "qty": INT}, {"note": STR})}
    ir = _flow_ir(defs, [fld("count", INT, 0, line=3), fld("item", OPT({"$ref": "#/$defs/Item"}), optional=True,
                                                             line=4),
                         fld("extra", RECORD({"k": BOOL}), {"k": True}, line=5), fld("name", STR, line=6)])
    module = import_generated(emit_python(ir), tmp_path)
    assert module.Item.__required_keys__ == {"sku", "qty"}
    assert module.Item.__optional_keys__ == {"note"}
    hints = typing.get_type_hints(module.Item)
    assert hints["qty"] is int and hints["note"] == str | None
    # Every field is always present in a state; only required input must be given.
    assert module.ShopState.__required_keys__ == {"count", "item", "extra", "name"}
    assert module.ShopInput.__required_keys__ == {"name"}
    assert module.ShopUpdate.__required_keys__ == frozenset()
    assert typing.get_type_hints(module.ShopState)["item"] == module.Item | None
    assert typing.get_type_hints(module.ShopState)["extra"] is module.ShopExtra
    assert module.ShopExtra.__doc__.startswith("A record type within state field `extra` of flow `shop`.")


@pytest.mark.parametrize("key", ["class", "None", "str", "Any", "__secret", "Item"])
def test_keys_that_cannot_be_class_attributes_use_the_functional_form(tmp_path, key):
    """A keyword, a name a later annotation would read as the attribute, and
    a `__private` name (which Python would rename) keep their exact spelling."""
    defs = {"Item": RECORD({"x": INT}), "Odd": RECORD({key: INT, "plain": STR})}
    ir = _flow_ir(defs, [fld("odd", {"$ref": "#/$defs/Odd"}, line=3), fld("item", {"$ref": "#/$defs/Item"}, line=4)])
    text = emit_python(ir)
    assert 'Odd = TypedDict(\n    "Odd",' in text
    module = import_generated(text, tmp_path)
    assert set(module.Odd.__annotations__) == {key, "plain"}
    assert module.Odd.__required_keys__ == {key, "plain"}
    assert "class Item(TypedDict):" in text    # the others keep the class form


def test_names_the_module_needs_are_never_shadowed():
    defs = {"Graph": RECORD({"a": INT}), "load": STR, "ShopState": INT, "Exception": BOOL}
    ir = _flow_ir(defs, [fld("g", {"$ref": "#/$defs/Graph"}, line=3), fld("l", {"$ref": "#/$defs/load"}, line=4),
                         fld("s", {"$ref": "#/$defs/ShopState"}, line=5),
                         fld("e", {"$ref": "#/$defs/Exception"}, line=6)])
    decls, _, roles = flow_types(ir["flows"]["shop"], "t.flow")
    names = [d.name for d in decls]
    assert {"GraphType", "loadType", "ExceptionType", "ShopState"} <= set(names)
    assert roles["State"] == "ShopStateType"          # the spec's own `ShopState` keeps its name
    assert len(names) == len(set(names))


def test_declarations_come_after_what_they_mention(tmp_path):
    decls, _, _ = flow_types(kitchen_sink_ir()["flows"]["sink"], "t.flow")
    order = [d.name for d in decls]
    assert order.index("Verdict") < order.index("Nested") < order.index("Alias")
    assert order.index("NestedInnerDeepItem") < order.index("NestedInner") < order.index("Nested")
    assert order.index("GraphType") < order.index("Maybe")
    # ... so the module evaluates every annotation at import time.
    import_generated(emit_python(kitchen_sink_ir()), tmp_path)
    assert all(isinstance(d, TypedDictDecl) or d.kind == "alias" for d in decls)


@pytest.mark.slow
def test_a_teams_callables_are_type_checked_against_the_flow(tmp_path):
    """The point of the types: mypy accepts a correct `call` target of the
    refund example and reports each mistake in a wrong one."""
    (tmp_path / "refund_flow.py").write_text(emit_python(compile_file(EXAMPLES / "refund.flow")),
                                             encoding="utf-8")
    good = tmp_path / "good_steps.py"
    good.write_text(
        "from refund_flow import Decision, RefundInput, RefundState, RefundUpdate\n\n\n"
        "def assess(state: RefundState) -> RefundUpdate:\n"
        "    return {'risk': min(state['amount'] / 1000, 1.0), 'log': [*state['log'], 'assessed']}\n\n\n"
        "def approved(decision: Decision) -> bool:\n"
        "    return decision['approved'] and decision.get('comment') != 'no'\n\n\n"
        "START: RefundInput = {'amount': 12.5}\n",
        encoding="utf-8")
    result = mypy_strict([tmp_path / "refund_flow.py", good], tmp_path)
    assert result.returncode == 0, result.stdout

    bad = tmp_path / "bad_steps.py"
    bad.write_text(
        "from refund_flow import RefundInput, RefundState, RefundUpdate\n\n\n"
        "def assess(state: RefundState) -> RefundUpdate:\n"
        "    return {'risk': 'high'}\n\n\n"                        # line 5: wrong value type
        "def misspelt(state: RefundState) -> RefundUpdate:\n"
        "    return {'rsik': 0.5}\n\n\n"                           # line 9: unknown key
        "def reason(state: RefundState) -> int:\n"
        "    return state['reason']\n\n\n"                         # line 13: str is not int
        "START: RefundInput = {'reason': 'lost'}\n",               # line 16: `amount` missing
        encoding="utf-8")
    result = mypy_strict([tmp_path / "refund_flow.py", bad], tmp_path)
    lines = sorted({int(line.split(":")[1]) for line in result.stdout.splitlines()
                    if line.startswith("bad_steps.py:") and ": error:" in line})
    assert lines == [5, 9, 13, 16], result.stdout


def test_a_field_listed_twice_in_input_or_output_is_one_key():
    """`input count, count` is only a warning (F110); the types still hold each key once."""
    ir = _flow_ir({}, [fld("count", INT, 0, line=3)])
    ir["flows"]["shop"]["input"] = ["count", "count"]
    ir["flows"]["shop"]["output"] = ["count", "count"]
    decls, _, roles = flow_types(ir["flows"]["shop"], "t.flow")
    by_name = {d.name: d for d in decls}
    assert [k.name for k in by_name[roles["Input"]].keys] == ["count"]
    assert [k.name for k in by_name[roles["Output"]].keys] == ["count"]
