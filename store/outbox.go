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

// claimExpiredQuery turns the sends whose lease ended (at or before the
// second argument) to unknown: the provider may have accepted them.
const claimExpiredQuery = `UPDATE outbox SET status = 'unknown', updated_at = ?
	WHERE status = 'sending' AND next_attempt_at <= ?`

// ClaimDue leases up to limit messages that are queued and due, and returns
// them with their attempt counted. A message still "sending" when its lease
// ends was cut off mid-send (the provider may have accepted it): it becomes
// "unknown" and is never claimed again by itself.
func (s *DB) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]consent.OutboxMessage, error) {
	var out []consent.OutboxMessage
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, claimExpiredQuery, ts(now), ts(now)); err != nil {
			return err
		}
		return s.query(ctx, tx, `
			UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = ?, updated_at = ?, lease_owner = ?
			WHERE id IN (SELECT id FROM outbox WHERE status IN ('queued', 'sending') AND next_attempt_at <= ?
			             AND status = 'queued' ORDER BY next_attempt_at, id LIMIT ? /*skip locked*/)
			RETURNING id, contact_id, purpose, message, attempts, created_at`,
			[]any{ts(now.Add(lease)), ts(now), s.Instance(), ts(now), limit}, func(rows *sql.Rows) error {
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
				return nil
			})
	})
	if err != nil {
		return nil, mapErr("claim due", err)
	}
	// RETURNING gives no order guarantee; send in queue order.
	slices.SortFunc(out, func(a, b consent.OutboxMessage) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// MarkSent records that the provider accepted message id. Only a message
// still being sent (or whose lease ran out meanwhile) moves: a late second
// call changes nothing.
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
			WHERE id = ? AND status IN ('sending', 'unknown') RETURNING contact_id`, pid, ts(now), ts(now), id).Scan(&contactID)
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
		WHERE id = ? AND status IN ('sending', 'unknown')`, ts(next), ts(now), pe.Class, pe.Code, pe.Title, id)
	return mapErr("mark retry", err)
}

