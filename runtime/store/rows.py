"""The row codec: how a checkpoint becomes a stored row, and back.

Every store keeps a thread's checkpoints as compact JSON *rows* (never
pickle), each a **full** snapshot or a **delta** against the checkpoint just
before it (spec/checkpoint.schema.json describes both):

* full:  ``{"v", "step", "status", "values"}`` and each of ``"frontier"``,
  ``"joins"``, ``"pending"``, ``"nodes"``, ``"error"``, ``"extra"`` that is
  not empty: the whole checkpoint;
* delta: ``{"v", "step"}`` plus only what changed: ``"set"`` (the state
  fields written, with their new values), ``"unset"`` (fields that lost
  their value), each of ``"status"``, ``"frontier"``, ``"joins"``,
  ``"pending"``, ``"error"``, ``"extra"`` that differs (replacing it), and
  ``"nodes"`` as a patch by node name (a record, or null when the node's
  progress was dropped), so a resume that re-runs one node does not store
  its finished siblings' writes again; ``"pending_splice"``
  ``[at, removed, [entries]]`` instead of ``"pending"`` when only a run of
  pending interrupts changed and the splice is shorter (answering one item
  of a fan-out of 1,000 stores that item's change, not the 999 others).

The seq of a row is kept beside it (a column, a list index), not inside it.

A delta's size depends on what the step wrote, never on the size of the
state. Reading a checkpoint decodes the nearest full snapshot at or before it
plus the deltas after it, so a snapshot is taken every ``snapshot_every``
checkpoints -- but only once reading those deltas would cost about as much
as reading the snapshot again (their bytes plus :data:`ROW_COST` per row
reach the snapshot's size). A small state is thus snapshotted every
``snapshot_every`` checkpoints; a 1 MB state every few thousand, so storing
it does not cost 1 MB every ``snapshot_every`` steps, while reading the
latest checkpoint stays within about twice the cost of decoding one snapshot.
"""

from __future__ import annotations

import json
import json.encoder
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from ..checkpoint import FORMAT_VERSION, Checkpoint
from ..errors import StoreError
from ..plain import Plain
from ..records import RunStatus

DEFAULT_SNAPSHOT_EVERY = 50

# What decoding and applying one delta row costs, in bytes of snapshot
# decoded in the same time (measured: ~3 us per small delta, ~10 ns per byte).
ROW_COST = 256


# One encoder, built once (json.dumps with options builds one per call).
# ensure_ascii=False keeps non-ASCII text at its UTF-8 size.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_decode = json.JSONDecoder().decode


