"""Webhooks: the outbox delivered, signed, retried with backoff, logged;
the docs' verification snippet against a real delivery from a real server."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from fermata.compiler import load
from fermata.runtime import Command
from fermata.runtime.clock import FakeClock
from fermata.server.webhooks import (
    EVENTS,
    Deliverer,
    DeliveryLog,
    Hook,
    Policy,
    WebhookConfigError,
    parse_hooks,
    sign,
)
from tests.server.support import REVIEW_FLOW, TOKENS, start_server

SECRET = "whsec-test-0123456789abcdef"
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "serving.md"


def review(tmp_path: Path) -> Any:
    (tmp_path / "review.flow").write_text(REVIEW_FLOW, encoding="utf-8")
    return load(tmp_path / "review.flow", store="memory:", clock=FakeClock("2026-12-01T09:00:00.000Z"))


class FakeClockS:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_events_are_delivered_signed_and_acknowledged(tmp_path: Path) -> None:
    flow = review(tmp_path)
    flow.invoke({"title": "desk", "amount": 5}, thread="r1")
    flow.invoke(Command(resume={"approved": True}), thread="r1")
    sent: list[tuple[str, bytes, dict[str, str]]] = []

    def send(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        sent.append((url, body, headers))
        return 200

    log = DeliveryLog()
    deliverer = Deliverer(flow.store, [Hook("ops", "http://hooks.example/in", SECRET)], log, send=send)
    deliverer.run_once()
    assert [json.loads(body)["type"] for _, body, _ in sent] == ["interrupt.created", "run.done"]
    _url, body, headers = sent[1]
    event = json.loads(body)
    assert event["id"] == headers["Fermata-Event-Id"] and event["thread"] == "r1"
    assert event["data"] == {"output": {"approved": True, "log": ["decided"]}}
    t = int(headers["Fermata-Signature"].split(",")[0].removeprefix("t="))
    assert headers["Fermata-Signature"] == sign(SECRET, t, body)
    assert flow.store.outbox() == []       # acknowledged once delivered
    assert [(a.event, a.outcome, a.attempt) for a in log.attempts()] == [
        ("interrupt.created", "delivered", 1), ("run.done", "delivered", 1)]


def test_a_failing_hook_is_retried_with_exponential_backoff_then_given_up(tmp_path: Path) -> None:
    flow = review(tmp_path)
    flow.invoke({"title": "desk", "amount": 5}, thread="r1")
    clock = FakeClockS()
    calls: list[float] = []

    def down(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        calls.append(clock.now)
        raise ConnectionRefusedError("connection refused")

    log = DeliveryLog()
    policy = Policy(max_attempts=4, base_delay=10.0, max_delay=25.0)
    deliverer = Deliverer(flow.store, [Hook("ops", "http://127.0.0.1:9/", SECRET)], log, policy, down, clock)
    for _ in range(200):
        deliverer.run_once()
        clock.now += 1.0
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert len(calls) == 4
    # 10 s, 20 s, then capped at 25 s, each with up to 25 % jitter (and the 1 s step of this loop)
    for gap, base in zip(gaps, [10, 20, 25], strict=True):
        assert base <= gap <= base * 1.25 + 1
    assert [a.outcome for a in log.attempts()] == ["failed", "failed", "failed", "gave_up"]
    assert all("ConnectionRefusedError" in (a.error or "") for a in log.attempts())
    assert flow.store.outbox() == []       # given up: acknowledged, and the log says so


def test_an_event_is_kept_until_every_hook_took_it(tmp_path: Path) -> None:
    flow = review(tmp_path)
    flow.invoke({"title": "desk", "amount": 5}, thread="r1")
    clock = FakeClockS()
    answers = {"http://a/": [500, 200], "http://b/": [200]}

    def send(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        return answers[url].pop(0)

    hooks = [Hook("a", "http://a/", SECRET), Hook("b", "http://b/", SECRET),
             Hook("quiet", "http://c/", SECRET, frozenset({"run.failed"}))]
    log = DeliveryLog()
    deliverer = Deliverer(flow.store, hooks, log, Policy(base_delay=5.0), send, clock)
    deliverer.run_once()
    assert len(flow.store.outbox()) == 1      # `a` still owes it
    clock.now += 10
    deliverer.run_once()
    assert flow.store.outbox() == []
    assert [(a.hook, a.outcome, a.status) for a in log.attempts()] == [
        ("a", "failed", 500), ("b", "delivered", 200), ("a", "delivered", 200)]


def test_a_new_deliverer_delivers_what_was_not_acknowledged(tmp_path: Path) -> None:
    flow = review(tmp_path)
    flow.invoke({"title": "desk", "amount": 5}, thread="r1")

    def down(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        return 503

    first = Deliverer(flow.store, [Hook("a", "http://a/", SECRET)], DeliveryLog(), send=down)
    first.run_once()
    first.stop()        # a restart: the event was never acknowledged
    got: list[bytes] = []
    Deliverer(flow.store, [Hook("a", "http://a/", SECRET)], DeliveryLog(),
              send=lambda url, body, headers, timeout: got.append(body) or 204).run_once()
    assert [json.loads(b)["type"] for b in got] == ["interrupt.created"]    # at least once


def test_the_webhooks_table_is_checked() -> None:
    hooks = parse_hooks({"ops": {"url": "https://x.example/h", "secret": SECRET, "events": ["run.done"]}}, "f")
    assert hooks[0].wants("run.done") and not hooks[0].wants("interrupt.created")
    assert set(parse_hooks({"a": {"url": "http://x/", "secret": SECRET}}, "f")[0].events) == set(EVENTS)
    for table, message in [({"a": {"url": "ftp://x", "secret": SECRET}}, "http:// or https://"),
                           ({"a": {"url": "http://x/", "secret": "short"}}, "16 characters"),
                           ({"a": {"url": "http://x/", "secret": SECRET, "events": ["run.nope"]}}, "unknown event"),
                           ({"a": {"url": "http://x/", "secret_env": "FERMATA_NO_SUCH_VAR"}}, "not set"),
                           ({"a": {"url": "http://x/", "secret": SECRET, "colour": 1}}, "unknown key")]:
        with pytest.raises(WebhookConfigError, match=message):
            parse_hooks(table, "f")


# --------------------------------------------------------------------------
# A real server, a real receiver, and the docs' snippet
# --------------------------------------------------------------------------


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records what it receives and
    answers with the statuses it is given (then 200)."""

    def __init__(self, statuses: list[int] | None = None):
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses = list(statuses or [])
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.received.append(({k: v for k, v in self.headers.items()}, body))
                self.send_response(outer.statuses.pop(0) if outer.statuses else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/hook"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver([500])      # the first delivery fails: retried
    yield running
    running.close()


def guide_snippet(tmp_path: Path) -> ModuleType:
    """The verification code of docs/guide/serving.md, as a module."""
    import importlib.util

    text = GUIDE.read_text(encoding="utf-8")
    found = re.search(r"```python\n# file: verify_webhook.py\n(.*?)```", text, re.DOTALL)
    assert found, "docs/guide/serving.md has no `# file: verify_webhook.py` block"
    path = tmp_path / "verify_webhook.py"
    path.write_text(found.group(1), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("verify_webhook", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_a_real_delivery_verifies_with_the_guides_snippet_and_a_forgery_does_not(
        tmp_path: Path, receiver: Receiver) -> None:
    hooks = tmp_path / "hooks.toml"
    hooks.write_text(f'[webhooks.ops]\nurl = "{receiver.url}"\nsecret = "{SECRET}"\n', encoding="utf-8")
    server = start_server(tmp_path, "--webhooks", str(hooks))
    try:
        import httpx

        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKENS['carol']}"}) as c:
            r = c.post("/api/flows/review/runs?wait=20", json={"input": {"title": "desk", "amount": 5}})
        assert r.status_code == 201
        deadline = time.monotonic() + 30
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.stop()
    assert len(receiver.received) >= 2, server.log.read_text(encoding="utf-8")
    first, second = receiver.received[0], receiver.received[1]
    assert first[0]["Fermata-Event-Id"] == second[0]["Fermata-Event-Id"]      # retried after the 500
    assert second[0]["Fermata-Delivery-Attempt"] == "2"
    headers, body = second
    snippet = guide_snippet(tmp_path)
    event = snippet.verify(SECRET, headers["Fermata-Signature"], body)
    assert event["type"] == "interrupt.created" and event["thread"] == r.json()["thread"]
    forged = body.replace(b"desk", b"yacht")
    for bad in [(SECRET, headers["Fermata-Signature"], forged),
                ("not-the-secret-at-all", headers["Fermata-Signature"], body),
                (SECRET, "t=1,v1=" + "0" * 64, body)]:
        with pytest.raises(snippet.BadSignature):
            snippet.verify(*bad)
    log = tmp_path / "runs.webhooks.db"
    assert log.exists()
    attempts = DeliveryLog(log).attempts(headers["Fermata-Event-Id"])
    assert [a.outcome for a in attempts] == ["failed", "delivered"]


def test_one_deliverer_per_store_delivers_and_another_takes_over(tmp_path: Path) -> None:
    flow = review(tmp_path)
    flow.invoke({"title": "desk", "amount": 5}, thread="r1")
    got: dict[str, list[bytes]] = {"a": [], "b": []}

    def to(name: str) -> Any:
        def send(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
            got[name].append(body)
            return 503 if name == "a" else 200     # `a` never gets it through
        return send

    hook = [Hook("ops", "http://x/", SECRET)]
    first = Deliverer(flow.store, hook, DeliveryLog(), Policy(base_delay=60), to("a"))
    second = Deliverer(flow.store, hook, DeliveryLog(), Policy(base_delay=60), to("b"))
    first.run_once()
    second.run_once()
    assert len(got["a"]) == 1 and got["b"] == []        # the second waits: the first holds the lease
    first.stop()                                         # releases it
    second.run_once()
    assert len(got["b"]) == 1 and flow.store.outbox() == []
