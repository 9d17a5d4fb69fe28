package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/optin/optin/consent"
)

// EnqueueForward queues a call to the business's own system.
func (s *DB) EnqueueForward(ctx context.Context, contactID int64, body []byte, at time.Time) error {
	var cid any
	if contactID != 0 {
		cid = contactID
	}
	_, err := s.execW(ctx, insertForward, cid, string(body), ts(at), ts(at))
	return mapErr("enqueue forward", err)
}

const insertForward = `INSERT INTO forwards (contact_id, body, status, next_attempt_at, created_at) VALUES (?, ?, 'queued', ?, ?)`

// enqueueForward is EnqueueForward in tx.
func (s *DB) enqueueForward(ctx context.Context, tx *sql.Tx, contactID int64, body []byte, at time.Time) error {
	_, err := s.exec(ctx, tx, insertForward, contactID, string(body), ts(at), ts(at))
	return err
}

// ClaimForwards leases up to limit due forwards to this instance. A
// forward still "sending" when its lease ended (its instance died, or gave
// up waiting) is due again: forwards are delivered at least once.
func (s *DB) ClaimForwards(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]consent.Forward, error) {
	var out []consent.Forward
	err := s.tx(ctx, func(tx *sql.Tx) error {
		return s.query(ctx, tx, `
			UPDATE forwards SET status = 'sending', attempts = attempts + 1, next_attempt_at = ?, lease_owner = ?
			WHERE id IN (SELECT id FROM forwards WHERE status IN ('queued', 'sending') AND next_attempt_at <= ?
			             ORDER BY id LIMIT ? /*skip locked*/)
			RETURNING id, body, attempts, created_at`, []any{ts(now.Add(lease)), s.Instance(), ts(now), limit},
			func(rows *sql.Rows) error {
				var f consent.Forward
				var body, created string
				if err := rows.Scan(&f.ID, &body, &f.Attempts, &created); err != nil {
					return err
				}
				f.Body, f.CreatedAt = []byte(body), parseTS(created)
				out = append(out, f)
				return nil
			})
	})
	return out, mapErr("claim forwards", err)
}

// FinishForward records the outcome of a forward: sent, retried at next, or
// dead when next is zero and err is set. Only the instance holding the
// forward's lease records it: after the lease ended another instance took
// the forward over, and its outcome is the one that counts.
func (s *DB) FinishForward(ctx context.Context, id int64, status string, next time.Time, errText string, now time.Time) error {
	// A contact.erased push (scrub) keeps no number once it is delivered
	// or given up.
	_, err := s.execW(ctx, `UPDATE forwards SET status = ?, next_attempt_at = coalesce(nullif(?, ''), next_attempt_at),
		last_error = ?, sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END,
		body = CASE WHEN scrub = 1 AND ? IN ('sent', 'dead') THEN ? ELSE body END
		WHERE id = ? AND (lease_owner = ? OR lease_owner = '')`,
		status, ts(next), errText, status, ts(now), status, scrubbedBody, id, s.Instance())
	if err != nil {
		return mapErr("finish forward", err)
	}
	if status == "sent" || status == "dead" {
		var scrubbed int
		if err := s.r.QueryRowContext(ctx, `SELECT scrub FROM forwards WHERE id = ?`, id).Scan(&scrubbed); err == nil && scrubbed == 1 {
			s.erased(ctx) // as after an erasure: nothing of the number stays in the files
		}
	}
	return nil
}
