-- Operations (issue 14). What WhatsApp reports about the business number and account:
-- phone_number_quality_update (messaging limit tier changes, FLAGGED,
-- UNFLAGGED) and account_update (restrictions, bans). One row per update,
-- never changed; consent/quality.go folds them into the number's standing
-- at start and on each new one. No personal data: the value names only the
-- business's own number.
CREATE TABLE account_updates (
    id             INTEGER PRIMARY KEY,
    field          TEXT NOT NULL CHECK (field IN ('phone_number_quality_update', 'account_update')),
    event          TEXT NOT NULL,
    current_limit  TEXT NOT NULL DEFAULT '',
    old_limit      TEXT NOT NULL DEFAULT '',
    quality_rating TEXT NOT NULL DEFAULT '',
    restrictions   TEXT NOT NULL DEFAULT '[]',   -- JSON [{"type","expiration"}]
    ban_state      TEXT NOT NULL DEFAULT '',
    raw            TEXT NOT NULL DEFAULT '{}',   -- the change's value as received
    occurred_at    TEXT NOT NULL,
    received_at    TEXT NOT NULL
) STRICT;

-- A push that carries a number the database must not keep (contact.erased):
-- its body is emptied once delivered or given up (store/push.go).
ALTER TABLE forwards ADD COLUMN scrub INTEGER NOT NULL DEFAULT 0 CHECK (scrub IN (0, 1));
