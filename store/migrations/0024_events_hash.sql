-- events.hash loses its UNIQUE constraint, and with it the index SQLite
-- kept for it. Nothing looks an event up by its hash: the chain is checked
-- by walking ids in order (ledger.go), and a repeated hash breaks the chain
-- there. The index held a random SHA-256 per event, so every new event wrote
-- a random page of it: on 5,000,000 events a 400 MB index, and the largest
-- cost of recording an event (issue 11: an import of new numbers wrote
-- 10× the bytes and ran at half the speed).
--
-- SQLite cannot drop a constraint in place: the table is rebuilt (the
-- runner turns foreign keys off around migrations and checks them before
-- each commits), with its indexes and triggers as they were. DROP TABLE's
-- implicit delete fires no trigger, so stat_events keeps its counts, which
-- the copied rows match. On a database of millions of events this takes a
-- minute or two, once.

CREATE TABLE events_new (
    id           INTEGER PRIMARY KEY,
    contact_id   INTEGER NOT NULL,
    type         TEXT NOT NULL CHECK (type IN ('opt_in', 'opt_out', 'confirm', 'terms_accepted',
                     'terms_refused', 'erased', 'undeliverable', 'window_opened', 'number_changed', 'merged')),
    category     TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL DEFAULT '' CHECK (state IN ('', 'opted_in', 'opted_out', 'pending')),
    source       TEXT NOT NULL CHECK (source IN ('web_form', 'embed', 'link', 'qr', 'whatsapp_reply',
                     'keyword', 'preference_center', 'admin', 'api', 'import', 'provider')),
    occurred_at  TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    wording_hash TEXT REFERENCES wordings (hash),
    lang         TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    page_url     TEXT NOT NULL DEFAULT '',
    embed_origin TEXT NOT NULL DEFAULT '',
    entry_point  TEXT NOT NULL DEFAULT '',
    form_version TEXT NOT NULL DEFAULT '',
    message_id   TEXT NOT NULL DEFAULT '',
    message_text TEXT NOT NULL DEFAULT '',
    actor        TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT '{}',      -- further evidence as JSON
    content_hash TEXT NOT NULL,                   -- hex SHA-256 of the personal columns
    prev_hash    TEXT NOT NULL,                   -- hash of the event before
    hash         TEXT NOT NULL,                   -- hex SHA-256 of prev_hash and the rest
    erased       INTEGER NOT NULL DEFAULT 0 CHECK (erased IN (0, 1))
) STRICT;
INSERT INTO events_new SELECT id, contact_id, type, category, state, source, occurred_at, recorded_at, wording_hash,
    lang, ip, user_agent, page_url, embed_origin, entry_point, form_version, message_id, message_text, actor, detail,
    content_hash, prev_hash, hash, erased FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;

CREATE INDEX events_contact ON events (contact_id, id);
CREATE INDEX events_category ON events (category);
CREATE INDEX events_wording ON events (wording_hash);
CREATE INDEX events_type ON events (type, id);
CREATE INDEX events_source ON events (source, id);
CREATE INDEX events_entry_point ON events (entry_point, id) WHERE entry_point <> '';
CREATE INDEX events_occurred ON events (occurred_at);

-- Append-only: as 0001_init.sql made it.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
WHEN NOT (
    old.erased IS 0 AND new.erased IS 1
    AND NOT (old.ip IS '' AND old.user_agent IS '' AND old.page_url IS '' AND old.embed_origin IS ''
             AND old.message_id IS '' AND old.message_text IS '' AND old.actor IS '' AND old.detail IS '{}')
    AND new.ip IS '' AND new.user_agent IS '' AND new.page_url IS '' AND new.embed_origin IS ''
    AND new.message_id IS '' AND new.message_text IS '' AND new.actor IS '' AND new.detail IS '{}'
    AND new.id IS old.id AND new.contact_id IS old.contact_id AND new.type IS old.type
    AND new.category IS old.category AND new.state IS old.state AND new.source IS old.source
    AND new.occurred_at IS old.occurred_at AND new.recorded_at IS old.recorded_at
    AND new.wording_hash IS old.wording_hash AND new.lang IS old.lang
    AND new.entry_point IS old.entry_point AND new.form_version IS old.form_version
    AND new.content_hash IS old.content_hash AND new.prev_hash IS old.prev_hash AND new.hash IS old.hash
)
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

-- The counts, as 0013_stats_repair.sql made the trigger.
CREATE TRIGGER stat_events_insert AFTER INSERT ON events
BEGIN
    INSERT INTO stat_events (day, type, category, source, n)
    VALUES (substr(new.occurred_at, 1, 10), new.type, new.category, new.source, 1)
    ON CONFLICT (day, type, category, source) DO UPDATE SET n = n + 1;
    INSERT INTO stat_event_totals (type, category, source, n) VALUES (new.type, new.category, new.source, 1)
    ON CONFLICT (type, category, source) DO UPDATE SET n = n + 1;
END;
