"""The SQLite store's schema: the tables of each format version, the
migrations from one version to the next, and the queries that read
checkpoint rows in each layout (a file opened only to read is read as it
is, in the layout of its version).
"""

from __future__ import annotations

STORE_FORMAT = "fermata-runs"
STORE_VERSION = 6

# The tables version 2 added (created in a new file, added by the migration).
_V2_TABLES = """
CREATE TABLE leases (               -- one row per run being advanced
    thread  TEXT PRIMARY KEY,
    owner   TEXT NOT NULL,          -- host:pid:n of the holder
    expires REAL NOT NULL           -- wall clock, seconds since the epoch
);
CREATE TABLE once_results (         -- `call once` results not yet in a checkpoint
    thread TEXT NOT NULL,
    node   TEXT NOT NULL,           -- the node's instance
    idx    INTEGER NOT NULL,        -- the call's index in the node
    step   INTEGER NOT NULL,
    entry  TEXT NOT NULL,           -- JSON {"target", "args_hash", "result"}
    PRIMARY KEY (thread, node, idx)
) WITHOUT ROWID;
"""

# Version 3: the run index (each thread's status; the pending interrupts).
# No index on threads.status: SQLite rewrites an index entry whenever its
# column is assigned, which cost every append ~15%; listing by status scans
# the small threads rows (never a checkpoint) instead. Versions 3-5 also
# indexed pending by label; SQLite's plan for the inbox never used it (it
# walks threads in thread order for the page, label filter or not): version
# 6 drops it, 37 bytes a pending interrupt.
_V3_TABLES = """
CREATE TABLE pending (              -- the inbox: interrupts a paused run waits on
    thread_id INTEGER NOT NULL REFERENCES threads (id),
    id        TEXT NOT NULL,        -- node:label, what an answer names
    node      TEXT NOT NULL,
    label     TEXT NOT NULL,
    PRIMARY KEY (thread_id, id)
) WITHOUT ROWID;
"""

# Version 4: the due index (what `tick` fires, found without decoding any
# checkpoint) and the outbox (run events, written with their checkpoint).
_V4_TABLES = """
CREATE TABLE due (                  -- one row per deadline, next reminder or timer of a paused run
    thread TEXT NOT NULL,
    due_at TEXT NOT NULL,           -- ISO 8601 UTC with ms: sorts as text
    kind   TEXT NOT NULL,           -- deadline | reminder | wait
    id     TEXT NOT NULL,           -- the interrupt's node:label
    PRIMARY KEY (thread, kind, id)
) WITHOUT ROWID;
CREATE INDEX due_by_time ON due (due_at, thread, kind, id);
"""
# The outbox of versions 4 and 5 (tests build files of those versions with it).
OUTBOX_V4 = """
CREATE TABLE outbox (               -- run events until acknowledged (delivered)
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    key    TEXT NOT NULL UNIQUE,    -- thread/seq/n: stable, for receivers that deduplicate
    thread TEXT NOT NULL,
    event  TEXT NOT NULL,
    body   TEXT NOT NULL            -- the event's JSON
);
"""

# Version 6: the outbox in integers (outbox.py): an event's thread and seq as
# the key of the checkpoint that caused it, its kind as a code, its flow's
# row, its time in ms, and its payload as a reference into that checkpoint
# when it repeats it (an `interrupt.created` is a pending entry): ~25 bytes
# a row instead of ~340 with its key index. No index on the key: the
# checkpoint's key is unique and n numbers its events. AUTOINCREMENT: an id
# is never reused, even once every event was acknowledged (a reader asks for
# ids after the last it saw).
_OUTBOX = """
CREATE TABLE outbox (               -- run events until acknowledged (delivered)
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    ckpt    INTEGER,                -- thread_id * 2**32 + seq of its checkpoint (NULL: body is the whole event)
    n       INTEGER,                -- the key's last part: which event of that checkpoint
    kind    INTEGER,                -- an index of outbox.KIND_CODES
    flow_id INTEGER,                -- flows.id of the thread's flow when written
    at      INTEGER,                -- ms since the epoch
    body    TEXT NOT NULL           -- JSON: a reference [...], {"payload": ...}, or the whole event
);
"""

# Version 5: checkpoints in a rowid table keyed by thread_id * 2**32 + seq
# (one b-tree, a thread's rows together and in order, as the composite key
# of the WITHOUT ROWID table of versions 1-4 kept them). A WITHOUT ROWID
# row keeps at most ~1,000 bytes on its 4 KB page and spills the rest to
# overflow pages of its own, so rows of 1-2 KB took 2-4x their size on
# disk; a rowid table keeps rows up to ~4,000 bytes whole on the page.
# thread_id and seq are virtual columns (computed, not stored), for queries
# by hand; the store's own queries use key ranges.
_CHECKPOINTS = """
CREATE TABLE checkpoints (          -- one row per checkpoint, the body last
    key       INTEGER PRIMARY KEY,  -- thread_id * 2**32 + seq
    kind      TEXT NOT NULL CHECK (kind IN ('full', 'delta')),
    body      NOT NULL,             -- JSON text, or a BLOB: tagged deflate of it
    thread_id INTEGER GENERATED ALWAYS AS (key >> 32) VIRTUAL,
    seq       INTEGER GENERATED ALWAYS AS (key & 4294967295) VIRTUAL
);
"""
_CHECKPOINTS_FULL = "CREATE INDEX checkpoints_full ON checkpoints (key) WHERE kind = 'full';\n"

