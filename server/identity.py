"""Who is asking, and what they may do.

Identities come from ``users.toml`` (tokens stored as SHA-256 hashes), from
a trusted reverse-proxy header, or, for a server on a loopback address with
no users file, from nowhere: everyone is the local user with every role.

Roles (named in docs/guide/serving.md):

* ``viewer``: see runs, their history and the pending questions;
* ``answerer``: a viewer who may answer pending questions;
* ``starter``: a viewer who may start and cancel runs;
* ``admin``: every role.

Any other name in ``roles`` (``finance``, ``legal``) is a role of your own:
it grants nothing by itself, but a question asked ``to "finance"`` may be
answered by an ``answerer`` who also holds ``finance`` (or is named in it).

``flows = [...]`` limits a user to some flows: runs and questions of the
others do not exist for them (404, never 403, so nothing leaks).

Tokens are random secrets the server hands out (``fermata serve
--hash-token``), not passwords a person chose, so one unsalted SHA-256 is
the right hash: there is no dictionary to attack, and a lookup by hash needs
no per-user salt.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROLES = ("viewer", "answerer", "starter", "admin")
_IMPLIED = {"answerer": {"viewer"}, "starter": {"viewer"}, "admin": set(ROLES)}
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class UsersFileError(Exception):
    """users.toml cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Identity:
    name: str
    roles: frozenset[str]
    flows: frozenset[str] | None = None     # None: every flow

    def has(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles

    def sees_flow(self, flow: str) -> bool:
        return self.has("viewer") and (self.flows is None or flow in self.flows)


LOCAL = Identity("local", frozenset(ROLES))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class User:
    identity: Identity
    token_sha256: str | None


@dataclass
class Users:
    """The users of ``users.toml`` by name."""

    by_name: dict[str, User] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_hash = {u.token_sha256: u for u in self.by_name.values() if u.token_sha256}

    def by_token(self, token: str) -> Identity | None:
        """The identity holding ``token`` (a Bearer token)."""
        user = self._by_hash.get(hash_token(token))
        return user.identity if user is not None else None

    def sign_in(self, name: str, token: str) -> Identity | None:
        """The identity ``name`` when ``token`` is its token (a sign-in form)."""
        user = self.by_name.get(name)
        expected = user.token_sha256 if user is not None else None
        # Compare even for an unknown name, so timing does not tell names apart.
        ok = hmac.compare_digest(hash_token(token), expected or "0" * 64)
        return user.identity if ok and user is not None and expected else None

    def named(self, name: str) -> Identity | None:
        user = self.by_name.get(name)
        return user.identity if user is not None else None


def load_users(path: str | Path) -> Users:
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsersFileError(f"cannot read {file}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsersFileError(f"{file}: not valid TOML: {exc}") from None
    return parse_users(data, str(file))


def parse_users(data: dict[str, Any], where: str = "users.toml") -> Users:
    """``[users.NAME]`` tables with ``roles``, ``token_sha256`` and optional
    ``flows``; every problem is listed at once."""
    problems: list[str] = []
    users: dict[str, User] = {}
    unknown_top = sorted(set(data) - {"users", "webhooks"})   # [webhooks.NAME]: webhooks.py reads them
    problems += [f"unknown table or key `{k}` (expected [users.NAME] and [webhooks.NAME] tables)" for k in unknown_top]
    table = data.get("users", {})
    if not isinstance(table, dict):
        problems.append("`users` must be a table of [users.NAME] tables")
        table = {}
    for name, entry in table.items():
        where_user = f"[users.{name}]"
        if not _NAME.match(name):
            problems.append(f"{where_user}: a user name is 1-64 letters, digits or `_.@-`")
            continue
        if not isinstance(entry, dict):
            problems.append(f"{where_user}: must be a table")
            continue
        unknown = sorted(set(entry) - {"roles", "token_sha256", "flows"})
        problems += [f"{where_user}: unknown key `{k}`" for k in unknown]
        roles = entry.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            problems.append(f"{where_user}: `roles` must be a list of strings")
            roles = []
        bad = [r for r in roles if not _NAME.match(r)]
        problems += [f"{where_user}: `{r}` is not a role name (1-64 letters, digits or `_.@-`; built-in "
                     f"roles: {', '.join(ROLES)})" for r in bad]
        token = entry.get("token_sha256")
        if token is not None and (not isinstance(token, str) or not _HEX64.match(token)):
            problems.append(f"{where_user}: `token_sha256` must be 64 lowercase hex digits "
                            "(`fermata serve --hash-token` makes a token and its hash)")
            token = None
        flows = entry.get("flows")
        if flows is not None and (not isinstance(flows, list) or not all(isinstance(f, str) for f in flows)):
            problems.append(f"{where_user}: `flows` must be a list of flow names")
            flows = None
        granted = set(roles)
        for role in roles:
            granted |= _IMPLIED.get(role, set())
        identity = Identity(name, frozenset(r for r in granted if _NAME.match(r)),
                            frozenset(flows) if flows is not None else None)
        users[name] = User(identity, token)
    hashes = [u.token_sha256 for u in users.values() if u.token_sha256]
    if len(hashes) != len(set(hashes)):
        problems.append("two users share one token")
    if problems:
        raise UsersFileError(f"{where}:\n  - " + "\n  - ".join(problems))
    return Users(users)
