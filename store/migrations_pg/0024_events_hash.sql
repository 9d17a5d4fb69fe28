-- events.hash loses its UNIQUE constraint and the index behind it, as in
-- SQLite's 0024: nothing looks an event up by its hash (the chain is checked
-- by walking ids in order), and the index of random SHA-256 values made
-- every new event write a random page of it.
ALTER TABLE events DROP CONSTRAINT events_hash_key;