SCHEMA = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE flows (                -- one row per (flow, IR version, source file and text)
    id      INTEGER PRIMARY KEY,
    flow    TEXT NOT NULL,
    ir_hash TEXT NOT NULL,
    source  TEXT,
    source_hash TEXT
);
CREATE INDEX flows_by_hash ON flows (ir_hash);
CREATE TABLE threads (
    id          INTEGER PRIMARY KEY,
    thread      TEXT NOT NULL UNIQUE,
    flow_id     INTEGER NOT NULL REFERENCES flows (id),
    created     TEXT NOT NULL,
    last_seq    INTEGER NOT NULL,   -- newest checkpoint
    full_seq    INTEGER NOT NULL,   -- newest full snapshot
    full_bytes  INTEGER NOT NULL,   -- its size
    since_count INTEGER NOT NULL,   -- deltas after it
    since_bytes INTEGER NOT NULL,   -- their total size
    status      TEXT NOT NULL DEFAULT 'running',   -- of the newest checkpoint (the run index)
    updated     REAL NOT NULL DEFAULT 0            -- when it was stored (wall clock)
);
""" + _CHECKPOINTS + _CHECKPOINTS_FULL + _V2_TABLES + _V3_TABLES + _V4_TABLES + _OUTBOX

# Each entry takes a file of that version to the next one.
MIGRATIONS: dict[int, str] = {
    1: """
ALTER TABLE flows ADD COLUMN source_hash TEXT;
""" + _V2_TABLES,
    2: """
ALTER TABLE threads ADD COLUMN status TEXT NOT NULL DEFAULT 'running';
ALTER TABLE threads ADD COLUMN updated REAL NOT NULL DEFAULT 0;
""" + _V3_TABLES,
    # Runs stored before version 4 have no recorded times: nothing falls due.
    3: _V4_TABLES + OUTBOX_V4,
    # Every row copied once, in key order (the old table's pages are reused
    # by later rows; VACUUM gives them back to the file system).
    4: "ALTER TABLE checkpoints RENAME TO checkpoints_v4;\n" + _CHECKPOINTS + """
INSERT INTO checkpoints (key, kind, body)
    SELECT (thread_id << 32) + seq, kind, body FROM checkpoints_v4 ORDER BY thread_id, seq;
DROP TABLE checkpoints_v4;
""" + _CHECKPOINTS_FULL,
    # The old rows are copied by SqliteStore._convert_outbox (in Python: each
    # becomes a whole event, keys in their order), which then drops outbox_v5;
    # the id sequence carries over.
    5: "DROP INDEX IF EXISTS pending_by_label;\nALTER TABLE outbox RENAME TO outbox_v5;\n" + _OUTBOX + """
INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox', seq FROM sqlite_sequence WHERE name = 'outbox_v5';
"""}

_TABLES = frozenset(("meta", "flows", "threads", "checkpoints"))
_TABLES_V2 = _TABLES | {"leases", "once_results"}
_TABLES_V3 = _TABLES_V2 | {"pending"}
_TABLES_V4 = _TABLES_V3 | {"due", "outbox"}

# The tables each version must hold.
TABLES = {1: _TABLES, 2: _TABLES_V2, 3: _TABLES_V3, 4: _TABLES_V4, 5: _TABLES_V4, 6: _TABLES_V4}


# Checkpoint keys: thread_id * 2**32 + seq (version 5).
SEQ_LIMIT = 1 << 32
THREAD_LIMIT = 1 << 31


class RowQueries:
    """The reads of a thread's rows, as ``(seq, kind, body)``: ``latest``
    (thread) from its newest full snapshot, ``up_to`` (thread_id, seq) from
    the newest full snapshot at or before seq, ``all`` (thread)."""

    def __init__(self, latest: str, up_to: str, all_rows: str) -> None:
        self.latest = latest
        self.up_to = up_to
        self.all = all_rows


ROWS_V5 = RowQueries(
    "SELECT c.key & 4294967295, c.kind, c.body FROM threads t JOIN checkpoints c "
    "ON c.key BETWEEN (t.id << 32) + t.full_seq AND (t.id << 32) + 4294967295 WHERE t.thread = ? ORDER BY c.key",
    "SELECT key & 4294967295, kind, body FROM checkpoints WHERE key BETWEEN (?1 << 32) + "
    "(SELECT max(key) & 4294967295 FROM checkpoints WHERE kind = 'full' AND key BETWEEN ?1 << 32 AND (?1 << 32) + ?2) "
    "AND (?1 << 32) + ?2 ORDER BY key",
    "SELECT c.key & 4294967295, c.kind, c.body FROM threads t JOIN checkpoints c "
    "ON c.key BETWEEN t.id << 32 AND (t.id << 32) + 4294967295 WHERE t.thread = ? ORDER BY c.key")

# Versions 1-4: a WITHOUT ROWID table keyed by (thread_id, seq).
ROWS_V4 = RowQueries(
    "SELECT c.seq, c.kind, c.body FROM threads t JOIN checkpoints c "
    "ON c.thread_id = t.id AND c.seq >= t.full_seq WHERE t.thread = ? ORDER BY c.seq",
    "SELECT seq, kind, body FROM checkpoints WHERE thread_id = ?1 AND seq <= ?2 AND seq >= "
    "(SELECT max(seq) FROM checkpoints WHERE thread_id = ?1 AND kind = 'full' AND seq <= ?2) ORDER BY seq",
    "SELECT c.seq, c.kind, c.body FROM threads t JOIN checkpoints c ON c.thread_id = t.id "
    "WHERE t.thread = ? ORDER BY c.seq")

INSERT_ROW = "INSERT INTO checkpoints (key, kind, body) VALUES (?, ?, ?)"
