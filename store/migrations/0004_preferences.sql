-- The preference center's personal links /p/{token}. Only the SHA-256 (hex)
-- of a token is kept, so a copy of this table opens nobody's page.
--
-- A token is shown once, in the message that carries it, and can't be shown
-- again: every message that needs a link gets a new token. A contact keeps
-- the few most recent live tokens (consent.PreferenceTokensKept), so the link
-- in a recent message still works; older ones are retired. Asking for a new
-- link on the page retires every other one. A retired token has rotated_at
-- set, no longer opens anything, and is deleted after a while; all of them go
-- with the contact on erasure.
CREATE TABLE preference_tokens (
    hash       TEXT PRIMARY KEY CHECK (length(hash) = 64 AND hash NOT GLOB '*[^0-9a-f]*'),
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    rotated_at TEXT NOT NULL DEFAULT ''       -- when it was retired; '' while live
) STRICT;
CREATE INDEX preference_tokens_contact ON preference_tokens (contact_id, rotated_at, created_at);
