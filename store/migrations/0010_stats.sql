-- Statistics for the dashboard and /metrics, kept current by triggers so
-- that reading them costs a few rows whatever the size of the tables: a
-- count(*) GROUP BY over a million contacts or five million events takes
-- seconds in SQLite, and a page or a scrape must not.
--
-- The triggers run in the transaction that changes the counted row, for
-- every writer (the service, imports, erasure's cascades), so the counts
-- cannot drift from the tables. Each table starts from the rows already
-- there. The counts are statistics, not evidence. (A writer must not use
-- INSERT OR REPLACE on these tables: without recursive_triggers the rows it
-- replaces are deleted without firing the delete triggers.
-- store/stats_test.go compares every count with the table it counts.)

-- Contacts per status.
CREATE TABLE stat_contacts (
    status TEXT PRIMARY KEY,
    n      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO stat_contacts (status, n) SELECT status, count(*) FROM contacts GROUP BY status;

CREATE TRIGGER stat_contacts_insert AFTER INSERT ON contacts
BEGIN
    INSERT INTO stat_contacts (status, n) VALUES (new.status, 1)
    ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER stat_contacts_delete AFTER DELETE ON contacts
BEGIN
    UPDATE stat_contacts SET n = n - 1 WHERE status = old.status;
END;
CREATE TRIGGER stat_contacts_update AFTER UPDATE OF status ON contacts
WHEN old.status IS NOT new.status
BEGIN
    UPDATE stat_contacts SET n = n - 1 WHERE status = old.status;
    INSERT INTO stat_contacts (status, n) VALUES (new.status, 1)
    ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;

-- Current consents per category and state.
CREATE TABLE stat_consents (
    category_id INTEGER NOT NULL,
    state       TEXT NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (category_id, state)
) STRICT, WITHOUT ROWID;
INSERT INTO stat_consents (category_id, state, n)
    SELECT category_id, state, count(*) FROM consents GROUP BY category_id, state;

CREATE TRIGGER stat_consents_insert AFTER INSERT ON consents
BEGIN
    INSERT INTO stat_consents (category_id, state, n) VALUES (new.category_id, new.state, 1)
    ON CONFLICT (category_id, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER stat_consents_delete AFTER DELETE ON consents
BEGIN
    UPDATE stat_consents SET n = n - 1 WHERE category_id = old.category_id AND state = old.state;
END;
CREATE TRIGGER stat_consents_update AFTER UPDATE OF category_id, state ON consents
WHEN old.state IS NOT new.state OR old.category_id IS NOT new.category_id
BEGIN
    UPDATE stat_consents SET n = n - 1 WHERE category_id = old.category_id AND state = old.state;
    INSERT INTO stat_consents (category_id, state, n) VALUES (new.category_id, new.state, 1)
    ON CONFLICT (category_id, state) DO UPDATE SET n = n + 1;
END;

-- Outgoing messages per status (the outbox's depth and its log).
CREATE TABLE stat_outbox (
    status TEXT PRIMARY KEY,
    n      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO stat_outbox (status, n) SELECT status, count(*) FROM outbox GROUP BY status;

CREATE TRIGGER stat_outbox_insert AFTER INSERT ON outbox
BEGIN
    INSERT INTO stat_outbox (status, n) VALUES (new.status, 1)
    ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER stat_outbox_delete AFTER DELETE ON outbox
BEGIN
    UPDATE stat_outbox SET n = n - 1 WHERE status = old.status;
END;
CREATE TRIGGER stat_outbox_update AFTER UPDATE OF status ON outbox
WHEN old.status IS NOT new.status
BEGIN
    UPDATE stat_outbox SET n = n - 1 WHERE status = old.status;
    INSERT INTO stat_outbox (status, n) VALUES (new.status, 1)
    ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
-- Failed and dead messages by error class, for the failure counts.
CREATE INDEX outbox_failures ON outbox (status, error_class) WHERE status IN ('failed', 'dead');

-- Events per UTC day (of occurred_at), type, category and source. Events
-- are never deleted and erasure keeps these columns, so these are totals
-- since the first event: a few rows per day, not one per event.
CREATE TABLE stat_events (
    day      TEXT NOT NULL,   -- YYYY-MM-DD
    type     TEXT NOT NULL,
    category TEXT NOT NULL,
    source   TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (day, type, category, source)
) STRICT, WITHOUT ROWID;
INSERT INTO stat_events (day, type, category, source, n)
    SELECT substr(occurred_at, 1, 10), type, category, source, count(*) FROM events
    GROUP BY substr(occurred_at, 1, 10), type, category, source;

-- The same without the day, for /metrics' totals: a few dozen rows however
-- many days there were.
CREATE TABLE stat_event_totals (
    type     TEXT NOT NULL,
    category TEXT NOT NULL,
    source   TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (type, category, source)
) STRICT, WITHOUT ROWID;
INSERT INTO stat_event_totals (type, category, source, n)
    SELECT type, category, source, sum(n) FROM stat_events GROUP BY type, category, source;

CREATE TRIGGER stat_events_insert AFTER INSERT ON events
BEGIN
    INSERT INTO stat_events (day, type, category, source, n)
    VALUES (substr(new.occurred_at, 1, 10), new.type, new.category, new.source, 1)
    ON CONFLICT (day, type, category, source) DO UPDATE SET n = n + 1;
    INSERT INTO stat_event_totals (type, category, source, n) VALUES (new.type, new.category, new.source, 1)
    ON CONFLICT (type, category, source) DO UPDATE SET n = n + 1;
END;

-- The global event log pages by id, newest first, filtered: these keep a
-- filter on a rare type, source or entry point from scanning the whole
-- table (category filters match a large share of events and scan by id).
CREATE INDEX events_type ON events (type, id);
CREATE INDEX events_source ON events (source, id);
CREATE INDEX events_entry_point ON events (entry_point, id) WHERE entry_point <> '';
CREATE INDEX events_occurred ON events (occurred_at);

-- Unresolved alerts, counted per kind and listed on the dashboard: few,
-- while resolved ones (a dead letter each) pile up.
CREATE INDEX alerts_open ON alerts (kind, id) WHERE resolved_at = '';

-- Webhook calls that could not be processed, for /metrics.
CREATE INDEX inbox_failed ON inbox (id) WHERE error <> '';
