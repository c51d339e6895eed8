"""users.toml: roles, hashed tokens, and every problem reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from fermata.server.identity import (
    Identity,
    UsersFileError,
    hash_token,
    load_users,
    parse_users,
)


def users_of(text: str, tmp_path: Path) -> object:
    path = tmp_path / "users.toml"
    path.write_text(text, encoding="utf-8")
    return load_users(path)


def test_tokens_are_found_by_hash_and_roles_imply_viewer(tmp_path: Path) -> None:
    users = users_of(f'[users.alice]\nroles = ["answerer"]\ntoken_sha256 = "{hash_token("s3cret")}"\n', tmp_path)
    alice = users.by_token("s3cret")  # type: ignore[attr-defined]
    assert alice == Identity("alice", frozenset({"answerer", "viewer"}), None)
    assert users.by_token("S3cret") is None  # type: ignore[attr-defined]
    assert users.sign_in("alice", "s3cret") == alice  # type: ignore[attr-defined]
    assert users.sign_in("alice", "wrong") is None  # type: ignore[attr-defined]
    assert users.sign_in("nobody", "s3cret") is None  # type: ignore[attr-defined]


def test_a_user_without_a_token_cannot_sign_in(tmp_path: Path) -> None:
    users = users_of('[users.proxy_only]\nroles = ["viewer"]\n', tmp_path)
    assert users.sign_in("proxy_only", "") is None  # type: ignore[attr-defined]
    assert users.named("proxy_only") is not None  # type: ignore[attr-defined]


def test_admin_has_every_role_and_flows_limit_what_is_seen() -> None:
    users = parse_users({"users": {"root": {"roles": ["admin"]},
                                   "ann": {"roles": ["answerer"], "flows": ["a"]}}})
    root, ann = users.named("root"), users.named("ann")
    assert root is not None and ann is not None
    assert root.has("starter") and root.sees_flow("anything")
    assert ann.sees_flow("a") and not ann.sees_flow("b") and not ann.has("starter")


def test_every_problem_of_a_users_file_is_reported_at_once() -> None:
    with pytest.raises(UsersFileError) as caught:
        parse_users({"users": {"a": {"roles": ["bad boss"], "token_sha256": "abc", "colour": "red"},
                               "b c": {"roles": []}}, "extra": 1})
    text = str(caught.value)
    for expected in ("`bad boss` is not a role name", "`token_sha256` must be 64 lowercase hex digits",
                     "unknown key `colour`", "a user name is", "unknown table or key `extra`"):
        assert expected in text


def test_two_users_may_not_share_a_token() -> None:
    digest = hash_token("same")
    with pytest.raises(UsersFileError, match="share one token"):
        parse_users({"users": {"a": {"token_sha256": digest}, "b": {"token_sha256": digest}}})


def test_a_users_file_that_is_not_toml_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UsersFileError, match="not valid TOML"):
        users_of("[users.a\n", tmp_path)
