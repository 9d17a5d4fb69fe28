-- FTS5 writes the trigrams it holds in memory to disk at every statement
-- savepoint that follows a change to the index. In a shared commit of form
-- posts (store/shared.go) each post inserts a contact, then statements
-- with savepoints of their own (an event insert runs a trigger), so each
-- post wrote an index segment of its own and the index merged them: 16 to
-- 21 % of a post's time (BenchmarkOptInSubmitParallel with and without the
-- insert trigger, issue 11).
--
-- While contact_digits_deferred.deferred is 1, the insert trigger leaves a
-- new contact's trigrams to the shared commit, which adds those of all its
-- new contacts at its end and sets it back to 0 in the same transaction:
-- 1 is never committed, and another connection never sees it. With the row
-- missing, the trigger does its work as before.
CREATE TABLE contact_digits_deferred (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    deferred INTEGER NOT NULL CHECK (deferred IN (0, 1))
) STRICT;
INSERT INTO contact_digits_deferred (id, deferred) VALUES (1, 0);

DROP TRIGGER contacts_digits_insert;
CREATE TRIGGER contacts_digits_insert AFTER INSERT ON contacts
WHEN NOT EXISTS (SELECT 1 FROM contact_digits_deferred WHERE deferred = 1)
BEGIN
    INSERT INTO contact_digits (rowid, digits) VALUES (new.id,
        substr(new.phone, 2) || CASE WHEN new.wa_id IN ('', substr(new.phone, 2)) THEN '' ELSE ' ' || new.wa_id END);
END;
