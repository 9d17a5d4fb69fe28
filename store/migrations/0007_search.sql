-- The admin console's contact list: search by any digits of a number, and
-- keyset pagination that stays fast deep into a large table.

-- contact_digits is a trigram index over the digits of each contact's
-- number (and of its wa_id when that differs), so that "1234" finds
-- +4915112345678 without scanning every contact. It is contentless: it
-- keeps no copy of the numbers, only the trigram index, and rowid is the
-- contact's id. contentless_delete lets the triggers remove a contact's
-- entry, and secure-delete makes that removal take the trigrams out of the
-- index pages at once, rather than leaving them behind a delete marker
-- until the next merge: an erased number leaves nothing to search for
-- (and, with PRAGMA secure_delete, no bytes in the file).
CREATE VIRTUAL TABLE contact_digits USING fts5 (digits, tokenize = 'trigram', content = '', contentless_delete = 1);
INSERT INTO contact_digits (contact_digits, rank) VALUES ('secure-delete', 1);

INSERT INTO contact_digits (rowid, digits)
SELECT id, substr(phone, 2) || CASE WHEN wa_id IN ('', substr(phone, 2)) THEN '' ELSE ' ' || wa_id END FROM contacts;

CREATE TRIGGER contacts_digits_insert AFTER INSERT ON contacts
BEGIN
    INSERT INTO contact_digits (rowid, digits) VALUES (new.id,
        substr(new.phone, 2) || CASE WHEN new.wa_id IN ('', substr(new.phone, 2)) THEN '' ELSE ' ' || new.wa_id END);
END;
CREATE TRIGGER contacts_digits_update AFTER UPDATE OF phone, wa_id ON contacts
BEGIN
    DELETE FROM contact_digits WHERE rowid = old.id;
    INSERT INTO contact_digits (rowid, digits) VALUES (new.id,
        substr(new.phone, 2) || CASE WHEN new.wa_id IN ('', substr(new.phone, 2)) THEN '' ELSE ' ' || new.wa_id END);
END;
CREATE TRIGGER contacts_digits_delete AFTER DELETE ON contacts
BEGIN
    DELETE FROM contact_digits WHERE rowid = old.id;
END;

-- A consent change is a change of its contact: updated_at, which the list
-- sorts and filters by ("changed"), follows the consents.
CREATE TRIGGER consents_touch_insert AFTER INSERT ON consents
BEGIN
    UPDATE contacts SET updated_at = new.since WHERE id = new.contact_id AND updated_at < new.since;
END;
CREATE TRIGGER consents_touch_update AFTER UPDATE ON consents
BEGIN
    UPDATE contacts SET updated_at = new.since WHERE id = new.contact_id AND updated_at < new.since;
END;

-- Keyset pagination: the "changed" order walks contacts_updated from the
-- cursor; "newest first" walks the primary key (ids count up in creation
-- order) and "by number" the phone's own UNIQUE index. contacts_created
-- serves the created date range.
CREATE INDEX contacts_created ON contacts (created_at, id);
CREATE INDEX contacts_updated ON contacts (updated_at, id);
CREATE INDEX contacts_entry_point ON contacts (entry_point, created_at, id) WHERE entry_point <> '';
