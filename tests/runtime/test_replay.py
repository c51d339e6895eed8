"""Replaying recorded runs on a changed spec (runtime/replay.py).

Runs are recorded for real (the examples, through the runtime), then
replayed on edited copies of their spec. Each incompatible edit must be
reported at the step and node where it changes the run, with a line of the
new spec; each compatible one must pass.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from fermata import compiler
from fermata.runtime import Command, Graph
from fermata.runtime.replay import load_history, replay, static_problems
from fermata.runtime.values import json_equal as same
from tests.runtime import calls_fixture
from tests.runtime.support import EXAMPLES

REFUND = (EXAMPLES / "refund.flow").read_text(encoding="utf-8")
REVIEW = (EXAMPLES / "document_review.flow").read_text(encoding="utf-8")

pytestmark = pytest.mark.usefixtures("example_packages")


def graph(source: str, *edits: tuple[str, str], store: Any = None) -> Graph:
    """The graph of ``source`` after ``edits`` (each must apply)."""
    for old, new in edits:
        assert old in source, f"edit does not apply: {old!r}"
        source = source.replace(old, new, 1)
    ir = compiler.compile_source(source, "spec.flow")
    return Graph.from_ir(ir, store=store)


def line_of(source: str, text: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


def record(g: Graph, thread: str, inputs: list[Any]) -> list:
    for payload in inputs:
        g.invoke(payload, thread=thread)
    return g.store.history(thread)


APPROVE = Command(resume={"approved": True, "comment": "fine"})
REJECT = Command(resume={"approved": False})


@pytest.fixture
def refund_runs() -> dict[str, list]:
    g = graph(REFUND)
    return {
        "approved": record(g, "approved", [{"amount": 250, "reason": "parcel never arrived"}, APPROVE, None]),
        "rejected": record(g, "rejected", [{"amount": 900, "reason": "fraud"}, REJECT]),
        "small": record(g, "small", [{"amount": 20, "reason": "size"}, None]),
        "waiting": record(g, "waiting", [{"amount": 400, "reason": "damaged"}]),
        "at_pay": record(g, "at_pay", [{"amount": 250}, APPROVE]),
    }


# --------------------------------------------------------------------------
# Compatible
# --------------------------------------------------------------------------


def test_every_run_replays_on_its_own_spec(refund_runs):
    g = graph(REFUND)
    for thread, history in refund_runs.items():
        result = replay(g, history, thread=thread)
        assert result.compatible, (thread, result.divergence)
        assert result.thread == thread and result.flow == "refund"
        assert result.checkpoints == len(history)


def test_answers_and_once_results_are_recorded_so_nothing_is_left_unchecked(refund_runs):
    from refunds import logic

    paid = len(logic.PAYMENTS)
    result = replay(graph(REFUND), refund_runs["approved"])
    assert len(logic.PAYMENTS) == paid   # `call once "refunds.logic:pay"` comes from the journal
    assert result.gaps == []
    assert result.steps == 3
    assert replay(graph(REFUND), refund_runs["waiting"]).gaps == []


def test_an_edit_to_an_answered_node_is_caught(refund_runs):
    changed = graph(REFUND, ("review -> pay when approved", "review -> pay when not approved"))
    result = replay(changed, refund_runs["approved"])
    assert not result.compatible
    assert (result.divergence.node, result.divergence.step) == ("review", 2)


def test_compatible_edits_pass(refund_runs):
    g = graph(REFUND,
              ('"""A person approves or rejects."""', '"""Someone decides."""'),
              ("Approve a refund of {{ amount }}", "Refund {{ amount }}"),  # the question's text
              # `reject` changes, but none of these runs went there
              ("        set log += [\"rejected\"]\n", "        set log += [\"rejected\"]\n        set risk = 1.0\n"))
    for thread in ("approved", "small", "waiting", "at_pay"):
        assert replay(g, refund_runs[thread]).compatible, thread


def test_the_shipped_history_fixtures_replay_on_the_shipped_specs():
    fixtures = sorted((EXAMPLES / "runs").glob("*.json"))
    assert len(fixtures) >= 4
    for fixture in fixtures:
        info, history = load_history(json.loads(fixture.read_text(encoding="utf-8")))
        spec = EXAMPLES.parent / info.source
        result = replay(Graph.from_ir(compiler.compile_file(spec)), history, thread=info.thread)
        assert result.compatible, (fixture.name, result.divergence)


def test_a_new_run_on_a_finished_thread_replays_its_start():
    g = graph(REFUND)
    history = record(g, "again", [{"amount": 20}, None, {"amount": 30}, None])
    assert [c.status for c in history].count("done") == 2
    assert replay(g, history).compatible
    changed = graph(REFUND, ("start -> assess", "start -> assess when amount < 25\n    start -> reject otherwise"))
    divergence = replay(changed, history).divergence
    # the first run (20) starts as before; the second (30) does not
    assert (divergence.step, divergence.node, divergence.kind) == (2, "start", "route")
    assert divergence.seq == 3 and history[2].status == "done"
    assert divergence.message == "recorded next `assess`, replayed next `reject`"


# --------------------------------------------------------------------------
# Incompatible
# --------------------------------------------------------------------------


def test_renamed_interrupt_label(refund_runs):
    edited = ("let d = interrupt approval", "let d = interrupt sign_off")
    g = graph(REFUND, edited)
    for thread in ("approved", "waiting"):
        d = replay(g, refund_runs[thread]).divergence
        assert (d.step, d.node, d.kind) == (2, "review", "interrupt")
        assert d.message == "recorded interrupt `review:approval`, replayed `review:sign_off`"
        assert d.line == line_of(REFUND, "let d = interrupt approval")
    assert replay(g, refund_runs["small"]).compatible  # never reached `review`


def test_the_waiting_run_also_fails_the_static_check(refund_runs):
    g = graph(REFUND, ("let d = interrupt approval", "let d = interrupt sign_off"))
    result = replay(g, refund_runs["waiting"])
    messages = [d.message for d in result.divergences]
    assert "pending interrupt `review:approval` no longer exists (node `review` has no interrupt `approval`)" \
        in messages


def test_removed_node_that_is_pending(refund_runs):
    review = REFUND[REFUND.index("    node review {"):REFUND.index("    node pay")]
    g = graph(REFUND, (review, ""),
              ("assess -> review when", "assess -> reject when"),
              ("    review -> pay when approved\n    review -> reject otherwise\n", ""))
    result = replay(g, refund_runs["waiting"])
    first = result.divergence
    assert (first.step, first.node, first.kind) == (1, "assess", "route")
    assert first.message == "recorded next `review`, replayed next `reject`"
    static = static_problems(g.compiled, refund_runs["waiting"][-1])
    assert [(d.node, d.message) for d in static] == [
        ("review", "node `review` is pending and no longer exists")]
    assert static[0] in result.divergences


def test_changed_routing_condition(refund_runs):
    g = graph(REFUND, ("risk > 0.5 or amount > 100", "risk > 0.9 or amount > 500"))
    d = replay(g, refund_runs["approved"]).divergence
    assert (d.step, d.node, d.kind) == (1, "assess", "route")
    assert d.message == "recorded next `review`, replayed next `pay`"
    assert d.line == line_of(REFUND, "assess -> pay otherwise")   # the branch the replay took
    assert replay(g, refund_runs["small"]).compatible             # 20 goes to `pay` either way
    assert replay(g, refund_runs["rejected"]).compatible          # 900 and fraud: still reviewed


def test_added_interrupt_before_an_existing_one(refund_runs):
    g = graph(REFUND, ("        let d = interrupt approval",
                       "        let l = interrupt legal \"legal ok?\" expect bool\n        let d = interrupt approval"))
    d = replay(g, refund_runs["approved"]).divergence
    assert (d.step, d.node, d.kind) == (2, "review", "interrupt")
    assert d.recorded == "interrupt `review:approval`" and d.replayed == "`review:legal`"


def test_added_interrupt_after_the_last_one_is_found_when_answers_are_recorded():
    edited = ("        set editor_notes = edit.notes ?? \"\"\n",
              "        set editor_notes = edit.notes ?? \"\"\n        let again = interrupt recheck \"sure?\"\n")
    history = record(graph(REVIEW), "doc", [{"title": "T", "body": "B"},
                                             Command(resume={"approved": True}),
                                             Command(resume={"verdict": "approve"})])
    d = replay(graph(REVIEW, edited), history).divergence
    # The editor's answer is recorded while legal is pending: the replay
    # passes it and pauses at `recheck` where the run paused at `legal`.
    assert (d.step, d.node, d.kind) == (2, "review", "interrupt")
    assert d.message == "recorded interrupt `review:legal`, replayed `review:recheck`"


def test_changed_set_value(refund_runs):
    g = graph(REFUND, ('set log += ["risk {{ risk }}"]', 'set log += ["risk: {{ risk }}"]'))
    d = replay(g, refund_runs["small"]).divergence
    assert (d.step, d.node, d.kind) == (1, "assess", "write")
    assert d.message == 'recorded `log` = ["risk 0.02"], replayed `log` = ["risk: 0.02"]'
    assert d.line == line_of(REFUND, 'set log += ["risk {{ risk }}"]')


def test_removed_set_is_a_difference(refund_runs):
    g = graph(REFUND, ("        set risk = r\n", ""))
    d = replay(g, refund_runs["small"]).divergence
    assert (d.step, d.kind) == (1, "write")
    assert d.message == "recorded `risk` = 0.02, replayed `risk` = 0.0"


def test_values_compare_as_json_where_false_is_not_zero(refund_runs):
    history = copy.deepcopy(refund_runs["small"])
    for checkpoint in history[1:]:
        checkpoint.values["approved"] = 0   # as if the old spec had written 0 where the new one keeps false
    d = replay(graph(REFUND), history).divergence
    assert (d.step, d.kind) == (1, "write")
    assert d.message == "recorded `approved` = 0, replayed `approved` = false"
    assert same({"a": [1, 2.0]}, {"a": [1.0, 2]}) and not same([True], [1]) and not same({"a": 1}, {"b": 1})


def test_static_interrupts_must_pause_the_same_boundaries(refund_runs):
    removed = graph(REFUND, ("    interrupt before pay\n", ""))
    d = replay(removed, refund_runs["approved"]).divergence
    assert (d.step, d.node, d.kind) == (2, "pay", "static_interrupt")
    assert d.message == "recorded a pause at `pay:before`, replayed no pause"
    static = static_problems(removed.compiled, refund_runs["at_pay"][-1])
    assert [d.message for d in static] == ["pending `interrupt before pay` is no longer declared"]
    added = graph(REFUND, ("    interrupt before pay\n", "    interrupt before pay\n    interrupt after assess\n"))
    d = replay(added, refund_runs["small"]).divergence
    assert (d.step, d.node, d.kind) == (1, "assess", "static_interrupt")
    assert d.message == "recorded a pause at `pay:before`, replayed a pause at `assess:after`, `pay:before`"


def test_recorded_answer_that_the_new_expect_type_rejects():
    history = record(graph(REVIEW), "doc", [{"title": "T", "body": "B"},
                                             Command(resume={"approved": True, "notes": "tighten"})])
    g = graph(REVIEW, ("type Edit = {approved: bool, notes: str?}",
                       "type Edit = {approved: bool, notes: str?, urgent: bool}"))
    d = replay(g, history).divergence
    assert (d.step, d.node, d.kind) == (2, "review", "answer")
    assert d.recorded == 'answer {"approved": true, "notes": "tighten"} to `review:editor`'
    assert d.replayed.startswith("an `expect` type it does not match")


def test_new_required_field_without_default(refund_runs):
    g = graph(REFUND, ("        decision: Decision?\n", "        decision: Decision?\n        region: str\n"))
    result = replay(g, refund_runs["waiting"])
    assert result.divergence.kind == "field"
    assert "`region`" in result.divergence.message and result.divergence.step == 0


# --------------------------------------------------------------------------
# Calls during a replay
# --------------------------------------------------------------------------

CALLS_FLOW = """
flow calls {
    state {
        n: int = 1
        out: int = 0
        receipt: str = ""
        ok: bool = false
    }
    input n
    node work {
        let d = call "tests.runtime.calls_fixture:double"(n)
        set out = d
    }
    node charge {
        let r = call once "tests.runtime.calls_fixture:pay"(n)
        set receipt = r.receipt
        let yes = interrupt confirm "charged {{ n }}" expect bool
        set ok = yes
    }
    start -> work
    work -> charge
    charge -> end
}
"""


def test_plain_calls_run_and_once_calls_never_do():
    history = record(graph(CALLS_FLOW), "c", [{"n": 3}, Command(resume=True)])
    calls_fixture.reset()
    result = replay(graph(CALLS_FLOW), history)
    assert result.compatible, result.divergence
    # `double` ran for the replay of `work`; `pay` came from the journal of
    # the paused `charge` every time (its pause and its finishing run).
    assert calls_fixture.CALLS["double"] == 1
    assert calls_fixture.CALLS["pay"] == 0
    assert result.gaps == []  # the answer to `charge:confirm` is recorded at its step's end


def test_a_once_call_with_other_arguments_diverges():
    history = record(graph(CALLS_FLOW), "c", [{"n": 3}])
    g = graph(CALLS_FLOW, ('call once "tests.runtime.calls_fixture:pay"(n)',
                           'call once "tests.runtime.calls_fixture:pay"(n + 1)'))
    d = replay(g, history).divergence
    assert (d.step, d.node, d.kind) == (2, "charge", "once")
    assert d.recorded.startswith('`call once` #0 "tests.runtime.calls_fixture:pay" with arguments')
    assert calls_fixture.CALLS["pay"] == 1  # the recording only


def test_a_call_that_cannot_be_imported_is_a_difference_not_a_crash():
    history = record(graph(CALLS_FLOW), "c", [{"n": 3}])
    g = graph(CALLS_FLOW, ("tests.runtime.calls_fixture:double", "tests.runtime.nowhere:double"))
    d = replay(g, history).divergence
    assert (d.step, d.node, d.kind) == (1, "work", "failure")
    assert "no module named `tests.runtime.nowhere`" in d.message
    assert d.line == line_of(CALLS_FLOW, "calls_fixture:double")


def test_a_recorded_failure_may_be_fixed_by_the_new_spec():
    failing = CALLS_FLOW.replace('call "tests.runtime.calls_fixture:double"(n)',
                                 'call "tests.runtime.calls_fixture:boom"("no")')
    history = record(graph(failing), "f", [{"n": 3}])
    assert history[-1].status == "failed"
    assert replay(graph(CALLS_FLOW), history).compatible


ONCE_RAISES = """
flow once_raises {
    state {
        out: str = ""
    }
    node pay {
        let r = call once "tests.runtime.calls_fixture:flaky"("svc")
        set out = r
    }
    start -> pay
    pay -> end
}
"""


def test_a_once_call_that_raised_replays_on_the_unchanged_spec():
    # A `once` call that raised has no result in the journal; the recorded
    # execution stopped in that very call, and so does its replay.
    calls_fixture.FLAKY["svc"] = 1
    g = graph(ONCE_RAISES)
    failed = record(g, "t", [{}])
    assert failed[-1].status == "failed" and failed[-1].nodes["pay"]["once"] == []
    result = replay(graph(ONCE_RAISES), failed)
    assert result.compatible, result.divergence
    assert result.gaps == []
    retried = record(g, "t", [None])
    assert retried[-1].status == "done"
    assert replay(graph(ONCE_RAISES), retried).compatible
    assert calls_fixture.CALLS["flaky"] == 2   # the recording only: a replay never calls `once`
    # ... and a different `once` call before the failure is still a difference
    other = graph(ONCE_RAISES, ('"tests.runtime.calls_fixture:flaky"("svc")',
                                '"tests.runtime.calls_fixture:flaky"("other")'))
    d = replay(other, retried).divergence
    assert (d.seq, d.node, d.kind) == (2, "pay", "once")


# --------------------------------------------------------------------------
# Steps with several nodes, joins
# --------------------------------------------------------------------------

PARALLEL = """
flow parallel {
    state {
        x: int = 0
        y: int = 0
        seen: list[str] = []
    }
    node a {
        let v = interrupt pick "a value" expect int
        set x = v
        set seen += ["a"]
    }
    node b {
        set y = 2
        set seen += ["b"]
    }
    node c {
        set seen += ["c"]
    }
    start -> a, b
    a, b -> c
    c -> end
}
"""


def test_a_finished_sibling_is_checked_against_its_recorded_writes():
    history = record(graph(PARALLEL), "p", [{}, Command(resume=7)])
    assert history[1].nodes["b"]["status"] == "finished"
    assert replay(graph(PARALLEL), history).compatible
    d = replay(graph(PARALLEL, ("set y = 2", "set y = 3")), history).divergence
    assert (d.step, d.node, d.kind) == (1, "b", "write")
    assert d.message == "recorded `y` = 2, replayed `y` = 3"
    assert d.seq == 1   # found in the in-flight checkpoint, where `b`'s record is


def test_a_step_where_one_node_replaces_what_another_adds_to_is_a_difference():
    # A history recorded before `=` beside another node's `+=` was an error:
    # `b` replaced `seen` while `a` added to it, and the step completed.
    history = copy.deepcopy(record(graph(PARALLEL), "p", [{}, Command(resume=7)]))
    history[1].nodes["b"]["writes"] = [["y", "=", 2], ["seen", "=", ["b"]]]
    # F216 catches this spec at check time; silenced, it reaches the runtime's own rule.
    replaced = graph(PARALLEL, ('set seen += ["a"]', 'set seen += ["a"]  # fermata: ignore[F216]'),
                     ('set seen += ["b"]', 'set seen = ["b"]'))
    d = replay(replaced, history).divergence
    assert (d.seq, d.step, d.node, d.kind) == (2, 1, "b", "write")
    assert d.message == ("recorded `seen` replaced by one node or added to by all, "
                         "replayed `set seen +=` by `a` and `set seen =` by `b`")


JOINED = """
flow joined {
    state {
        x: int = 0
        seen: list[str] = []
    }
    node a {
        set x = 1
    }
    node b {
        set seen += ["b"]
    }
    node d {
        set seen += ["d"]
    }
    node c {
        set seen += ["c"]
    }
    start -> a, b
    b -> d
    a, d -> c
    c -> end
}
"""


def test_join_progress_replays_like_the_engine_counts_it():
    history = record(graph(JOINED), "j", [{}])
    assert history[-1].status == "done" and history[1].joins == {"a,d->c": ["a"]}
    assert replay(graph(JOINED), history).compatible
    d = replay(graph(JOINED, ("a, d -> c", "a, b, d -> c")), history).divergence
    assert (d.step, d.node, d.kind) == (1, "c", "join")
    assert d.message == ('recorded join progress {"a,d->c": ["a"]}, '
                         'replayed join progress {"a,b,d->c": ["a", "b"]}')
    d = replay(graph(JOINED, ("a, d -> c", "a -> c\n    d -> c")), history).divergence
    assert (d.step, d.node, d.kind) == (1, "a", "route")
    assert d.message == "recorded next `d`, replayed next `c`, `d`"


# --------------------------------------------------------------------------
# Answers and journals kept by the runtime at step ends
# --------------------------------------------------------------------------


def with_completed(history: list, entries: dict[int, dict[str, Any]]) -> list:
    """``history`` as a runtime that keeps finished nodes' answers and journals records it."""
    history = copy.deepcopy(history)
    for checkpoint in history:
        if not checkpoint.nodes and checkpoint.seq > 0:
            checkpoint.extra["completed"] = entries.get(checkpoint.seq, {})
    return history


