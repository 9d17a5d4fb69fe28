-- The first schema of optin. Times are UTC RFC 3339 text.

CREATE TABLE contacts (
    id                INTEGER PRIMARY KEY,
    phone             TEXT NOT NULL UNIQUE,          -- E.164 as the person gave it
    wa_id             TEXT NOT NULL DEFAULT '',      -- as WhatsApp reports it
    language          TEXT NOT NULL DEFAULT 'en',
    status            TEXT NOT NULL CHECK (status IN ('pending_terms', 'active', 'undeliverable')),
    window_open_until TEXT NOT NULL DEFAULT '',
    last_welcome_at   TEXT NOT NULL DEFAULT '',
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
) STRICT;
CREATE INDEX contacts_wa_id ON contacts (wa_id);

CREATE TABLE categories (
    id         INTEGER PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE CHECK (slug GLOB '[a-z]*' AND slug NOT GLOB '*[^a-z0-9_]*'),
    marketing  INTEGER NOT NULL CHECK (marketing IN (0, 1)),
    position   INTEGER NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE category_texts (
    category_id INTEGER NOT NULL REFERENCES categories (id) ON DELETE CASCADE,
    lang        TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    PRIMARY KEY (category_id, lang)
) STRICT, WITHOUT ROWID;

-- The exact texts shown to people as part of consent, one row per version
-- and language, referenced from events by SHA-256.
CREATE TABLE wordings (
    hash       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('consent', 'terms')),
    lang       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    text       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (kind, lang, version)
) STRICT;

-- The append-only evidence. contact_id is not a foreign key: events outlive
-- the contact row until erasure removes their personal content.
--
-- The events form a hash chain (store/ledger.go defines the canonical forms):
-- content_hash is the SHA-256 of the personal columns (ip … detail), hash the
-- SHA-256 of prev_hash and every other column including content_hash, and
-- prev_hash the hash of the event before (64 zeros for the first). ids are
-- dense, 1, 2, 3…, given by the inserting transaction. Erasure blanks the
-- personal columns and sets erased; content_hash, and so hash and the chain,
-- stay as they were, so an erased ledger still verifies.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    contact_id   INTEGER NOT NULL,
    type         TEXT NOT NULL CHECK (type IN ('opt_in', 'opt_out', 'confirm', 'terms_accepted',
                     'terms_refused', 'erased', 'undeliverable', 'window_opened', 'number_changed')),
    category     TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL DEFAULT '' CHECK (state IN ('', 'opted_in', 'opted_out', 'pending')),
    source       TEXT NOT NULL CHECK (source IN ('web_form', 'embed', 'link', 'qr', 'whatsapp_reply',
                     'keyword', 'preference_center', 'admin', 'api', 'import', 'provider')),
    occurred_at  TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    wording_hash TEXT REFERENCES wordings (hash),
    lang         TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    page_url     TEXT NOT NULL DEFAULT '',
    embed_origin TEXT NOT NULL DEFAULT '',
    entry_point  TEXT NOT NULL DEFAULT '',
    form_version TEXT NOT NULL DEFAULT '',
    message_id   TEXT NOT NULL DEFAULT '',
    message_text TEXT NOT NULL DEFAULT '',
    actor        TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT '{}',      -- further evidence as JSON
    content_hash TEXT NOT NULL,                   -- hex SHA-256 of the personal columns
    prev_hash    TEXT NOT NULL,                   -- hash of the event before
    hash         TEXT NOT NULL UNIQUE,            -- hex SHA-256 of prev_hash and the rest
    erased       INTEGER NOT NULL DEFAULT 0 CHECK (erased IN (0, 1))
) STRICT;
CREATE INDEX events_contact ON events (contact_id, id);

-- The only update an event ever sees is its erasure: once, from erased 0 to
-- 1, of an event that held personal content, every personal column emptied
-- (detail '{}') and every other column as it was. IS rather than = so that
-- the condition is never NULL (wording_hash may be), which would let the
-- update through.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
WHEN NOT (
    old.erased IS 0 AND new.erased IS 1
    AND NOT (old.ip IS '' AND old.user_agent IS '' AND old.page_url IS '' AND old.embed_origin IS ''
             AND old.message_id IS '' AND old.message_text IS '' AND old.actor IS '' AND old.detail IS '{}')
    AND new.ip IS '' AND new.user_agent IS '' AND new.page_url IS '' AND new.embed_origin IS ''
    AND new.message_id IS '' AND new.message_text IS '' AND new.actor IS '' AND new.detail IS '{}'
    AND new.id IS old.id AND new.contact_id IS old.contact_id AND new.type IS old.type
    AND new.category IS old.category AND new.state IS old.state AND new.source IS old.source
    AND new.occurred_at IS old.occurred_at AND new.recorded_at IS old.recorded_at
    AND new.wording_hash IS old.wording_hash AND new.lang IS old.lang
    AND new.entry_point IS old.entry_point AND new.form_version IS old.form_version
    AND new.content_hash IS old.content_hash AND new.prev_hash IS old.prev_hash AND new.hash IS old.hash
)
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

