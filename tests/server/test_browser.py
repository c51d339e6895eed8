"""A real browser (Debian's chromium, driven by Playwright) answers through the web inbox.

Skipped with one line when /usr/bin/chromium is missing, except under CI
(``CI=true``), where it fails: .ci/run installs chromium. Playwright never
downloads a browser here; it drives the system one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.support import TOKENS, Server

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
# The README's pictures are refreshed on request only, so a test run leaves the tree clean.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing under CI: .ci/run must install Debian's chromium")
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield launched
        launched.close()


def test_a_person_signs_in_answers_a_refused_then_a_good_answer_and_sees_the_history(
        server: Server, browser: Any, tmp_path: Path) -> None:
    shots = DOCS_SCREENSHOTS if os.environ.get("FERMATA_SCREENSHOTS") else tmp_path
    with server.client("root") as c:
        run = c.post("/api/flows/order/runs?wait=20", json={"input": {"customer": "Ann Lee"}}).json()
    thread = run["thread"]
    page = browser.new_page(viewport={"width": 390, "height": 844})   # a phone
    page.goto(f"{server.url}/inbox")
    assert page.url.startswith(f"{server.url}/login")
    page.get_by_label("Name").fill("alice")
    page.get_by_label("Token").fill(TOKENS["alice"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/inbox")
    page.get_by_role("table", name="Questions waiting for an answer").wait_for()
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "inbox.png"), full_page=True)

    page.locator(f'a[href="/runs/{thread}/questions/fill%3Adetails"]').click()
    page.get_by_role("button", name="Add a row to lines").click()
    page.get_by_label("Name").nth(0).fill("Pencils")
    page.get_by_label("Qty").nth(0).fill("12")
    page.get_by_label("Name").nth(1).fill("Erasers")
    page.get_by_label("Note").fill("Deliver before noon")
    page.get_by_role("button", name="Send answer").click()        # no priority chosen: refused

    page.get_by_role("alert").first.wait_for()
    assert "The answer was not accepted" in page.get_by_role("alert").first.inner_text()
    assert page.locator("#f-answer-priority .error").inner_text() == "required"
    assert page.locator("#f-answer-lines-1-qty").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Name").nth(1).input_value() == "Erasers"   # typed values kept
    assert page.get_by_label("Note").input_value() == "Deliver before noon"
    page.screenshot(path=str(shots / "form.png"), full_page=True)

    page.get_by_label("high").check()
    page.get_by_label("Qty").nth(1).fill("3")
    page.get_by_role("button", name="Send answer").click()
    page.wait_for_url(f"{server.url}/runs/{thread}?notice=answered")
    assert "done" in page.locator(".status").first.inner_text()
    timeline = page.get_by_role("list", name="History").inner_text()
    assert "alice answered fill:details" in " ".join(timeline.split())
    assert "root started the run" in " ".join(timeline.split())
    page.screenshot(path=str(shots / "run.png"), full_page=True)
    page.close()
    assert all((shots / name).stat().st_size > 1000 for name in ("inbox.png", "form.png", "run.png"))
