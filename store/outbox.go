package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/optin/optin/consent"
)

// ClaimDue leases up to limit messages that are queued and due, or whose
// previous lease ran out (the process died while sending them), and returns
// them with their attempt counted.
func (s *DB) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]consent.OutboxMessage, error) {
	var out []consent.OutboxMessage
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = ?, updated_at = ?
			WHERE id IN (SELECT id FROM outbox WHERE status IN ('queued', 'sending') AND next_attempt_at <= ?
			             ORDER BY next_attempt_at, id LIMIT ?)
			RETURNING id, contact_id, purpose, message, attempts, created_at`,
			ts(now.Add(lease)), ts(now), ts(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m consent.OutboxMessage
			var body, created string
			if err := rows.Scan(&m.ID, &m.ContactID, &m.Purpose, &body, &m.Attempts, &created); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(body), &m.Message); err != nil {
				return fmt.Errorf("outbox message %d: %w", m.ID, err)
			}
			m.Status, m.CreatedAt = consent.StatusSending, parseTS(created)
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, mapErr("claim due", err)
	}
	// RETURNING gives no order guarantee; send in queue order.
	slices.SortFunc(out, func(a, b consent.OutboxMessage) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// MarkSent records that the provider accepted message id. Only a message
// still being sent moves: a late second call changes nothing.
func (s *DB) MarkSent(ctx context.Context, id int64, res consent.SendResult, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var pid any
		if res.MessageID != "" {
			pid = res.MessageID
		}
		var contactID int64
		err := tx.QueryRowContext(ctx, `
			UPDATE outbox SET status = 'sent', provider_message_id = ?, sent_at = ?, updated_at = ?,
			    error_class = '', error_code = 0, error_title = ''
			WHERE id = ? AND status = 'sending' RETURNING contact_id`, pid, ts(now), ts(now), id).Scan(&contactID)
		if err == sql.ErrNoRows {
			return nil
		}
		if err != nil {
			return err
		}
		if res.WaID == "" {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE contacts SET wa_id = ?, updated_at = ? WHERE id = ?`, res.WaID, ts(now), contactID)
		return err
	})
	return mapErr("mark sent", err)
}

// MarkRetry puts message id back in the queue, due at next.
func (s *DB) MarkRetry(ctx context.Context, id int64, next time.Time, pe *consent.ProviderError, now time.Time) error {
	_, err := s.execW(ctx, `
		UPDATE outbox SET status = 'queued', next_attempt_at = ?, updated_at = ?,
		    error_class = ?, error_code = ?, error_title = ?
		WHERE id = ? AND status = 'sending'`, ts(next), ts(now), pe.Class, pe.Code, pe.Title, id)
	return mapErr("mark retry", err)
}

// MarkFailed ends message id as failed or dead.
func (s *DB) MarkFailed(ctx context.Context, id int64, status consent.DeliveryStatus, pe *consent.ProviderError, now time.Time) error {
	_, err := s.execW(ctx, `
		UPDATE outbox SET status = ?, updated_at = ?, error_class = ?, error_code = ?, error_title = ?
		WHERE id = ? AND status = 'sending'`, status, ts(now), pe.Class, pe.Code, pe.Title, id)
	return mapErr("mark failed", err)
}

// AddAlert records something an admin must see.
func (s *DB) AddAlert(ctx context.Context, a consent.Alert) error {
	_, err := s.execW(ctx, `INSERT INTO alerts (kind, code, title, created_at) VALUES (?, ?, ?, ?)`,
		a.Kind, a.Code, a.Title, ts(a.At))
	return mapErr("add alert", err)
}

// Alerts returns the unresolved alerts, newest first.
func (s *DB) Alerts(ctx context.Context) ([]consent.Alert, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kind, code, title, created_at FROM alerts WHERE resolved_at = '' ORDER BY id DESC`)
	if err != nil {
		return nil, mapErr("alerts", err)
	}
	defer rows.Close()
	var out []consent.Alert
	for rows.Next() {
		var a consent.Alert
		var at string
		if err := rows.Scan(&a.Kind, &a.Code, &a.Title, &at); err != nil {
			return nil, mapErr("alerts", err)
		}
		a.At = parseTS(at)
		out = append(out, a)
	}
	return out, mapErr("alerts", rows.Err())
}

// ApplyStatus moves the message with the provider id forward to the reported
// status; reports that arrive late or twice change nothing.
func (s *DB) ApplyStatus(ctx context.Context, st consent.StatusUpdate, now time.Time) (int64, error) {
	var contactID int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var current string
		err := tx.QueryRowContext(ctx, `SELECT contact_id, status FROM outbox WHERE provider_message_id = ?`, st.MessageID).
			Scan(&contactID, &current)
		if err != nil {
			return err
		}
		if st.Status.Rank() <= consent.DeliveryStatus(current).Rank() {
			return nil
		}
		var code int
		var title string
		if len(st.Errors) > 0 {
			code, title = st.Errors[0].Code, st.Errors[0].Title
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE outbox SET status = ?, updated_at = ?,
			    error_code = CASE WHEN ? <> 0 THEN ? ELSE error_code END,
			    error_title = CASE WHEN ? <> '' THEN ? ELSE error_title END
			WHERE provider_message_id = ?`, st.Status, ts(now), code, code, title, title, st.MessageID)
		return err
	})
	return contactID, mapErr("apply status", err)
}

// Messages returns the outgoing messages of a contact, oldest first.
func (s *DB) Messages(ctx context.Context, contactID int64) ([]consent.OutboxMessage, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT id, contact_id, purpose, message, status, attempts, created_at, coalesce(provider_message_id, '')
		FROM outbox WHERE contact_id = ? ORDER BY id`, contactID)
	if err != nil {
		return nil, mapErr("messages", err)
	}
	defer rows.Close()
	var out []consent.OutboxMessage
	for rows.Next() {
		var m consent.OutboxMessage
		var body, status, created string
		if err := rows.Scan(&m.ID, &m.ContactID, &m.Purpose, &body, &status, &m.Attempts, &created, &m.ProviderID); err != nil {
			return nil, mapErr("messages", err)
		}
		if err := json.Unmarshal([]byte(body), &m.Message); err != nil {
			return nil, mapErr("messages", err)
		}
		m.Status, m.CreatedAt = consent.DeliveryStatus(status), parseTS(created)
		out = append(out, m)
	}
	return out, mapErr("messages", rows.Err())
}

// OutboxStats counts outgoing messages by status.
func (s *DB) OutboxStats(ctx context.Context) (map[consent.DeliveryStatus]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT status, count(*) FROM outbox GROUP BY status`)
	if err != nil {
		return nil, mapErr("outbox stats", err)
	}
	defer rows.Close()
	out := map[consent.DeliveryStatus]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, mapErr("outbox stats", err)
		}
		out[consent.DeliveryStatus(st)] = n
	}
	return out, mapErr("outbox stats", rows.Err())
}

// ReleaseLeases makes every message a previous process was sending due now.
// optin runs as one process per database, so at start no lease is alive: a
// message left "sending" was cut off by a crash and must be tried again.
func (s *DB) ReleaseLeases(ctx context.Context, now time.Time) (int, error) {
	res, err := s.execW(ctx, `UPDATE outbox SET status = 'queued', next_attempt_at = ?, updated_at = ?
		WHERE status = 'sending'`, ts(now), ts(now))
	if err != nil {
		return 0, mapErr("release leases", err)
	}
	n, err := res.RowsAffected()
	return int(n), mapErr("release leases", err)
}
