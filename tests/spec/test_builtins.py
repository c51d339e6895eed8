"""spec/builtins.json is the one table of built-in functions: the IR schema,
the compiler's inference and the runtime's evaluator all agree with it."""

from __future__ import annotations

import json

import pytest

from fermata.compiler.semantics import inference
from fermata.compiler.syntax import ast
from fermata.compiler.syntax.parser import parse_or_raise
from fermata.runtime import expressions
from fermata.spec import path
from fermata.spec.builtins import PARAM_KINDS, RESULTS, builtins


def test_the_ir_schema_lists_exactly_the_tables_functions_in_order():
    schema = json.loads(path("ir.schema.json").read_text(encoding="utf-8"))
    (call,) = [alt for alt in schema["$defs"]["expr"]["oneOf"] if alt["properties"]["k"] == {"const": "fn"}]
    assert call["properties"]["n"]["enum"] == list(builtins())


def test_the_runtime_implements_exactly_the_tables_functions():
    assert list(expressions._functions()) == list(builtins())
    assert set(expressions._IMPLEMENTATIONS) == set(builtins())


def test_inference_reads_arity_and_kinds_from_the_table():
    assert {b.name: (b.required, len(b.params), b.params) for b in builtins().values()} == inference.BUILTINS


def test_the_table_uses_only_the_documented_vocabulary():
    for builtin in builtins().values():
        assert set(builtin.params) <= PARAM_KINDS and builtin.result in RESULTS
        assert 1 <= builtin.required <= len(builtin.params)


_FIXED = {"int", "str", "bool", "float", "list[str]"}
_SAMPLE_ARGUMENT = {"str": '"a"', "number": "1", "int": "1", "sized": '"a"', "map": "{}", "any": "1"}


@pytest.mark.parametrize("name", [b.name for b in builtins().values() if b.result in _FIXED])
def test_every_fixed_result_type_is_what_inference_gives(name):
    # The computed results (values, number, argument) are tested in tests/compiler/semantics/test_inference.py.
    builtin = builtins()[name]
    call = f"{name}(" + ", ".join(_SAMPLE_ARGUMENT[k] for k in builtin.params) + ")"
    module = parse_or_raise(f"flow f {{\n    a -> b when {call} == {call}\n}}\n")
    condition = module.flows[0].edges[0].condition
    assert isinstance(condition, ast.Binary)
    assert str(inference.infer(condition.left, inference.Env())) == builtin.result