def test_recorded_answers_let_every_write_be_checked(refund_runs):
    history = refund_runs["approved"]
    journal = [{"target": "refunds.logic:pay", "args_hash": "x", "result": {"receipt": "R-1"}}]
    full = with_completed(history, {3: {"review": {"resume": [{"approved": True, "comment": "fine"}]}},
                                    4: {"pay": {"resume": [], "once": journal}}})
    # args_hash "x" is not what `pay(250)` hashes to: the journal is checked
    d = replay(graph(REFUND), full).divergence
    assert (d.step, d.node, d.kind) == (3, "pay", "once")
    from fermata.runtime.calls import args_hash
    journal[0]["args_hash"] = args_hash([250], {})
    result = replay(graph(REFUND), full)
    assert result.compatible and result.gaps == []
    changed = graph(REFUND, ('set log += ["reviewed"]', 'set log += ["reviewed!"]'))
    d = replay(changed, full).divergence
    assert (d.step, d.node, d.kind) == (2, "review", "write")
    # The runtime records finished nodes' answers too, so the real history sees it as well.
    assert (replay(changed, history).divergence.kind) == "write"
    route = graph(REFUND, ("review -> pay when approved", "review -> pay when not approved"))
    assert replay(route, full).divergence.message == "recorded next `pay`, replayed next `reject`"


