-- Fermata run store, PostgreSQL schema version 2: the due index (what
-- `tick` fires, found without decoding any checkpoint) and the outbox (run
-- events, written in the transaction of the checkpoint that causes them).
CREATE TABLE fermata.due (                 -- one row per deadline, next reminder or timer of a paused run
    thread text COLLATE "C" NOT NULL,
    due_at text COLLATE "C" NOT NULL,      -- ISO 8601 UTC with ms: sorts as text
    kind   text COLLATE "C" NOT NULL,      -- deadline | reminder | wait
    id     text COLLATE "C" NOT NULL,      -- the interrupt's node:label
    PRIMARY KEY (thread, kind, id)
);
CREATE INDEX due_by_time ON fermata.due (due_at, thread, kind, id);
CREATE TABLE fermata.outbox (              -- run events until acknowledged (delivered)
    id     bigserial PRIMARY KEY,
    key    text NOT NULL UNIQUE,           -- thread/seq/n: stable, for receivers that deduplicate
    thread text NOT NULL,
    event  text NOT NULL,
    body   text NOT NULL                   -- the event's JSON
);
