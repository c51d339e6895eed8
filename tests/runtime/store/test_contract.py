"""The stores' contract, on every backend (conftest.py's ``make_store``): round
trips of every checkpoint part, deltas that hold only what changed,
snapshots, history, validation on load, and real flows giving the same
states and histories on every store."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fermata.runtime import Command, FermataError, Graph
from fermata.runtime.checkpoint import Checkpoint, Store
from fermata.runtime.sqlite_store import SqliteStore
from fermata.runtime.stores import (
    ROW_COST,
    Decoder,
    MemoryStore,
    StoreConflictError,
    StoreError,
    open_store,
)
from tests.runtime.irbuild import (
    INT,
    LIST,
    STR,
    F,
    add,
    append,
    bin_,
    chain,
    fld,
    flow,
    lit,
    lst,
    node,
    set_,
)
from tests.runtime.memstore import JsonMemoryStore
from tests.runtime.store.support import canonical, check_rows, cp, info
from tests.runtime.support import once_flow, parallel_flow, refundish

_names = itertools.count()


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str] | None:
    if before is None:
        return None
    names = set(before) | set(after)
    return sorted(n for n in names if n not in before or n not in after
                  or json.dumps(before[n]) != json.dumps(after[n]))


# ------------------------------------------------------------------ open_store


def test_open_store_understands_memory_sqlite_urls_and_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert isinstance(open_store(None), MemoryStore)
    assert isinstance(open_store("memory:"), MemoryStore)
    mine = MemoryStore()
    assert open_store(mine) is mine
    relative = open_store("sqlite:///sub/runs.db")
    assert isinstance(relative, SqliteStore) and (tmp_path / "sub" / "runs.db").is_file()
    absolute = open_store(f"sqlite:///{tmp_path / 'abs.db'}")   # sqlite:////tmp/... -> /tmp/...
    assert (tmp_path / "abs.db").is_file()
    short = open_store("sqlite:short.db")
    assert (tmp_path / "short.db").is_file()
    for store in (relative, absolute, short):
        store.close()


@pytest.mark.parametrize(("url", "message"), [
    ("mysql://db/runs", r"unknown store `mysql://db/runs` \(scheme `mysql:`\): use `memory:`"),
    ("runs.db", r"unknown store `runs.db`: use `memory:`, `sqlite:///.*` or `postgresql://"),
    ("sqlite:", "names no file"),
    ("sqlite:///", "names no file"),
    ("sqlite://host/runs.db", "names a host"),
])
def test_open_store_rejects_unknown_urls_clearly(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        open_store(url)


def test_store_errors_are_fermata_errors() -> None:
    assert issubclass(StoreError, FermataError) and issubclass(StoreConflictError, StoreError)
    with pytest.raises(FermataError):
        open_store(42)  # type: ignore[arg-type]


def test_graph_from_ir_opens_store_urls(tmp_path: Path) -> None:
    graph = Graph.from_ir(refundish(), store=f"sqlite:///{tmp_path / 'g.db'}")
    assert isinstance(graph.store, SqliteStore)
    assert graph.invoke({"amount": 1}, thread="t").status == "interrupted"
    graph.store.close()


# ------------------------------------------------------------------ round trips


def every_part() -> Checkpoint:
    return Checkpoint(
        seq=0, step=3, status="interrupted",
        values={"n": 1, "f": 1.0, "neg": -0.5, "b": True, "none": None, "s": "héllo ✓ \u2028 \"q\"",
                "list": [1, [2, {"x": None}]], "map": {"k": {"deep": [True, False]}}, "empty": {}},
        frontier=["a", "b"], joins={"j1": ["a"], "j2": ["x", "y"]},
        pending=[{"id": "a:q", "node": "a", "label": "q", "index": 1, "payload": {"ask": [1, 2]},
                  "schema": {"type": "boolean"}, "token": "a:q#0123456789"}],
        nodes={"a": {"status": "interrupted", "resume": [True], "interrupts": ["p", "q"],
                     "once": [{"target": "m:f", "args_hash": "abc", "result": {"r": 1}}]},
               "b": {"status": "finished", "writes": [["n", "=", 2], ["list", "+=", [3]]], "next": ["c"]}},
        error={"message": "boom", "type": "EvalError", "kind": "runtime", "node": "a", "line": 3,
               "column": 5, "path": "f.flow", "traceback": None},
        extra={"goto": ["c"], "route_start": True})


def test_every_checkpoint_part_round_trips(make_store) -> None:
    store = make_store()
    original = every_part()
    store.append(info(), original, None)
    assert canonical(store.latest("t")) == canonical(original)
    assert canonical(store.get("t", 0)) == canonical(original)
    assert store.thread("t") == info()


def test_each_part_changed_alone_is_stored_as_a_delta_and_read_back(make_store) -> None:
    store = make_store()
    first = every_part()
    variants: list[tuple[dict[str, Any], list[str]]] = [
        ({"values": {**first.values, "n": 2}}, ["n"]),
        ({"values": {k: v for k, v in {**first.values, "n": 2}.items() if k != "none"}}, ["none"]),
        ({"frontier": ["c"]}, []),
        ({"joins": {}}, []),
        ({"pending": []}, []),
        ({"nodes": {"b": first.nodes["b"]}}, []),                                          # a dropped
        ({"nodes": {}, "status": "failed"}, []),
        ({"error": None}, []),
        ({"extra": {}}, []),
        ({"step": 9, "status": "done"}, []),
        ({}, []),                                                                          # nothing
    ]
    appended = [first]
    store.append(info(), first, None)
    for seq, (change, names) in enumerate(variants, start=1):
        checkpoint = appended[-1].replace(**change, seq=seq)
        store.append(info(), checkpoint, names)
        appended.append(checkpoint)
        assert canonical(store.latest("t")) == canonical(checkpoint)
    assert [canonical(c) for c in store.history("t")] == [canonical(c) for c in appended]
    rows = check_rows(store, "t")
    assert [kind for kind, _ in rows] == ["full"] + ["delta"] * len(variants)
    # Each delta names only what changed.
    assert rows[1][1] == {"v": 1, "step": 3, "set": {"n": 2}}
    assert rows[2][1] == {"v": 1, "step": 3, "unset": ["none"]}
    assert rows[3][1] == {"v": 1, "step": 3, "frontier": ["c"]}
    assert rows[6][1] == {"v": 1, "step": 3, "nodes": {"a": None}}
    assert rows[10][1] == {"v": 1, "step": 9, "status": "done"}
    assert rows[11][1] == {"v": 1, "step": 9}


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers(-10**12, 10**12) \
        | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=8)


names = st.sampled_from(["a", "b", "c", "d"])
checkpoint_parts = st.fixed_dictionaries({
    "values": st.dictionaries(st.sampled_from(["x", "y", "z", "w"]), json_values(), max_size=4),
    "status": st.sampled_from(["running", "interrupted", "done", "failed"]),
    "frontier": st.lists(names, unique=True, max_size=3).map(sorted),
    "joins": st.dictionaries(st.sampled_from(["j1", "j2"]), st.lists(names, max_size=2), max_size=2),
    "pending": st.lists(st.builds(lambda n, p: {"id": f"{n}:q", "node": n, "label": "q", "index": 0,
                                               "payload": p, "schema": None, "token": f"{n}:q#1"},
                                  names, json_values()), max_size=2),
    "nodes": st.dictionaries(names, st.one_of(
        st.builds(lambda v: {"status": "finished", "writes": [["x", "=", v]], "next": []}, json_values()),
        st.builds(lambda r: {"status": "interrupted", "resume": r, "interrupts": ["q"], "once": []},
                  st.lists(json_values(), max_size=2)))),
    "error": st.none() | st.builds(lambda m: {"message": m, "node": None}, st.text(max_size=5)),
    "extra": st.sampled_from([{}, {"goto": ["a"]}, {"route_start": True}]),
})


@pytest.mark.slow
@given(sequence=st.lists(checkpoint_parts, min_size=1, max_size=12), every=st.integers(1, 4),
       unknown=st.lists(st.booleans(), max_size=12))
def test_history_reconstructs_every_checkpoint_appended(tmp_path_factory: pytest.TempPathFactory,
                                                        sequence: list[dict[str, Any]], every: int,
                                                        unknown: list[bool]) -> None:
    stores: list[Store] = [MemoryStore(snapshot_every=every),
                           SqliteStore(tmp_path_factory.getbasetemp() / "prop.db", snapshot_every=every)]
    thread = f"t{next(_names)}"
    appended = []
    for seq, parts in enumerate(sequence):
        checkpoint = Checkpoint(seq=seq, step=seq, **parts)
        previous = appended[-1].values if appended else None
        changed = None if seq < len(unknown) and unknown[seq] else changed_fields(previous, parts["values"])
        for store in stores:
            store.append(info(thread), checkpoint, changed)
        appended.append(checkpoint)
    expected = [canonical(c) for c in appended]
    for store in stores:
        assert [canonical(c) for c in store.history(thread)] == expected
        assert canonical(store.latest(thread)) == expected[-1]
        assert [canonical(store.get(thread, seq)) for seq in range(len(appended))] == expected
        check_rows(store, thread)
        store.close()


# ------------------------------------------------------------------ sizes and snapshots


def test_a_delta_holds_only_the_written_fields_however_big_the_state(make_store) -> None:
    store = make_store()
    big = list(range(20_000))                                   # ~110 KB of JSON
    store.append(info(), cp(0, {"big": big, "x": 0}, frontier=["spin"]), None)
    for seq in range(1, 30):
        store.append(info(), cp(seq, {"big": big, "x": seq}, frontier=["spin"]), ["x"])
    rows = store.rows("t")  # type: ignore[attr-defined]
    assert len(rows[0][1]) > 100_000
    assert [kind for kind, _ in rows[1:]] == ["delta"] * 29
    assert max(len(body) for _, body in rows[1:]) < 40
    assert json.loads(rows[5][1]) == {"v": 1, "step": 5, "set": {"x": 5}}
    assert store.latest("t").values == {"big": big, "x": 29}


def test_unknown_changes_store_a_full_snapshot(make_store) -> None:
    store = make_store()
    store.append(info(), cp(0, {"x": 0}), None)
    store.append(info(), cp(1, {"x": 1}), None)
    assert [kind for kind, _ in store.rows("t")] == ["full", "full"]  # type: ignore[attr-defined]


def test_a_resume_stores_only_the_node_records_that_changed(make_store) -> None:
    store = make_store()
    finished = {"status": "finished", "writes": [["log", "+=", ["x" * 5000]]], "next": []}
    nodes = {"a": finished, "b": {"status": "interrupted", "resume": [], "interrupts": ["q"], "once": []}}
    store.append(info(), cp(0, {}, status="interrupted", frontier=["a", "b"], nodes=nodes), None)
    again = {**nodes, "b": {**nodes["b"], "resume": [1], "interrupts": ["q", "r"]}}
    store.append(info(), cp(1, {}, status="interrupted", frontier=["a", "b"], nodes=again), [])
    kind, body = store.rows("t")[1]  # type: ignore[attr-defined]
    assert kind == "delta" and json.loads(body) == {"v": 1, "step": 1, "nodes": {"b": again["b"]}}
    assert store.latest("t").nodes == again


def _asked(key: int, label: str = "verdict") -> dict[str, Any]:
    return {"id": f"r[{key}]:{label}", "node": f"r[{key}]", "label": label, "index": 0,
            "payload": {"text": "x" * 200}, "schema": None, "token": f"r[{key}]:{label}#{key:010d}"}


def test_a_change_to_a_few_of_many_pending_interrupts_is_stored_as_a_splice(make_store) -> None:
    store = make_store()
    pending = [_asked(k) for k in range(40)]
    changes = [pending[:7] + pending[8:],                                   # one answered
               pending[:7] + [_asked(7, "why")] + pending[8:],              # ... and asked again
               pending[:7] + [_asked(7, "why")] + pending[8:] + [_asked(99)],
               [_asked(1)]]                                                 # a short list: whole
    store.append(info(), cp(0, {}, status="interrupted", pending=pending), None)
    for seq, now in enumerate(changes, 1):
        store.append(info(), cp(seq, {}, status="interrupted", pending=now), [])
    rows = check_rows(store, "t")
    assert [sorted(body) for _, body in rows[1:]] == [["pending_splice", "step", "v"]] * 3 + [
        ["pending", "step", "v"]]
    assert rows[1][1]["pending_splice"] == [7, 1, []]
    assert rows[2][1]["pending_splice"] == [7, 0, [_asked(7, "why")]]
    assert max(len(json.dumps(body)) for _, body in rows[1:4]) < 500
    assert [c.pending for c in store.history("t")] == [pending, *changes]


def test_small_states_are_snapshotted_every_n_checkpoints(make_store) -> None:
    store = make_store(snapshot_every=5)
    for seq in range(13):
        store.append(info(), cp(seq, {"x": seq}), None if seq == 0 else ["x"])
    kinds = [kind for kind, _ in store.rows("t")]  # type: ignore[attr-defined]
    assert [seq for seq, kind in enumerate(kinds) if kind == "full"] == [0, 5, 10]
    assert [c.values["x"] for c in store.history("t")] == list(range(13))
    assert store.get("t", 7).values == {"x": 7} and store.get("t", 13) is None and store.get("t", -1) is None


def test_a_big_state_is_snapshotted_only_once_reading_deltas_would_cost_as_much(make_store) -> None:
    store = make_store(snapshot_every=5)
    big = "x" * 10_000
    store.append(info(), cp(0, {"big": big, "x": 0}), None)
    seq = 0
    while True:
        seq += 1
        store.append(info(), cp(seq, {"big": big, "x": seq}), ["x"])
        if store.rows("t")[-1][0] == "full":  # type: ignore[attr-defined]
            break
    # deltas of ~30 bytes, each counted as ROW_COST more: ~10 KB / (30 + ROW_COST) rows
    assert 10_000 / (40 + ROW_COST) <= seq <= 10_000 / ROW_COST + 2
    assert store.latest("t").values == {"big": big, "x": seq}


# ------------------------------------------------------------------ integrity


def test_seqs_must_follow_each_other(make_store) -> None:
    store = make_store()
    with pytest.raises(StoreConflictError, match="expects checkpoint 0 next, not 1"):
        store.append(info(), cp(1, {}), None)
    store.append(info(), cp(0, {}), None)
    for seq in (0, 2):
        with pytest.raises(StoreConflictError, match=f"thread `t` expects checkpoint 1 next, not {seq}"):
            store.append(info(), cp(seq, {"x": 1}), None)
    assert len(store.history("t")) == 1


def test_a_value_json_cannot_hold_is_refused_and_nothing_is_stored(make_store) -> None:
    store = make_store()
    store.append(info(), cp(0, {"x": 1}), None)
    circular: list[Any] = [1]
    circular.append(circular)     # caught by the recursion limit: the encoder keeps no markers
    for bad in ({1, 2}, float("nan"), object(), circular):
        with pytest.raises(StoreError, match="checkpoint 1 cannot be stored as JSON"):
            store.append(info(), cp(1, {"x": bad}), ["x"])
    assert len(store.history("t")) == 1
    store.append(info(), cp(1, {"x": 2}), ["x"])
    assert store.latest("t").values == {"x": 2}


def test_nothing_is_shared_by_reference(make_store) -> None:
    store = make_store()
    values = {"list": [1, 2], "map": {"k": "v"}}
    checkpoint = cp(0, values, frontier=["a"])
    store.append(info(), checkpoint, None)
    values["list"].append(3)
    checkpoint.frontier.append("b")
    latest = store.latest("t")
    assert latest.values == {"list": [1, 2], "map": {"k": "v"}} and latest.frontier == ["a"]
    latest.values["map"]["k"] = "changed"
    latest.frontier.clear()
    assert store.latest("t").values["map"] == {"k": "v"} and store.get("t", 0).frontier == ["a"]


def test_threads_and_their_info(make_store) -> None:
    store = make_store()
    assert store.thread("b") is None and store.threads() == [] and store.latest("b") is None
    assert store.history("b") == [] and store.get("b", 0) is None
    for name in ("b", "a"):
        store.append(info(name), cp(0, {}), None)
    assert [i.thread for i in store.threads()] == ["a", "b"]
    repinned = info("a", ir_hash="b" * 64)
    store.append(repinned, cp(1, {}), [])
    assert store.thread("a") == repinned and store.thread("b") == info("b")


def test_rows_are_validated_when_loading() -> None:
    decoder = Decoder("here", "t")
    with pytest.raises(StoreError, match="here: checkpoint 0 of thread `t` is corrupt: it is a delta with no full"):
        decoder.feed(0, "delta", '{"v":1,"step":0}')
    cases = [
        ('{"v":1,"step":0', "it is not JSON"),
        ("[1]", "it is not a JSON object"),
        ('{"step":0,"status":"done","values":{}}', "format version is None, expected 1"),
        ('{"v":1,"step":0,"values":{}}', r"a full snapshot lacks \['status'\]"),
        ('{"v":1,"step":0,"status":"done","values":{},"bogus":1}', r"unknown keys \['bogus'\]"),
        ('{"v":1,"step":"0","status":"done","values":{}}', r"`step` has the wrong type \(str\)"),
        ('{"v":1,"step":0,"status":"paused","values":{}}', "unknown status 'paused'"),
        ('{"v":1,"step":0,"status":"done","values":[]}', "`values` is not an object"),
    ]
    for text, message in cases:
        with pytest.raises(StoreError, match=message):
            Decoder("here", "t").feed(0, "full", text)
    with pytest.raises(StoreError, match="format version 2, newer than this Fermata reads"):
        Decoder("here", "t").feed(0, "full", '{"v":2}')
    decoder = Decoder("here", "t")
    decoder.feed(0, "full", '{"v":1,"step":0,"status":"done","values":{}}')
    with pytest.raises(StoreError, match=r"`set` is not an object"):
        decoder.feed(1, "delta", '{"v":1,"step":1,"set":[1]}')
    with pytest.raises(StoreError, match="kind is 'half'"):
        decoder.feed(1, "half", '{"v":1,"step":1}')


# ------------------------------------------------------------------ real flows on every store


def loop_flow() -> dict[str, Any]:
    """A conditional edge looping a node, a field growing each time."""
    return flow("loop", fields=[fld("x", INT, 0), fld("log", LIST(STR), [])],
                nodes=[node("spin", set_("x", add(F("x"), lit(1))), append("log", lst(lit("s"))))],
                edges={"start": ["spin"], "spin": [(["spin"], bin_("<", F("x"), lit(60))), (["end"], None)]})


def drive(graph: Graph) -> None:
    """One scenario per flow: pauses, partial resumes, updates, goto, reruns."""
    graph.invoke({}, thread="chain")
    graph.invoke({}, thread="chain")                       # a second run on the finished thread
    graph.invoke({"amount": 250.0}, thread="refund")
    graph.invoke(Command(resume=True, update={"reason": "ok"}), thread="refund")
    graph.invoke({}, thread="parallel")
    graph.invoke(Command(resume={"a:qa": 1}), thread="parallel")
    graph.invoke(None, thread="parallel")
    graph.invoke(Command(resume={"b:qb": 2}), thread="parallel")
    graph.invoke({"amount": 5}, thread="once")
    graph.invoke(Command(resume=True), thread="once")
    graph.invoke({}, thread="loop", step_limit=200)
    graph.fork("refund", 2, thread="forked", update={"reason": "fork"})


FLOWS = {"chain": lambda: chain(7), "refund": refundish, "parallel": parallel_flow, "once": once_flow,
         "loop": loop_flow}


def run_flows(store: Store) -> dict[str, list[str]]:
    """Every flow's scenario on ``store``; each thread's history, canonical."""
    graphs = {name: Graph.from_ir(make(), store=store) for name, make in FLOWS.items()}

    class Router:   # one driver for every flow: each thread is its flow's
        def invoke(self, payload: Any, thread: str, **kw: Any) -> Any:
            return graphs[thread].invoke(payload, thread=thread, **kw)

        def fork(self, source: str, checkpoint: int, **kw: Any) -> Any:
            return graphs[source].fork(source, checkpoint, **kw)

    drive(Router())  # type: ignore[arg-type]
    return {i.thread: [canonical(c) for c in store.history(i.thread)] for i in store.threads()}


def test_flows_give_the_same_states_and_histories_on_every_store(make_store) -> None:
    from tests.runtime import calls_fixture

    reference = run_flows(JsonMemoryStore())
    calls_fixture.reset()
    store = make_store(snapshot_every=4)
    assert run_flows(store) == reference
    assert sorted(reference) == ["chain", "forked", "loop", "once", "parallel", "refund"]
    assert json.loads(reference["loop"][-1])["values"]["x"] == 60
    for thread in reference:
        kinds = [kind for kind, _ in check_rows(store, thread)]
        assert kinds[0] == "full" and ("delta" in kinds or thread == "forked")


def test_a_store_does_not_grow_with_unchanged_state_in_a_real_run(make_store) -> None:
    doc = flow("big", fields=[fld("x", INT, 0), fld("big", LIST(STR), [])],
               nodes=[node("spin", set_("x", add(F("x"), lit(1))))],
               edges={"start": ["spin"], "spin": [(["spin"], bin_("<", F("x"), lit(100))), (["end"], None)]})
    store = make_store()
    run = Graph.from_ir(doc, store=store).invoke({"big": ["y" * 100_000]}, thread="t", step_limit=200)
    assert run.state["x"] == 100
    rows = store.rows("t")  # type: ignore[attr-defined]
    assert len(rows) == 101 and [kind for kind, _ in rows[1:]] == ["delta"] * 100
    assert max(len(body) for _, body in rows[1:]) < 100