// MarkFailed ends message id as failed or dead.
func (s *DB) MarkFailed(ctx context.Context, id int64, status consent.DeliveryStatus, pe *consent.ProviderError, now time.Time) error {
	_, err := s.execW(ctx, `
		UPDATE outbox SET status = ?, updated_at = ?, error_class = ?, error_code = ?, error_title = ?
		WHERE id = ? AND status IN ('sending', 'unknown')`, status, ts(now), pe.Class, pe.Code, pe.Title, id)
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
// status; reports that arrive late or twice change nothing. A report for a
// provider id optin never recorded resolves a message in doubt: when its
// recipient has exactly one "unknown" message whose lease ended at most an
// hour before the report (the provider's time) or after it, that message
// was the one cut off after the provider accepted it.
//
// Most reports change nothing here: statuses of messages other systems sent
// through the number, duplicates, a "delivered" after its "read". So the
// report is first matched on the reader pool, and the writer is taken only
// when it would change a message; the write transaction matches it again.
func (s *DB) ApplyStatus(ctx context.Context, st consent.StatusUpdate, now time.Time) (int64, error) {
	// First on the reader, statement by statement: the two lookups of
	// matchStatus need no snapshot in common, since this read only spares
	// the writer the reports that change nothing (late, repeated, or of a
	// message optin did not send). The writer matches again in its own
	// transaction before it writes.
	m, err := s.matchStatus(ctx, nil, st)
	if err != nil || !m.changes(st) {
		return m.contactID, mapErr("apply status", err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) (err error) {
		if m, err = s.matchStatus(ctx, tx, st); err != nil || !m.changes(st) {
			return err
		}
		if m.inDoubt != 0 {
			if _, err := s.exec(ctx, tx, `UPDATE outbox SET provider_message_id = ?,
				sent_at = CASE WHEN ? = 1 THEN ? ELSE sent_at END WHERE id = ?`,
				st.MessageID, st.Status != consent.StatusFailed, ts(now), m.inDoubt); err != nil {
				return err
			}
		}
		var code int
		var title string
		if len(st.Errors) > 0 {
			code, title = st.Errors[0].Code, st.Errors[0].Title
		}
		_, err = s.exec(ctx, tx, `
			UPDATE outbox SET status = ?, updated_at = ?,
			    error_code = CASE WHEN ? <> 0 THEN ? ELSE error_code END,
			    error_title = CASE WHEN ? <> '' THEN ? ELSE error_title END
			WHERE provider_message_id = ?`, st.Status, ts(now), code, code, title, title, st.MessageID)
		return err
	})
	return m.contactID, mapErr("apply status", err)
}

// statusMatch is the message a status report is about.
type statusMatch struct {
	contactID int64
	current   consent.DeliveryStatus
	// inDoubt is the id of the message in doubt the report resolves
	// (matchUnknown), 0 when the report's provider id is recorded.
	inDoubt int64
}

// matchStatus finds the message st is about: by its provider id, else the
// one in doubt it resolves; sql.ErrNoRows when neither.
func (s *DB) matchStatus(ctx context.Context, tx *sql.Tx, st consent.StatusUpdate) (statusMatch, error) {
	var m statusMatch
	var current string
	err := s.queryRow(ctx, tx, `SELECT contact_id, status FROM outbox WHERE provider_message_id = ?`, st.MessageID).
		Scan(&m.contactID, &current)
	if err == sql.ErrNoRows {
		id, cid, ok, err := s.matchUnknown(ctx, tx, st)
		if err != nil || !ok {
			return statusMatch{}, cmp.Or(err, sql.ErrNoRows)
		}
		return statusMatch{contactID: cid, current: consent.StatusUnknown, inDoubt: id}, nil
	}
	m.current = consent.DeliveryStatus(current)
	return m, err
}

// changes reports whether st moves the message on: a report that arrives
// late or twice does not.
func (m statusMatch) changes(st consent.StatusUpdate) bool {
	return st.Status.Rank() > m.current.Rank()
}

// matchUnknown finds the one message in doubt a status report with an
// unrecorded provider id can be about: the recipient's only "unknown"
// message, whose lease (next_attempt_at) ended no more than an hour before
// the report's time. Two in doubt for one recipient cannot be told apart:
// both stay unknown.
//
// SQLite is told to read the outbox by its partial index of messages in
// doubt: left to itself it took "provider_message_id IS NULL" to the
// unique index on that column, and so read every queued message (each has
// no provider id yet) for each status report of a message optin did not
// send. With a queue of 12,000 welcomes that was 60 % of the server's CPU
// under a webhook load (issue 11).
func (s *DB) matchUnknown(ctx context.Context, tx *sql.Tx, st consent.StatusUpdate) (id, contactID int64, ok bool, err error) {
	if st.RecipientID == "" || st.MessageID == "" || st.Status.Rank() < consent.StatusSent.Rank() {
		return 0, 0, false, nil
	}
	after := "0000"
	if !st.Timestamp.IsZero() {
		after = ts(st.Timestamp.Add(-time.Hour))
	}
	n := 0
	err = s.query(ctx, tx, s.matchUnknownQuery(), []any{st.RecipientID, "+" + st.RecipientID, after}, func(rows *sql.Rows) error {
		n++
		return rows.Scan(&id, &contactID)
	})
	return id, contactID, n == 1 && err == nil, err
}

// matchUnknownQuery is matchUnknown's query: a recipient's wa_id, its
// number, the earliest lease end.
func (s *DB) matchUnknownQuery() string {
	return `SELECT o.id, o.contact_id FROM contacts c JOIN outbox o ` + s.pick("INDEXED BY outbox_unknown", "") + `
		    ON o.contact_id = c.id AND o.status = 'unknown'
		WHERE (c.wa_id = ? OR c.phone = ?) AND o.next_attempt_at >= ? AND o.provider_message_id IS NULL LIMIT 2`
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

// ResendUnknown puts message id of contact, in doubt, back in the queue,
// due now: an admin chose to risk the person getting it twice.
// ErrNotFound when it is not (or no longer) unknown.
func (s *DB) ResendUnknown(ctx context.Context, contactID, id int64, now time.Time) error {
	res, err := s.execW(ctx, `UPDATE outbox SET status = 'queued', next_attempt_at = ?, updated_at = ?,
		error_class = '', error_code = 0, error_title = ''
		WHERE id = ? AND contact_id = ? AND status = 'unknown'`, ts(now), ts(now), id, contactID)
	if err != nil {
		return mapErr("resend unknown", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return cmp.Or(mapErr("resend unknown", err), consent.ErrNotFound)
	}
	return nil
}

// UnknownMessages lists up to limit messages in doubt, oldest first.
func (s *DB) UnknownMessages(ctx context.Context, limit int) ([]consent.MessageInDoubt, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, contact_id, created_at FROM outbox WHERE status = 'unknown' ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, mapErr("unknown messages", err)
	}
	defer rows.Close()
	var out []consent.MessageInDoubt
	for rows.Next() {
		var m consent.MessageInDoubt
		var at string
		if err := rows.Scan(&m.ID, &m.ContactID, &at); err != nil {
			return nil, mapErr("unknown messages", err)
		}
		m.CreatedAt = parseTS(at)
		out = append(out, m)
	}
	return out, mapErr("unknown messages", rows.Err())
}
