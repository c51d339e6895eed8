"""A real `fermata serve` process on a free local port, and the flows it serves."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from fermata.server.identity import hash_token

REVIEW_FLOW = '''
type Decision = {approved: bool, comment: str?}

flow review {
    """A person approves a purchase."""
    state {
        title: str
        amount: int
        approved: bool = false
        log: list[str] = []
    }
    input title, amount
    output approved, log

    node ask {
        let d = interrupt approval "Approve {{ title }} for {{ amount }}?" expect Decision
        set approved = d.approved
        set log += ["decided"]
    }

    start -> ask
    ask -> end
}
'''

ORDER_FLOW = '''
type Line = {name: str, qty: int}
type Order = {priority: "low" | "normal" | "high", lines: list[Line], note: str?, discount: float?}

flow order {
    """Somebody fills in an order."""
    state {
        customer: str
        order: Order?
    }
    input customer
    output order

    node fill {
        let o = interrupt details {customer: customer} expect Order
        set order = o
    }

    start -> fill
    fill -> end
}
'''

SECRET_FLOW = '''
flow payroll {
    state { who: str
            ok: bool = false }
    input who
    output ok
    node confirm {
        let yes = interrupt confirm "Pay {{ who }}?" expect bool
        set ok = yes
    }
    start -> confirm
    confirm -> end
}
'''

EXPENSE_FLOW = '''
type Claim = {approved: bool}

flow expense {
    """Finance pays a claim within two days, or it is escalated."""
    state {
        what: str
        approved: bool = false
        log: list[str] = []
    }
    input what
    output approved, log

    node review {
        let d = interrupt approval "Pay {{ what }}?" expect Claim
            to "finance"
            within 48h -> escalate
        set approved = d.approved
        set log += ["reviewed"]
    }

    node escalate {
        set log += ["escalated"]
    }

    start -> review
    review -> end
    escalate -> end
}
'''

TOKENS = {"alice": "alice-token-0123456789", "bob": "bob-token-0123456789",
          "carol": "carol-token-0123456789", "root": "root-token-0123456789",
          "dave": "dave-token-0123456789"}
SEEN = ["review", "order", "expense"]
ROLES = {"alice": (["answerer"], SEEN), "bob": (["viewer"], SEEN), "carol": (["starter"], SEEN),
         "root": (["admin"], None), "dave": (["answerer", "finance"], SEEN)}


def write_project(root: Path, store: str | None = None) -> tuple[Path, Path, str]:
    flows = root / "flows"
    flows.mkdir()
    (flows / "review.flow").write_text(REVIEW_FLOW, encoding="utf-8")
    (flows / "order.flow").write_text(ORDER_FLOW, encoding="utf-8")
    (flows / "payroll.flow").write_text(SECRET_FLOW, encoding="utf-8")
    (flows / "expense.flow").write_text(EXPENSE_FLOW, encoding="utf-8")
    lines = []
    for name, (roles, allowed) in ROLES.items():
        lines.append(f"[users.{name}]")
        lines.append("roles = [" + ", ".join(f'"{r}"' for r in roles) + "]")
        lines.append(f'token_sha256 = "{hash_token(TOKENS[name])}"')
        if allowed is not None:
            lines.append("flows = [" + ", ".join(f'"{f}"' for f in allowed) + "]")
        lines.append("")
    users = root / "users.toml"
    users.write_text("\n".join(lines), encoding="utf-8")
    return flows, users, store or f"sqlite:///{root / 'runs.db'}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    store: str
    log: Path
    flows: Path

    def client(self, user: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {TOKENS[user]}"} if user else {}
        kwargs.setdefault("timeout", 30)
        return httpx.Client(base_url=self.url, headers=headers, **kwargs)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
            self.process.kill()
            self.process.wait()


def start_server(root: Path, *extra: str, users: bool = True, store: str | None = None) -> Server:
    flows, users_file, store = write_project(root, store)
    port = free_port()
    log = root / "server.log"
    args = [sys.executable, "-m", "fermata.compiler.cli.main", "serve", str(flows), "--store", store,
            "--port", str(port), "--log-level", "warning", *extra]
    if users:
        args += ["--users", str(users_file)]
    env = {**os.environ, "FERMATA_SERVER_SECRET": "test-secret-not-for-production"}
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
    server = Server(f"http://127.0.0.1:{port}", process, store, log, flows)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited:\n" + log.read_text(encoding="utf-8"))
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("the server did not answer within 60 s:\n" + log.read_text(encoding="utf-8"))


@contextlib.contextmanager
def server_on(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str,
              *args: str) -> Iterator[Server]:
    """A server (``fermata serve ARGS``) on the store ``request.param``
    names: "sqlite" (a file of its own) or "postgres" (a fresh database,
    dropped after)."""
    from tests.runtime.store.postgres_db import fresh_database

    root: Path = tmp_path_factory.mktemp(f"{name}-{request.param}")
    with contextlib.ExitStack() as stack:
        store = stack.enter_context(fresh_database()) if request.param == "postgres" else None
        running = start_server(root, *args, store=store)
        yield running
        running.stop()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


@contextlib.contextmanager
def signed_in(server: Server, user: str) -> Iterator[httpx.Client]:
    with server.client(follow_redirects=False) as c:
        page = c.get("/login?next=/inbox")
        r = c.post("/login", data={"csrf": csrf_of(page.text), "name": user, "token": TOKENS[user],
                                   "next": "/inbox"})
        assert r.status_code == 303 and r.headers["location"] == "/inbox", r.text
        yield c
