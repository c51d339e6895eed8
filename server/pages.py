"""The web inbox: HTML pages that work without JavaScript.

Every page is rendered from ``server/templates`` with autoescaping on; every
form posts a CSRF token that must match the one in the signed session. The
pages act only through :class:`~fermata.server.inbox.Inbox`, as the API does.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from fermata.runtime.store.work import OPEN as OPEN_SUBMISSION

from .app import (
    Settings,
    accepted,
    csrf_ok,
    csrf_token,
    finished,
    in_thread,
    page_identity,
    parse_submission_id,
)
from .forms import (
    FormInputError,
    all_paths,
    build_form,
    edit_rows,
    place_located,
    place_problems,
    read_form,
)
from .identity import Identity
from .inbox import Forbidden, Inbox, Invalid, NotFound, PageRequest, Refused
from .runner import Job

PAGE_WAIT = 10.0   # how long a person's answer waits for the run's next pause before showing it
MAX_FORM_FIELDS = 2000
QUEUED_REFRESH = 3  # s between reloads of a page following a submission the workers have not applied yet


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("fermata.server", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, ensure_ascii=False, sort_keys=True)
    env.filters["q"] = lambda v: quote(str(v), safe="")
    return env


class Pages:
    def __init__(self, settings: Settings, inbox: Inbox):
        self.settings = settings
        self.inbox = inbox
        self.env = _environment()

    def render(self, request: Request, template: str, http_status: int = 200, /, **context: Any) -> HTMLResponse:
        context.setdefault("who", page_identity(self.settings, request))
        context["csrf"] = csrf_token(request)
        context["signed_in_by_session"] = self.settings.users is not None and \
            self.settings.proxy_header is None
        html = self.env.get_template(template).render(request=request, **context)
        return HTMLResponse(html, http_status, headers={"Cache-Control": "no-store",
                                                   "X-Frame-Options": "DENY",
                                                   "Content-Security-Policy": "default-src 'self'; "
                                                   "style-src 'unsafe-inline'; frame-ancestors 'none'"})

    def refused(self, request: Request, refusal: Refused) -> HTMLResponse:
        return self.render(request, "error.html", refusal.status, refusal=refusal)

    # ------------------------------------------------------------ plumbing

    def page(self, handler: Callable[[Request, Identity], Awaitable[Response]]
             ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            who = page_identity(self.settings, request)
            if who is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse("/login?" + urlencode({"next": target}), 303)
            if request.method == "POST":
                form = await self.form(request)
                if not csrf_ok(request, form.get("csrf")):
                    return self.refused(request, _CsrfRefused())
                request.state.form = form
            try:
                return await handler(request, who)
            except Refused as refusal:
                return self.refused(request, refusal)
        return endpoint

    async def form(self, request: Request) -> dict[str, str]:
        data: FormData = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
        return {k: v for k, v in data.items() if isinstance(v, str)}

    # ------------------------------------------------------------ sign-in

    async def login(self, request: Request) -> Response:
        next_url = _safe_next(request.query_params.get("next"))
        if self.settings.users is None or self.settings.proxy_header:
            return RedirectResponse(next_url, 303)
        if request.method == "GET":
            return self.render(request, "login.html", next_url=next_url, who=None)
        form = await self.form(request)
        if not csrf_ok(request, form.get("csrf")):
            return self.refused(request, _CsrfRefused())
        who = self.settings.users.sign_in(form.get("name", ""), form.get("token", ""))
        if who is None:
            return self.render(request, "login.html", 401, next_url=_safe_next(form.get("next")),
                               who=None, name=form.get("name", ""),
                               error="Unknown name or token.")
        request.session.clear()
        request.session["user"] = who.name
        return RedirectResponse(_safe_next(form.get("next")), 303)

    async def logout(self, request: Request) -> Response:
        form = await self.form(request)
        if not csrf_ok(request, form.get("csrf")):
            return self.refused(request, _CsrfRefused())
        request.session.clear()
        return RedirectResponse("/login", 303)

    # ------------------------------------------------------------ pages

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/inbox", 303)

    async def inbox_page(self, request: Request, who: Identity) -> Response:
        flow = request.query_params.get("flow") or None
        result = await in_thread(self.inbox.list_pending, who, flow, None, PageRequest(limit=200))
        return self.render(request, "inbox.html", questions=result.items, flow=flow,
                           flows=[e.name for e in self.inbox.flows(who)])

    async def runs_page(self, request: Request, who: Identity) -> Response:
        flow = request.query_params.get("flow") or None
        status = request.query_params.get("status") or None
        cursor = request.query_params.get("cursor") or None
        result = await in_thread(self.inbox.list_runs, who, flow, status, PageRequest(cursor, 50))
        return self.render(request, "runs.html", runs=result.items, next_cursor=result.next_cursor,
                           flow=flow, status=status, flows=[e.name for e in self.inbox.flows(who)])

    async def run_page(self, request: Request, who: Identity) -> Response:
        """The run; with ``?submission=ID`` (a start or answer this server
        queued for the workers: ``serve --no-worker``) also where that
        stands, refreshing by itself while it waits, and the submission
        alone while the run it starts does not exist yet."""
        thread = request.path_params["thread"]
        submission = await self._submission(request, who, thread)
        waiting = submission is not None and submission["status"] in OPEN_SUBMISSION
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        refresh = QUEUED_REFRESH if waiting else None
        try:
            run = await in_thread(self.inbox.get_run, who, thread)
        except NotFound:
            if submission is None:
                raise
            return self.render(request, "queued.html", submission=submission, waiting=waiting, here=here,
                               refresh=refresh)
        history = await in_thread(self.inbox.history, who, thread)
        return self.render(request, "run.html", run=run, timeline=_timeline(history),
                           notice=request.query_params.get("notice"), submission=submission,
                           waiting=waiting, here=here, refresh=refresh,
                           may_cancel=who.has("starter") and run["status"] not in ("done", "cancelled"))

    async def _submission(self, request: Request, who: Identity, thread: str) -> dict[str, Any] | None:
        """The ``?submission=`` of run ``thread``, when ``who`` may see it
        (else none: the page is then the run's alone, or 404)."""
        raw = request.query_params.get("submission")
        if raw is None:
            return None
        try:
            found: dict[str, Any] = await in_thread(self.inbox.get_submission, who, parse_submission_id(raw))
        except NotFound:
            return None
        return found if found["thread"] == thread else None

    async def cancel_page(self, request: Request, who: Identity) -> Response:
        thread = request.path_params["thread"]
        job = await in_thread(self.inbox.cancel, who, thread)
        await accepted(job)
        return RedirectResponse(f"/runs/{quote(thread, safe='')}?notice=cancelled", 303)

    async def question_page(self, request: Request, who: Identity) -> Response:
        thread, key = request.path_params["thread"], request.path_params["key"]
        question = await in_thread(self.inbox.get_question, who, thread, key)
        entry = self.inbox.catalog.get(question["flow"])
        defs = entry.defs if entry else {}
        if request.method == "GET":
            return self.render(request, "question.html", q=question,
                               form=build_form(question["schema"], defs, None))
        posted = request.state.form
        edited = edit_rows(posted)
        if edited is not None:  # "add a row" / "remove a row": show the form again
            return self.render(request, "question.html", q=question,
                               form=build_form(question["schema"], defs, edited))
        try:
            value = None if question["static"] else read_form(question["schema"], defs, posted)
        except FormInputError as exc:
            return self.render(request, "question.html", 422, q=question, refused=True,
                               form=build_form(question["schema"], defs, posted, exc.errors))
        try:
            job = await in_thread(self.inbox.answer, who, thread, question["token"], value)
            await accepted(job)
        except Invalid as refusal:
            fields = build_form(question["schema"], defs, posted)
            errors = (place_located(refusal.located, all_paths(fields)) if refusal.located
                      else place_problems(refusal.problems, all_paths(fields)))
            return self.render(request, "question.html", 422, q=question, refused=True,
                               form=build_form(question["schema"], defs, posted, errors))
        await finished(job, PAGE_WAIT, self.inbox)
        return RedirectResponse(_run_page(job, "answered"), 303)

    async def flows_page(self, request: Request, who: Identity) -> Response:
        return self.render(request, "flows.html", flows=self.inbox.flows(who))

    async def start_page(self, request: Request, who: Identity) -> Response:
        entry = self.inbox.flow(who, request.path_params["flow"])
        if not who.has("starter"):
            raise Forbidden(f"`{who.name}` may not start runs (role `starter` needed)")
        schema = entry.input_schema()
        if request.method == "GET":
            return self.render(request, "start.html", flow=entry,
                               form=build_form(schema, entry.defs, None, prefix="input", label="Input"))
        posted = request.state.form
        edited = edit_rows(posted)
        if edited is not None:
            return self.render(request, "start.html", flow=entry,
                               form=build_form(schema, entry.defs, edited, prefix="input", label="Input"))
        try:
            data = read_form(schema, entry.defs, posted, prefix="input")
        except FormInputError as exc:
            return self.render(request, "start.html", 422, flow=entry,
                               form=build_form(schema, entry.defs, posted, exc.errors, prefix="input",
                                               label="Input"))
        try:
            job = self.inbox.start_run(who, entry.name, data)
            await accepted(job)
        except Invalid as refusal:
            fields = build_form(schema, entry.defs, posted, prefix="input", label="Input")
            errors = place_problems(refusal.problems, all_paths(fields), question=False)
            return self.render(request, "start.html", 422, flow=entry,
                               form=build_form(schema, entry.defs, posted, errors, prefix="input",
                                               label="Input"))
        await finished(job, PAGE_WAIT, self.inbox)
        return RedirectResponse(_run_page(job, "started"), 303)


class _CsrfRefused(Refused):
    status, code = 403, "csrf"

    def __init__(self) -> None:
        super().__init__("This form has expired or did not come from this site. "
                         "Go back, reload the page and send it again.")


def _run_page(job: Job, notice: str) -> str:
    """Where a person goes after starting or answering: the run, and the
    submission when it was queued for the workers (followed there)."""
    query = {"notice": notice} | ({"submission": str(job.submission)} if job.submission is not None else {})
    return f"/runs/{quote(job.thread, safe='')}?{urlencode(query)}"


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never `//evil.example` or `https://...`.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/inbox"
    return target


def _timeline(history: dict[str, Any]) -> list[dict[str, Any]]:
    """Checkpoints and the audit trail in one list: what a checkpoint
    recorded (started, asked, answered, fired, cancelled) comes right after it."""
    by_checkpoint: dict[str, list[dict[str, Any]]] = {}
    for entry in history.get("audit", []):
        by_checkpoint.setdefault(entry["checkpoint_id"], []).append(entry)
    items: list[dict[str, Any]] = []
    for checkpoint in history["checkpoints"]:
        items.append({"kind": "checkpoint", **checkpoint})
        items += [{"kind": "audit", **e} for e in by_checkpoint.get(f"{checkpoint['seq']:08d}", [])]
    return items


def build_pages(settings: Settings, inbox: Inbox) -> list[Route]:
    pages = Pages(settings, inbox)
    return [Route("/", pages.home),
            Route("/login", pages.login, methods=["GET", "POST"]),
            Route("/logout", pages.logout, methods=["POST"]),
            Route("/inbox", pages.page(pages.inbox_page)),
            Route("/runs", pages.page(pages.runs_page)),
            Route("/runs/{thread}", pages.page(pages.run_page)),
            Route("/runs/{thread}/cancel", pages.page(pages.cancel_page), methods=["POST"]),
            Route("/runs/{thread}/questions/{key}", pages.page(pages.question_page), methods=["GET", "POST"]),
            Route("/flows", pages.page(pages.flows_page)),
            Route("/flows/{flow}/start", pages.page(pages.start_page), methods=["GET", "POST"])]
