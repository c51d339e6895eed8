"""Inference: the type of every kind of expression, what the inferer
reports, null narrowing."""

from __future__ import annotations

import pytest

from fermata.compiler.diagnostics.diagnostic import DiagnosticSink
from fermata.compiler.semantics import inference as I
from fermata.compiler.semantics import types as T
from fermata.compiler.syntax import ast
from fermata.compiler.syntax.parser import parse
from tests.compiler.support import DECISION, LEVEL

FIELDS = {
    "count": T.INT,
    "ratio": T.FLOAT,
    "name": T.STR,
    "ok": T.BOOL,
    "tags": T.ListT(T.STR),
    "scores": T.MapT(T.INT),
    "decision": T.optional(DECISION),
    "d": DECISION,
    "level": LEVEL,
    "blob": T.ANY,
    "maybe": T.optional(T.INT),
}


def expr(text: str) -> ast.Expr:
    """The expression ``text``, parsed as the value of a `let`."""
    module, problems = parse(f"flow f {{\n node n {{\n  let _e = {text}\n }}\n start -> n\n n -> end\n}}\n")
    assert module is not None and not problems, problems
    let = module.flows[0].nodes[0].steps[0]
    assert isinstance(let, ast.Let)
    return let.value  # type: ignore[return-value]


def infer(text: str, **locals_: T.FType) -> T.FType:
    return I.infer(expr(text), I.Env(fields=FIELDS, locals=locals_))


def report(text: str) -> list[tuple[str, str]]:
    """The (code, message) pairs inference with a sink reports for ``text``."""
    sink = DiagnosticSink()
    I.infer_reporting(expr(text), I.Env(fields=FIELDS), sink)
    return [(d.code, d.message) for d in sink.items]


# ---------------------------------------------------------------- inference


@pytest.mark.parametrize("text, expected", [
    ("1", T.INT), ("1.5", T.FLOAT), ("true", T.BOOL), ("null", T.NULL),
    ('"low"', T.literal("low")), ('"hi {{ name }}"', T.STR),
    ("[]", T.ListT(T.NEVER)), ("[1, 2.5]", T.ListT(T.FLOAT)), ('["a", "b"]', T.ListT(T.UnionT(("a", "b")))),
    ('[1, "a"]', T.ListT(T.ANY)),
    ('{a: 1, b: "x"}', T.RecordT((("a", T.INT), ("b", T.literal("x"))))),
    ("{}", T.RecordT(())),
    ("count", T.INT), ("decision", T.optional(DECISION)), ("nowhere", T.ANY),
    ("d.approved", T.BOOL), ("d.comment", T.optional(T.STR)), ("blob.x.y", T.ANY),
    ("tags[0]", T.STR), ('scores["a"]', T.INT), ('d["approved"]', T.BOOL), ("blob[0]", T.ANY),
    ("-count", T.INT), ("-ratio", T.FLOAT), ("not ok", T.BOOL),
    ("count + 1", T.INT), ("count + ratio", T.FLOAT), ('name + "x"', T.STR),
    ('tags + ["x"]', T.ListT(T.STR)), ("count - 1", T.INT), ("count * 2.0", T.FLOAT),
    ("count / 2", T.FLOAT), ("count % 2", T.INT), ("blob + 1", T.ANY), ('blob + "x"', T.STR),
    ("count > 1", T.BOOL), ("name == level", T.BOOL), ('"a" in tags', T.BOOL),
    ("ok and count > 0", T.BOOL),
    ("maybe ?? 0", T.INT), ("decision ?? d", DECISION), ("d.comment ?? name", T.STR),
    ("len(tags)", T.INT), ("lower(name)", T.STR), ('contains(name, "x")', T.BOOL),
    ("keys(scores)", T.ListT(T.STR)), ("values(scores)", T.ListT(T.INT)),
    ("round(ratio)", T.FLOAT), ("round(ratio, 2)", T.FLOAT),
    ("min(count, 2)", T.INT), ("max(count, ratio)", T.FLOAT), ("abs(ratio)", T.FLOAT),
    ("str(count)", T.STR), ("int(name)", T.INT), ("float(name)", T.FLOAT),
    ("nope(1)", T.ANY),
])
def test_infer(text: str, expected: T.FType):
    assert infer(text) == expected


def test_locals_shadow_fields():
    assert infer("count", count=T.STR) == T.STR
    assert infer("x + 1", x=T.FLOAT) == T.FLOAT


def test_infer_is_total_and_silent():
    # Ill-typed expressions still get a type (`any` where nothing fits), and
    # `infer` has nowhere to report: it must not raise.
    for text in ['count + "x"', "d.nope", "decision.approved", "name.x", "tags[name]", "nope(1)",
                 "len(1, 2)", "not count", "1 in 2", 'level == "urgent"', "-name"]:
        infer(text)


