"""Failures: user exceptions, retries with backoff, timeouts, `fail`, retrying a failed step."""

from __future__ import annotations

import pytest

from fermata.runtime import Command, ResumeError
from fermata.runtime import node as node_module
from tests.runtime import calls_fixture as fx
from tests.runtime.irbuild import (
    INT,
    LIST,
    STR,
    F,
    L,
    append,
    call,
    fail,
    fld,
    flow,
    interrupt,
    lit,
    lst,
    make_graph,
    node,
    set_,
    tmpl,
)

FX = "tests.runtime.calls_fixture"


@pytest.fixture
def waits(monkeypatch) -> list[int]:
    recorded: list[int] = []
    monkeypatch.setattr(node_module, "sleep_ms", recorded.append)
    return recorded


def flaky_flow(retry: int, backoff_ms: int = 100):
    return flow(fields=[fld("out", STR, ""), fld("log", LIST(STR), [])],
                nodes=[node("split"),
                       node("fetch", call(f"{FX}:flaky", lit("svc"), bind="r", line=6), set_("out", L("r")),
                            retry=retry, backoff_ms=backoff_ms, line=5),
                       node("side", call(f"{FX}:tick", lit("side")), append("log", lst(lit("side"))))],
                edges={"start": ["split"], "split": ["fetch", "side"]})


def test_retries_wait_with_exponential_backoff_then_succeed(store, waits) -> None:
    fx.FLAKY["svc"] = 3
    run = make_graph(flaky_flow(retry=3), store).invoke({}, thread="t")
    assert run.status == "done" and run.state["out"] == "svc ok"
    assert fx.CALLS["flaky"] == 4 and waits == [100, 200, 400]


def test_after_the_last_attempt_the_run_fails_with_location_and_user_traceback(store, waits) -> None:
    fx.FLAKY["svc"] = 10
    graph = make_graph(flaky_flow(retry=2), store)
    run = graph.invoke({}, thread="t")
    assert run.status == "failed" and fx.CALLS["flaky"] == 3 and waits == [100, 200]
    error = run.error
    assert error["message"] == 'call "tests.runtime.calls_fixture:flaky" raised ConnectionError: svc is down'
    assert (error["type"], error["kind"], error["node"], error["line"], error["path"]) == \
        ("ConnectionError", "user_code", "fetch", 6, "test.flow")
    assert error["traceback"].startswith("Traceback (most recent call last):")
    assert "calls_fixture.py" in error["traceback"] and "in flaky" in error["traceback"]
    frames = [line for line in error["traceback"].splitlines() if line.strip().startswith('File "')]
    assert frames and all("calls_fixture.py" in f for f in frames)  # the runtime's frames are trimmed
    assert run.state["log"] == []  # the step did not complete
    assert store.latest("t").nodes["side"]["status"] == "finished"  # ... but the sibling's writes are kept


def test_invoke_none_retries_only_the_failed_nodes(store, waits) -> None:
    fx.FLAKY["svc"] = 1
    graph = make_graph(flaky_flow(retry=0), store)
    assert graph.invoke({}, thread="t").status == "failed"
    run = graph.invoke(None, thread="t")
    assert run.status == "done" and run.state == {"out": "svc ok", "log": ["side"]}
    assert fx.CALLS["flaky"] == 2 and fx.CALLS["tick:side"] == 1


def test_a_failed_run_rejects_input_and_resume(store, waits) -> None:
    fx.FLAKY["svc"] = 1
    graph = make_graph(flaky_flow(retry=0), store)
    graph.invoke({}, thread="t")
    with pytest.raises(Exception, match="has a run in progress"):
        graph.invoke({}, thread="t")
    with pytest.raises(ResumeError, match="retry it with invoke"):
        graph.invoke(Command(resume=1), thread="t")


def failing_beside_a_question():
    """`fetch` (flaky) and `ask` (an interrupt) run in one step."""
    return flow(fields=[fld("out", STR, ""), fld("note", STR, "")],
                nodes=[node("split"),
                       node("fetch", call(f"{FX}:flaky", lit("svc"), bind="r"), set_("out", L("r"))),
                       node("ask", call(f"{FX}:tick", lit("ask")), interrupt("q", None, STR, bind="v"),
                            set_("note", L("v")))],
                edges={"start": ["split"], "split": ["fetch", "ask"]})


