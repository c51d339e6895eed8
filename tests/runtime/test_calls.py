"""Calling user code: lazy import, JSON checks, hashes, timeouts, tracebacks."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import pytest

from fermata.runtime import calls
from fermata.runtime.calls import CallPolicy
from fermata.runtime.errors import CallTimeoutError, EvalError, UserCodeError
from fermata.runtime.values import NotJSON, json_copy
from tests.runtime import calls_fixture as fx
from tests.runtime.irbuild import STR, L, call, fld, flow, lit, make_graph, node, set_

FX = "tests.runtime.calls_fixture"


def test_resolve_imports_once_and_caches() -> None:
    first = calls.resolve(f"{FX}:echo")
    assert first is fx.echo and calls.resolve(f"{FX}:echo") is first


def test_invoke_returns_a_checked_copy() -> None:
    data = {"a": [1, 2]}
    result = calls.invoke(f"{FX}:echo", [data], {})
    assert result == data and result is not data


def test_user_exceptions_are_wrapped_with_their_traceback() -> None:
    with pytest.raises(UserCodeError) as caught:
        calls.invoke(f"{FX}:boom", ["x"], {})
    assert caught.value.retryable and caught.value.type_name == "ValueError"
    assert "in _inner_boom" in caught.value.traceback


def test_non_json_values_are_named() -> None:
    with pytest.raises(NotJSON, match=r"the value\['k'\]\[1\] is a Python tuple"):
        json_copy({"k": [1, (2,)]})
    with pytest.raises(NotJSON, match="is a float"):
        json_copy(float("nan"))
    with pytest.raises(NotJSON, match="a key of"):
        json_copy({1: "x"})
    with pytest.raises(EvalError, match="its arguments"):
        calls.checked_args([object()], {}, "m:f")


def test_args_hash_is_canonical() -> None:
    assert calls.args_hash([{"b": 1, "a": 2}], {}) == calls.args_hash([{"a": 2, "b": 1}], {})
    assert calls.args_hash([1], {}) != calls.args_hash([1], {"k": 1})


def test_run_with_timeout() -> None:
    assert calls.run_with_timeout(lambda: 42, 1000, "w") == 42
    assert calls.run_with_timeout(lambda: 42, None, "w") == 42
    start = time.perf_counter()
    with pytest.raises(CallTimeoutError, match="w timed out after 20 ms"):
        calls.run_with_timeout(lambda: time.sleep(1), 20, "w")
    assert time.perf_counter() - start < 0.5
    with pytest.raises(KeyError):
        calls.run_with_timeout(lambda: {}["k"], 1000, "w")


# --------------------------------------------------------------------------
# The call policy (issue #11, point 17)
# --------------------------------------------------------------------------



def _one_call(target: str, *, once: bool = False, line: int = 7) -> dict:
    return flow(fields=[fld("out", STR, "")],
                nodes=[node("n", call(target, *(), once=once, bind="r", line=line))],
                edges={"start": ["n"], "n": ["end"]})


def _one_call_with_args(target: str, *args: dict, line: int = 7) -> dict:
    return flow(fields=[fld("out", STR, "")],
                nodes=[node("n", call(target, *args, bind="r", line=line), set_("out", L("r"), line=line + 1))],
                edges={"start": ["n"], "n": ["end"]})


def _package(tmp_path: Path, body: str) -> str:
    """A module of a fresh name on sys.path; importing it creates `imported.txt`."""
    name = f"policy_fixture_{uuid.uuid4().hex[:8]}"
    marker = (tmp_path / "imported.txt").as_posix()
    (tmp_path / f"{name}.py").write_text(f"open({marker!r}, 'w').close()\n{body}", encoding="utf-8")
    if str(tmp_path) not in sys.path:
        sys.path.insert(0, str(tmp_path))
    return name


def test_a_denied_call_fails_its_step_naming_the_spec_line(store) -> None:
    # Before the policy, `os:system` ran: any spec in a pull request could run a command.
    run = make_graph(_one_call_with_args("os:system", lit("echo pwned"), line=12), store).invoke({}, thread="t")
    assert run.status == "failed"
    assert run.error["kind"] == "policy" and run.error["type"] == "CallPolicyError"
    assert run.error["line"] == 12 and run.error["node"] == "n"
    assert run.error["message"].startswith('call "os:system" is refused by the call policy: '
                                           "`os` is on its deny-list")
    assert 'allow = ["os:system"]' in run.error["message"]


def test_a_refused_module_is_never_imported(store, tmp_path: Path) -> None:
    name = _package(tmp_path, "def f():\n    return 1\n")
    policy = CallPolicy.configured(deny=[name])
    run = make_graph(_one_call(f"{name}:f"), store, call_policy=policy).invoke({}, thread="t")
    assert run.status == "failed" and run.error["kind"] == "policy"
    assert not (tmp_path / "imported.txt").exists() and name not in sys.modules


def test_a_call_outside_the_allow_list_is_refused_and_one_inside_runs(store) -> None:
    policy = CallPolicy.configured(allow=["tests.runtime"])
    ok = make_graph(_one_call_with_args(f"{FX}:greet", lit("ann")), store, call_policy=policy)
    assert ok.invoke({}, thread="ok").output == {"out": "hello ann!"}
    refused = make_graph(_one_call("json:dumps"), store, call_policy=policy).invoke({}, thread="no")
    assert refused.status == "failed"
    assert "it matches no `allow` pattern" in refused.error["message"]


def test_once_calls_obey_the_policy_too(store) -> None:
    policy = CallPolicy.configured(allow=["tests.runtime.calls_fixture:echo"])
    run = make_graph(_one_call(f"{FX}:not_json", once=True), store, call_policy=policy).invoke({}, thread="t")
    assert run.status == "failed" and run.error["kind"] == "policy"


def test_only_an_exact_allow_overrides_the_deny_list(store) -> None:
    doc = _one_call_with_args("os.path:join", lit("a"), lit("b"))
    exact = CallPolicy().also_allowing(["os.path:join"])
    assert make_graph(doc, store, call_policy=exact).invoke({}, thread="exact").output == {"out": "a/b"}
    for pattern in ("os.path", "os.*", "os.path:*", "*"):
        loose = CallPolicy().also_allowing([pattern])
        run = make_graph(doc, store, call_policy=loose).invoke({}, thread=f"loose {pattern}")
        assert run.status == "failed" and run.error["kind"] == "policy", pattern


def test_a_re_exported_denied_function_is_refused_after_import(store, tmp_path: Path) -> None:
    # `from os import getcwd` in an allowed module must not smuggle os in.
    name = _package(tmp_path, "from os import getcwd\n")
    run = make_graph(_one_call(f"{name}:getcwd"), store).invoke({}, thread="t")
    assert run.status == "failed" and run.error["kind"] == "policy"
    assert "it is a function of module `posix`" in run.error["message"] or \
        "it is a function of module `nt`" in run.error["message"]
    exact = CallPolicy().also_allowing([f"{name}:getcwd"])
    assert make_graph(_one_call(f"{name}:getcwd"), store, call_policy=exact).invoke({}, thread="u").status == "done"


def test_the_default_policy_applies_without_one_given(store) -> None:
    # Graph.from_ir, and so the generated Python module's load(), refuse the deny-list.
    run = make_graph(_one_call("subprocess:getoutput"), store).invoke({}, thread="t")
    assert run.status == "failed" and run.error["kind"] == "policy"


def test_a_policy_refusal_is_not_retried(store) -> None:
    doc = _one_call("builtins:breakpoint")
    doc["flows"]["f"]["nodes"]["n"]["retry"] = 3
    run = make_graph(doc, store).invoke({}, thread="t")
    assert run.status == "failed" and run.error["attempts"] == 1


def test_an_attempt_abandoned_at_its_timeout_runs_no_further_step(store) -> None:
    # Before, the abandoned worker went on with the node's next steps (here a
    # call) in the background, after the run had already moved on.
    import threading

    fx.GATES["t"] = threading.Event()
    doc = flow(fields=[fld("out", STR, "")],
               nodes=[node("n", call(f"{FX}:wait_for", lit("t")), call(f"{FX}:tick", lit("after")),
                           timeout_ms=1)],
               edges={"start": ["n"], "n": ["end"]})
    run = make_graph(doc, store).invoke({}, thread="t")
    assert run.status == "failed" and run.error["kind"] == "timeout"
    worker = next(t for t in threading.enumerate() if t.name == "fermata node `n`")
    fx.GATES["t"].set()
    worker.join(30)
    assert not worker.is_alive()
    assert fx.CALLS["wait_for"] == 1 and fx.CALLS["tick:after"] == 0


# ------------------------------------------------------------ lone surrogates (issue #11, point 15)


def test_a_lone_surrogate_is_not_a_json_value() -> None:
    with pytest.raises(NotJSON, match="lone surrogate"):
        json_copy({"k": ["fine", "\ud800"]})
    assert json_copy("astral \U0001f600 and é") == "astral \U0001f600 and é"


def test_a_call_returning_a_lone_surrogate_fails_its_step_and_the_run_is_stored(tmp_path: Path) -> None:
    from fermata.runtime.sqlite_store import SqliteStore

    store = SqliteStore(tmp_path / "runs.db")
    run = make_graph(_one_call_with_args(f"{FX}:lone_surrogate"), store).invoke({}, thread="t")
    assert run.status == "failed" and "lone surrogate" in run.error["message"]
    assert SqliteStore(tmp_path / "runs.db").latest("t").status == "failed"


def test_an_exception_message_with_a_lone_surrogate_is_stored_escaped(tmp_path: Path) -> None:
    from fermata.runtime.sqlite_store import SqliteStore

    store = SqliteStore(tmp_path / "runs.db")
    run = make_graph(_one_call_with_args(f"{FX}:boom_with_surrogate"), store).invoke({}, thread="t")
    assert run.status == "failed"
    stored = SqliteStore(tmp_path / "runs.db").latest("t").error
    assert "cannot decode \\udcff" in stored["message"] and "\\udcff" in stored["traceback"]