def _make_encode() -> Callable[[Any], str]:
    """``_ENCODER.encode`` without its per-call cost: ``encode`` builds a new
    C encoder for every value (half the time of encoding a small one), so
    the same C encoder, with the same options, is built once here: the text
    is the very same. Without circular-reference markers (a shared dict of
    them could not serve two threads at once), so a value that contains
    itself is caught by the recursion limit, reported as ValueError as the
    markers would be."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:      # no C accelerator (another Python): the plain way
        return _ENCODER.encode
    try:
        chunks = make(None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",",
                      False, False, False)   # sort_keys, skipkeys, allow_nan
    except TypeError:     # another signature (another Python)
        return _ENCODER.encode
    join = "".join

    def encode(value: Any) -> str:
        try:
            return join(chunks(value, 0))
        except RecursionError:
            raise ValueError("the value contains itself, or is nested too deeply") from None

    # The stored bytes must not depend on this shortcut: if this Python's C
    # encoder writes anything differently, the plain way it is.
    sample = {"é": [1, 2.5e-07, True, None, "a\"b\n"], "": {}}
    try:
        same = encode(sample) == _ENCODER.encode(sample)
    except Exception:  # noqa: BLE001 - whatever another Python's C encoder raises: not used then
        same = False
    return encode if same else _ENCODER.encode


_encode = _make_encode()


def _enc(value: Any) -> str:
    """JSON text of a part, with the common empty ones for free."""
    if not value:
        if value is None:
            return "null"
        kind = type(value)
        if kind is list:
            return "[]"
        if kind is dict:
            return "{}"
    return _encode(value)


# The statuses' JSON text (every row but a delta's carries one).
_STATUS_TEXT = {status.value: _encode(status.value) for status in RunStatus}


def _obj(items: dict[str, str]) -> str:
    """A JSON object from already encoded values."""
    if not items:
        return "{}"
    return "{" + ",".join(f"{_encode(k)}:{v}" for k, v in items.items()) + "}"


class Tail(Plain):
    """The encoded non-state parts of a thread's newest checkpoint, so the
    next delta can name only the parts that changed (string comparison:
    equal text means equal value)."""

    __slots__ = ("error", "extra", "extra_items", "frontier", "joins", "nodes", "pending", "pending_items", "seq",
                 "status")

    seq: int
    status: str
    frontier: str
    joins: str
    pending: str
    nodes: dict[str, str]
    error: str
    extra: str
    pending_items: list[str] | None     # each pending entry's text (None: not split yet)
    extra_items: dict[str, str] | None  # each extra key's text (None: not split yet)

    def __init__(self, seq: int, status: str, frontier: str, joins: str, pending: str, nodes: dict[str, str],
                 error: str, extra: str, pending_items: list[str] | None = None,
                 extra_items: dict[str, str] | None = None) -> None:
        self.seq = seq
        self.status = status
        self.frontier = frontier
        self.joins = joins
        self.pending = pending
        self.nodes = nodes
        self.error = error
        self.extra = extra
        self.pending_items = pending_items
        self.extra_items = extra_items

    @staticmethod
    def of(checkpoint: Checkpoint) -> Tail:
        extra_items = {k: _enc(v) for k, v in checkpoint.extra.items()}
        return Tail(checkpoint.seq, _encode(checkpoint.status), _enc(checkpoint.frontier),
                    _enc(checkpoint.joins), _enc(checkpoint.pending), {k: _enc(v) for k, v in checkpoint.nodes.items()},
                    _enc(checkpoint.error), _obj(extra_items), [_encode(p) for p in checkpoint.pending],
                    extra_items)


class Stats(Plain):
    """Where a thread stands: its newest seq, and the snapshot policy's input."""

    __slots__ = ("full_bytes", "full_seq", "last_seq", "since_bytes", "since_count")

    last_seq: int
    full_seq: int     # the newest full snapshot
    full_bytes: int   # its size
    since_count: int  # deltas written after it
    since_bytes: int  # their total size

    def __init__(self, last_seq: int, full_seq: int, full_bytes: int, since_count: int, since_bytes: int) -> None:
        self.last_seq = last_seq
        self.full_seq = full_seq
        self.full_bytes = full_bytes
        self.since_count = since_count
        self.since_bytes = since_bytes

    def after(self, seq: int, kind: str, size: int) -> Stats:
        if kind == "full":
            return Stats(seq, seq, size, 0, 0)
        return Stats(seq, self.full_seq, self.full_bytes, self.since_count + 1, self.since_bytes + size)


NO_STATS = Stats(-1, -1, 0, 0, 0)


def wants_full(stats: Stats | None, tail: Tail | None, seq: int, changed: Iterable[str] | None,
               every: int) -> bool:
    """Whether the next row must (or should) be a full snapshot."""
    if changed is None or stats is None or tail is None or tail.seq != seq - 1:
        return True
    return (stats.since_count + 1 >= every
            and stats.since_bytes + ROW_COST * stats.since_count >= stats.full_bytes)


def encode_row(checkpoint: Checkpoint, changed: Iterable[str] | None, tail: Tail | None,
               full: bool) -> tuple[str, str, Tail]:
    """``(kind, body, new tail)`` of ``checkpoint`` stored after ``tail``'s.
    Raises StoreError when the checkpoint holds something JSON cannot."""
    try:
        return _encode_row(checkpoint, changed, tail, full)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"checkpoint {checkpoint.seq} cannot be stored as JSON: {exc}") from None


