-- Many instances on one database (issue 12). What one process used to keep
-- in memory, or assumed no other process touched, lives here.

-- Leases carry their owner (the instance id, OPTIN_INSTANCE): an instance
-- starting up ends only its own old leases and the expired ones, never
-- those of another instance still at work.
ALTER TABLE outbox ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE forwards ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
-- A webhook call is processed by the instance holding its lease; one whose
-- instance died is taken over when lease_until has passed.
ALTER TABLE inbox ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE inbox ADD COLUMN lease_until TEXT NOT NULL DEFAULT '';

-- Named leases of jobs that one instance at a time must run: the daily
-- retention purge ('retention'), each running CSV import ('import:<id>').
CREATE TABLE job_leases (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    lease_until TEXT NOT NULL
) STRICT;

-- The sending state shared by every instance, one row: the next free send
-- slot (OPTIN_SEND_RATE holds for the installation: each send reserves the
-- next slot, in Unix nanoseconds), and the pause after an account error.
CREATE TABLE send_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    next_slot_ns INTEGER NOT NULL,
    paused_until TEXT NOT NULL
) STRICT;
INSERT INTO send_state (id, next_slot_ns, paused_until) VALUES (1, 0, '');

-- Templates counted against the daily cap, per UTC day: a send reserves its
-- place before it goes out (and gives it back when the provider refuses),
-- so instances sending at once never pass the cap together.
CREATE TABLE send_days (
    day  TEXT PRIMARY KEY,
    sent INTEGER NOT NULL
) STRICT;

-- Form limits (web/limit.go): uses per key in the window that ends at
-- window_end. Rows of past windows are pruned.
CREATE TABLE form_limits (
    key        TEXT PRIMARY KEY,
    window_end TEXT NOT NULL,
    uses       INTEGER NOT NULL
) STRICT;
CREATE INDEX form_limits_end ON form_limits (window_end);

-- Bumped by every change of what instances cache (settings, categories and
-- their texts, form wordings, API key revocations, the number's standing):
-- each instance polls it and reloads its caches when it moved.
CREATE TABLE change_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;
INSERT INTO change_version (id, version) VALUES (1, 0);
CREATE TRIGGER settings_insert_changed AFTER INSERT ON settings
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER settings_update_changed AFTER UPDATE ON settings
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER settings_delete_changed AFTER DELETE ON settings
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER categories_insert_changed AFTER INSERT ON categories
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER categories_update_changed AFTER UPDATE ON categories
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER categories_delete_changed AFTER DELETE ON categories
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER category_texts_insert_changed AFTER INSERT ON category_texts
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER category_texts_update_changed AFTER UPDATE ON category_texts
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER category_texts_delete_changed AFTER DELETE ON category_texts
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER form_wordings_insert_changed AFTER INSERT ON form_wordings
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER form_wordings_update_changed AFTER UPDATE ON form_wordings
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER form_wordings_delete_changed AFTER DELETE ON form_wordings
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER account_updates_insert_changed AFTER INSERT ON account_updates
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER account_updates_update_changed AFTER UPDATE ON account_updates
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER account_updates_delete_changed AFTER DELETE ON account_updates
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
END;
-- API keys: only a revocation (or a key created or deleted) matters; the
-- last-used time, written every minute, does not.
CREATE TRIGGER api_keys_insert_changed AFTER INSERT ON api_keys
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER api_keys_revoke_changed AFTER UPDATE OF revoked_at ON api_keys
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER api_keys_delete_changed AFTER DELETE ON api_keys
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
END;
