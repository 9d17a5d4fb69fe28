package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/optin/optin/consent"
)

// The dashboard's and /metrics' numbers come from the stat_* tables, which
// triggers keep current (migrations/0010_stats.sql): a few rows each, so
// that a page or a scrape costs the same on a million contacts as on ten.

// ignoredInboxListed bounds the ignored webhook calls the dashboard lists.
const ignoredInboxListed = 10

// scanRows calls f for each row of the query, run unprepared: for queries
// built per call (filters), which the statement caches would only fill.
// (*DB).query is the same for fixed queries, with the cached statement.
func scanRows(ctx context.Context, tx *sql.Tx, query string, args []any, f func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	return eachRow(rows, err, f)
}

// eachRow calls f for each of rows, then closes them; the query's error,
// when there is one, comes back untouched.
func eachRow(rows *sql.Rows, err error, f func(*sql.Rows) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Stats returns the counts per contact status, category and state, outbox
// status and alert kind, the webhook calls pending and failed, and the
// opt-ins and opt-outs per day and per source from since on, all from one
// snapshot.
func (s *DB) Stats(ctx context.Context, since time.Time) (consent.Stats, error) {
	var st consent.Stats
	day := since.UTC().Format(time.DateOnly)
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		err := scanRows(ctx, tx, `SELECT status, n FROM stat_contacts WHERE n <> 0 ORDER BY status`, nil, func(r *sql.Rows) error {
			var c consent.Count
			if err := r.Scan(&c.Key, &c.N); err != nil {
				return err
			}
			st.Contacts = append(st.Contacts, c)
			return nil
		})
		if err != nil {
			return fmt.Errorf("contacts: %w", err)
		}
		err = scanRows(ctx, tx, `
			SELECT c.slug, s.state, s.n FROM stat_consents s JOIN categories c ON c.id = s.category_id
			WHERE s.n <> 0 ORDER BY c.position, c.id, s.state`, nil, func(r *sql.Rows) error {
			var c consent.ConsentCount
			var state string
			if err := r.Scan(&c.Category, &state, &c.N); err != nil {
				return err
			}
			c.State = consent.State(state)
			st.Consents = append(st.Consents, c)
			return nil
		})
		if err != nil {
			return fmt.Errorf("consents: %w", err)
		}
		err = scanRows(ctx, tx, `
			SELECT day, sum(CASE WHEN type = 'opt_in' THEN n ELSE 0 END), sum(CASE WHEN type = 'opt_out' THEN n ELSE 0 END)
			FROM stat_events WHERE day >= ? AND type IN ('opt_in', 'opt_out') GROUP BY day ORDER BY day`,
			[]any{day}, func(r *sql.Rows) error {
				var d consent.DayCount
				var text string
				if err := r.Scan(&text, &d.OptIns, &d.OptOuts); err != nil {
					return err
				}
				t, err := time.Parse(time.DateOnly, text)
				if err != nil {
					return fmt.Errorf("day %q: %w", text, err)
				}
				d.Day = t
				st.Days = append(st.Days, d)
				return nil
			})
		if err != nil {
			return fmt.Errorf("days: %w", err)
		}
		err = scanRows(ctx, tx, `
			SELECT source, sum(CASE WHEN type = 'opt_in' THEN n ELSE 0 END), sum(CASE WHEN type = 'opt_out' THEN n ELSE 0 END)
			FROM stat_events WHERE day >= ? AND type IN ('opt_in', 'opt_out') GROUP BY source ORDER BY 2 DESC, source`,
			[]any{day}, func(r *sql.Rows) error {
				var c consent.SourceCount
				var src string
				if err := r.Scan(&src, &c.OptIns, &c.OptOuts); err != nil {
					return err
				}
				c.Source = consent.Source(src)
				st.Sources = append(st.Sources, c)
				return nil
			})
		if err != nil {
			return fmt.Errorf("sources: %w", err)
		}
		if st.Outbox, err = outboxHealth(ctx, tx); err != nil {
			return err
		}
		// Both counts read the partial index inbox_failed (error <> '').
		err = tx.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM inbox WHERE processed_at = ''),
			(SELECT count(*) FROM inbox WHERE error <> '' AND processed_at <> '' AND NOT error LIKE ?),
			(SELECT count(*) FROM inbox WHERE error <> '' AND processed_at <> '' AND error LIKE ?)`,
			consent.IgnoredPrefix+"%", consent.IgnoredPrefix+"%").Scan(&st.InboxPending, &st.InboxFailed, &st.InboxIgnored)
		if err != nil {
			return fmt.Errorf("inbox: %w", err)
		}
		err = scanRows(ctx, tx, `SELECT id, received_at, error FROM inbox
			WHERE error <> '' AND processed_at <> '' AND error LIKE ? ORDER BY id DESC LIMIT ?`,
			[]any{consent.IgnoredPrefix + "%", ignoredInboxListed},
			func(r *sql.Rows) error {
				var n consent.InboxNote
				var at string
				if err := r.Scan(&n.ID, &at, &n.Reason); err != nil {
					return err
				}
				n.ReceivedAt, n.Reason = parseTS(at), strings.TrimPrefix(n.Reason, consent.IgnoredPrefix)
				st.IgnoredInbox = append(st.IgnoredInbox, n)
				return nil
			})
		if err != nil {
			return fmt.Errorf("ignored inbox: %w", err)
		}
		err = scanRows(ctx, tx, `SELECT kind, count(*) FROM alerts WHERE resolved_at = '' GROUP BY kind ORDER BY kind`, nil,
			func(r *sql.Rows) error {
				var c consent.Count
				if err := r.Scan(&c.Key, &c.N); err != nil {
					return err
				}
				st.Alerts = append(st.Alerts, c)
				return nil
			})
		if err != nil {
			return fmt.Errorf("alerts: %w", err)
		}
		return nil
	})
	return st, mapErr("stats", err)
}

// allDeliveryStatuses are the outbox statuses the schema allows.
var allDeliveryStatuses = []consent.DeliveryStatus{consent.StatusQueued, consent.StatusSending, consent.StatusSent,
	consent.StatusDelivered, consent.StatusRead, consent.StatusFailed, consent.StatusDead}

func outboxHealth(ctx context.Context, tx *sql.Tx) (consent.OutboxHealth, error) {
	h := consent.OutboxHealth{ByStatus: map[consent.DeliveryStatus]int64{}}
	for _, st := range allDeliveryStatuses {
		h.ByStatus[st] = 0
	}
	err := scanRows(ctx, tx, `SELECT status, n FROM stat_outbox`, nil, func(r *sql.Rows) error {
		var status string
		var n int64
		if err := r.Scan(&status, &n); err != nil {
			return err
		}
		h.ByStatus[consent.DeliveryStatus(status)] = n
		return nil
	})
	if err != nil {
		return h, fmt.Errorf("outbox: %w", err)
	}
	// Both use partial indexes over the few messages waiting or failed.
	err = tx.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending') AND attempts > 0`).Scan(&h.Retrying)
	if err != nil {
		return h, fmt.Errorf("outbox retrying: %w", err)
	}
	err = scanRows(ctx, tx, `SELECT status, error_class, count(*) FROM outbox WHERE status IN ('failed', 'dead')
		GROUP BY status, error_class ORDER BY status, error_class`, nil, func(r *sql.Rows) error {
		var status, class string
		var n int64
		if err := r.Scan(&status, &class, &n); err != nil {
			return err
		}
		h.Failures = append(h.Failures, consent.Count{Key: status + "/" + class, N: n})
		return nil
	})
	if err != nil {
		return h, fmt.Errorf("outbox failures: %w", err)
	}
	return h, nil
}

