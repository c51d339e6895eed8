"""``fermata store init|migrate``, ``fermata runs`` and ``fermata inbox``, on
SQLite and PostgreSQL (skipped without a server: see
tests/runtime/store/postgres_db.py)."""


from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compiler.support import REFUND, _isolated, cli  # noqa: F401 - fixtures
from tests.runtime.store.postgres_db import fresh_database, reset_schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/runs.db"
        return
    with fresh_database() as database:
        yield database
        reset_schema(database)


def test_init_is_explicit_and_idempotent_and_migrate_needs_a_store(cli, url: str) -> None:
    first = cli("store", "init", url)
    assert first.code == 0 and "created the Fermata store" in first.out, first.err
    again = cli("store", "init", url)
    assert again.code == 0 and "is up to date" in again.out
    assert cli("store", "migrate", url).code == 0


def test_migrate_without_a_store_is_refused(cli, url: str, tmp_path: Path) -> None:
    result = cli("store", "migrate", url)
    assert result.code == 2 and ("no store at" in result.err or "no Fermata store" in result.err), result.err


def test_runs_and_inbox_list_the_run_index(cli, url: str) -> None:
    assert cli("run", REFUND, "--thread", "big", "--store", url, "--input", '{"amount": 250}').code == 0
    assert cli("run", REFUND, "--thread", "big2", "--store", url, "--input", '{"amount": 300}').code == 0
    runs = cli("runs", "--store", url, "--json").json()
    assert [(r["thread"], r["flow"], r["status"]) for r in runs] == [("big", "refund", "interrupted"),
                                                                      ("big2", "refund", "interrupted")]
    assert cli("runs", "--store", url, "--status", "done", "--json").json() == []
    page = cli("runs", "--store", url, "--limit", "1")
    assert page.code == 0 and page.out.startswith("big  refund  interrupted") and "--after big" in page.out
    assert cli("runs", "--store", url, "--after", "big", "--json").json()[0]["thread"] == "big2"
    inbox = cli("inbox", "--store", url, "--json").json()
    assert [(p["thread"], p["label"]) for p in inbox] == [("big", "approval"), ("big2", "approval")]
    assert cli("inbox", "--store", url, "--label", "nope", "--json").json() == []
    page = cli("inbox", "--store", url, "--limit", "1")
    key = page.out.splitlines()[-1].removeprefix("(more: --after ").removesuffix(")")
    assert [p["thread"] for p in cli("inbox", "--store", url, "--after", key, "--json").json()] == ["big2"]
    assert cli("inbox", "--store", url, "--limit", "5000").code == 2


def test_runs_on_a_store_that_does_not_exist_is_refused(cli, tmp_path: Path) -> None:
    result = cli("runs", "--store", f"sqlite:///{tmp_path}/none.db")
    assert result.code == 2 and "no store at" in result.err
    assert not (tmp_path / "none.db").exists()
