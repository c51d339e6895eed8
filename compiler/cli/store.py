"""``fermata store init|migrate URL``, ``fermata runs`` and ``fermata inbox``:
a store's schema, and its run index (runs by flow and status; the interrupts
paused runs wait on), read without decoding any run."""

from __future__ import annotations

import argparse
from typing import Any

from .common import EXIT_OK, UsageError, dump_json, write_out


def run_store(args: argparse.Namespace) -> int:
    """``store init URL`` creates a store's schema (idempotent);
    ``store migrate URL`` brings an older one up to this Fermata's."""
    url: str = args.url
    migrate = args.action == "migrate"
    if url.startswith(("postgresql://", "postgres://")):
        from fermata.runtime.store.postgres import init_schema

        before, after = init_schema(url, migrate=migrate)
    elif url.startswith("sqlite:"):
        from pathlib import Path

        from fermata.runtime.store.url import open_store

        rest = url[len("sqlite:"):]
        new = not Path(rest.removeprefix("///")).exists()
        store: Any = open_store(url, create=not migrate)
        try:
            before, after = store.migrate()
        finally:
            store.close()
        if new:
            before = None
    else:
        raise UsageError(f"`{url}` is not a store with a schema: use `sqlite:///path.db` or `postgresql://...`")
    shown = _redacted(url)
    if before is None:
        write_out(f"created the Fermata store in {shown} (schema version {after})\n")
    elif before == after:
        write_out(f"{shown} is up to date (schema version {after})\n")
    else:
        write_out(f"migrated {shown} from schema version {before} to {after}\n")
    return EXIT_OK


def run_runs(args: argparse.Namespace) -> int:
    store = _open(args.store, args.limit)
    try:
        runs = store.list_runs(flow=args.flow, status=args.status, after=args.after, limit=args.limit)
    finally:
        store.close()
    if args.json:
        write_out(dump_json([run.to_json() for run in runs], indent=2) + "\n")
        return EXIT_OK
    for run in runs:
        write_out(f"{run.thread}  {run.flow}  {run.status}  checkpoint {run.seq}\n")
    if not runs:
        write_out("no runs\n" if args.after is None else "no more runs\n")
    elif len(runs) == args.limit:
        write_out(f"(more: --after {runs[-1].thread})\n")
    return EXIT_OK


def run_inbox(args: argparse.Namespace) -> int:
    store = _open(args.store, args.limit)
    after = tuple(args.after.rsplit("/", 1)) if args.after else None
    if after is not None and len(after) != 2:
        raise UsageError("--after takes THREAD/INTERRUPT_ID, as the previous page's last line names it")
    try:
        pending = store.pending_interrupts(flow=args.flow, label=args.label, after=after, limit=args.limit)
    finally:
        store.close()
    if args.json:
        write_out(dump_json([entry.to_json() for entry in pending], indent=2) + "\n")
        return EXIT_OK
    for entry in pending:
        write_out(f"{entry.thread}  {entry.flow}  {entry.id}  (label {entry.label})\n")
    if not pending:
        write_out("no pending interrupts\n")
    elif len(pending) == args.limit:
        write_out(f"(more: --after {pending[-1].thread}/{pending[-1].id})\n")
    return EXIT_OK


def _open(url: str, limit: int) -> Any:
    from fermata.runtime.store.base import MAX_PAGE
    from fermata.runtime.store.url import open_store

    if limit > MAX_PAGE:
        raise UsageError(f"--limit is at most {MAX_PAGE}")
    store = open_store(url, create=False)
    if not hasattr(store, "list_runs"):
        raise UsageError(f"the store {url} has no run index")
    return store


def _redacted(url: str) -> str:
    from fermata.runtime.store.postgres import _redact

    return str(_redact(url))
