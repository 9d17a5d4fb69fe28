-- Entry points: where a person came from (a poster, an email campaign, a
-- shop's checkout). Each yields a wa.me link with a signed start text, a
-- short counted link /l/{code} and QR codes, and names the categories a
-- person who writes in through it is offered.

CREATE TABLE entry_points (
    id            INTEGER PRIMARY KEY,
    -- Upper-case A–Z and 2–9 only: codes are printed and sometimes typed, and
    -- 0/1 are too easily read as O/I. GLOB is case-sensitive, unlike LIKE.
    code          TEXT NOT NULL UNIQUE CHECK (length(code) BETWEEN 3 AND 10 AND code NOT GLOB '*[^A-Z2-9]*'),
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- Comma-separated category slugs, in catalog order. Not a foreign key: a
    -- category removed later is skipped by the MO flow, not cascaded here.
    categories    TEXT NOT NULL CHECK (categories <> '' AND categories NOT GLOB '*[^a-z0-9_,]*'
                      AND categories NOT GLOB ',*' AND categories NOT GLOB '*,' AND categories NOT GLOB '*,,*'),
    -- The funnel: link and QR scans → conversations started through the
    -- code → people who accepted the terms. The counters are statistics, not
    -- evidence (that is in events.entry_point), so they do not touch updated_at.
    scans         INTEGER NOT NULL DEFAULT 0 CHECK (scans >= 0),
    conversations INTEGER NOT NULL DEFAULT 0 CHECK (conversations >= 0),
    accepted      INTEGER NOT NULL DEFAULT 0 CHECK (accepted >= 0),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;

-- The default entry point (consent.DefaultEntryPoint), for people who write
-- in without a known code.
INSERT INTO entry_points (code, name, categories, created_at, updated_at) VALUES
    ('HELLO', 'Default', 'order_updates,offers,recommendations', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