@pytest.mark.parametrize("text, code, words", [
    ('count + "x"', "F302", "joins a string only with a string, found `int`"),
    ("count + tags", "F302", "found `list[str]`"),
    ('"n: " + count', "F302", "joins a string only with a string"),
    ("count - name", "F302", "`-` needs numbers, found `str`"),
    ("name < count", "F302", "compares numbers with numbers or strings with strings"),
    ("count == name", "F302", "never equal"),
    ('level == "urgent"', "F302", '`"low" | "mid" | "high"` is never "urgent"'),
    ("count == null", "F302", "never null"),
    ("count in tags", "F302", "`in` looks for `int`"),
    ("count in name", "F302", "looks for a `str` in a string"),
    ("-name", "F302", "unary `-` needs a number"),
    ("maybe ?? name", "F302", "expected `int` for the default after `??`, found `str`"),
    ("not count", "F301", "`not` needs a `bool`, found `int`"),
    ("ok and name", "F301", "`and` needs a `bool`, found `str`"),
    ("d.aproved", "F129", "`{approved: bool, comment: str?}` has no field `aproved`"),
    ('d["aproved"]', "F129", "has no field `aproved`"),
    ("decision.approved", "F307", "`decision` may be null"),
    ("maybe[0]", "F307", "may be null"),
    ("name.first", "F308", "`name` is `str`, which has no fields"),
    ("scores.a", "F308", "cannot read a key of a map"),
    ("count[0]", "F308", "cannot be indexed"),
    ('tags["0"]', "F309", "a list index must be `int`"),
    ("scores[1]", "F309", "a map key must be `str`"),
    ("strip(name)", "F125", "unknown function `strip`"),
    ("len(name, tags)", "F305", "`len` takes 1 argument, found 2"),
    ("round()", "F305", "`round` takes 1 or 2 arguments, found 0"),
    ("upper(count)", "F306", "`upper` needs a `str`, found `int`"),
    ("round(ratio, 1.5)", "F306", "needs an `int`"),
    ("keys(tags)", "F306", "needs a map or record"),
    ("count ?? 0", "F313", "`count` is `int`, which is never null"),
    ("{a: 1, a: 2}", "F132", "key `a` appears twice"),
    ("nowhere", "F120", "unknown name `nowhere`"),
])
def test_inferer_reports(text: str, code: str, words: str):
    found = report(text)
    assert [c for c, _ in found] == [code], found
    assert words in found[0][1]


@pytest.mark.parametrize("text", [
    "blob.x", "blob[0]", "blob + 1", "blob and ok", "not blob", "blob ?? 1", "len(blob)",
    "count == ratio", "maybe == null", "maybe == 3", "name == level", 'level != "low"',
    '"a" in name', '"a" in scores', "level in tags", "name < level", "count < 2.5",
    'decision ?? {approved: true}', "maybe ?? count", "len(d)", "keys(d)", "values(d)",
    "d.comment ?? d.comment ?? name", "decision != null and decision.approved",
    "decision == null or decision.approved", "[] + tags", "tags + []",
])
def test_inferer_accepts(text: str):
    assert report(text) == []


def test_null_tests_narrow_names():
    env = I.Env(fields=FIELDS, locals={"c": T.optional(T.STR)})
    cond = expr("decision != null and c != null")
    narrowed = I.when_true(cond, env)
    assert narrowed.lookup("decision") == DECISION and narrowed.lookup("c") == T.STR
    assert I.when_false(cond, env) == env
    assert I.when_false(expr("not (decision != null)"), env) is not env
    assert I.when_false(expr("decision == null"), env).lookup("decision") == DECISION


def test_expect_points_at_the_item_at_fault():
    sink = DiagnosticSink()
    value = expr('["a", 2, "c"]')
    I.Inferer(I.Env(), sink).expect(value, T.ListT(T.STR), "F300", "`tags`")
    [d] = sink.items
    assert d.message == "expected `str` for an item of `tags`, found `int`"
    assert d.span == value.items[1].span  # type: ignore[attr-defined]


def test_expect_checks_record_literals_against_record_types():
    sink = DiagnosticSink()
    inferer = I.Inferer(I.Env(), sink)
    inferer.expect(expr('{comment: "x"}'), DECISION, "F300", "`d`")
    inferer.expect(expr('{approved: true, coment: "x"}'), DECISION, "F300", "`d`")
    inferer.expect(expr('{approved: 1}'), DECISION, "F300", "`d`")
    inferer.expect(expr("{approved: false}"), T.optional(DECISION), "F300", "`d`")
    inferer.expect(expr("{a: 1, b: 2.5}"), T.MapT(T.FLOAT), "F300", "`m`")
    messages = [d.message for d in sink.items]
    assert messages == [
        "the record for `d` lacks field `approved`, which `{approved: bool, comment: str?}` requires",
        "`{approved: bool, comment: str?}` has no field `coment`",
        "expected `bool` for field `approved` of `d`, found `int`",
    ]
    assert sink.items[1].help == "did you mean `comment`?"
