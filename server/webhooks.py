"""Webhooks: the store's outbox, delivered to configured URLs.

Every checkpoint that asks a question, fires a reminder or a deadline, ends
or fails a run (or is a cancel) writes an outbox event in its own
transaction (``store.outbox()``). A :class:`Deliverer` thread in ``fermata
serve`` reads them, POSTs each as JSON to every hook that wants its type,
and acknowledges it (``store.ack``) once every hook took it or was given up
on. Delivery is at least once: an event is acknowledged only after it was
delivered, so a crash in between delivers it again; receivers deduplicate
by the event's ``id`` (stable: ``thread/seq/n``).

Each request is signed as Stripe's are: ``Fermata-Signature: t=T,v1=HEX``
where HEX is HMAC-SHA256, keyed with the hook's secret, over ``T.`` followed
by the exact body bytes (docs/guide/serving.md shows how to verify it).

A hook that fails (no answer within ``timeout``, a refused connection, any
status but 2xx; redirects are not followed) is retried with exponential
backoff (``base_delay * 2**(attempt-1)``, capped at ``max_delay``, plus up
to 25 % jitter) until ``max_attempts``; then it is given up for that event
and the delivery log says so. Runs never wait for a hook: they write the
outbox and go on, whatever the hooks do.

Every attempt is written to the delivery log, a SQLite file of its own
(:class:`DeliveryLog`), never a table in the runtime's store.

Several ``serve`` processes on one store may all have hooks configured:
one delivers at a time, the one holding the store's lease on the reserved
thread name ``fermata:webhooks`` (renewed as it works; when its process
stops or dies, another takes over within the lease's 30 s, and delivers
again what was not acknowledged).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import random
import sqlite3
import threading
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fermata.runtime import Store
from fermata.runtime.checkpoint import new_owner
from fermata.runtime.records import OutboxKind

from .background import BackgroundLoop

log = logging.getLogger("fermata.server.webhooks")

EVENTS = tuple(kind.value for kind in OutboxKind)
SIGNATURE_HEADER = "Fermata-Signature"
READ_PAGE = 100
LEASE_THREAD = "fermata:webhooks"     # the lease one deliverer of a store holds
LEASE_TTL = 30.0


class WebhookConfigError(Exception):
    """The ``webhooks`` table cannot be used; the message says why."""


@dataclass(frozen=True)
class Hook:
    name: str
    url: str
    secret: str = field(repr=False)
    events: frozenset[str] = frozenset(EVENTS)

    def wants(self, event: str) -> bool:
        return event in self.events


def parse_hooks(table: Any, where: str) -> list[Hook]:
    """The hooks of a ``[webhooks.NAME]`` table (``url``, ``secret`` or
    ``secret_env``, optional ``events``)."""
    if not isinstance(table, dict):
        raise WebhookConfigError(f"{where}: `webhooks` must be a table of [webhooks.NAME] tables")
    hooks = []
    for name, spec in table.items():
        at = f"{where}: [webhooks.{name}]"
        if not isinstance(spec, dict):
            raise WebhookConfigError(f"{at} must be a table")
        unknown = set(spec) - {"url", "secret", "secret_env", "events"}
        if unknown:
            raise WebhookConfigError(f"{at}: unknown key(s) {', '.join(sorted(unknown))}")
        url = spec.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise WebhookConfigError(f"{at}: `url` must be an http:// or https:// URL")
        secret = spec.get("secret")
        if "secret_env" in spec:
            if secret is not None:
                raise WebhookConfigError(f"{at}: give `secret` or `secret_env`, not both")
            secret = os.environ.get(str(spec["secret_env"]))
            if not secret:
                raise WebhookConfigError(f"{at}: the environment variable `{spec['secret_env']}` is not set")
        if not isinstance(secret, str) or len(secret) < 16:
            raise WebhookConfigError(f"{at}: `secret` (or `secret_env`) must give a string of 16 "
                                     "characters or more")
        events = spec.get("events", list(EVENTS))
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise WebhookConfigError(f"{at}: `events` must be a list of event types")
        wrong = sorted(set(events) - set(EVENTS))
        if wrong:
            raise WebhookConfigError(f"{at}: unknown event type(s) {', '.join(wrong)} "
                                     f"(known: {', '.join(EVENTS)})")
        hooks.append(Hook(str(name), url, secret, frozenset(events)))
    return hooks


def load_hooks(path: str | Path) -> list[Hook]:
    """The ``webhooks`` table of a TOML file (users.toml or its own file)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise WebhookConfigError(f"{path}: cannot read it: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise WebhookConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_hooks(data.get("webhooks", {}), str(path))


# --------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Fermata-Signature`` header of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def event_body(event: dict[str, Any]) -> bytes:
    """The JSON a hook receives for an outbox event."""
    shown = {"id": event["key"], "type": event["event"], "created_at": event.get("at"),
             "thread": event.get("thread"), "flow": event.get("flow"), "seq": event.get("seq"),
             "data": event.get("payload")}
    return json.dumps(shown, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


# --------------------------------------------------------------------------
# The delivery log
# --------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id        INTEGER PRIMARY KEY,
    event_id  TEXT NOT NULL,      -- the outbox event's key (thread/seq/n)
    event     TEXT NOT NULL,      -- its type
    hook      TEXT NOT NULL,      -- the [webhooks.NAME]
    attempt   INTEGER NOT NULL,   -- 1, 2, ...
    at        TEXT NOT NULL,      -- ISO 8601 UTC
    outcome   TEXT NOT NULL,      -- delivered | failed (retried later) | gave_up
    status    INTEGER,            -- the HTTP status (null: no answer)
    error     TEXT,               -- why it failed
    ms        REAL NOT NULL       -- how long the attempt took
);
CREATE INDEX IF NOT EXISTS deliveries_by_event ON deliveries (event_id, id);
"""


@dataclass(frozen=True)
class Attempt:
    event_id: str
    event: str
    hook: str
    attempt: int
    at: str
    outcome: str
    status: int | None
    error: str | None
    ms: float


class DeliveryLog:
    """Every delivery attempt, in a SQLite file (``":memory:"`` for tests)."""

    def __init__(self, path: str | Path = ":memory:"):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        with self._lock:
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA)

    def record(self, attempt: Attempt) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO deliveries (event_id, event, hook, attempt, at, outcome, status, error, ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (attempt.event_id, attempt.event, attempt.hook, attempt.attempt, attempt.at, attempt.outcome,
                 attempt.status, attempt.error, attempt.ms))

    def attempts(self, event_id: str | None = None) -> list[Attempt]:
        query = "SELECT event_id, event, hook, attempt, at, outcome, status, error, ms FROM deliveries"
        args: tuple[Any, ...] = ()
        if event_id is not None:
            query, args = query + " WHERE event_id = ?", (event_id,)
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY id", args).fetchall()
        return [Attempt(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


# --------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None     # a 3xx is a failure: the body is never re-sent elsewhere


_OPENER = urllib.request.build_opener(_NoRedirects)

#: ``send(url, body, headers, timeout)`` -> the HTTP status; raises OSError
#: when there is no answer.
Sender = Callable[[str, bytes, dict[str, str], float], int]


def http_send(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(1 << 16)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


# --------------------------------------------------------------------------
# The deliverer
# --------------------------------------------------------------------------


@dataclass
class _Due:
    """One event still owed to some hooks."""

    event: dict[str, Any]
    body: bytes
    owed: dict[str, int]          # hook name -> attempts made so far
    next_at: dict[str, float]     # hook name -> when to try it next (time.time())


@dataclass
class Policy:
    max_attempts: int = 10
    base_delay: float = 2.0
    max_delay: float = 600.0
    timeout: float = 10.0
    poll: float = 1.0

    def delay(self, attempts: int) -> float:
        return float(min(self.base_delay * 2 ** (attempts - 1), self.max_delay) * (1 + random.random() / 4))


class Deliverer(BackgroundLoop):
    """Delivers the outbox to ``hooks`` from a thread of its own."""

    thread_name = "fermata-webhooks"

    def __init__(self, store: Store, hooks: list[Hook], delivery_log: DeliveryLog, policy: Policy | None = None,
                 send: Sender = http_send, clock: Callable[[], float] = time.time, user_agent: str = "fermata"):
        super().__init__()
        self.store = store
        self.hooks = {hook.name: hook for hook in hooks}
        self.log = delivery_log
        self.policy = policy or Policy()
        self.send = send
        self.clock = clock
        self.user_agent = user_agent
        self._after = 0                       # the newest outbox id read
        self._due: dict[int, _Due] = {}       # by outbox id
        self.owner = new_owner()
        self._leading = False
        self._renew_at = 0.0

    def stop(self, timeout: float = 15.0) -> None:
        super().stop(timeout)
        if self._leading:
            self._leading = False
            self.store.release(LEASE_THREAD, self.owner)

    def leads(self) -> bool:
        """Whether this deliverer is the store's (taking or renewing the lease)."""
        now = time.monotonic()
        if self._leading and now < self._renew_at:
            return True
        if self._leading:
            self._leading = self.store.renew(LEASE_THREAD, self.owner, LEASE_TTL)
        else:
            self._leading = self.store.acquire(LEASE_THREAD, self.owner, LEASE_TTL)
            # Whatever another deliverer left unacknowledged is delivered again.
            self._after, self._due = 0, {}
        self._renew_at = now + LEASE_TTL / 3
        return self._leading

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("webhooks: delivering the outbox failed; retrying")
                busy = False
            if not busy:
                self._stop.wait(self.policy.poll)

    def run_once(self) -> bool:
        """Read new outbox events and make every attempt that is due; whether
        there may be more to do at once (a full page was read). Nothing
        while another deliverer holds the store's lease."""
        if not self.leads():
            return False
        events = self.store.outbox(after=self._after, limit=READ_PAGE)
        for event in events:
            self._after = max(self._after, int(event["id"]))
            owed = {name: 0 for name, hook in self.hooks.items() if hook.wants(event["event"])}
            self._due[int(event["id"])] = _Due(event, event_body(event), owed, dict.fromkeys(owed, 0.0))
        done = []
        for outbox_id, due in list(self._due.items()):
            for name in list(due.owed):
                if self._stop.is_set():
                    return False
                if due.next_at[name] <= self.clock():
                    self._attempt(due, self.hooks[name])
            if not due.owed:
                done.append(outbox_id)
        if done:
            self.store.ack(done)
            for outbox_id in done:
                del self._due[outbox_id]
        return len(events) == READ_PAGE

    def _attempt(self, due: _Due, hook: Hook) -> None:
        attempt = due.owed[hook.name] + 1
        sent_at = int(self.clock())
        headers = {"Content-Type": "application/json", "User-Agent": self.user_agent,
                   "Fermata-Event": due.event["event"], "Fermata-Event-Id": due.event["key"],
                   "Fermata-Delivery-Attempt": str(attempt), SIGNATURE_HEADER: sign(hook.secret, sent_at, due.body)}
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            status = self.send(hook.url, due.body, headers, self.policy.timeout)
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except (OSError, ValueError) as exc:    # refused, timed out, a bad answer
            error = f"{type(exc).__name__}: {exc}"
        ms = (time.perf_counter() - started) * 1000
        if error is None:
            outcome = "delivered"
            del due.owed[hook.name]
        elif attempt >= self.policy.max_attempts:
            outcome = "gave_up"
            del due.owed[hook.name]
            log.warning("webhook %s: gave up on event %s after %d attempts (%s)", hook.name, due.event["key"],
                        attempt, error)
        else:
            outcome = "failed"
            due.owed[hook.name] = attempt
            due.next_at[hook.name] = self.clock() + self.policy.delay(attempt)
        self.log.record(Attempt(due.event["key"], due.event["event"], hook.name, attempt,
                                datetime.now(UTC).isoformat(timespec="milliseconds"), outcome, status, error, ms))
