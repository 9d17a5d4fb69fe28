-- The JSON API's idempotency keys and the admin console's CSV imports.

-- A POST /api/v1/consents sent with an Idempotency-Key header, remembered
-- per API key so that a retried request is answered as the first one was
-- and records nothing again. Only the outcome is kept (status and event id);
-- the reply is rendered again from the event, which never changes. The row
-- goes with its contact on erasure: a replay after that is a new request.
CREATE TABLE api_idempotency (
    api_key_id   INTEGER NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    key          TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash TEXT NOT NULL,                 -- hex SHA-256 of the canonical request
    status       INTEGER NOT NULL CHECK (status IN (200, 201)),
    event_id     INTEGER NOT NULL REFERENCES events (id),
    contact_id   INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (api_key_id, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX api_idempotency_contact ON api_idempotency (contact_id);

-- CSV imports of existing opt-ins: a dry run checks the file ('checked'),
-- the admin confirms, and a background job applies it in batches
-- ('running' → 'done' or 'failed'), counting as it goes so that a reload
-- of the page shows the progress. data holds the uploaded file until the
-- job ends (then it is emptied: it holds phone numbers); problems holds the
-- first rows refused, as JSON [{"row","field","message"}].
CREATE TABLE import_jobs (
    id          INTEGER PRIMARY KEY,
    actor       TEXT NOT NULL,
    filename    TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL CHECK (status IN ('checked', 'running', 'done', 'failed')),
    data        BLOB NOT NULL DEFAULT x'',
    total       INTEGER NOT NULL DEFAULT 0,
    processed   INTEGER NOT NULL DEFAULT 0,
    applied     INTEGER NOT NULL DEFAULT 0,     -- rows that recorded an event
    unchanged   INTEGER NOT NULL DEFAULT 0,     -- rows already true: nothing recorded
    refused     INTEGER NOT NULL DEFAULT 0,
    problems    TEXT NOT NULL DEFAULT '[]',
    error       TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL DEFAULT ''
) STRICT;
