-- Two things every write paid for and no read needs (issue 11):
--
-- contacts_match_key duplicates contacts_match_key_unique, which the store
-- creates once it has merged the contacts of one person (merge.go): each
-- new contact wrote the same key into both.
DROP INDEX IF EXISTS contacts_match_key;

-- stat_event_totals counted every event a second time, by type, category
-- and source, which are the sums of stat_events over its days (a few
-- thousand rows where events are millions). EventTotals sums them; the
-- trigger keeps the count by day alone.
DROP TRIGGER stat_events_insert;
CREATE TRIGGER stat_events_insert AFTER INSERT ON events
BEGIN
    INSERT INTO stat_events (day, type, category, source, n)
    VALUES (substr(new.occurred_at, 1, 10), new.type, new.category, new.source, 1)
    ON CONFLICT (day, type, category, source) DO UPDATE SET n = n + 1;
END;
DROP TABLE stat_event_totals;