def _encode_row(cp: Checkpoint, changed: Iterable[str] | None, tail: Tail | None,
                full: bool) -> tuple[str, str, Tail]:
    step, status = cp.step, cp.status
    if type(step) is not int or type(status) is not str:
        raise TypeError(f"step must be an int and status a str, not {step!r} and {status!r}")
    frontier, joins, pending = _enc(cp.frontier), _enc(cp.joins), _enc(cp.pending)
    error = _enc(cp.error)
    # Extra is kept key by key: a fan-out's list (``fanout``) must not be
    # stored again because an answer added its audit record (``answered``).
    extra_items = {k: _enc(v) for k, v in cp.extra.items()} if cp.extra else {}
    extra = _obj(extra_items)
    nodes = {k: _enc(v) for k, v in cp.nodes.items()} if cp.nodes else {}
    status_text = _STATUS_TEXT.get(status) or _encode(status)
    pending_items = [_encode(p) for p in cp.pending] if len(cp.pending) > _SPLICE_FROM else None
    new_tail = Tail(cp.seq, status_text, frontier, joins, pending, nodes, error, extra, pending_items, extra_items)
    head = f'{{"v":{FORMAT_VERSION},"step":{step}'
    if full or tail is None or changed is None:
        # Empty parts are left out: a full row's missing part is empty.
        parts = [head, f',"status":{status_text},"values":{_enc(cp.values)}']
        for key, text, empty in ((',"frontier":', frontier, "[]"), (',"joins":', joins, "{}"),
                                 (',"pending":', pending, "[]"), (',"error":', error, "null"),
                                 (',"extra":', extra, "{}")):
            if text != empty:
                parts += (key, text)
        if nodes:
            parts += (',"nodes":', _obj(nodes))
        parts.append("}")
        return "full", "".join(parts), new_tail
    parts = [head]
    if status_text != tail.status:
        parts.append(f',"status":{status_text}')
    values = cp.values
    written = {}
    unset = []
    for name in changed:
        if name in values:
            written[name] = values[name]
        else:
            unset.append(name)
    if written:
        parts.append(f',"set":{_encode(written)}')
    if unset:
        parts.append(f',"unset":{_encode(unset)}')
    if frontier != tail.frontier:
        parts.append(f',"frontier":{frontier}')
    if joins != tail.joins:
        parts.append(f',"joins":{joins}')
    if pending != tail.pending:
        parts.append(_pending_change(pending, pending_items, tail))
    if nodes or tail.nodes:
        before = tail.nodes
        patch = {k: v for k, v in nodes.items() if before.get(k) != v}
        patch.update((k, "null") for k in before if k not in nodes)
        if patch:
            parts.append(f',"nodes":{_obj(patch)}')
    if error != tail.error:
        parts.append(f',"error":{error}')
    if extra != tail.extra:
        parts.append(_extra_change(extra, extra_items, tail))
    parts.append("}")
    return "delta", "".join(parts), new_tail


def _extra_change(extra: str, items: dict[str, str], tail: Tail) -> str:
    """The delta's extra part: the whole object, or the keys that changed
    (``extra_patch``: ``set`` and ``unset``) when that is shorter."""
    old = tail.extra_items
    if old is None:
        return f',"extra":{extra}'
    changed = {k: v for k, v in items.items() if old.get(k) != v}
    gone = [k for k in old if k not in items]
    patch = f',"extra_patch":{{"set":{_obj(changed)},"unset":{_encode(gone)}}}'
    return patch if len(patch) < len(extra) + 10 else f',"extra":{extra}'


# Pending lists this long or longer are compared entry by entry, so that a
# change to a few of them is stored as a splice (a fan-out's interrupts).
_SPLICE_FROM = 8


