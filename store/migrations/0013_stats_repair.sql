-- 0010_stats.sql was edited twice after it landed (commits a1a593c and
-- 8af2d2c): databases that ran it before those edits lack the all-time
-- event totals (and /metrics fails on them), the trigger line that keeps
-- them, and the index of unresolved alerts. This makes every database the
-- same whichever 0010 it ran. The totals are rebuilt from stat_events, which
-- the same trigger has always kept, so they are right either way.

CREATE TABLE IF NOT EXISTS stat_event_totals (
    type     TEXT NOT NULL,
    category TEXT NOT NULL,
    source   TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (type, category, source)
) STRICT, WITHOUT ROWID;
DELETE FROM stat_event_totals;
INSERT INTO stat_event_totals (type, category, source, n)
    SELECT type, category, source, sum(n) FROM stat_events GROUP BY type, category, source;

DROP TRIGGER IF EXISTS stat_events_insert;
CREATE TRIGGER stat_events_insert AFTER INSERT ON events
BEGIN
    INSERT INTO stat_events (day, type, category, source, n)
    VALUES (substr(new.occurred_at, 1, 10), new.type, new.category, new.source, 1)
    ON CONFLICT (day, type, category, source) DO UPDATE SET n = n + 1;
    INSERT INTO stat_event_totals (type, category, source, n) VALUES (new.type, new.category, new.source, 1)
    ON CONFLICT (type, category, source) DO UPDATE SET n = n + 1;
END;

CREATE INDEX IF NOT EXISTS alerts_open ON alerts (kind, id) WHERE resolved_at = '';
