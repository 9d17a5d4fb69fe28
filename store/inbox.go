package store

import (
	"context"
	"time"

	"github.com/optin/optin/consent"
)

// SaveInbox stores a webhook body; the call may be acknowledged once this
// returns without error.
func (s *DB) SaveInbox(ctx context.Context, body []byte, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO inbox (body, received_at) VALUES (?, ?)`, body, ts(now))
	if err != nil {
		return 0, mapErr("save inbox", err)
	}
	id, err := res.LastInsertId()
	return id, mapErr("save inbox", err)
}

// PendingInbox returns up to limit unprocessed webhook calls, oldest first.
func (s *DB) PendingInbox(ctx context.Context, limit int) ([]consent.InboxItem, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, body, attempts FROM inbox WHERE processed_at = '' ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, mapErr("pending inbox", err)
	}
	defer rows.Close()
	var out []consent.InboxItem
	for rows.Next() {
		var it consent.InboxItem
		if err := rows.Scan(&it.ID, &it.Body, &it.Attempts); err != nil {
			return nil, mapErr("pending inbox", err)
		}
		out = append(out, it)
	}
	return out, mapErr("pending inbox", rows.Err())
}

// FinishInbox marks a webhook call processed; errText records why it could
// not be, after which it is not tried again. A processed body is emptied:
// what it said now lives in the tables (and goes with an erasure), so the
// raw copy would only keep numbers and texts beyond their time.
func (s *DB) FinishInbox(ctx context.Context, id int64, errText string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE inbox SET processed_at = ?, error = ?, attempts = attempts + 1,
		body = CASE WHEN ? = '' THEN x'' ELSE body END WHERE id = ?`,
		ts(now), errText, errText, id)
	if err == nil {
		err = s.checkpointAfterInbox(ctx) // an emptied body of an erased contact reaches the disk (erase_disk.go)
	}
	return mapErr("finish inbox", err)
}

// RetryInbox counts a failed attempt and leaves the call pending.
func (s *DB) RetryInbox(ctx context.Context, id int64, errText string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE inbox SET attempts = attempts + 1, error = ? WHERE id = ?`, errText, id)
	return mapErr("retry inbox", err)
}
