"""``call once`` results are durable the moment the call returns.

In one process: a crash is an exception the runtime does not catch
(``Crash``, a BaseException, as a KeyboardInterrupt or a killed worker would
be), raised after a once call returned and before the step's checkpoint. The
same store object then resumes the run, as a new process would from the
file. Real processes killed with SIGKILL are in test_run_races.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from fermata.runtime import CallContext, Command, call_context, idempotency_key
from fermata.runtime.checkpoint import OnceResult
from fermata.runtime.stores import MemoryStore
from tests.runtime import calls_fixture
from tests.runtime.calls_fixture import ARMED, SEEN, Crash
from tests.runtime.irbuild import (
    BOOL,
    STR,
    F,
    L,
    call,
    fld,
    flow,
    interrupt,
    lit,
    make_graph,
    node,
    set_,
)
from tests.runtime.memstore import JsonMemoryStore

PAY = "tests.runtime.calls_fixture:pay"
CRASH = "tests.runtime.calls_fixture:crash"
KEYS = "tests.runtime.calls_fixture:keys"


@pytest.fixture(autouse=True)
def _fresh() -> None:
    ARMED.clear()
    SEEN.clear()


def pay_then_crash(second_once: bool = False) -> dict[str, Any]:
    """`pay` is a once call; `crash` a plain call after it (which can kill the run)."""
    steps = [call(PAY, lit(10.0), once=True, bind="r"), call(CRASH, lit("after-pay"), bind="c")]
    if second_once:
        steps += [call(PAY, lit(20.0), once=True, bind="r2"), call(CRASH, lit("after-second"), bind="c2")]
    return flow("f", fields=[fld("receipt", STR, ""), fld("ok", BOOL, False)],
                nodes=[node("start_here"),
                       node("pay", *steps, set_("receipt", F("receipt")), set_("ok", lit(True)))],
                edges={"start": ["start_here"], "start_here": ["pay"], "pay": ["end"]})


@pytest.mark.parametrize("make", [MemoryStore, JsonMemoryStore], ids=["memory", "default"])
def test_a_crash_after_a_once_call_returned_does_not_repeat_it(make: Any) -> None:
    store = make()
    graph = make_graph(pay_then_crash(), store)
    ARMED.append("after-pay")
    with pytest.raises(Crash):
        graph.invoke({}, thread="t")
    assert calls_fixture.CALLS["pay"] == 1
    assert graph.state("t").status == "running"            # the step's checkpoint was never written
    [saved] = store.once_results("t")
    assert (saved.step, saved.node, saved.index) == (2, "pay", 0)
    assert saved.entry["result"] == {"receipt": "R-1", "amount": 10.0}
    assert store.lease("t") is None                        # released even so (a dead process's would expire)
    run = graph.invoke(None, thread="t")
    assert run.status == "done" and calls_fixture.CALLS["pay"] == 1
    assert store.once_results("t") == []                   # the checkpoint took them over
    # What the step consumed is kept for `fermata replay`, as for any once call.
    assert graph.history("t")[-1].checkpoint_id and store.latest("t").extra["completed"]["pay"]["once"] == [saved.entry]


def test_each_once_result_is_saved_before_the_node_goes_on() -> None:
    store = MemoryStore()
    graph = make_graph(pay_then_crash(second_once=True), store)
    ARMED.append("after-second")
    with pytest.raises(Crash):
        graph.invoke({}, thread="t")
    assert [(r.node, r.index, r.entry["result"]["amount"]) for r in store.once_results("t")] == \
        [("pay", 0, 10.0), ("pay", 1, 20.0)]
    assert graph.invoke(None, thread="t").status == "done"
    assert calls_fixture.CALLS["pay"] == 2                  # each once, not four times


def test_a_resume_after_a_crash_in_a_paused_node_continues_its_journal() -> None:
    # The node paused after its first once call (journal in the checkpoint);
    # resumed, it makes a second once call and the process dies.
    doc = flow("f", fields=[fld("ok", BOOL, False)],
               nodes=[node("a", call(PAY, lit(1.0), once=True, bind="r1"), interrupt("q", None, BOOL, bind="ok"),
                           call(PAY, lit(2.0), once=True, bind="r2"), call(CRASH, lit("late"), bind="c"),
                           set_("ok", L("ok")))],
               edges={"start": ["a"], "a": ["end"]})
    store = MemoryStore()
    graph = make_graph(doc, store)
    graph.invoke({}, thread="t")
    ARMED.append("late")
    with pytest.raises(Crash):
        graph.invoke(Command(resume=True), thread="t")
    assert calls_fixture.CALLS["pay"] == 2
    assert graph.invoke(Command(resume=True), thread="t").status == "done"
    assert calls_fixture.CALLS["pay"] == 2


def test_results_left_from_an_earlier_step_are_not_used() -> None:
    # A crash between a checkpoint and dropping the results it holds leaves
    # them behind; the next execution of the node (a later step) must call.
    store = MemoryStore()
    graph = make_graph(pay_then_crash(), store)
    graph.invoke({}, thread="t")
    assert calls_fixture.CALLS["pay"] == 1
    store.save_once("t", OnceResult(2, "pay", 0, {"target": PAY, "args_hash": "x", "result": "stale"}))
    graph.invoke({}, thread="t")                            # a new run on the finished thread: steps 3, 4
    assert calls_fixture.CALLS["pay"] == 2 and graph.state("t").state["ok"] is True
    assert store.once_results("t") == []


def test_no_once_call_no_store_write() -> None:
    class Counting(MemoryStore):
        saves = drops = 0

        def save_once(self, thread: str, result: OnceResult, *, durable: bool = False) -> None:
            Counting.saves += 1
            super().save_once(thread, result, durable=durable)

        def drop_once(self, thread: str) -> None:
            Counting.drops += 1
            super().drop_once(thread)

    doc = flow("f", fields=[fld("receipt", STR, "")],
               nodes=[node("a", call(PAY, lit(1.0), bind="r")), node("b", call(PAY, lit(2.0), once=True, bind="r"))],
               edges={"start": ["a"], "a": ["b"], "b": ["end"]})
    make_graph(doc, Counting()).invoke({}, thread="t")
    assert (Counting.saves, Counting.drops) == (1, 1)      # only for the once call, dropped once


# ------------------------------------------------------------------ the idempotency key


def keyed() -> dict[str, Any]:
    return flow("f", fields=[fld("k", STR, ""), fld("ok", BOOL, False)],
                nodes=[node("first"),
                       node("charge", call(KEYS, lit("plain"), bind="p"), call(KEYS, lit("a"), once=True, bind="a"),
                            call(KEYS, lit("b"), once=True, bind="b"), set_("k", L("b")),
                            interrupt("q", None, BOOL, bind="ok"), set_("ok", L("ok")))],
                edges={"start": ["first"], "first": ["charge"], "charge": ["end"]})


def test_a_once_call_reads_a_stable_key_and_a_plain_call_none() -> None:
    store = MemoryStore()
    graph = make_graph(keyed(), store)
    graph.invoke({}, thread="orders/7")
    assert [("plain", None, None),
                    ("a", CallContext("orders/7", 2, "charge", "charge", 0), "orders/7/2/charge/0"),
                    ("b", CallContext("orders/7", 2, "charge", "charge", 1), "orders/7/2/charge/1")] == SEEN
    assert idempotency_key() is None and call_context() is None    # nothing leaks out of the call
    SEEN.clear()
    graph.invoke(Command(resume=True), thread="orders/7")
    assert SEEN == [("plain", None, None)]                  # the once calls were not made again


def test_a_crash_during_a_once_call_repeats_it_with_the_same_key() -> None:
    store = MemoryStore()
    graph = make_graph(keyed(), store)
    ARMED.append("in:b")
    with pytest.raises(Crash):
        graph.invoke({}, thread="t")
    graph.invoke(None, thread="t")
    assert [(tag, key) for tag, _, key in SEEN if tag == "b"] == [("b", "t/2/charge/1"), ("b", "t/2/charge/1")]
    assert [tag for tag, _, _ in SEEN].count("a") == 1      # `a` had returned: not repeated


def test_each_pass_of_a_loop_gets_its_own_key() -> None:
    doc = flow("f", fields=[fld("k", STR, ""), fld("n", STR, "")],
               nodes=[node("again", call(KEYS, lit("x"), once=True, bind="k"), set_("k", L("k")))],
               edges={"start": ["again"], "again": ["again"]})
    graph = make_graph(doc, MemoryStore())
    from fermata.runtime import StepLimitError

    with pytest.raises(StepLimitError):
        graph.invoke({}, thread="t", step_limit=3)
    assert [key for _, _, key in SEEN] == ["t/1/again/0", "t/2/again/0", "t/3/again/0"]
