"""The IR facts stated once in ``fermata.spec.ir``, tied to the schema and to
every place that used to restate them."""

from __future__ import annotations

import json

import pytest

from fermata.spec import path
from fermata.spec.ir import IR_VERSION, STATIC_LABELS, is_static_interrupt


def test_the_schema_states_the_same_ir_version():
    schema = json.loads(path("ir.schema.json").read_text(encoding="utf-8"))
    assert schema["properties"]["fermata_ir"] == {"const": IR_VERSION}


def test_every_reader_and_writer_uses_the_one_ir_version():
    from fermata.compiler import loading
    from fermata.compiler.codegen import emit
    from fermata.compiler.lower import lowering as lower
    from fermata.runtime import program as flow

    assert lower.IR_VERSION is emit.IR_VERSION is flow.IR_VERSION is loading.IR_VERSION is IR_VERSION


@pytest.mark.parametrize(("entry", "static"), [
    ({"id": "review:before", "node": "review", "label": "before"}, True),
    ({"id": "review:after", "node": "review", "label": "after"}, True),
    ({"id": "review:approval", "node": "review", "label": "approval"}, False),
    ({"id": "review:approval#2", "node": "review", "label": "approval"}, False),
])
def test_a_static_interrupt_is_a_before_or_after_gate(entry, static):
    assert is_static_interrupt(entry) is static
    assert set(STATIC_LABELS) == {"before", "after"}


def test_every_runtime_and_server_site_decides_static_the_same_way():
    import importlib

    from fermata.runtime import command, run
    from fermata.server import inbox

    compat = importlib.import_module("fermata.runtime.compat")
    assert command._is_static is inbox.is_static is compat.is_static_interrupt is is_static_interrupt
    gate = run.Interrupt(id="n:before", node="n", label="before", index=0, payload=None, schema=None, token="t")
    asked = run.Interrupt(id="n:ok", node="n", label="ok", index=0, payload=None, schema=None, token="t")
    assert gate.static and not asked.static
