-- Fermata run store, PostgreSQL schema version 1.
-- Everything lives in the schema `fermata`; `fermata.meta` names the format
-- and version so that a newer schema is refused by older code.
CREATE SCHEMA IF NOT EXISTS fermata;
CREATE TABLE fermata.meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE fermata.threads (
    id          bigserial PRIMARY KEY,
    thread      text COLLATE "C" NOT NULL UNIQUE,  -- C: the order every backend pages in
    flow        text NOT NULL,
    ir_hash     text NOT NULL,
    source      text,
    source_hash text,
    created     text NOT NULL,
    last_seq    integer NOT NULL,      -- newest checkpoint
    full_seq    integer NOT NULL,      -- newest full snapshot
    full_bytes  integer NOT NULL,      -- its size
    since_count integer NOT NULL,      -- deltas after it
    since_bytes integer NOT NULL,      -- their total size
    status      text NOT NULL,         -- of the newest checkpoint: the run index
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- Indexes on columns an append rarely changes (not updated_at), so that
-- most appends update the row in place (HOT) without touching them.
CREATE INDEX threads_by_flow_status ON fermata.threads (flow, status, thread);
CREATE INDEX threads_by_status ON fermata.threads (status, thread);
CREATE TABLE fermata.checkpoints (
    thread_id bigint NOT NULL REFERENCES fermata.threads (id),
    seq       integer NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('full', 'delta')),
    body      text NOT NULL,            -- the JSON row (runtime/store/rows.py)
    PRIMARY KEY (thread_id, seq)
);
CREATE INDEX checkpoints_full ON fermata.checkpoints (thread_id, seq) WHERE kind = 'full';
CREATE TABLE fermata.pending (             -- the inbox: interrupts a paused run waits on
    thread_id bigint NOT NULL REFERENCES fermata.threads (id),
    id        text COLLATE "C" NOT NULL,   -- node:label, what an answer names
    node      text NOT NULL,
    label     text NOT NULL,
    PRIMARY KEY (thread_id, id)
);
CREATE INDEX pending_by_label ON fermata.pending (label);
CREATE TABLE fermata.leases (              -- one row per run being advanced
    thread     text PRIMARY KEY,
    owner      text NOT NULL,              -- host:pid:n of the holder
    expires_at timestamptz NOT NULL        -- by the database's clock
);
CREATE TABLE fermata.once_results (        -- `call once` results not yet in a checkpoint
    thread text NOT NULL,
    node   text NOT NULL,
    idx    integer NOT NULL,
    step   integer NOT NULL,
    entry  text NOT NULL,                  -- JSON {"target", "args_hash", "result"}
    PRIMARY KEY (thread, node, idx)
);
INSERT INTO fermata.meta (key, value) VALUES ('format', 'fermata-runs'), ('version', '1');