@pytest.mark.parametrize("answer", ["yes", {"ask:q": "yes"}])
def test_a_failed_run_accepts_the_answer_its_paused_sibling_waits_for(store, waits, answer) -> None:
    fx.FLAKY["svc"] = 1
    graph = make_graph(failing_beside_a_question(), store)
    run = graph.invoke({}, thread="t")
    assert run.status == "failed" and [i.id for i in run.interrupts] == ["ask:q"]
    # The answer is taken and the failed node retried in the same invoke.
    run = graph.invoke(Command(resume=answer), thread="t")
    assert run.status == "done" and run.state == {"out": "svc ok", "note": "yes"}
    assert fx.CALLS["flaky"] == 2 and fx.CALLS["tick:ask"] == 2


def test_an_answer_to_a_failed_run_is_kept_when_the_retry_fails_again(store, waits) -> None:
    fx.FLAKY["svc"] = 2
    graph = make_graph(failing_beside_a_question(), store)
    graph.invoke({}, thread="t")
    run = graph.invoke(Command(resume="yes"), thread="t")
    assert run.status == "failed" and run.interrupts == []
    assert store.latest("t").nodes["ask"]["status"] == "finished"
    run = graph.invoke(None, thread="t")
    assert run.status == "done" and run.state == {"out": "svc ok", "note": "yes"}
    assert fx.CALLS["tick:ask"] == 2  # answered once, not asked again


def test_a_bad_answer_to_a_failed_run_is_refused_and_nothing_stored(store, waits) -> None:
    fx.FLAKY["svc"] = 1
    graph = make_graph(failing_beside_a_question(), store)
    graph.invoke({}, thread="t")
    before = store.dump("t")
    with pytest.raises(ResumeError, match="expected str"):
        graph.invoke(Command(resume=5), thread="t")
    assert store.dump("t") == before and fx.CALLS["flaky"] == 1


def test_a_nested_user_traceback_keeps_every_user_frame(store) -> None:
    doc = flow(fields=[fld("x", INT, 0)], nodes=[node("a", call(f"{FX}:boom", lit("bad"), line=3))],
               edges={"start": ["a"]})
    run = make_graph(doc, store).invoke({}, thread="t")
    assert "in boom" in run.error["traceback"] and "in _inner_boom" in run.error["traceback"]
    assert run.error["traceback"].rstrip().endswith("ValueError: bad")


def test_a_timeout_bounds_one_attempt_and_is_retried(store, waits) -> None:
    doc = flow(fields=[fld("out", STR, "")],
               nodes=[node("a", call(f"{FX}:slow_first", lit(2000), bind="r"), set_("out", L("r")),
                           retry=1, timeout_ms=50)],
               edges={"start": ["a"]})
    run = make_graph(doc, store).invoke({}, thread="t")
    assert run.status == "done" and run.state["out"] == "fast enough" and fx.CALLS["slow_first"] == 2


def test_a_timeout_after_the_last_attempt_fails_the_run(store, waits) -> None:
    doc = flow(fields=[fld("out", STR, "")],
               nodes=[node("a", call(f"{FX}:slow", lit(500)), retry=1, backoff_ms=10, timeout_ms=30, line=2)],
               edges={"start": ["a"]})
    run = make_graph(doc, store).invoke({}, thread="t")
    assert run.status == "failed" and waits == [10]
    assert (run.error["kind"], run.error["type"], run.error["line"]) == ("timeout", "TimeoutError", 2)
    assert run.error["message"] == "node `a` timed out after 30 ms"


def test_fail_fails_at_once_without_retries(store, waits) -> None:
    doc = flow(fields=[fld("n", INT, 3)],
               nodes=[node("a", call(f"{FX}:tick", lit("a")), fail(tmpl("gave up after {{ n }} rounds"), line=9),
                           retry=3)],
               edges={"start": ["a"]})
    run = make_graph(doc, store).invoke({}, thread="t")
    assert run.status == "failed" and waits == [] and fx.CALLS["tick:a"] == 1
    assert (run.error["message"], run.error["kind"], run.error["line"]) == ("gave up after 3 rounds", "fail", 9)