def _pending_change(pending: str, items: list[str] | None, tail: Tail) -> str:
    """The delta's pending part: the whole list, or a splice of the old one
    when only a run of entries changed and that is shorter."""
    old = tail.pending_items
    if items is None or old is None:
        return f',"pending":{pending}'
    prefix = 0
    limit = min(len(old), len(items))
    while prefix < limit and old[prefix] == items[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == items[-1 - suffix]:
        suffix += 1
    inserted = "[" + ",".join(items[prefix:len(items) - suffix]) + "]"
    splice = f',"pending_splice":[{prefix},{len(old) - prefix - suffix},{inserted}]'
    return splice if len(splice) < len(pending) + 12 else f',"pending":{pending}'


class Decoder:
    """Turns a thread's rows back into checkpoints, checking each row's
    version and shape as it goes (cheap type checks; the full JSON Schema
    check is spec/checkpoint.schema.json, run by the tests)."""

    def __init__(self, where: str, thread: str):
        self.where = where      # the store, for messages: a path, "memory store"
        self.thread = thread
        self.current: dict[str, Any] | None = None

    def feed(self, seq: int, kind: str, text: str | bytes) -> Checkpoint:
        """The checkpoint of row ``seq``, which follows the rows fed before."""
        try:
            body = _decode(text if isinstance(text, str) else text.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._bad(seq, f"it is not JSON ({exc})") from None
        if type(body) is not dict:
            raise self._bad(seq, "it is not a JSON object")
        version = body.get("v")
        if version != FORMAT_VERSION:
            if type(version) is int and version > FORMAT_VERSION:
                raise StoreError(
                    f"{self.where}: checkpoint {seq} of thread `{self.thread}` has format version "
                    f"{version}, newer than this Fermata reads ({FORMAT_VERSION}): upgrade Fermata")
            raise self._bad(seq, f"its format version is {version!r}, expected {FORMAT_VERSION}")
        if kind == "full":
            problem = _full_problem(body)
            if problem:
                raise self._bad(seq, problem)
            state = {**_FULL_DEFAULTS, **body}
        elif kind == "delta":
            if self.current is None:
                raise self._bad(seq, "it is a delta with no full snapshot before it")
            problem = _delta_problem(body)
            if problem:
                raise self._bad(seq, problem)
            state = _apply(self.current, body)
        else:
            raise self._bad(seq, f"its kind is {kind!r}, expected 'full' or 'delta'")
        self.current = state
        # Own top-level containers per checkpoint (consecutive checkpoints of
        # a history share unchanged nested values, which are never mutated).
        error = state["error"]
        return Checkpoint(seq=seq, step=state["step"], status=state["status"],
                          values=dict(state["values"]), frontier=list(state["frontier"]),
                          joins=dict(state["joins"]), pending=list(state["pending"]),
                          nodes=dict(state["nodes"]), error=error.copy() if error is not None else None,
                          extra=state["extra"].copy())

    def _bad(self, seq: int, what: str) -> StoreError:
        return StoreError(f"{self.where}: checkpoint {seq} of thread `{self.thread}` is corrupt: {what}")


def _apply(before: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """The full body after ``delta``; ``before`` is left as it was (history
    hands out every checkpoint, so each gets its own top-level dicts)."""
    state = dict(before)
    state["step"] = delta["step"]
    if "set" in delta or "unset" in delta:
        values = state["values"] = dict(before["values"])
        values.update(delta.get("set", ()))
        for name in delta.get("unset", ()):
            values.pop(name, None)
    for key in ("status", "frontier", "joins", "pending", "error", "extra"):
        if key in delta:
            state[key] = delta[key]
    extra_patch = delta.get("extra_patch")
    if extra_patch is not None:
        extra = state["extra"] = {**before["extra"], **extra_patch["set"]}
        for key in extra_patch["unset"]:
            extra.pop(key, None)
    splice = delta.get("pending_splice")
    if splice is not None:
        at, removed, inserted = splice
        old = before["pending"]
        state["pending"] = [*old[:at], *inserted, *old[at + removed:]]
    patch = delta.get("nodes")
    if patch:
        nodes = state["nodes"] = dict(before["nodes"])
        for name, record in patch.items():
            if record is None:
                nodes.pop(name, None)
            else:
                nodes[name] = record
    return state


# Expected types of the parts, shared by full rows and deltas (cheap checks).
_PARTS: dict[str, tuple[type, ...]] = {
    "step": (int,), "status": (str,), "frontier": (list,), "joins": (dict,), "pending": (list,),
    "nodes": (dict,), "error": (dict, type(None)), "extra": (dict,),
}
_FULL_KEYS = frozenset(("v", "values", *_PARTS))
_FULL_REQUIRED = frozenset(("v", "step", "status", "values"))
_FULL_DEFAULTS: dict[str, Any] = {"frontier": [], "joins": {}, "pending": [], "nodes": {}, "error": None,
                                  "extra": {}}
_DELTA_KEYS = frozenset(("v", "set", "unset", "pending_splice", "extra_patch", *_PARTS))
_STATUSES = frozenset(status.value for status in RunStatus)


def _full_problem(body: dict[str, Any]) -> str | None:
    keys = body.keys()
    if not keys >= _FULL_REQUIRED:
        return f"a full snapshot lacks {sorted(_FULL_REQUIRED - keys)}"
    if not keys <= _FULL_KEYS:
        return f"unknown keys {sorted(keys - _FULL_KEYS)}"
    if type(body["values"]) is not dict:
        return "`values` is not an object"
    return _parts_problem(body)


def _delta_problem(body: dict[str, Any]) -> str | None:
    if "step" not in body:
        return "a delta lacks `step`"
    if not body.keys() <= _DELTA_KEYS:
        return f"unknown keys {sorted(body.keys() - _DELTA_KEYS)}"
    if type(body.get("set", {})) is not dict or type(body.get("unset", [])) is not list:
        return "`set` is not an object or `unset` not a list"
    splice = body.get("pending_splice")
    if splice is not None and not (
            type(splice) is list and len(splice) == 3 and type(splice[0]) is int and type(splice[1]) is int
            and splice[0] >= 0 and splice[1] >= 0 and type(splice[2]) is list and "pending" not in body):
        return "`pending_splice` is not [at, removed, [entries]]"
    patch = body.get("extra_patch")
    if patch is not None and not (
            type(patch) is dict and patch.keys() == {"set", "unset"} and type(patch["set"]) is dict
            and type(patch["unset"]) is list and "extra" not in body):
        return "`extra_patch` is not {set: {...}, unset: [...]}"
    return _parts_problem(body)


def _parts_problem(body: dict[str, Any]) -> str | None:
    for key, kinds in _PARTS.items():
        if key in body and type(body[key]) not in kinds:
            return f"`{key}` has the wrong type ({type(body[key]).__name__})"
    if "status" in body and body["status"] not in _STATUSES:
        return f"unknown status {body['status']!r}"
    return None


def encode_entry(value: Any) -> str:
    """Compact JSON of a once result's entry (same options as the rows)."""
    return _encode(value)


def decode_text(text: str) -> Any:
    return _decode(text)


# Bodies of COMPRESS_FROM characters or more are stored deflated (raw
# deflate, after a one-byte tag naming the preset dictionary) when that is
# smaller: JSON keys repeat from row to row, and a dictionary of them shrinks
# a typical 300-byte pause row to ~75 bytes for ~3 us. Shorter bodies (most
# step rows) stay plain JSON text: compressing them would save little.
#
# A body of SAMPLE_FROM bytes or more is compressed only when it pays: it
# (up to three slices of SAMPLE bytes: start, middle, end) is deflated at
# level 1 first (~10-20 us), and unless that shrinks to PAYS of its size or
# less the body is stored as plain text (deflating 3 KB of noise with the
# settings below took ~250 us, four times a whole step). Measured here: zlib takes ~24 ms per MB of data that barely
# compresses (base64 of random bytes: 0.77) and ~3 ms per MB of JSON that
# compresses to 0.10, while writing a MB into the WAL takes ~3 ms (and as
# much again when the WAL is folded into the file). So deflate pays for
# itself in time only for data that shrinks a lot; PAYS = 0.5 also keeps the
# compression of data that at least halves, for the disk space.
COMPRESS_FROM = 96
SAMPLE_FROM = 1024
SAMPLE = 1024
PAYS = 0.5
_DEFLATE_V1 = 1
# Likeliest strings last (deflate reaches the end of the dictionary with the
# shortest distances). Changing this needs a new tag: old rows keep theirs.
_ZDICT_V1 = (
    b'"traceback":null"column":"line":"path":"kind":"user_code""type":"'
    b'"error":{"message":"'
    b'"required":[],"additionalProperties":false}"properties":{"type":"object",'
    b'{"type":"array","items":{"type":"string"}{"type":"integer"}{"type":"number"}'
    b',"extra":{"goto":["route_start":true'
    b'"status":"failed","attempts":1,"status":"finished","writes":[["'
    b'"=",","+=",],"next":["'
    b',"unset":["'
    b',"joins":{"'
    b',"once":[{"target":"","args_hash":"","result":'
    b'"pending":[{"id":"'
    b'"node":"","label":"","index":0,"payload":null,"schema":{"type":"boolean"},"token":"'
    b',"nodes":{"":{"status":"interrupted","resume":[],"interrupts":["'
    b'"status":"done","status":"interrupted","status":"running",'
    b'"frontier":[],"pending":[],"nodes":{"":null},"error":null'
    b',"frontier":["'
    b',"values":{"'
    b',"set":{"'
    b'{"v":1,"step":'
)



def pack_body(body: str) -> str | bytes:
    """The body as stored: plain text, or tagged deflate when smaller."""
    if len(body) < COMPRESS_FROM:
        return body
    data = body.encode()
    if len(data) >= SAMPLE_FROM and not compression_pays(data):
        return body
    # A small memLevel makes setting up the compressor ~10x cheaper, which
    # is what dominates for rows of a few hundred bytes.
    packer = zlib.compressobj(6 if len(data) < 65536 else 1, zlib.DEFLATED, -15,
                              1 if len(data) < 4096 else 8, zlib.Z_DEFAULT_STRATEGY, _ZDICT_V1)
    packed = packer.compress(data) + packer.flush()
    return bytes((_DEFLATE_V1,)) + packed if len(packed) + 1 < len(data) else body


def compression_pays(data: bytes) -> bool:
    """Whether three slices of ``data`` deflate (level 1) to PAYS of their size."""
    if len(data) <= 3 * SAMPLE:
        sample = data
    else:
        middle = len(data) // 2
        sample = data[:SAMPLE] + data[middle:middle + SAMPLE] + data[-SAMPLE:]
    return len(zlib.compress(sample, 1)) <= PAYS * len(sample)


def unpack_body(stored: str | bytes) -> str:
    if isinstance(stored, str):
        return stored
    if not stored or stored[0] != _DEFLATE_V1:
        raise ValueError(f"unknown body encoding (tag {stored[:1]!r})")
    unpacker = zlib.decompressobj(-15, _ZDICT_V1)
    data = unpacker.decompress(stored[1:]) + unpacker.flush()
    if not unpacker.eof:
        raise ValueError("the deflated body is truncated")
    return data.decode()
