"""Fan-out nodes at run time (SEMANTICS.md, "Fan-out instances"): instance
names and interrupt ids, answers one by one and many at once, writes in
instance order, conflicts, duplicate keys, empty lists, static interrupts,
the list kept in the checkpoint, and answers that store only their change."""

from __future__ import annotations

from typing import Any

import pytest

from fermata.compiler.pipeline import compile_source
from fermata.runtime import Command, Graph, InvalidUpdateError, ResumeError
from fermata.runtime.store.memory import MemoryStore
from tests.runtime import calls_fixture as fx

REVIEW = """
type Item = {id: str, title: str}
type Verdict = {keep: bool}
flow batch {
    state {
        items: list[Item]
        verdicts: list[str] = []
        published: int = 0
    }
    node review for item in items key item.id {
        call "tests.runtime.calls_fixture:tick"("review {{ item.id }}")
        let v = interrupt verdict "Keep {{ item.title }}?" expect Verdict
        set verdicts += ["{{ item.id }}={{ v.keep }}"]
    }
    node publish {
        set published += 1
    }
    start -> review
    review -> publish
    publish -> end
    STATIC
}
"""


def graph(text: str = REVIEW, store: Any = None, static: str = "") -> Graph:
    return Graph.from_ir(compile_source(text.replace("STATIC", static)), store=store or MemoryStore())


def items(n: int) -> list[dict[str, str]]:
    return [{"id": f"a{i}", "title": f"post {i}"} for i in range(n)]


def test_instances_are_named_by_key_and_their_interrupts_carry_the_name() -> None:
    run = graph().invoke({"items": items(3)}, thread="t")
    assert run.status == "interrupted"
    assert [(p.id, p.node) for p in run.interrupts] == [
        ("review[a0]:verdict", "review[a0]"), ("review[a1]:verdict", "review[a1]"),
        ("review[a2]:verdict", "review[a2]")]
    assert run.interrupts[1].payload == "Keep post 1?"


def test_without_key_instances_are_named_by_position() -> None:
    text = REVIEW.replace(" key item.id", "")
    run = graph(text).invoke({"items": items(2)}, thread="t")
    assert [p.id for p in run.interrupts] == ["review[0]:verdict", "review[1]:verdict"]


def test_answers_one_by_one_apply_in_instance_order_and_edges_fire_once() -> None:
    g = graph()
    g.invoke({"items": items(3)}, thread="t")
    for key, keep in (("a2", True), ("a0", False), ("a1", True)):
        run = g.invoke(Command(resume={f"review[{key}]:verdict": {"keep": keep}}), thread="t")
    assert run.status == "done"
    assert run.state["verdicts"] == ["a0=false", "a1=true", "a2=true"]
    assert run.state["published"] == 1


def test_ten_answers_in_one_command() -> None:
    g = graph()
    first = g.invoke({"items": items(10)}, thread="t")
    run = g.invoke(Command(resume={p.id: {"keep": i % 2 == 0} for i, p in enumerate(first.interrupts)}),
                   thread="t")
    assert run.status == "done"
    assert run.state["verdicts"] == [f"a{i}={'true' if i % 2 == 0 else 'false'}" for i in range(10)]


def test_finished_and_unanswered_instances_never_re_run() -> None:
    g = graph()
    g.invoke({"items": items(3)}, thread="t")
    assert fx.CALLS["tick:review a0"] == 1
    g.invoke(Command(resume={"review[a1]:verdict": {"keep": True}}), thread="t")
    # a1 re-ran from its start to take its answer; a0 and a2 were left alone.
    assert [name for name, _ in fx.LOG] == ["tick:review a0", "tick:review a1", "tick:review a2",
                                           "tick:review a1"]
    g.invoke(Command(resume={"review[a0]:verdict": {"keep": True}}), thread="t")
    assert fx.CALLS["tick:review a1"] == 2   # finished: never again


def test_an_empty_list_finishes_at_once_and_routes_on() -> None:
    run = graph().invoke({"items": []}, thread="t")
    assert run.status == "done"
    assert run.state == {"items": [], "verdicts": [], "published": 1}


def test_a_duplicate_key_fails_the_run_naming_both_positions() -> None:
    dup = [{"id": "x", "title": "a"}, {"id": "y", "title": "b"}, {"id": "x", "title": "c"}]
    run = graph().invoke({"items": dup}, thread="t")
    assert run.status == "failed"
    assert "positions 0 and 2" in run.error["message"] and "review[x]" in run.error["message"]