// EventTotals counts every event by type, category and source: the sums
// of the counts by day (migration 0026).
func (s *DB) EventTotals(ctx context.Context) ([]consent.EventTotal, error) {
	var out []consent.EventTotal
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		return scanRows(ctx, tx, `SELECT type, category, source, CAST(sum(n) AS BIGINT) FROM stat_events
			GROUP BY type, category, source ORDER BY type, category, source`, nil, func(r *sql.Rows) error {
			var t consent.EventTotal
			var typ, src string
			if err := r.Scan(&typ, &t.Category, &src, &t.N); err != nil {
				return err
			}
			t.Type, t.Source = consent.EventType(typ), consent.Source(src)
			out = append(out, t)
			return nil
		})
	})
	return out, mapErr("event totals", err)
}

// OpenAlerts returns up to limit unresolved alerts, newest first. Without
// INDEXED BY, SQLite walks the whole table backwards by id, resolved alerts
// (one per dead letter, piling up) included, rather than sort the few open
// ones it finds in the partial index.
func (s *DB) OpenAlerts(ctx context.Context, limit int) ([]consent.OpenAlert, error) {
	var out []consent.OpenAlert
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		return scanRows(ctx, tx, s.pick(`SELECT id, kind, code, title, created_at FROM alerts INDEXED BY alerts_open
			WHERE resolved_at = '' ORDER BY id DESC LIMIT ?`, `SELECT id, kind, code, title, created_at FROM alerts
			WHERE resolved_at = '' ORDER BY id DESC LIMIT ?`), []any{limit}, func(r *sql.Rows) error {
			var a consent.OpenAlert
			var at string
			if err := r.Scan(&a.ID, &a.Kind, &a.Code, &a.Title, &at); err != nil {
				return err
			}
			a.At = parseTS(at)
			out = append(out, a)
			return nil
		})
	})
	return out, mapErr("open alerts", err)
}

// ResolveAlert marks the unresolved alert id resolved at at; ErrNotFound
// when it does not exist or was resolved already.
func (s *DB) ResolveAlert(ctx context.Context, id int64, at time.Time) (consent.OpenAlert, error) {
	var a consent.OpenAlert
	var created, resolved string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `UPDATE alerts SET resolved_at = ? WHERE id = ? AND resolved_at = ''
			RETURNING id, kind, code, title, created_at, resolved_at`, ts(at), id).
			Scan(&a.ID, &a.Kind, &a.Code, &a.Title, &created, &resolved)
	})
	a.At, a.ResolvedAt = parseTS(created), parseTS(resolved)
	return a, mapErr("resolve alert", err)
}
