"""The JSON API against a real `fermata serve` process, on SQLite and on
PostgreSQL (``$FERMATA_TEST_POSTGRES``; skipped with one line without it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from fermata.compiler import load
from tests.server.support import Server, server_on

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with server_on(request, tmp_path_factory, "api") as running:
        yield running


def start_review(server: Server, title: str = "laptop", amount: int = 900) -> dict[str, Any]:
    with server.client("carol") as c:
        r = c.post("/api/flows/review/runs?wait=20", json={"input": {"title": title, "amount": amount}})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_start_waits_for_the_first_pause_and_returns_the_run(server: Server) -> None:
    run = start_review(server)
    assert run["status"] == "interrupted"
    assert [i["id"] for i in run["interrupts"]] == ["ask:approval"]
    assert run["interrupts"][0]["payload"] == "Approve laptop for 900?"
    assert run["audit"][0]["what"] == "started" and run["audit"][0]["by"] == "carol"


def test_start_without_wait_is_accepted_and_the_run_can_be_followed(server: Server) -> None:
    with server.client("carol") as c:
        r = c.post("/api/flows/review/runs", json={"input": {"title": "desk", "amount": 5}})
        assert r.status_code in (201, 202), r.text
        thread = r.headers["location"].rsplit("/", 1)[1]
        deadline = time.monotonic() + 20
        while (got := c.get(f"/api/runs/{thread}")).status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert got.json()["status"] in ("running", "interrupted")


def test_invalid_input_is_422_listing_every_problem_and_starts_nothing(server: Server) -> None:
    with server.client("carol") as c:
        before = c.get("/api/runs?limit=200").json()["items"]
        r = c.post("/api/flows/review/runs?wait=5", json={"input": {"amount": "lots", "extra": 1}})
        after = c.get("/api/runs?limit=200").json()["items"]
    assert r.status_code == 422
    problems = r.json()["problems"]
    assert "missing required field `title`" in problems
    assert any("`amount`" in p and "expected int" in p for p in problems)
    assert "unknown field `extra`" in problems
    assert before == after


def test_a_body_that_is_not_json_is_400(server: Server) -> None:
    with server.client("carol") as c:
        r = c.post("/api/flows/review/runs", content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "bad_request"


def test_get_run_is_state_json_plus_output_and_audit(server: Server) -> None:
    run = start_review(server)
    with server.client("alice") as c:
        got = c.get(f"/api/runs/{run['thread']}").json()
    assert set(got) == {"thread", "flow", "source", "status", "step", "checkpoint_id", "state", "next",
                        "interrupts", "error", "output", "audit"}
    assert got["output"] == {"approved": False, "log": []}


def test_answer_by_id_runs_to_the_end_and_records_who_answered(server: Server) -> None:
    run = start_review(server)
    with server.client("alice") as c:
        r = c.post(f"/api/runs/{run['thread']}/answers?wait=20",
                   json={"id": "ask:approval", "value": {"approved": True, "comment": "fine"}})
        history = c.get(f"/api/runs/{run['thread']}/history").json()
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "done" and done["output"] == {"approved": True, "log": ["decided"]}
    answers = [a for a in done["audit"] if a["what"] == "answered"]
    assert answers == [{"what": "answered", "checkpoint_id": answers[0]["checkpoint_id"], "step": answers[0]["step"],
                        "id": "ask:approval", "token": run["interrupts"][0]["token"], "by": "alice",
                        "at": answers[0]["at"], "value": {"approved": True, "comment": "fine"}}]
    assert int(answers[0]["checkpoint_id"]) > int(run["checkpoint_id"])
    assert history["checkpoints"][-1]["status"] == "done"
    assert [(a["what"], a.get("by")) for a in history["audit"]] == [
        ("started", "carol"), ("asked", None), ("answered", "alice")]


def test_a_refused_answer_is_422_with_every_violation_and_leaves_the_run_as_it_was(server: Server) -> None:
    run = start_review(server)
    with server.client("alice") as c:
        before = c.get(f"/api/runs/{run['thread']}/history").json()
        r = c.post(f"/api/runs/{run['thread']}/answers?wait=5",
                   json={"token": run["interrupts"][0]["token"], "value": {"approved": "yes", "comment": 4}})
        after = c.get(f"/api/runs/{run['thread']}/history").json()
    assert r.status_code == 422
    assert sorted(r.json()["problems"]) == [
        '`ask:approval`: `approved`: expected bool, got str "yes"',
        "`ask:approval`: `comment`: expected str, got int 4"]
    assert before == after


def test_a_stale_token_is_409(server: Server) -> None:
    run = start_review(server)
    token = run["interrupts"][0]["token"]
    with server.client("alice") as c:
        first = c.post(f"/api/runs/{run['thread']}/answers?wait=20",
                       json={"token": token, "value": {"approved": False}})
        again = c.post(f"/api/runs/{run['thread']}/answers?wait=20", json={"token": token, "value": {"approved": True}})
        by_id = c.post(f"/api/runs/{run['thread']}/answers", json={"id": "ask:approval", "value": {"approved": True}})
        state = c.get(f"/api/runs/{run['thread']}").json()
    assert first.status_code == 200
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    assert by_id.status_code == 409
    assert state["output"]["approved"] is False


def test_two_answers_at_once_one_wins_the_other_is_409(server: Server) -> None:
    import concurrent.futures

    run = start_review(server)
    token = run["interrupts"][0]["token"]

    def send(value: bool) -> int:
        with server.client("alice") as c:
            return c.post(f"/api/runs/{run['thread']}/answers?wait=20",
                          json={"token": token, "value": {"approved": value}}).status_code

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(send, [True, False]))
    assert codes == [200, 409]


def test_an_unknown_question_is_404(server: Server) -> None:
    run = start_review(server)
    with server.client("alice") as c:
        r = c.post(f"/api/runs/{run['thread']}/answers", json={"id": "nowhere:nothing", "value": 1})
    assert r.status_code == 404


def test_a_viewer_may_see_but_not_answer_403(server: Server) -> None:
    run = start_review(server)
    with server.client("bob") as c:
        assert c.get(f"/api/runs/{run['thread']}").status_code == 200
        r = c.post(f"/api/runs/{run['thread']}/answers", json={"id": "ask:approval", "value": {"approved": True}})
        inbox = c.get("/api/inbox").json()["items"]
    assert r.status_code == 403
    assert inbox == []  # a viewer may answer nothing, so nothing waits for it


def test_only_starters_start_runs(server: Server) -> None:
    with server.client("alice") as c:
        r = c.post("/api/flows/review/runs", json={"input": {"title": "x", "amount": 1}})
    assert r.status_code == 403


def test_runs_and_questions_of_flows_a_user_may_not_see_are_404_never_403(server: Server) -> None:
    with server.client("root") as c:
        r = c.post("/api/flows/payroll/runs?wait=20", json={"input": {"who": "dana"}})
        assert r.status_code == 201, r.text
    secret = r.json()
    with server.client("alice") as c:
        assert c.get(f"/api/runs/{secret['thread']}").status_code == 404
        assert c.get(f"/api/runs/{secret['thread']}/history").status_code == 404
        answer = c.post(f"/api/runs/{secret['thread']}/answers", json={"id": "confirm:confirm", "value": True})
        assert answer.status_code == 404
        assert c.post("/api/flows/payroll/runs", json={"input": {"who": "x"}}).status_code == 404
        assert c.get(f"/api/runs/{'no-such-run'}").status_code == 404
        assert all(q["flow"] != "payroll" for q in c.get("/api/inbox?limit=200").json()["items"])
        assert all(r["flow"] != "payroll" for r in c.get("/api/runs?limit=200").json()["items"])
        doc = c.get("/openapi.json").json()
        assert "/api/flows/payroll/runs" not in doc["paths"]


def test_without_a_valid_token_the_api_is_401(server: Server) -> None:
    assert httpx.get(f"{server.url}/api/inbox").status_code == 401
    r = httpx.get(f"{server.url}/api/inbox", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_the_session_cookie_does_not_open_the_api(server: Server) -> None:
    # A cross-site form could carry a person's cookie; only a Bearer token opens the API.
    with server.client() as c:
        page = c.get("/login")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        c.post("/login", data={"csrf": csrf, "name": "alice", "token": "alice-token-0123456789", "next": "/inbox"})
        assert c.get("/inbox").status_code == 200
        assert c.get("/api/inbox").status_code == 401


def test_the_inbox_lists_pending_questions_pages_and_filters(server: Server) -> None:
    for i in range(3):
        start_review(server, title=f"item{i}")
    with server.client("alice") as c:
        everything = c.get("/api/inbox?limit=200").json()["items"]
        seen: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = c.get("/api/inbox", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        by_label = c.get("/api/inbox?label=approval&limit=200").json()["items"]
        by_flow = c.get("/api/inbox?flow=order&limit=200").json()["items"]
        none = c.get("/api/inbox?label=nothing").json()["items"]
    assert seen == everything and len(everything) >= 3
    assert all(q["label"] == "approval" for q in by_label) and by_label
    assert by_flow == [] and none == []
    assert {"thread", "id", "token", "schema", "payload", "to", "deadline", "may_answer"} <= set(everything[0])


def test_runs_are_listed_by_thread_oldest_first_paged_and_filtered_by_status(server: Server) -> None:
    start_review(server)
    start_review(server)
    with server.client("alice") as c:
        everything = c.get("/api/runs?flow=review&limit=200").json()["items"]
        first = c.get("/api/runs?flow=review&limit=1").json()
        second = c.get(f"/api/runs?flow=review&limit=1&cursor={first['next_cursor']}").json()
        waiting = c.get("/api/runs?status=interrupted&limit=200").json()["items"]
        bad = c.get("/api/runs?cursor=garbage!")
        bad_limit = c.get("/api/runs?limit=0")
        bad_status = c.get("/api/runs?status=sleeping")
    assert first["items"] + second["items"] == everything[:2]
    threads = [r["thread"] for r in everything]
    assert threads == sorted(threads) and len(threads) >= 2
    assert waiting and all(r["status"] == "interrupted" for r in waiting)
    assert bad.status_code == 400 and bad_limit.status_code == 400 and bad_status.status_code == 400


def test_a_cancelled_run_withdraws_its_questions_and_refuses_answers(server: Server) -> None:
    run = start_review(server)
    thread, token = run["thread"], run["interrupts"][0]["token"]
    with server.client("alice") as c:
        forbidden = c.post(f"/api/runs/{thread}/cancel")
    with server.client("carol") as c:
        cancelled = c.post(f"/api/runs/{thread}/cancel")
        again = c.post(f"/api/runs/{thread}/cancel")
    with server.client("alice") as c:
        inbox = c.get("/api/inbox?flow=review&limit=200").json()["items"]
        answer = c.post(f"/api/runs/{thread}/answers", json={"token": token, "value": {"approved": True}})
        listed = c.get("/api/runs?status=cancelled&limit=200").json()["items"]
        history = c.get(f"/api/runs/{thread}/history").json()
    assert forbidden.status_code == 403
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "cancelled" and body["interrupts"] == []
    assert body["audit"][-1]["what"] == "cancelled" and body["audit"][-1]["by"] == "carol"
    assert body["audit"][-1]["withdrawn"] == ["ask:approval"]
    assert again.status_code == 409
    assert thread not in {q["thread"] for q in inbox}
    assert answer.status_code == 409 and "cancelled by `carol`" in answer.json()["message"]
    assert thread in {r["thread"] for r in listed}
    assert history["checkpoints"][-1]["status"] == "cancelled"


def test_a_done_run_cannot_be_cancelled(server: Server) -> None:
    run = start_review(server)
    with server.client("alice") as c:
        c.post(f"/api/runs/{run['thread']}/answers?wait=20", json={"id": "ask:approval", "value": {"approved": True}})
    with server.client("carol") as c:
        r = c.post(f"/api/runs/{run['thread']}/cancel")
    assert r.status_code == 409 and "done" in r.json()["message"]


def start_expense(server: Server, what: str = "taxi") -> dict[str, Any]:
    with server.client("carol") as c:
        r = c.post("/api/flows/expense/runs?wait=20", json={"input": {"what": what}})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_questions_to_a_role_are_answered_only_by_its_holders(server: Server) -> None:
    run = start_expense(server)
    thread = run["thread"]
    assert run["interrupts"][0]["to"] == ["finance"]
    with server.client("alice") as c:     # an answerer, not in finance
        alice_inbox = {q["thread"] for q in c.get("/api/inbox?limit=200").json()["items"]}
        refused = c.post(f"/api/runs/{thread}/answers", json={"id": "review:approval", "value": {"approved": True}})
    with server.client("dave") as c:      # answerer + finance
        finance = c.get("/api/inbox?role=finance&limit=200").json()["items"]
        other_role = c.get("/api/inbox?role=legal&limit=200").json()["items"]
        ok = c.post(f"/api/runs/{thread}/answers?wait=20", json={"id": "review:approval", "value": {"approved": True}})
    assert thread not in alice_inbox and refused.status_code == 403
    assert thread in {q["thread"] for q in finance} and other_role == []
    assert ok.status_code == 200 and ok.json()["status"] == "done"
    answered = [a for a in ok.json()["audit"] if a["what"] == "answered"]
    assert answered[0]["by"] == "dave"


def test_questions_with_a_deadline_come_first_oldest_deadline_first(server: Server) -> None:
    start_review(server)
    first, second = start_expense(server, "a"), start_expense(server, "b")
    with server.client("root") as c:
        items = c.get("/api/inbox?limit=200").json()["items"]
        paged: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = c.get("/api/inbox", params={"limit": 1, **({"cursor": cursor} if cursor else {})}).json()
            paged += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        overdue = c.get("/api/inbox?overdue=true&limit=200").json()["items"]
    deadlines = [q["deadline"] for q in items]
    with_deadline = [d for d in deadlines if d is not None]
    assert deadlines[:len(with_deadline)] == sorted(with_deadline)       # dated first, oldest first
    assert all(d is None for d in deadlines[len(with_deadline):])
    threads = [q["thread"] for q in items]
    assert threads.index(first["thread"]) < threads.index(second["thread"])
    assert paged == items
    assert overdue == []     # 48 h from now


def test_an_answer_after_the_deadline_fired_is_409_expired(server: Server) -> None:
    run = start_expense(server)
    flow = load(server.flows / "expense.flow", store=server.store)
    report = flow.tick_thread(run["thread"], now="2100-01-01T00:00:00.000Z")
    assert report.fired, report.to_json()
    with server.client("dave") as c:
        r = c.post(f"/api/runs/{run['thread']}/answers",
                   json={"token": run["interrupts"][0]["token"], "value": {"approved": True}})
        state = c.get(f"/api/runs/{run['thread']}").json()
    assert r.status_code == 409, r.text
    assert "expired at 20" in r.json()["message"]
    assert state["output"]["log"] == ["escalated"]


def test_wait_returns_at_the_next_pause_or_end_and_zero_returns_at_once(server: Server) -> None:
    with server.client("carol") as c:
        quick = c.post("/api/flows/review/runs?wait=0", json={"input": {"title": "t", "amount": 1}})
        waited = c.post("/api/flows/review/runs?wait=30", json={"input": {"title": "t", "amount": 1}})
        too_long = c.post("/api/flows/review/runs?wait=999", json={"input": {"title": "t", "amount": 1}})
    assert quick.status_code in (201, 202)       # 201 only if the run paused within the request
    assert waited.status_code == 201 and waited.json()["status"] == "interrupted"
    assert too_long.status_code == 400
    with server.client("alice") as c:
        done = c.post(f"/api/runs/{waited.json()['thread']}/answers?wait=30",
                      json={"id": "ask:approval", "value": {"approved": True}})
    assert done.status_code == 200 and done.json()["status"] == "done"


def test_the_openapi_document_is_valid_and_generated_from_the_flows(server: Server) -> None:
    with server.client("root") as c:
        doc = c.get("/openapi.json").json()
    validate(doc)
    schemas = doc["components"]["schemas"]
    assert schemas["review.Input"]["required"] == ["title", "amount"]
    assert schemas["review.ask.approval.Answer"]["properties"]["approved"] == {"type": "boolean"}
    assert "/api/flows/order/runs" in doc["paths"]
    refs = {v["$ref"] for v in doc["paths"]["/api/runs/{thread}/answers"]["post"]["requestBody"]
            ["content"]["application/json"]["schema"]["properties"]["value"]["anyOf"]}
    assert "#/components/schemas/order.fill.details.Answer" in refs


def test_an_answer_waits_for_a_run_another_process_is_advancing(server: Server) -> None:
    import threading

    from fermata.runtime.leases import LeaseKeeper
    from fermata.runtime.stores import open_store

    run = start_review(server)
    store = open_store(server.store)
    lease = LeaseKeeper(store, run["thread"]).take()      # as another process advancing it would
    timer = threading.Timer(1.0, lease.release)
    began = time.monotonic()
    timer.start()
    try:
        with server.client("alice") as c:
            r = c.post(f"/api/runs/{run['thread']}/answers?wait=20",
                       json={"id": "ask:approval", "value": {"approved": True}})
    finally:
        timer.join()
        close = getattr(store, "close", None)
        if close is not None:
            close()
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "done"
    assert time.monotonic() - began >= 0.9