def test_an_added_once_call_is_a_difference_when_journals_are_recorded(refund_runs):
    history = with_completed(refund_runs["small"], {})
    once = '        let p = call once "refunds.logic:pay"(amount)\n'
    g = graph(REFUND, ("        set risk = r\n", "        set risk = r\n" + once))
    d = replay(g, history).divergence
    assert (d.step, d.node, d.kind) == (1, "assess", "once")
    assert d.message == "recorded no `call once` #0, replayed a `call once` #0"


# --------------------------------------------------------------------------
# Histories as JSON
# --------------------------------------------------------------------------


def test_load_history_reads_what_history_json_prints(refund_runs):
    g = graph(REFUND)
    history = refund_runs["approved"]
    data = json.loads(json.dumps({"thread": {"thread": "approved", "flow": "refund", "ir_hash": g.ir_hash,
                                             "source": "examples/refund.flow", "created": "2026-01-01"},
                                  "checkpoints": [c.to_json() for c in history]}))
    info, loaded = load_history(data)
    assert info.thread == "approved" and info.flow == "refund"
    assert [c.to_json() for c in loaded] == [c.to_json() for c in history]
    assert replay(g, loaded).compatible


@pytest.mark.parametrize("data", [
    [], {"thread": {}}, {"thread": {"flow": "f"}, "checkpoints": []},
    {"thread": {"thread": "t", "flow": "f"}, "checkpoints": []},
    {"thread": {"thread": "t", "flow": "f"}, "checkpoints": [{"v": 2}]},
    {"thread": {"thread": "t", "flow": "f"}, "checkpoints": [{"v": 1, "seq": 0}]},
])
def test_load_history_rejects_what_is_not_a_history(data):
    from fermata.runtime import FermataError

    with pytest.raises(FermataError):
        load_history(data)


