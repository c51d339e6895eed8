"""The outbox codec: how a run event is stored, and read back unchanged.

An outbox event (``engine._events``, ``cancel.py``) is
``{"key", "event", "thread", "flow", "seq", "at", "payload"}``, stored in the
transaction of the checkpoint ``seq`` of ``thread`` that caused it, and kept
until acknowledged. Most payloads repeat that checkpoint: an
``interrupt.created`` is one of its pending entries (question, schema,
token, times), an ``interrupt.expired`` one of its fired timers, a
``run.failed`` its error. Storing them again cost ~300 bytes per paused
run, more than the run's own rows. So a store keeps such a payload as a
*reference* into the checkpoint (:func:`payload_ref`, e.g. ``["p", 0]``: its
first pending entry) and :func:`resolve` rebuilds it when the outbox is
read. A reference is written only after checking that it rebuilds exactly
the payload given (same keys in the same order, same types and values), so
readers see the very JSON the engine built; any other payload is stored as
it is.

The envelope, too, repeats what a SQL store keys by: ``key`` is
``thread/seq/n`` and ``flow`` is the thread's. :func:`stored_event` says
when an event has exactly that shape (:class:`Compact`: ``n``, a kind code,
``at`` in ms), so a store can keep small integers instead of the text.
Checkpoints are never deleted, so a reference always has its checkpoint.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, NamedTuple

from ..checkpoint import Checkpoint
from ..clock import format_time, parse_time
from ..errors import StoreError
from ..plain import Plain
from ..records import interrupt_json
from .rows import decode_text, encode_entry

#: The event kinds a store keeps as a small integer (the index here). Append
#: only: stored rows name kinds by position.
KIND_CODES = ("interrupt.created", "interrupt.reminder", "interrupt.expired", "timer.fired",
              "run.done", "run.failed", "run.cancelled")
_CODE = {kind: code for code, kind in enumerate(KIND_CODES)}

#: The keys of an event in the order the engine writes them.
ENVELOPE = ("key", "event", "thread", "flow", "seq", "at", "payload")
#: ... and of its text form (memory, PostgreSQL) when the payload is a reference.
REFERRING = (*ENVELOPE[:-1], "ref")

# ``at`` as format_time writes it (years 1970-9999, where %Y has four
# digits): such a text is exactly format_time(parse_time(text)), so
# matching this is the round-trip check, without formatting (~7 us).
_RECORDED_TIME = re.compile(r"(?:19[7-9]\d|[2-9]\d{3})-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

#: Where a payload is in its checkpoint: a list whose first item names the part.
Ref = list[Any]


class Compact(NamedTuple):
    """An event's envelope as a few integers (with the thread and seq of its checkpoint)."""

    n: int           # its position among the events of its checkpoint (the key's last part)
    kind: int        # index in KIND_CODES
    at_ms: int       # ``at``, ms since the epoch


class StoredEvent(Plain):   # internal, one per append: Final for mypy, no run-time check (plain.py)
    """An event as a store keeps it: ``event`` without its payload when
    ``ref`` says where in the checkpoint the payload is; ``compact`` when
    the envelope is rebuilt from integers (always so when there is a ref)."""

    __slots__ = ("compact", "event", "ref")

    event: Final[dict[str, Any]]
    ref: Final[Ref | None]
    compact: Final[Compact | None]

    def __init__(self, event: dict[str, Any], ref: Ref | None, compact: Compact | None) -> None:
        self.event = event
        self.ref = ref
        self.compact = compact


def stored_events(thread: str, flow: str, checkpoint: Checkpoint) -> list[StoredEvent]:
    """How the store keeps each outbox event of ``checkpoint``."""
    return [stored_event(thread, flow, checkpoint, event) for event in checkpoint.outbox]


def stored_event(thread: str, flow: str, checkpoint: Checkpoint, event: dict[str, Any]) -> StoredEvent:
    compact = _compact(thread, flow, checkpoint.seq, event)
    if compact is None:
        if tuple(event) == REFERRING:     # its text form would read as a reference
            raise StoreError(f"outbox event {event.get('key')!r} has a `ref` and no `payload`")
        return StoredEvent(event, None, None)
    ref = payload_ref(event["event"], event["payload"], checkpoint)
    if ref is None:
        return StoredEvent(event, None, compact)
    return StoredEvent({k: v for k, v in event.items() if k != "payload"}, ref, compact)


