package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/optin/optin/consent"
)

// RegretAnchors reads, per entry point and contact, the first opt_in or
// terms_accepted event naming the entry point since since, and the contact's
// first opt_out or erased event from one of sources at or after it (consent
// /regret.go says what counts). The anchors come by occurred_at
// (events_occurred), the opt-outs by contact (events_contact).
func (s *DB) RegretAnchors(ctx context.Context, since time.Time, sources []consent.Source) ([]consent.RegretAnchor, error) {
	if len(sources) == 0 {
		return nil, nil
	}
	args := []any{ts(since)}
	for _, src := range sources {
		args = append(args, string(src))
	}
	q := `SELECT a.entry_point, a.at,
		  (SELECT min(o.occurred_at) FROM events o
		    WHERE o.contact_id = a.contact_id AND o.type IN ('opt_out', 'erased')
		      AND o.source IN (?` + strings.Repeat(", ?", len(sources)-1) + `) AND o.occurred_at >= a.at)
		FROM (SELECT entry_point, contact_id, min(occurred_at) AS at FROM events
		       WHERE occurred_at >= ? AND entry_point <> '' AND type IN ('opt_in', 'terms_accepted')
		       GROUP BY entry_point, contact_id) a`
	// The subquery's sources come first in the text, since last.
	args = append(args[1:], args[0])
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, mapErr("regret anchors", err)
	}
	defer rows.Close()
	var out []consent.RegretAnchor
	for rows.Next() {
		var a consent.RegretAnchor
		var at string
		var first sql.NullString
		if err := rows.Scan(&a.EntryPoint, &at, &first); err != nil {
			return nil, mapErr("regret anchors", err)
		}
		a.At, a.FirstOut = parseTS(at), parseTS(first.String)
		out = append(out, a)
	}
	return out, mapErr("regret anchors", rows.Err())
}

// AddAlertOnce records a unless an unresolved alert of its kind and code
// exists, in one transaction.
func (s *DB) AddAlertOnce(ctx context.Context, a consent.Alert) (bool, error) {
	added := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM alerts WHERE kind = ? AND code = ? AND resolved_at = ''`,
			a.Kind, a.Code).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alerts (kind, code, title, created_at) VALUES (?, ?, ?, ?)`,
			a.Kind, a.Code, a.Title, ts(a.At)); err != nil {
			return err
		}
		added = true
		return nil
	})
	return added, mapErr("add alert once", err)
}
