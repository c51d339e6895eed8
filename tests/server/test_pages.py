"""The web inbox over HTTP: sign-in, CSRF, cookies, generated forms, refusals."""

from __future__ import annotations

import re

import pytest

from tests.server.support import TOKENS, Server, csrf_of, signed_in

pytestmark = pytest.mark.slow


def start(server: Server, flow: str, data: dict[str, object]) -> dict[str, object]:
    with server.client("root") as c:
        r = c.post(f"/api/flows/{flow}/runs?wait=20", json={"input": data})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_pages_need_a_session_and_sign_in_sets_a_safe_cookie(server: Server) -> None:
    with server.client(follow_redirects=False) as c:
        r = c.get("/inbox")
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Finbox")
        page = c.get("/login")
        r = c.post("/login", data={"csrf": csrf_of(page.text), "name": "alice", "token": TOKENS["alice"]})
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert TOKENS["alice"] not in r.headers["set-cookie"]


def test_a_wrong_token_is_refused_without_saying_which_part_was_wrong(server: Server) -> None:
    with server.client() as c:
        page = c.get("/login")
        r = c.post("/login", data={"csrf": csrf_of(page.text), "name": "alice", "token": "nope"})
    assert r.status_code == 401 and "Unknown name or token." in r.text


def test_login_redirects_only_to_this_site(server: Server) -> None:
    with server.client(follow_redirects=False) as c:
        page = c.get("/login")
        r = c.post("/login", data={"csrf": csrf_of(page.text), "name": "alice", "token": TOKENS["alice"],
                                   "next": "//evil.example/x"})
    assert r.headers["location"] == "/inbox"


def test_forms_without_the_csrf_token_are_refused(server: Server) -> None:
    run = start(server, "review", {"title": "chair", "amount": 40})
    with signed_in(server, "alice") as c:
        url = f"/runs/{run['thread']}/questions/ask:approval"
        r = c.post(url, data={"answer.approved": "true"})
        forged = c.post(url, data={"answer.approved": "true", "csrf": "forged"})
        state = c.get(f"/api/runs/{run['thread']}", headers={"Authorization": f"Bearer {TOKENS['alice']}"})
    assert r.status_code == 403 and forged.status_code == 403
    assert state.json()["status"] == "interrupted"
    with server.client() as c:  # login too: no sign-in without the form's token
        assert c.post("/login", data={"name": "alice", "token": TOKENS["alice"]}).status_code == 403


def test_a_refused_answer_shows_messages_by_the_fields_and_keeps_what_was_typed(server: Server) -> None:
    run = start(server, "order", {"customer": "Ann"})
    with signed_in(server, "alice") as c:
        url = f"/runs/{run['thread']}/questions/fill:details"
        form = c.get(url)
        assert form.status_code == 200
        assert 'name="answer.priority"' in form.text and 'name="answer.lines.0.qty"' in form.text
        r = c.post(url, data={"csrf": csrf_of(form.text), "answer.lines.__rows": "1",
                              "answer.lines.0.name": "pencils <b>", "answer.lines.0.qty": "",
                              "answer.note": "call first", "answer.discount": ""})
        assert r.status_code == 422
        assert "The answer was not accepted" in r.text
        assert re.search(r'id="f-answer-priority"[^>]*aria-invalid="true"', r.text)
        assert re.search(r'id="f-answer-lines-0-qty"[^>]*aria-invalid="true"', r.text)
        assert 'value="pencils &lt;b&gt;"' in r.text        # kept, and escaped
        assert ">call first</textarea>" in r.text
        history = c.get(f"/api/runs/{run['thread']}/history", headers={"Authorization": f"Bearer {TOKENS['alice']}"})
        assert len(history.json()["checkpoints"]) == 2     # nothing was stored
        ok = c.post(url, data={"csrf": csrf_of(r.text), "answer.priority": "high", "answer.lines.__rows": "1",
                               "answer.lines.0.name": "pencils", "answer.lines.0.qty": "12"})
        assert ok.status_code == 303 and ok.headers["location"] == f"/runs/{run['thread']}?notice=answered"
        page = c.get(ok.headers["location"])
    assert "Your answer was recorded." in page.text
    assert "<strong>alice</strong>" in page.text and "answered <code>fill:details</code>" in page.text
    assert "pencils" in page.text and "status-done" in page.text


def test_a_row_can_be_added_to_a_list_without_javascript(server: Server) -> None:
    run = start(server, "order", {"customer": "Bo"})
    with signed_in(server, "alice") as c:
        url = f"/runs/{run['thread']}/questions/fill:details"
        form = c.get(url)
        r = c.post(url, data={"csrf": csrf_of(form.text), "answer.lines.__rows": "1",
                              "answer.lines.0.name": "kept", "_add": "answer.lines"})
    assert r.status_code == 200
    assert 'name="answer.lines.1.name"' in r.text and 'value="kept"' in r.text


