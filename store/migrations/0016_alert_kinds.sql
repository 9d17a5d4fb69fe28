-- Two more kinds of alert (issue 14): 'regret_rate', an entry point whose
-- opt-ins opt out again within a day above the threshold (code: the entry
-- point's id), and 'quality', WhatsApp reporting the number FLAGGED or the
-- account restricted (code: 0). SQLite cannot change a CHECK in place, so the
-- table is rebuilt with its rows and ids; nothing references it.
CREATE TABLE alerts_new (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('template', 'account', 'dead_letter', 'regret_rate', 'quality')),
    code        INTEGER NOT NULL,
    title       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    resolved_at TEXT NOT NULL DEFAULT ''
) STRICT;
INSERT INTO alerts_new (id, kind, code, title, created_at, resolved_at)
    SELECT id, kind, code, title, created_at, resolved_at FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;
CREATE INDEX alerts_open ON alerts (kind, id) WHERE resolved_at = '';
