-- An import's uploaded file moves out of its job's row. In import_jobs the
-- file came before the counts, so each batch's UPDATE of the counts had
-- SQLite rewrite the whole file (a row's overflow pages are written again
-- with it) and each read of the counts walked it: an import wrote a copy of
-- its file per 500 rows, O(rows²) bytes (issue 11: 34 % of a 50,000-row
-- import's write time). Dropping a file is now deleting its row.
CREATE TABLE import_files (
    job_id INTEGER PRIMARY KEY REFERENCES import_jobs (id) ON DELETE CASCADE,
    data   BLOB NOT NULL
) STRICT;
INSERT INTO import_files (job_id, data) SELECT id, data FROM import_jobs WHERE length(data) > 0;
ALTER TABLE import_jobs DROP COLUMN data;
