-- As SQLite's 0026: stat_event_totals counted every event a second time, by
-- type, category and source, which are the sums of stat_events over its
-- days. EventTotals sums them; the trigger keeps the count by day alone.
-- (PostgreSQL's schema never had SQLite's second index on match_key.)
CREATE OR REPLACE FUNCTION stat_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stat_events (day, type, category, source, n)
    VALUES (substr(new.occurred_at, 1, 10), new.type, new.category, new.source, 1)
    ON CONFLICT (day, type, category, source) DO UPDATE SET n = stat_events.n + 1;
    RETURN NULL;
END $$;
DROP TABLE stat_event_totals;
