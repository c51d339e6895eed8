-- Fermata run store, PostgreSQL schema version 2: the work queue.
-- Submissions (flow.submit) that workers (`fermata worker`) claim with
-- FOR UPDATE SKIP LOCKED and mark applied in the transaction of the
-- checkpoint that applied them (runtime/store/work.py, work_sql.py).
CREATE TABLE fermata.work (
    id        bigserial PRIMARY KEY,
    thread    text COLLATE "C" NOT NULL,
    flow      text NOT NULL,
    ir_hash   text NOT NULL,               -- the flow version it is for
    kind      text NOT NULL,               -- a records.WorkKind
    payload   text NOT NULL,               -- JSON
    status    text NOT NULL,               -- a records.WorkStatus
    owner     text,                        -- the worker that claimed it
    until     timestamptz NOT NULL DEFAULT '-infinity',  -- claimed: the claim's end, queued: not before
    attempts  integer NOT NULL DEFAULT 0,
    error     text,
    submitted timestamptz NOT NULL DEFAULT now(),
    finished  timestamptz
);
-- Only open submissions are indexed: applied ones stay as a record, off the claim path.
CREATE INDEX work_open ON fermata.work (id) WHERE status IN ('queued', 'claimed');
CREATE INDEX work_open_by_thread ON fermata.work (thread, id) WHERE status IN ('queued', 'claimed');
