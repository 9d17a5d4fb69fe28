-- Settings an admin changes at run time (consent/settings.go names the keys
-- and checks the values). A row overrides the value the environment gave at
-- start; a key without a row keeps the environment's value.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY CHECK (key GLOB '[a-z]*' AND key NOT GLOB '*[^a-z0-9_.]*'),
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- Every change of a setting: who changed what from which value to which,
-- and when. Rows are never updated or deleted, so the terms or help text in
-- force at any past time can be shown.
CREATE TABLE settings_history (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL,
    old_value  TEXT NOT NULL,
    new_value  TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    changed_by TEXT NOT NULL
) STRICT;
CREATE INDEX settings_history_key ON settings_history (key, id);

CREATE TRIGGER settings_history_no_update BEFORE UPDATE ON settings_history
BEGIN
    SELECT RAISE(ABORT, 'settings history is append-only');
END;
CREATE TRIGGER settings_history_no_delete BEFORE DELETE ON settings_history
BEGIN
    SELECT RAISE(ABORT, 'settings history is append-only');
END;

-- The daily cap on business-initiated messages counts the templates sent
-- since midnight UTC.
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at != '';