def test_spec_runtime_errors_are_not_retried(store, waits) -> None:
    doc = flow(fields=[fld("x", INT, 0)],
               nodes=[node("a", call(f"{FX}:tick", lit("a")),
                           set_("x", {"k": "bin", "op": "/", "l": lit(1), "r": F("x")}), retry=3)],
               edges={"start": ["a"]})
    run = make_graph(doc, store).invoke({}, thread="t")
    assert run.status == "failed" and run.error["kind"] == "runtime" and fx.CALLS["tick:a"] == 1


def test_once_results_survive_a_retry(store, waits) -> None:
    fx.FLAKY["svc"] = 1
    doc = flow(fields=[fld("out", STR, "")],
               nodes=[node("a", call(f"{FX}:pay", lit(3), once=True), call(f"{FX}:flaky", lit("svc"), bind="r"),
                           set_("out", L("r")), retry=1)],
               edges={"start": ["a"]})
    assert make_graph(doc, store).invoke({}, thread="t").status == "done"
    assert fx.CALLS["pay"] == 1 and fx.CALLS["flaky"] == 2


def test_answers_survive_a_failure_after_them(store, waits) -> None:
    fx.FLAKY["svc"] = 1
    doc = flow(fields=[fld("out", STR, "")],
               nodes=[node("a", interrupt("q", None, STR, bind="v"), call(f"{FX}:flaky", lit("svc")),
                           set_("out", L("v")))],
               edges={"start": ["a"]})
    graph = make_graph(doc, store)
    graph.invoke({}, thread="t")
    assert graph.invoke(Command(resume="kept"), thread="t").status == "failed"
    assert graph.invoke(None, thread="t").state["out"] == "kept"


def test_call_values_must_be_json(store) -> None:
    doc = flow(fields=[fld("x", INT, 0)], nodes=[node("a", call(f"{FX}:not_json", line=4))], edges={"start": ["a"]})
    run = make_graph(doc, store).invoke({}, thread="t")
    assert run.status == "failed" and run.error["line"] == 4
    assert run.error["message"] == (
        'call "tests.runtime.calls_fixture:not_json": its result is a Python set, not a JSON value')


def test_user_code_gets_copies(store) -> None:
    doc = flow(fields=[fld("items", LIST(STR), ["a"]), fld("n", INT, 0)],
               nodes=[node("a", call(f"{FX}:mutate", F("items"), bind="n"), set_("n", L("n"), check=True))],
               edges={"start": ["a"]})
    run = make_graph(doc, store).invoke({}, thread="t")
    assert run.state == {"items": ["a"], "n": 2}


def test_keyword_arguments(store) -> None:
    doc = flow(fields=[fld("out", STR, "")],
               nodes=[node("a", call(f"{FX}:greet", lit("Ada"), kwargs={"punctuation": lit("?")}, bind="r"),
                           set_("out", L("r"), check=True))],
               edges={"start": ["a"]})
    assert make_graph(doc, store).invoke({}, thread="t").state["out"] == "hello Ada?"


def test_the_state_in_form_applies_checked_updates(store) -> None:
    doc = flow(fields=[fld("x", INT, 2), fld("note", STR, "")],
               nodes=[node("a", call(f"{FX}:updates", state_form=True))], edges={"start": ["a"]})
    assert make_graph(doc, store).invoke({}, thread="t").state == {"x": 20, "note": "updated"}
    doc = flow(fields=[fld("x", INT, 2)], nodes=[node("a", call(f"{FX}:bad_updates", state_form=True, line=3))],
               edges={"start": ["a"]})
    run = make_graph(doc, store).invoke({}, thread="t")
    assert run.status == "failed" and run.error["line"] == 3
    assert "unknown field(s) `nope`" in run.error["message"]


def test_a_missing_module_or_function_is_reported(store) -> None:
    for target, message in [("no_such_pkg.mod:f", "no module named `no_such_pkg`"),
                            (f"{FX}:missing", "has no function `missing`")]:
        doc = flow(fields=[fld("x", INT, 0)], nodes=[node("a", call(target))], edges={"start": ["a"]})
        run = make_graph(doc, store).invoke({}, thread=target)
        assert run.status == "failed" and message in run.error["message"]


def test_building_a_graph_imports_nothing(store) -> None:
    doc = flow(fields=[fld("x", INT, 0)], nodes=[node("a", call("never_imported_pkg:f"))], edges={"start": ["a"]})
    make_graph(doc, store)  # no error: call targets are imported when they first run