def envelope(thread: str, flow: str, seq: int, compact: Compact) -> dict[str, Any]:
    """The event without its payload, rebuilt from a compact row."""
    if not 0 <= compact.kind < len(KIND_CODES):
        raise StoreError(f"outbox event {thread}/{seq}/{compact.n} has an unknown kind code {compact.kind} "
                         "(written by a newer Fermata?)")
    return {"key": f"{thread}/{seq}/{compact.n}", "event": KIND_CODES[compact.kind], "thread": thread,
            "flow": flow, "seq": seq, "at": format_time(compact.at_ms)}


def _compact(thread: str, flow: str, seq: int, event: dict[str, Any]) -> Compact | None:
    """The integers that rebuild ``event``'s envelope exactly, or None."""
    if tuple(event) != ENVELOPE or event["thread"] != thread or event["flow"] != flow \
            or type(event["seq"]) is not int or event["seq"] != seq:
        return None
    code = _CODE.get(event["event"])
    prefix, _, n = str(event["key"]).rpartition("/")
    at = event["at"]
    if code is None or prefix != f"{thread}/{seq}" or not n.isdigit() or str(int(n)) != n \
            or type(at) is not str or _RECORDED_TIME.fullmatch(at) is None:
        return None
    try:
        at_ms = parse_time(at)     # also refuses a date that does not exist (02-30)
    except ValueError:
        return None
    return Compact(int(n), code, at_ms)


# ------------------------------------------------------------ payload references


def payload_ref(kind: str, payload: Any, checkpoint: Checkpoint) -> Ref | None:
    """Where ``payload`` is in ``checkpoint``, when :func:`resolve` rebuilds
    it exactly from there; None when it must be stored as it is."""
    for ref in _candidates(kind, payload, checkpoint):
        try:
            if _same(resolve(ref, checkpoint), payload):
                return ref
        except (LookupError, TypeError, ValueError):
            continue
    return None


def _candidates(kind: str, payload: Any, checkpoint: Checkpoint) -> Iterable[Ref]:
    if kind == "interrupt.created" and isinstance(payload, dict):
        yield from (["p", i] for i, entry in enumerate(checkpoint.pending)
                    if entry.get("token") == payload.get("token"))
    elif kind in ("interrupt.expired", "timer.fired", "interrupt.reminder") and isinstance(payload, dict):
        part = "r" if kind == "interrupt.reminder" else "f"
        yield from ([part, j] for j, fired in enumerate(checkpoint.extra.get("fired") or ())
                    if isinstance(fired, dict) and fired.get("token") == payload.get("token"))
    elif kind == "run.failed":
        yield ["e"]
    elif kind == "run.cancelled":
        yield ["c"]
    elif kind == "run.done" and isinstance(payload, dict) and isinstance(payload.get("output"), dict):
        yield ["o", list(payload["output"])]


def resolve(ref: Ref, checkpoint: Checkpoint) -> Any:
    """The payload ``ref`` names in ``checkpoint`` (the inverse of :func:`payload_ref`)."""
    part = ref[0]
    if part == "p":            # interrupt.created: a pending entry, as every --json shows it
        return interrupt_json(checkpoint.pending[ref[1]])
    if part == "f":            # interrupt.expired, timer.fired: a fired timer
        return checkpoint.extra["fired"][ref[1]]
    if part == "r":            # interrupt.reminder: a fired reminder and whom its question asks
        fired = checkpoint.extra["fired"][ref[1]]
        entry: Mapping[str, Any] = next((p for p in checkpoint.pending if p["token"] == fired["token"]), {})
        return {**fired, "to": entry.get("to"), "deadline_at": entry.get("deadline_at")}
    if part == "e":            # run.failed
        return {"error": checkpoint.error}
    if part == "c":            # run.cancelled: the cancel record
        return checkpoint.extra["cancelled"]
    if part == "o":            # run.done: the flow's outputs, by name
        return {"output": {name: checkpoint.values.get(name) for name in ref[1]}}
    raise ValueError(f"unknown payload reference {ref!r}")