def test_result_json_is_plain_data(refund_runs):
    g = graph(REFUND, ("let d = interrupt approval", "let d = interrupt sign_off"))
    data = replay(g, refund_runs["approved"], thread="approved").to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["compatible"] is False
    assert data["divergence"]["node"] == "review" and data["divergence"]["checkpoint"] == "00000002"


def test_a_step_where_two_nodes_replace_one_field_is_a_difference():
    # As the engine would refuse it (superstep.complete_step): `a` and `b` both `set x =`.
    history = copy.deepcopy(record(graph(PARALLEL), "p", [{}, Command(resume=7)]))
    history[1].nodes["b"]["writes"] = [["y", "=", 2], ["x", "=", 5], ["seen", "+=", ["b"]]]
    both = graph(PARALLEL, ("set x = v", "set x = v  # fermata: ignore[F216]"),
                 ("set y = 2", "set y = 2\n        set x = 5  # fermata: ignore[F216]"))
    d = replay(both, history).divergence
    assert (d.seq, d.step, d.node, d.kind) == (2, 1, "b", "write")
    assert d.message == "recorded one `set x =` in the step, replayed two, by `a` and `b`"


def test_a_route_that_fails_on_replay_is_a_failure_not_a_crash(refund_runs):
    # Routes are evaluated inside the node's attempts (node.attempts), for
    # the engine and the replay alike.
    g = graph(REFUND, ("risk > 0.5 or amount > 100", "amount / 0 > 100 or risk > 0.5"))
    d = replay(g, refund_runs["approved"]).divergence
    assert (d.step, d.node, d.kind) == (1, "assess", "failure")
    assert d.replayed.startswith("a failure: ")
