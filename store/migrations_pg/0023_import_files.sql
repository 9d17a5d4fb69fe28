-- An import's uploaded file moves out of its job's row, as in SQLite's
-- 0023 (where each batch's UPDATE of the counts rewrote the file). Here
-- TOAST kept the file apart already; the schema stays the same on both
-- engines.
CREATE TABLE import_files (
    job_id BIGINT PRIMARY KEY REFERENCES import_jobs (id) ON DELETE CASCADE,
    data   BYTEA NOT NULL
);
INSERT INTO import_files (job_id, data) SELECT id, data FROM import_jobs WHERE length(data) > 0;
ALTER TABLE import_jobs DROP COLUMN data;
