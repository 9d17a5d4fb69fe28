-- The messages whose send is under way, by the end of their lease: each
-- claim of the outbox first turns the ones whose lease ran out to
-- "unknown", and without this index read the whole outbox to find them
-- (issue 11: with 12,000 welcomes queued, a quarter of the server's CPU).
CREATE INDEX outbox_sending ON outbox (next_attempt_at) WHERE status = 'sending';
