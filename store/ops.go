package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
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
	rows, err := s.r.QueryContext(ctx, q, args...)
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

// restrictionJSON is a consent.Restriction in account_updates.restrictions.
type restrictionJSON struct {
	Type       string `json:"type"`
	Expiration string `json:"expiration"`
}

// AddAccountUpdate records one quality or account update.
func (s *DB) AddAccountUpdate(ctx context.Context, u consent.AccountUpdate, at time.Time) error {
	rs := make([]restrictionJSON, 0, len(u.Restrictions))
	for _, r := range u.Restrictions {
		rs = append(rs, restrictionJSON{Type: r.Type, Expiration: ts(r.Expiration)})
	}
	b, err := json.Marshal(rs)
	if err != nil {
		return fmt.Errorf("store: add account update: %w", err)
	}
	raw := u.Raw
	if raw == "" {
		raw = "{}"
	}
	_, err = s.execW(ctx, `INSERT INTO account_updates (field, event, current_limit, old_limit, quality_rating,
		restrictions, ban_state, raw, occurred_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.Field, u.Event, u.CurrentLimit, u.OldLimit, u.QualityRating, string(b), u.BanState, raw, ts(u.At), ts(at))
	return mapErr("add account update", err)
}

// AccountUpdates returns every quality and account update, oldest first.
func (s *DB) AccountUpdates(ctx context.Context) ([]consent.AccountUpdate, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT field, event, current_limit, old_limit, quality_rating, restrictions,
		ban_state, raw, occurred_at FROM account_updates ORDER BY id`)
	if err != nil {
		return nil, mapErr("account updates", err)
	}
	defer rows.Close()
	var out []consent.AccountUpdate
	for rows.Next() {
		var u consent.AccountUpdate
		var rs, at string
		if err := rows.Scan(&u.Field, &u.Event, &u.CurrentLimit, &u.OldLimit, &u.QualityRating, &rs, &u.BanState, &u.Raw, &at); err != nil {
			return nil, mapErr("account updates", err)
		}
		var list []restrictionJSON
		if err := json.Unmarshal([]byte(rs), &list); err != nil {
			return nil, fmt.Errorf("store: account updates: restrictions: %w", err)
		}
		for _, r := range list {
			u.Restrictions = append(u.Restrictions, consent.Restriction{Type: r.Type, Expiration: parseTS(r.Expiration)})
		}
		u.At = parseTS(at)
		out = append(out, u)
	}
	return out, mapErr("account updates", rows.Err())
}
