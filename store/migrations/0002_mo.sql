-- The MO flow: messages people write, proof of erasure, and forwarding to
-- the business's own system.

-- Each message a person sent, processed once: the provider may deliver the
-- same webhook many times.
CREATE TABLE inbound (
    id                  INTEGER PRIMARY KEY,
    provider_message_id TEXT NOT NULL UNIQUE,
    contact_id          INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    type                TEXT NOT NULL,
    text                TEXT NOT NULL DEFAULT '',
    button_id           TEXT NOT NULL DEFAULT '',
    sent_at             TEXT NOT NULL,           -- as the provider reports it
    received_at         TEXT NOT NULL
) STRICT;
CREATE INDEX inbound_contact ON inbound (contact_id, id);

-- What remains of an erased contact: when and why, and a salted hash of the
-- number that proves the erasure of a given number without keeping it.
CREATE TABLE tombstones (
    id         INTEGER PRIMARY KEY,
    phone_hash TEXT NOT NULL,
    reason     TEXT NOT NULL CHECK (reason IN ('terms_refused', 'terms_expired', 'person', 'admin', 'api')),
    actor      TEXT NOT NULL DEFAULT '',
    erased_at  TEXT NOT NULL
) STRICT;
CREATE INDEX tombstones_phone ON tombstones (phone_hash);

-- Calls to OPTIN_FORWARD_URL, retried until the business's system accepts them.
CREATE TABLE forwards (
    id              INTEGER PRIMARY KEY,
    contact_id      INTEGER REFERENCES contacts (id) ON DELETE CASCADE,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    sent_at         TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX forwards_due ON forwards (next_attempt_at) WHERE status IN ('queued', 'sending');

ALTER TABLE contacts ADD COLUMN entry_point TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN entry_valid INTEGER NOT NULL DEFAULT 0;
-- When an unanswered terms prompt lapses and the contact is erased.
ALTER TABLE contacts ADD COLUMN terms_expires_at TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN last_fallback_at TEXT NOT NULL DEFAULT '';
CREATE INDEX contacts_terms_expiry ON contacts (terms_expires_at) WHERE status = 'pending_terms';
-- Set once everything the message caused is recorded; a message stored but
-- not handled (the process stopped in between) is handled again.
ALTER TABLE inbound ADD COLUMN handled INTEGER NOT NULL DEFAULT 0;
