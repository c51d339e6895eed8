"""Following what `serve --no-worker` queued for the workers: `GET
/api/submissions/ID` (and the 202's `Location` to it), and the run page
while no worker has started the run yet. No worker runs but when a test
starts one (`fermata worker --exit-when-idle`), so each submission is seen
queued first. On SQLite and on PostgreSQL (``$FERMATA_TEST_POSTGRES``;
skipped with one line without it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.server.support import Server, csrf_of, server_on, signed_in

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with server_on(request, tmp_path_factory, "submissions", "--no-worker") as running:
        yield running


def apply_queued(server: Server) -> None:
    """Everything queued so far, applied by a `fermata worker` that exits when idle."""
    done = subprocess.run([sys.executable, "-m", "fermata.compiler.cli.main", "worker", str(server.flows),
                           "--store", server.store, "--exit-when-idle", "--log", "json"],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert done.returncode == 0, done.stdout + done.stderr


def queue_start(server: Server, flow: str = "review", user: str = "carol", **data: Any) -> tuple[str, str]:
    """Start a run without waiting: (its thread, the Location to follow)."""
    with server.client(user) as c:
        r = c.post(f"/api/flows/{flow}/runs", json={"input": data or {"title": "lamp", "amount": 7}})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued"
    assert r.headers["location"] == body["submission_url"] == f"/api/submissions/{body['submission']}"
    return body["thread"], r.headers["location"]


def test_a_queued_start_is_followed_at_its_location_until_a_worker_applies_it(server: Server) -> None:
    thread, location = queue_start(server)
    with server.client("bob") as c:               # a viewer of the flow sees it, as they see its runs
        queued = c.get(location)
        assert queued.status_code == 200, queued.text
        assert c.get(f"/api/runs/{thread}").status_code == 404      # no run before a worker starts it
    assert queued.json() == {"id": int(location.rsplit("/", 1)[1]), "thread": thread, "flow": "review",
                             "kind": "start", "status": "queued", "reason": None,
                             "run_url": f"/api/runs/{thread}"}
    apply_queued(server)
    with server.client("bob") as c:
        assert c.get(location).json()["status"] == "applied"
        run = c.get(queued.json()["run_url"])
    assert run.status_code == 200 and run.json()["status"] == "interrupted"
    assert [(e["what"], e["by"]) for e in run.json()["audit"] if e["what"] == "started"] == [("started", "carol")]


def test_a_submission_is_404_to_whoever_may_not_see_its_flow_and_when_there_is_none(server: Server) -> None:
    _, location = queue_start(server, "payroll", "root", who="ann")   # alice may not see `payroll`
    with server.client("root") as c:
        assert c.get(location).status_code == 200
    with server.client("alice") as c:
        hidden = c.get(location)
        absent = c.get("/api/submissions/999999999")
        assert hidden.status_code == absent.status_code == 404
        assert hidden.json()["error"] == absent.json()["error"] == "not_found"
        for bad in ("0", "-1", "abc", "1.5", "²", "9" * 25):
            assert c.get(f"/api/submissions/{bad}").status_code == 404, bad
    with server.client() as c:
        assert c.get(location).status_code == 401


def test_a_second_answer_the_worker_refuses_is_seen_refused_with_its_reason(server: Server) -> None:
    thread, _ = queue_start(server, title="chair", amount=40)
    apply_queued(server)
    locations = []
    with server.client("alice") as c:
        for approved in (True, False):     # both pass the checks: the run still asks
            r = c.post(f"/api/runs/{thread}/answers", json={"id": "ask:approval", "value": {"approved": approved}})
            assert r.status_code == 202 and r.json()["status"] == "queued", r.text
            locations.append(r.headers["location"])
        assert [c.get(url).json()["status"] for url in locations] == ["queued", "queued"]
        assert c.get(locations[0]).json()["kind"] == "command"
    apply_queued(server)
    with server.client("alice") as c:
        first, second = (c.get(url).json() for url in locations)
        run = c.get(f"/api/runs/{thread}").json()
    assert first["status"] == "applied" and first["reason"] is None
    assert second["status"] == "refused" and "nothing is pending" in second["reason"]
    assert run["status"] == "done" and run["output"]["approved"] is True
    assert [e["by"] for e in run["audit"] if e["what"] == "answered"] == ["alice"]
    with signed_in(server, "alice") as c:    # the run page says so too, and stops refreshing
        page = c.get(f"/runs/{thread}?notice=answered&submission={second['id']}")
    assert page.status_code == 200 and "Not applied" in page.text and 'http-equiv="refresh"' not in page.text
    assert "nothing is pending" in page.text and "Your answer was recorded" not in page.text


def test_a_queued_run_has_a_page_that_refreshes_until_a_worker_starts_it(server: Server) -> None:
    thread, location = queue_start(server, title="desk", amount=3)
    work_id = location.rsplit("/", 1)[1]
    _, hidden = queue_start(server, "payroll", "root", who="bo")
    other, elsewhere = queue_start(server, title="other", amount=1)
    with signed_in(server, "alice") as c:
        page = c.get(f"/runs/{thread}?submission={work_id}")
        assert page.status_code == 200, page.text
        assert "Queued, waiting for a worker" in page.text and f"Run {thread}" in page.text
        assert re.search(r'<meta http-equiv="refresh" content="\d+">', page.text)
        assert f'href="/runs/{thread}?submission={work_id}"' in page.text      # refresh by hand
        assert "<script" not in page.text
        assert c.get(f"/runs/{thread}").status_code == 404                      # nothing said without it
        # another run's submission, one of a flow alice may not see, and nonsense: the run's own 404
        for wrong in (elsewhere.rsplit("/", 1)[1], hidden.rsplit("/", 1)[1], "x", "0"):
            assert c.get(f"/runs/{thread}?submission={wrong}").status_code == 404, wrong
        assert c.get(f"/runs/{other}?submission={work_id}").status_code == 404
    apply_queued(server)
    with signed_in(server, "alice") as c:
        page = c.get(f"/runs/{thread}?submission={work_id}")
    assert page.status_code == 200 and "Waiting for" in page.text and "ask:approval" in page.text
    assert "Queued, waiting" not in page.text and 'http-equiv="refresh"' not in page.text


def test_a_run_started_from_the_form_goes_to_its_queued_page(server: Server) -> None:
    with signed_in(server, "carol") as c:
        form = c.get("/flows/review/start")
        r = c.post("/flows/review/start", data={"csrf": csrf_of(form.text), "input.title": "pen",
                                                "input.amount": "1"})
        assert r.status_code == 303, r.text
        target = r.headers["location"]
        assert re.fullmatch(r"/runs/review-[0-9a-f-]+\?notice=started&submission=\d+", target), target
        page = c.get(target)
    assert page.status_code == 200 and "Queued, waiting for a worker" in page.text


def test_the_openapi_document_describes_submissions(server: Server) -> None:
    with server.client("root") as c:
        doc = c.get("/openapi.json").json()
    validate(doc)
    operation = doc["paths"]["/api/submissions/{id}"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == \
        {"$ref": "#/components/schemas/Submission"}
    assert set(doc["components"]["schemas"]["Submission"]["properties"]["status"]["enum"]) == \
        {"queued", "claimed", "applied", "refused"}
    assert "Location" in doc["paths"]["/api/runs/{thread}/answers"]["post"]["responses"]["202"]["headers"]