-- The current state per contact and category, derived from the events in
-- the same transaction that appends them.
CREATE TABLE consents (
    contact_id  INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    category_id INTEGER NOT NULL REFERENCES categories (id),
    state       TEXT NOT NULL CHECK (state IN ('opted_in', 'opted_out', 'pending')),
    since       TEXT NOT NULL,
    source      TEXT NOT NULL,
    event_id    INTEGER NOT NULL REFERENCES events (id),
    PRIMARY KEY (contact_id, category_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX consents_category_state ON consents (category_id, state);

-- Outgoing messages. Rows in 'queued' (or 'sending' with an expired lease)
-- are the outbox; the rest are the log of what was sent and what became of it.
CREATE TABLE outbox (
    id                  INTEGER PRIMARY KEY,
    contact_id          INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    purpose             TEXT NOT NULL,
    message             TEXT NOT NULL,                 -- consent.Message as JSON
    status              TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'dead')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     TEXT NOT NULL,
    provider_message_id TEXT UNIQUE,
    error_class         TEXT NOT NULL DEFAULT '',
    error_code          INTEGER NOT NULL DEFAULT 0,
    error_title         TEXT NOT NULL DEFAULT '',
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    sent_at             TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status IN ('queued', 'sending');
CREATE INDEX outbox_contact ON outbox (contact_id, id);

-- Webhook calls, stored before they are acknowledged and processed later.
CREATE TABLE inbox (
    id           INTEGER PRIMARY KEY,
    body         BLOB NOT NULL,
    received_at  TEXT NOT NULL,
    processed_at TEXT NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX inbox_pending ON inbox (id) WHERE processed_at = '';

CREATE TABLE alerts (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('template', 'account', 'dead_letter')),
    code       INTEGER NOT NULL,
    title      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    resolved_at TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,                  -- first characters, to recognise a key
    hash         TEXT NOT NULL UNIQUE,           -- hex SHA-256 of the whole key
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    created_at   TEXT NOT NULL,
    last_used_at TEXT NOT NULL DEFAULT '',
    revoked_at   TEXT NOT NULL DEFAULT ''
) STRICT;

INSERT INTO categories (id, slug, marketing, position, created_at) VALUES
    (1, 'order_updates', 0, 1, '2026-01-01T00:00:00Z'),
    (2, 'offers', 1, 2, '2026-01-01T00:00:00Z'),
    (3, 'recommendations', 1, 3, '2026-01-01T00:00:00Z');

INSERT INTO category_texts (category_id, lang, name, description) VALUES
    (1, 'en', 'Order updates', 'Confirmations, shipping and delivery news about your orders.'),
    (1, 'es', 'Novedades de pedidos', 'Confirmaciones, envío y entrega de tus pedidos.'),
    (1, 'pt', 'Atualizações de pedidos', 'Confirmações, envio e entrega dos seus pedidos.'),
    (1, 'de', 'Bestellupdates', 'Bestätigungen, Versand- und Lieferinfos zu deinen Bestellungen.'),
    (2, 'en', 'Offers', 'Discounts, sales and promotions.'),
    (2, 'es', 'Ofertas', 'Descuentos, rebajas y promociones.'),
    (2, 'pt', 'Ofertas', 'Descontos, liquidações e promoções.'),
    (2, 'de', 'Angebote', 'Rabatte, Sales und Aktionen.'),
    (3, 'en', 'Recommendations', 'Products picked for you, now and then.'),
    (3, 'es', 'Recomendaciones', 'Productos elegidos para ti, de vez en cuando.'),
    (3, 'pt', 'Recomendações', 'Produtos escolhidos para você, de vez em quando.'),
    (3, 'de', 'Empfehlungen', 'Ab und zu Produkte, die zu dir passen.');

-- Keys optin makes for itself (signing links, sessions), kept across restarts.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

-- Each verification of the events' hash chain (optin audit verify, the admin
-- page): how many events matched, the first that did not (0 when none) and
-- why. head_id and head_hash are the last event the check found intact: a
-- later check that no longer finds that event with that hash reports it, so
-- that cutting events off the end of the chain is noticed too.
CREATE TABLE ledger_checks (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    verified  INTEGER NOT NULL CHECK (verified >= 0),
    first_bad INTEGER NOT NULL DEFAULT 0,
    reason    TEXT NOT NULL DEFAULT '',
    head_id   INTEGER NOT NULL DEFAULT 0,
    head_hash TEXT NOT NULL DEFAULT ''
) STRICT;