def test_replacing_one_field_from_two_instances_is_an_error() -> None:
    text = """
flow f {
    state { xs: list[int] = [1, 2]
            last: int = 0 }
    node each for x in xs { set last = x }
    start -> each
    each -> end
}"""
    with pytest.raises(InvalidUpdateError) as caught:
        graph(text).invoke({}, thread="t")
    assert caught.value.nodes == ["each[0]", "each[1]"]


def test_a_static_interrupt_before_pauses_once_before_the_whole_fan_out() -> None:
    g = graph(static="interrupt before review")
    run = g.invoke({"items": items(3)}, thread="t")
    assert [p.id for p in run.interrupts] == ["review:before"]
    run = g.invoke(Command(resume=None), thread="t")
    assert [p.id for p in run.interrupts] == [f"review[a{i}]:verdict" for i in range(3)]


def test_the_list_is_kept_so_names_and_items_survive_an_update() -> None:
    g = graph()
    g.invoke({"items": items(2)}, thread="t")
    run = g.invoke(Command(update={"items": []}, resume={"review[a0]:verdict": {"keep": True}}), thread="t")
    assert [p.id for p in run.interrupts] == ["review[a1]:verdict"]
    run = g.invoke(Command(resume={"review[a1]:verdict": {"keep": False}}), thread="t")
    assert run.state["verdicts"] == ["a0=true", "a1=false"] and run.state["items"] == []


def test_a_rejected_answer_changes_nothing() -> None:
    store = MemoryStore()
    g = graph(store=store)
    g.invoke({"items": items(3)}, thread="t")
    before = store.stored_bytes()
    with pytest.raises(ResumeError):
        g.invoke(Command(resume={"review[a1]:verdict": {"keep": "yes"}}), thread="t")
    assert store.stored_bytes() == before


def _bytes_per_answer(n: int) -> int:
    store = MemoryStore()
    g = graph(store=store)
    g.invoke({"items": items(n)}, thread="t")
    before = store.stored_bytes()
    g.invoke(Command(resume={"review[a3]:verdict": {"keep": True}}), thread="t")
    return store.stored_bytes() - before


def test_answering_one_item_stores_only_its_change_whatever_the_size_of_the_fan_out() -> None:
    small, large = _bytes_per_answer(10), _bytes_per_answer(400)
    assert large < small + 100, (small, large)


def test_a_fan_out_source_counts_once_for_a_join() -> None:
    text = """
flow f {
    state { xs: list[int] = [1, 2, 3]
            total: int = 0
            joined: int = 0 }
    node each for x in xs { set total += x }
    node other { set total += 10 }
    node both { set joined += 1 }
    start -> each, other
    each, other -> both
    both -> end
}"""
    run = graph(text).invoke({}, thread="t")
    assert run.status == "done" and run.state["total"] == 16 and run.state["joined"] == 1


def test_history_replays_to_the_same_state_from_the_store() -> None:
    store = MemoryStore()
    g = graph(store=store)
    g.invoke({"items": items(3)}, thread="t")
    g.invoke(Command(resume={"review[a1]:verdict": {"keep": True}}), thread="t")
    again = graph(store=store)   # another Graph reads only what the store holds
    run = again.invoke(Command(resume={"review[a0]:verdict": {"keep": True},
                                       "review[a2]:verdict": {"keep": False}}), thread="t")
    assert run.state["verdicts"] == ["a0=true", "a1=true", "a2=false"]
    assert [c.status for c in again.history("t")][-1] == "done"


# ------------------------------------------------------------------ replay

def _recorded_fan_out_run() -> list[Any]:
    store = MemoryStore()
    g = graph(store=store)
    g.invoke({"items": items(3)}, thread="t")
    g.invoke(Command(resume={"review[a1]:verdict": {"keep": True}}), thread="t")
    g.invoke(Command(resume={"review[a0]:verdict": {"keep": False}, "review[a2]:verdict": {"keep": True}}),
             thread="t")
    return store.history("t")


def test_a_fan_out_run_replays_on_its_own_spec() -> None:
    from fermata.runtime.replay import replay

    result = replay(graph(), _recorded_fan_out_run(), thread="t")
    assert result.compatible and not result.gaps, result.to_json()


def test_replay_catches_instances_named_differently() -> None:
    from fermata.runtime.replay import replay

    changed = graph(REVIEW.replace("key item.id", "key item.title"))
    result = replay(changed, _recorded_fan_out_run(), thread="t")
    assert result.divergence is not None and result.divergence.kind == "fanout"
    assert result.divergence.node == "review" and "review[post 0]" in result.divergence.message


