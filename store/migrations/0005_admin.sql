-- The admin console: its users and the audit log of what they did.

CREATE TABLE admin_users (
    id              INTEGER PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    password_hash   TEXT NOT NULL,                 -- argon2id, PHC string format
    role            TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    -- Bumped on sign-out, password change, role change and revocation: a
    -- session cookie carries the version it was issued under and is refused
    -- once it differs, since a cookie store cannot revoke cookies.
    session_version INTEGER NOT NULL DEFAULT 1 CHECK (session_version >= 1),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    last_login_at   TEXT NOT NULL DEFAULT '',
    disabled_at     TEXT NOT NULL DEFAULT ''
) STRICT;

-- Every sign-in and every change an admin made. Append-only, like events.
CREATE TABLE admin_audit (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,                        -- the admin's e-mail, or '' for an unknown account
    actor_id INTEGER NOT NULL DEFAULT 0,
    action   TEXT NOT NULL CHECK (action <> ''),
    target   TEXT NOT NULL DEFAULT '',
    detail   TEXT NOT NULL DEFAULT '{}',           -- JSON
    ip       TEXT NOT NULL DEFAULT ''              -- truncated to /24 or /48
) STRICT;
CREATE INDEX admin_audit_actor ON admin_audit (actor, id);
CREATE INDEX admin_audit_action ON admin_audit (action, id);

CREATE TRIGGER admin_audit_no_update BEFORE UPDATE ON admin_audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER admin_audit_no_delete BEFORE DELETE ON admin_audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
