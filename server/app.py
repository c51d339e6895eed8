"""The ASGI application: the JSON API, the web inbox, and who is asking.

:func:`create_app` builds it from a :class:`Settings`; everything that acts
on runs goes through :class:`~fermata.server.inbox.Inbox`. The API takes
``Authorization: Bearer TOKEN`` (never the session cookie, so a cross-site
form cannot use a person's session against it); the pages take a signed,
``HttpOnly``, ``SameSite=Lax`` session cookie, and every form carries a CSRF
token kept in that session.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from fermata.runtime import Store
from fermata.runtime.records import RunStatus, WorkStatus
from fermata.runtime.store.logstore import LogStore
from fermata.runtime.store.memory import MemoryStore
from fermata.runtime.store.sqlite import SqliteStore
from fermata.runtime.stores import open_store

from .catalog import FlowCatalog
from .identity import LOCAL, Identity, Users
from .inbox import (
    DEFAULT_PAGE,
    MAX_PAGE,
    BadRequest,
    Inbox,
    NotFound,
    PageRequest,
    Refused,
    run_url,
    submission_url,
)
from .openapi import openapi_document
from .runner import Job, QueueWorker, Runner, Ticker
from .stores import StorePool
from .webhooks import Deliverer, DeliveryLog, Hook

log = logging.getLogger("fermata.server")

MAX_BODY = 1 << 20          # 1 MiB: far above any answer a person types
MAX_WAIT = 60.0
FOLLOW_FIRST, FOLLOW_MAX = 0.005, 0.1   # how often ?wait looks at a submission (s): doubling to the max
SESSION_HOURS = 12


@dataclass
class Settings:
    catalog: FlowCatalog
    store: Store
    users: Users | None = None          # None: no users file, everyone is `local` (loopback only)
    proxy_header: str | None = None     # a trusted reverse proxy names the user in this header
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    secure_cookies: bool = False
    workers: int = 4
    version: str = "0"
    hooks: list[Hook] = field(default_factory=list)   # webhooks: delivered when not empty
    webhook_log: str = ":memory:"                      # the delivery log's SQLite file
    tick_every: float = 0.0                            # fire due deadlines every N s (0: never)
    store_url: str | None = None      # requests open store objects of their own from it (None: share `store`)
    advance: bool = True              # advance runs here; False (--no-worker): submit them to `fermata worker`s


# --------------------------------------------------------------------------
# Identity
# --------------------------------------------------------------------------


def _proxy_identity(settings: Settings, request: Request) -> Identity | None:
    if settings.proxy_header is None:
        return None
    name = request.headers.get(settings.proxy_header)
    if not name or settings.users is None:
        return None
    return settings.users.named(name)


def api_identity(settings: Settings, request: Request) -> Identity | None:
    if settings.users is None:
        return LOCAL
    found = _proxy_identity(settings, request)
    if found is not None:
        return found
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return settings.users.by_token(token.strip())


def page_identity(settings: Settings, request: Request) -> Identity | None:
    if settings.users is None:
        return LOCAL
    found = _proxy_identity(settings, request)
    if found is not None:
        return found
    name = request.session.get("user")
    return settings.users.named(name) if isinstance(name, str) else None


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, posted: Any) -> bool:
    expected = request.session.get("csrf")
    return isinstance(expected, str) and isinstance(posted, str) and \
        hmac.compare_digest(expected.encode(), posted.encode())


# --------------------------------------------------------------------------
# Helpers shared by the API and the pages
# --------------------------------------------------------------------------


def parse_wait(request: Request, default: float = 0.0) -> float:
    raw = request.query_params.get("wait")
    if raw is None:
        return default
    try:
        wait = float(raw)
    except ValueError:
        raise BadRequest("`wait` must be a number of seconds") from None
    if not 0 <= wait <= MAX_WAIT:
        raise BadRequest(f"`wait` must be between 0 and {MAX_WAIT:g} seconds")
    return wait


def parse_page(request: Request) -> PageRequest:
    raw = request.query_params.get("limit")
    limit = DEFAULT_PAGE
    if raw is not None:
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
            raise BadRequest(f"`limit` must be a whole number from 1 to {MAX_PAGE}")
        limit = int(raw)
    page = PageRequest(request.query_params.get("cursor") or None, limit)
    page.after()  # a bad cursor is refused before any work
    return page


async def accepted(job: Job) -> None:
    """Wait until the runtime accepted the job; its refusal is raised here."""
    await asyncio.wrap_future(job.accepted)


async def finished(job: Job, wait: float, inbox: Inbox) -> bool:
    """Whether the job's run reached its next pause or end within ``wait``
    seconds (a submission is followed in the store: a late refusal raises)."""
    if job.submission is not None:
        return await _followed(inbox, job.thread, job.submission, wait)
    if wait <= 0:
        return job.finished.done()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(job.finished)), wait)
    return job.finished.done()


async def _followed(inbox: Inbox, thread: str, work_id: int, wait: float) -> bool:
    loop = asyncio.get_running_loop()
    give_up = loop.time() + wait
    pause = FOLLOW_FIRST
    while True:
        if await in_thread(inbox.submitted, thread, work_id):
            return True
        left = give_up - loop.time()
        if left <= 0:
            return False
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 2, FOLLOW_MAX)


def accepted_json(job: Job) -> dict[str, Any]:
    """The 202 body: still running here, or queued for the workers."""
    if job.submission is not None:
        return {"thread": job.thread, "status": WorkStatus.QUEUED.value, "submission": job.submission,
                "submission_url": submission_url(job.submission)}
    return {"thread": job.thread, "status": RunStatus.RUNNING.value}


def accepted_response(job: Job) -> JSONResponse:
    """202, with ``Location`` where to follow it: the submission when it is
    queued for the workers (the run may not exist yet, and a worker may
    still refuse it), else the run."""
    where = submission_url(job.submission) if job.submission is not None else run_url(job.thread)
    return JSONResponse(accepted_json(job), 202, headers={"Location": where})


def parse_submission_id(raw: str) -> int:
    # Only plain decimal digits (str.isdigit takes "²"); anything else names no submission.
    if not 1 <= len(raw) <= 19 or not raw.isascii() or not raw.isdigit():
        raise NotFound(f"no submission `{raw}`")
    return int(raw)


async def read_json(request: Request) -> Any:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise _TooLarge()
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequest("the body is not valid JSON") from None


class _TooLarge(Refused):
    status, code = 413, "too_large"

    def __init__(self) -> None:
        super().__init__(f"the body is larger than {MAX_BODY} bytes")


def in_thread(fn: Callable[..., Any], *args: Any) -> Awaitable[Any]:
    # Store reads are blocking (SQLite): keep them off the event loop.
    from starlette.concurrency import run_in_threadpool

    return run_in_threadpool(fn, *args)


# --------------------------------------------------------------------------
# The JSON API
# --------------------------------------------------------------------------

Handler = Callable[[Request, Identity], Awaitable[Response]]


def api(settings: Settings, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        identity = api_identity(settings, request)
        if identity is None:
            return JSONResponse({"error": "unauthorized", "message": "a valid `Authorization: Bearer "
                                 "TOKEN` header is required"}, 401, headers={"WWW-Authenticate": "Bearer"})
        try:
            return await handler(request, identity)
        except Refused as refusal:
            return JSONResponse(refusal.to_json(), refusal.status)
    return endpoint


def build_api(settings: Settings, inbox: Inbox) -> list[Route]:
    async def me(request: Request, who: Identity) -> Response:
        return JSONResponse({"name": who.name, "roles": sorted(who.roles),
                             "flows": sorted(who.flows) if who.flows is not None else None})

    async def flows(request: Request, who: Identity) -> Response:
        return JSONResponse([{"name": e.name, "doc": e.doc, "ir_hash": e.ir_hash,
                              "input_schema": e.input_schema(),
                              "questions": [{"id": q.id, "schema": q.schema} for q in e.questions()]}
                             for e in inbox.flows(who)])

    async def start(request: Request, who: Identity) -> Response:
        wait = parse_wait(request)
        inbox.flow(who, request.path_params["flow"])   # 404 before reading the body
        body = await read_json(request)
        if not isinstance(body, dict) or set(body) - {"input"} or "input" not in body:
            raise BadRequest('the body must be {"input": {...}}')
        job = inbox.start_run(who, request.path_params["flow"], body["input"])
        await accepted(job)
        if await finished(job, wait, inbox):
            with contextlib.suppress(Refused):
                run = await in_thread(inbox.get_run, who, job.thread)
                return JSONResponse(run, 201, headers={"Location": run_url(job.thread)})
        return accepted_response(job)

    async def list_runs(request: Request, who: Identity) -> Response:
        page = parse_page(request)
        q = request.query_params
        result = await in_thread(inbox.list_runs, who, q.get("flow"), q.get("status"), page)
        return JSONResponse(result.to_json())

    async def get_run(request: Request, who: Identity) -> Response:
        return JSONResponse(await in_thread(inbox.get_run, who, request.path_params["thread"]))

    async def history(request: Request, who: Identity) -> Response:
        return JSONResponse(await in_thread(inbox.history, who, request.path_params["thread"]))

    async def answer(request: Request, who: Identity) -> Response:
        wait = parse_wait(request)
        thread = request.path_params["thread"]
        body = await read_json(request)
        if not isinstance(body, dict) or set(body) - {"id", "token", "value"}:
            raise BadRequest('the body must be {"id" or "token": ..., "value": ...}')
        keys = [body[k] for k in ("id", "token") if k in body]
        if len(keys) != 1 or not isinstance(keys[0], str):
            raise BadRequest('name the question with exactly one of "id" and "token" (a string)')
        job = await in_thread(inbox.answer, who, thread, keys[0], body.get("value"))
        await accepted(job)
        if await finished(job, wait, inbox):
            return JSONResponse(await in_thread(inbox.get_run, who, thread))
        return accepted_response(job)

    async def cancel(request: Request, who: Identity) -> Response:
        thread = request.path_params["thread"]
        job = await in_thread(inbox.cancel, who, thread)
        await accepted(job)
        return JSONResponse(await in_thread(inbox.get_run, who, thread))

    async def get_submission(request: Request, who: Identity) -> Response:
        work_id = parse_submission_id(request.path_params["id"])
        return JSONResponse(await in_thread(inbox.get_submission, who, work_id))

    async def pending(request: Request, who: Identity) -> Response:
        page = parse_page(request)
        q = request.query_params
        overdue = q.get("overdue", "false")
        if overdue not in ("true", "false"):
            raise BadRequest("`overdue` must be true or false")
        result = await in_thread(inbox.list_pending, who, q.get("flow"), q.get("label"), page,
                                 q.get("role"), overdue == "true")
        return JSONResponse(result.to_json())

    async def openapi(request: Request, who: Identity) -> Response:
        return JSONResponse(openapi_document(inbox.flows(who), settings.version))

    def route(path: str, handler: Handler, method: str) -> Route:
        return Route(path, api(settings, handler), methods=[method])

    return [route("/openapi.json", openapi, "GET"),
            route("/api/me", me, "GET"),
            route("/api/flows", flows, "GET"),
            route("/api/flows/{flow}/runs", start, "POST"),
            route("/api/runs", list_runs, "GET"),
            route("/api/runs/{thread}", get_run, "GET"),
            route("/api/runs/{thread}/history", history, "GET"),
            route("/api/runs/{thread}/answers", answer, "POST"),
            route("/api/runs/{thread}/cancel", cancel, "POST"),
            route("/api/submissions/{id}", get_submission, "GET"),
            route("/api/inbox", pending, "GET")]


# --------------------------------------------------------------------------
# The application
# --------------------------------------------------------------------------


def queue_worker(settings: Settings) -> QueueWorker:
    """The worker applying other processes' submissions, on a store object
    (a connection) of its own."""
    own: list[Store] = []

    def graphs() -> list[Any]:
        if settings.store_url is None or isinstance(settings.store, MemoryStore):
            return [entry.graph for entry in settings.catalog.entries()]
        own.append(open_store(settings.store_url))
        return [entry.on(own[0]) for entry in settings.catalog.entries()]

    def close() -> None:
        for store in own:
            store.close()

    return QueueWorker(graphs, close)


def create_app(settings: Settings) -> Starlette:
    from .pages import build_pages

    if not isinstance(settings.store, LogStore):
        raise TypeError(f"the server needs a store with a run index (memory, SQLite, PostgreSQL), "
                        f"not {type(settings.store).__name__}")
    # A store object (a connection) per request and per job advancing a run,
    # at most two per run-advancing thread: see stores.py.
    stores = StorePool(settings.store, settings.store_url, 2 * settings.workers)
    # SQLite takes one writer at a time whatever the connection: jobs share
    # the server's own store object (its lock queues them, cheaper than
    # SQLite's busy waits between connections); requests still read on theirs.
    one_writer = isinstance(settings.store, SqliteStore)

    def borrow() -> contextlib.AbstractContextManager[LogStore]:
        return stores.borrowed(shared=one_writer)

    runner = Runner(settings.workers, borrow)
    inbox = Inbox(settings.catalog, stores, runner, settings.advance)

    background: list[Deliverer | Ticker | QueueWorker] = []
    if settings.hooks:
        background.append(Deliverer(settings.store, settings.hooks, DeliveryLog(settings.webhook_log),
                                    user_agent=f"fermata/{settings.version}"))
    if settings.advance:
        background.append(queue_worker(settings))
    if settings.tick_every > 0 and settings.advance:   # else the workers fire what is due
        background.append(Ticker(lambda: [e.graph for e in settings.catalog.entries()], settings.tick_every))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for task in background:
            task.start()
        yield
        for task in background:
            await in_thread(task.stop)
        await in_thread(runner.shutdown)
        await in_thread(stores.close)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    routes = [Route("/healthz", healthz), *build_api(settings, inbox), *build_pages(settings, inbox)]
    middleware = [Middleware(SessionMiddleware, secret_key=settings.secret, session_cookie="fermata_session",
                             max_age=SESSION_HOURS * 3600, same_site="lax", https_only=settings.secure_cookies)]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.inbox = inbox
    app.state.settings = settings
    return app