def test_a_question_of_a_hidden_flow_is_404_and_a_viewer_cannot_answer(server: Server) -> None:
    secret = start(server, "payroll", {"who": "x"})
    review = start(server, "review", {"title": "lamp", "amount": 10})
    with signed_in(server, "alice") as c:
        assert c.get(f"/runs/{secret['thread']}").status_code == 404
        assert c.get(f"/runs/{secret['thread']}/questions/confirm:confirm").status_code == 404
        inbox = c.get("/inbox").text
    assert secret["thread"] not in inbox and review["thread"] in inbox
    with signed_in(server, "bob") as c:
        page = c.get(f"/runs/{review['thread']}/questions/ask:approval")
        assert "You may see this question but not answer it." in page.text
        r = c.post(f"/runs/{review['thread']}/questions/ask:approval",
                   data={"csrf": csrf_of(page.text), "answer.approved": "true"})
    assert r.status_code == 403


def test_an_answered_question_is_409_on_its_page(server: Server) -> None:
    run = start(server, "review", {"title": "pen", "amount": 1})
    with signed_in(server, "alice") as c:
        url = f"/runs/{run['thread']}/questions/ask:approval"
        form = c.get(url).text
        assert c.post(url, data={"csrf": csrf_of(form), "answer.approved": "false"}).status_code == 303
        again = c.post(url, data={"csrf": csrf_of(form), "answer.approved": "true"})
    assert again.status_code == 409 and "Already answered" in again.text


def test_a_starter_starts_a_run_from_a_form_generated_from_the_input(server: Server) -> None:
    with signed_in(server, "carol") as c:
        form = c.get("/flows/review/start")
        assert 'name="input.title"' in form.text and 'name="input.amount"' in form.text
        bad = c.post("/flows/review/start", data={"csrf": csrf_of(form.text), "input.title": "x",
                                                  "input.amount": "many"})
        assert bad.status_code == 422 and "expected int" in bad.text
        ok = c.post("/flows/review/start", data={"csrf": csrf_of(form.text), "input.title": "x",
                                                 "input.amount": "3"})
    assert ok.status_code == 303 and ok.headers["location"].endswith("?notice=started")
    with signed_in(server, "alice") as c:
        assert c.get("/flows/review/start").status_code == 403


def test_run_list_and_logout(server: Server) -> None:
    run = start(server, "review", {"title": "mug", "amount": 2})
    with signed_in(server, "alice") as c:
        runs = c.get("/runs?status=interrupted")
        assert run["thread"] in runs.text
        out = c.post("/logout", data={"csrf": csrf_of(runs.text)})
        assert out.status_code == 303
        assert c.get("/inbox").status_code == 303


def test_a_starter_cancels_a_run_from_its_page_with_the_csrf_token(server: Server) -> None:
    run = start(server, "review", {"title": "lamp", "amount": 3})
    thread = str(run["thread"])
    with signed_in(server, "alice") as c:        # an answerer: no button, and the POST is refused
        page = c.get(f"/runs/{thread}")
        assert "Cancel this run" not in page.text
        refused = c.post(f"/runs/{thread}/cancel", data={"csrf": csrf_of(page.text)})
        assert refused.status_code == 403
    with signed_in(server, "carol") as c:
        page = c.get(f"/runs/{thread}")
        assert "Cancel this run" in page.text
        forged = c.post(f"/runs/{thread}/cancel", data={"csrf": "not-the-token"})
        assert forged.status_code == 403
        assert c.get(f"/api/runs/{thread}", headers={"Authorization": f"Bearer {TOKENS['carol']}"}
                     ).json()["status"] == "interrupted"
        done = c.post(f"/runs/{thread}/cancel", data={"csrf": csrf_of(page.text)})
        assert done.status_code == 303 and done.headers["location"].endswith("?notice=cancelled")
        after = c.get(done.headers["location"])
        assert "The run was cancelled." in after.text and "cancelled the run" in after.text
        assert "<strong>carol</strong> cancelled the run" in after.text
        assert "Cancel this run" not in after.text


def test_the_inbox_page_shows_deadlines_first_and_who_a_question_is_for(server: Server) -> None:
    start(server, "review", {"title": "pen", "amount": 1})
    dated = start(server, "expense", {"what": "train ticket"})
    deadline = dated["interrupts"][0]["deadline_at"]  # type: ignore[index]
    with signed_in(server, "dave") as c:
        page = c.get("/inbox").text
    assert f'<time datetime="{deadline}">' in page and "to finance" in page
    assert page.index("Pay train ticket?") < page.index("Approve pen for 1?")
