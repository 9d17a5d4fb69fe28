-- Many instances on one database (issue 12); SQLite's 0022_instances.sql
-- has the comments. The change version is bumped by one statement-level
-- trigger per table.

ALTER TABLE outbox ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE forwards ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE inbox ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE inbox ADD COLUMN lease_until TEXT NOT NULL DEFAULT '';

CREATE TABLE job_leases (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    lease_until TEXT NOT NULL
);

CREATE TABLE send_state (
    id           BIGINT PRIMARY KEY CHECK (id = 1),
    next_slot_ns BIGINT NOT NULL,
    paused_until TEXT NOT NULL
);
INSERT INTO send_state (id, next_slot_ns, paused_until) VALUES (1, 0, '');

CREATE TABLE send_days (
    day  TEXT PRIMARY KEY,
    sent BIGINT NOT NULL
);

CREATE TABLE form_limits (
    key        TEXT PRIMARY KEY,
    window_end TEXT NOT NULL,
    uses       BIGINT NOT NULL
);
CREATE INDEX form_limits_end ON form_limits (window_end);

CREATE TABLE change_version (
    id      BIGINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO change_version (id, version) VALUES (1, 0);

CREATE FUNCTION optin_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE change_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER settings_changed AFTER INSERT OR UPDATE OR DELETE ON settings FOR EACH STATEMENT EXECUTE FUNCTION optin_changed();
CREATE TRIGGER categories_changed AFTER INSERT OR UPDATE OR DELETE ON categories FOR EACH STATEMENT EXECUTE FUNCTION optin_changed();
CREATE TRIGGER category_texts_changed AFTER INSERT OR UPDATE OR DELETE ON category_texts FOR EACH STATEMENT EXECUTE FUNCTION optin_changed();
CREATE TRIGGER form_wordings_changed AFTER INSERT OR UPDATE OR DELETE ON form_wordings FOR EACH STATEMENT EXECUTE FUNCTION optin_changed();
CREATE TRIGGER account_updates_changed AFTER INSERT OR UPDATE OR DELETE ON account_updates FOR EACH STATEMENT EXECUTE FUNCTION optin_changed();
-- API keys: a key's last-used time, written every minute, does not count.
CREATE TRIGGER api_keys_changed AFTER INSERT OR DELETE OR UPDATE OF revoked_at ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION optin_changed();
