"""`fermata serve` refuses what it cannot serve safely, before listening."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fermata.compiler.cli.main import main
from fermata.runtime.stores import open_store
from fermata.server.catalog import CatalogError, load_catalog
from fermata.server.identity import hash_token
from tests.server.support import REVIEW_FLOW


def test_hash_token_prints_a_token_and_its_hash(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--hash-token"]) == 0
    out = capsys.readouterr().out.splitlines()
    token = out[0].rsplit(" ", 1)[1]
    assert f'token_sha256 = "{hash_token(token)}"' in out[1]


def test_without_users_only_a_loopback_address_is_served(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r.flow").write_text(REVIEW_FLOW, encoding="utf-8")
    assert main(["serve", str(tmp_path), "--store", "memory:", "--host", "0.0.0.0"]) == 2
    assert "without --users" in capsys.readouterr().err


def test_a_bad_users_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r.flow").write_text(REVIEW_FLOW, encoding="utf-8")
    users = tmp_path / "users.toml"
    users.write_text('[users.a]\nroles = ["bad boss"]\n', encoding="utf-8")
    assert main(["serve", str(tmp_path), "--store", "memory:", "--users", str(users)]) == 2
    assert "`bad boss` is not a role name" in capsys.readouterr().err


def test_a_bad_webhooks_table_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r.flow").write_text(REVIEW_FLOW, encoding="utf-8")
    hooks = tmp_path / "hooks.toml"
    hooks.write_text('[webhooks.ops]\nurl = "ftp://x"\nsecret = "0123456789abcdef"\n', encoding="utf-8")
    assert main(["serve", str(tmp_path), "--store", "memory:", "--webhooks", str(hooks)]) == 2
    assert "[webhooks.ops]: `url` must be an http:// or https:// URL" in capsys.readouterr().err


def test_a_flow_with_errors_or_a_name_defined_twice_stops_the_server(tmp_path: Path) -> None:
    (tmp_path / "a.flow").write_text(REVIEW_FLOW, encoding="utf-8")
    (tmp_path / "b.flow").write_text(REVIEW_FLOW, encoding="utf-8")
    (tmp_path / "c.flow").write_text("flow broken {", encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path, open_store("memory:"))
    text = str(caught.value)
    assert "flow `review` is also defined in" in text and "c.flow:1:" in text


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=re.escape("no .flow files")):
        load_catalog(tmp_path, open_store("memory:"))


def test_flows_in_tool_folders_are_not_served(tmp_path: Path) -> None:
    (tmp_path / "r.flow").write_text(REVIEW_FLOW, encoding="utf-8")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "x.flow").write_text("flow broken {", encoding="utf-8")
    catalog = load_catalog(tmp_path, open_store("memory:"))
    assert catalog.names() == ["review"]
    assert [q.id for q in catalog.get("review").questions()] == ["ask:approval"]  # type: ignore[union-attr]