def _same(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` encode to the same JSON (``1 == 1.0 == True``
    in Python, not in JSON; key order counts). Cheaper than encoding both."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(v, b[k]) for k, v in a.items())
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# ------------------------------------------------------------ reading


def resolve_events(rows: list[tuple[int, StoredEvent]],
                   checkpoints_at: Callable[[list[tuple[str, int]]], dict[tuple[str, int], Checkpoint]],
                   ) -> list[dict[str, Any]]:
    """The events of outbox rows ``(id, stored)`` as the engine built them,
    each under its ``id``; the checkpoints referred to are read together
    (``checkpoints_at``: those of the ``(thread, seq)`` given that exist)."""
    wanted = sorted({(s.event["thread"], s.event["seq"]) for _, s in rows if s.ref is not None})
    read = checkpoints_at(wanted) if wanted else {}
    events = []
    for id_, stored in rows:
        event = stored.event
        if stored.ref is not None:
            event = {**event, **_payload_or_problem(event, stored.ref, read)}
        events.append({"id": id_, **event})
    return events


def _payload_or_problem(event: dict[str, Any], ref: Ref,
                        read: dict[tuple[str, int], Checkpoint]) -> dict[str, Any]:
    """``{"payload": ...}`` read from the checkpoint ``ref`` points into; if
    that checkpoint is missing or damaged, ``{"payload": None, "unreadable":
    why}`` instead. One damaged run must not stop every other run's events
    behind it (a webhook deliverer re-reading the same page forever): the
    event is still delivered, saying what could not be read, and logged."""
    where = (event["thread"], event["seq"])
    checkpoint = read.get(where)
    if checkpoint is None:
        problem = f"it refers to checkpoint {where[1]} of thread `{where[0]}`, which is missing"
    else:
        try:
            return {"payload": resolve(ref, checkpoint)}
        except (LookupError, TypeError, ValueError) as exc:
            problem = f"its payload is not where it refers to in its checkpoint ({exc!r})"
    import logging  # here: logging costs every run and resume ~3 ms of start-up

    logging.getLogger("fermata.store").warning("outbox event %s: %s", event["key"], problem)
    return {"payload": None, "unreadable": problem}


# ------------------------------------------------------------ text forms (memory and PostgreSQL bodies)


def body_text(stored: StoredEvent, leave_out: tuple[str, ...] = ()) -> str:
    """The event as JSON text, without the keys in ``leave_out`` (columns of
    its row) and with ``"ref"`` in place of a payload that is referred to."""
    body = {k: v for k, v in stored.event.items() if k not in leave_out}
    if stored.ref is not None:
        body["ref"] = stored.ref
    return encode_entry(body)


def from_text(text: str, columns: dict[str, Any] | None = None) -> StoredEvent:
    """The inverse of :func:`body_text` (``columns``: the keys left out, in
    the order they come first). Any other body (every row written before
    references were) is the event itself."""
    body = decode_text(text)
    if not isinstance(body, dict):
        raise StoreError(f"an outbox row is not a JSON object: {text[:80]!r}")
    event = {**columns, **body} if columns else body
    if tuple(event) != REFERRING:
        return StoredEvent(event, None, None)
    ref = event.pop("ref")
    return StoredEvent(event, ref, None)


# ------------------------------------------------------------ compact rows (SQLite)


def compact_body(stored: StoredEvent) -> str:
    """The body of a compact row: the reference (a JSON array), or
    ``{"payload": ...}`` when the payload is kept as it is."""
    return encode_entry(stored.ref if stored.ref is not None else {"payload": stored.event["payload"]})


def from_row(thread: str | None, flow: str | None, seq: int | None, n: int | None, kind: int | None,
             at_ms: int | None, body: str) -> StoredEvent:
    """The event of a row in integers (``kind`` None: ``body`` is the whole
    event), with the envelope rebuilt: the inverse of :func:`compact_body`."""
    if kind is None:
        return from_text(body)
    if thread is None or flow is None or seq is None or n is None or at_ms is None:
        raise StoreError(f"an outbox row of checkpoint {seq} names a thread or flow that is not in the store")
    compact = Compact(n, kind, at_ms)
    event = envelope(thread, flow, seq, compact)
    stored = decode_text(body)
    if isinstance(stored, list):
        return StoredEvent(event, stored, compact)
    event["payload"] = stored["payload"]
    return StoredEvent(event, None, compact)
