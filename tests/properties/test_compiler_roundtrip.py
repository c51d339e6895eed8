"""Property 6: the compiler's round trips over generated, valid flows."""

from __future__ import annotations

import pytest

import json

import jsonschema
from hypothesis import given, note

from fermata import spec
from fermata.compiler import compile_source
from fermata.compiler.parser import parse
from fermata.compiler.printer import print_module

from .model import flow_models, to_module

# Property searches and subprocess runs: the full suite runs them, not the inner loop.
pytestmark = pytest.mark.slow

_IR_SCHEMA = json.loads(spec.path("ir.schema.json").read_text(encoding="utf-8"))


@given(flow_models())
def test_parse_of_print_is_the_same_tree(model):
    module = to_module(model)
    text = print_module(module)
    note(text)
    parsed, diagnostics = parse(text, "generated.flow")
    assert not diagnostics
    assert parsed == module


@given(flow_models())
def test_compiling_twice_gives_identical_ir_that_follows_the_schema(model):
    text = print_module(to_module(model))
    note(text)
    first = json.dumps(compile_source(text, "generated.flow"), sort_keys=True)
    second = json.dumps(compile_source(text, "generated.flow"), sort_keys=True)
    assert first == second
    jsonschema.Draft202012Validator(_IR_SCHEMA).validate(json.loads(first))
