-- A message whose send was cut off by a crash is "unknown": the provider may
-- have accepted it, so it is never sent again by itself (README, "Sending").
-- SQLite cannot change a CHECK in place: the outbox is rebuilt with the new
-- status, its indexes and its counting triggers as they were. DROP TABLE's
-- implicit delete fires no trigger, so stat_outbox keeps its counts, which
-- the copied rows match.

CREATE TABLE outbox_new (
    id                  INTEGER PRIMARY KEY,
    contact_id          INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    purpose             TEXT NOT NULL,
    message             TEXT NOT NULL,                 -- consent.Message as JSON
    status              TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'dead', 'unknown')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     TEXT NOT NULL,                 -- for 'sending' and 'unknown': when the lease ends(ed)
    provider_message_id TEXT UNIQUE,
    error_class         TEXT NOT NULL DEFAULT '',
    error_code          INTEGER NOT NULL DEFAULT 0,
    error_title         TEXT NOT NULL DEFAULT '',
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    sent_at             TEXT NOT NULL DEFAULT ''
) STRICT;
INSERT INTO outbox_new (id, contact_id, purpose, message, status, attempts, next_attempt_at, provider_message_id,
                        error_class, error_code, error_title, created_at, updated_at, sent_at)
    SELECT id, contact_id, purpose, message, status, attempts, next_attempt_at, provider_message_id,
           error_class, error_code, error_title, created_at, updated_at, sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;

CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status IN ('queued', 'sending');
CREATE INDEX outbox_contact ON outbox (contact_id, id);
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at != '';
CREATE INDEX outbox_failures ON outbox (status, error_class) WHERE status IN ('failed', 'dead');
-- The messages in doubt, listed for admins and matched against status reports.
CREATE INDEX outbox_unknown ON outbox (contact_id, id) WHERE status = 'unknown';

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