def test_replay_names_the_instance_whose_writes_differ() -> None:
    from fermata.runtime.replay import replay

    changed = graph(REVIEW.replace('"{{ item.id }}={{ v.keep }}"', '"{{ item.title }}={{ v.keep }}"'))
    result = replay(changed, _recorded_fan_out_run(), thread="t")
    assert result.divergence is not None and result.divergence.kind == "write"
    assert result.divergence.node.startswith("review[")


def test_replay_agrees_on_a_fan_out_that_failed_to_start() -> None:
    from fermata.runtime.replay import replay

    store = MemoryStore()
    dup = [{"id": "x", "title": "a"}, {"id": "x", "title": "b"}]
    assert graph(store=store).invoke({"items": dup}, thread="t").status == "failed"
    assert replay(graph(), store.history("t"), thread="t").compatible
    unkeyed = replay(graph(REVIEW.replace(" key item.id", "")), store.history("t"), thread="t")
    assert unkeyed.divergence is not None and unkeyed.divergence.kind == "fanout"


def test_once_calls_are_journaled_per_instance_with_the_instance_in_their_key(tmp_path) -> None:
    from tests.runtime.once_fixture import ledger_lines

    ledger = tmp_path / "ledger.txt"
    text = f"""
flow pay {{
    state {{ ids: list[str] = ["a/1", "b"]
            paid: list[str] = [] }}
    node each for id in ids key id {{
        let r = call once "tests.runtime.once_fixture:pay"("{ledger}", 1.0)
        let ok = interrupt confirm id
        set paid += [r.receipt]
    }}
    start -> each
    each -> end
}}"""
    g = graph(text)
    run = g.invoke({}, thread="t")
    assert [p.id for p in run.interrupts] == ["each[a/1]:confirm", "each[b]:confirm"]
    g.invoke(Command(resume={"each[b]:confirm": None}), thread="t")
    run = g.invoke(Command(resume={"each[a/1]:confirm": None}), thread="t")
    assert run.status == "done"
    keys = [line.split()[1] for line in ledger_lines(str(ledger))]
    assert keys == ["t/1/each[a%2F1]/0", "t/1/each[b]/0"]   # once each, never again on resume


def test_a_crash_after_an_instances_once_call_does_not_repeat_it() -> None:
    from tests.runtime.calls_fixture import ARMED, Crash

    ARMED.clear()
    text = """
flow pay {
    state { amounts: list[float] = [10.0, 20.0]
            receipts: list[str] = [] }
    node each for amount in amounts {
        let r = call once "tests.runtime.calls_fixture:pay"(amount)
        let _c = call "tests.runtime.calls_fixture:crash"("after-pay {{ amount }}")
        set receipts += [r.receipt]
    }
    start -> each
    each -> end
}"""
    store = MemoryStore()
    g = graph(text, store=store)
    ARMED.append("after-pay 20.0")          # the second instance dies after paying
    with pytest.raises(Crash):
        g.invoke({}, thread="t")
    assert fx.CALLS["pay"] == 2
    assert sorted((r.node, r.index) for r in store.once_results("t")) == [("each[0]", 0), ("each[1]", 0)]
    run = graph(text, store=store).invoke(None, thread="t")
    assert run.status == "done" and fx.CALLS["pay"] == 2     # neither instance paid twice
    assert run.state["receipts"] == ["R-1", "R-2"]


def test_interrupt_after_pauses_once_after_the_last_instance() -> None:
    g = graph(static="interrupt after review")
    first = g.invoke({"items": items(2)}, thread="t")
    run = g.invoke(Command(resume={p.id: {"keep": True} for p in first.interrupts}), thread="t")
    assert [p.id for p in run.interrupts] == ["review:after"]
    assert run.state["verdicts"] == ["a0=true", "a1=true"] and run.state["published"] == 0
    assert g.invoke(Command(resume=None), thread="t").state["published"] == 1


def test_a_failing_instance_fails_the_run_and_a_retry_runs_only_it() -> None:
    text = """
flow f {
    state { xs: list[int] = [1, 0, 2]
            out: list[int] = []
            fixed: bool = false }
    node each for x in xs {
        call "tests.runtime.calls_fixture:tick"("each {{ x }}")
        if x == 0 and not fixed { fail "zero" }
        set out += [x]
    }
    start -> each
    each -> end
}"""
    g = graph(text)
    run = g.invoke({}, thread="t")
    assert run.status == "failed" and run.error["node"] == "each[1]" and run.error["message"] == "zero"
    run = g.invoke(Command(update={"fixed": True}), thread="t")
    assert run.status == "done" and run.state["out"] == [1, 0, 2]
    assert (fx.CALLS["tick:each 1"], fx.CALLS["tick:each 0"], fx.CALLS["tick:each 2"]) == (1, 2, 1)
