-- The catalog admins edit: categories (tables in 0001), the consent wording
-- of the opt-in form per language, entry points (0003).

-- Each time an admin chose a consent wording for the opt-in form: the
-- newest row per language is what the form shows now; the older ones say
-- which text was live when. The text itself is in wordings, stored once per
-- version and referenced by events through its hash.
CREATE TABLE form_wordings (
    id        INTEGER PRIMARY KEY,
    lang      TEXT NOT NULL CHECK (length(lang) BETWEEN 2 AND 8),
    hash      TEXT NOT NULL REFERENCES wordings (hash),
    actor     TEXT NOT NULL,
    chosen_at TEXT NOT NULL
) STRICT;
CREATE INDEX form_wordings_lang ON form_wordings (lang, id);

-- Whether a category is used (its slug is then fixed and it can't be
-- deleted), and how many events reference each wording, are asked of the
-- whole ledger: without these indexes both are full scans of events.
CREATE INDEX events_category ON events (category);
CREATE INDEX events_wording ON events (wording_hash);
