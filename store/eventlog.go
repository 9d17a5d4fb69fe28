package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/optin/optin/consent"
)

// EventLog returns up to f.Limit events matching f, newest first, below
// f.Before when set. It pages by id (keyset), so a deep page costs what the
// first does; a filter on type, source or entry point walks its index
// (migrations/0010_stats.sql) rather than the whole table. Personal
// evidence stays out: the contact's page shows it.
func (s *DB) EventLog(ctx context.Context, f consent.EventFilter) ([]consent.Event, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	if f.Type != "" {
		add("type = ?", string(f.Type))
	}
	if f.Category != "" {
		add("category = ?", f.Category)
	}
	if f.Source != "" {
		add("source = ?", string(f.Source))
	}
	if f.EntryPoint != "" {
		// The <> '' lets SQLite use the partial index on entry_point.
		add("entry_point = ? AND entry_point <> ''", f.EntryPoint)
	}
	if !f.From.IsZero() {
		add("occurred_at >= ?", ts(f.From))
	}
	if !f.To.IsZero() {
		add("occurred_at < ?", ts(f.To))
	}
	q := `SELECT id, contact_id, type, category, state, source, occurred_at, recorded_at, coalesce(wording_hash, ''),
		lang, entry_point, form_version FROM events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit)

	var out []consent.Event
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		return scanRows(ctx, tx, q, args, func(r *sql.Rows) error {
			var e consent.Event
			var typ, state, source, occurred, recorded string
			if err := r.Scan(&e.ID, &e.ContactID, &typ, &e.Category, &state, &source, &occurred, &recorded, &e.WordingHash,
				&e.Lang, &e.Evidence.EntryPoint, &e.Evidence.FormVersion); err != nil {
				return err
			}
			e.Type, e.State, e.Evidence.Source = consent.EventType(typ), consent.State(state), consent.Source(source)
			e.OccurredAt, e.RecordedAt = parseTS(occurred), parseTS(recorded)
			out = append(out, e)
			return nil
		})
	})
	return out, mapErr("event log", err)
}

// AuditLog returns up to f.Limit entries of the admin audit log matching f,
// newest first, below f.Before when set; the actor and action filters walk
// their indexes (admin_audit_actor, admin_audit_action).
func (s *DB) AuditLog(ctx context.Context, f consent.AuditFilter) ([]consent.AuditEntry, error) {
	var where []string
	var args []any
	if f.Before > 0 {
		where, args = append(where, "id < ?"), append(args, f.Before)
	}
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if f.Action != "" {
		where, args = append(where, "action = ?"), append(args, f.Action)
	}
	q := `SELECT id, at, actor, actor_id, action, target, detail, ip FROM admin_audit`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit)
	var out []consent.AuditEntry
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		return scanRows(ctx, tx, q, args, func(r *sql.Rows) error {
			var e consent.AuditEntry
			var at string
			if err := r.Scan(&e.ID, &at, &e.Actor, &e.ActorID, &e.Action, &e.Target, &e.Detail, &e.IP); err != nil {
				return err
			}
			e.At = parseTS(at)
			out = append(out, e)
			return nil
		})
	})
	return out, mapErr("audit log", err)
}

// AuditActions lists the actions the audit log holds, in order. It skips
// through the action index one distinct value at a time, so it costs a few
// lookups per action, not a scan of the log.
func (s *DB) AuditActions(ctx context.Context) ([]string, error) {
	var out []string
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		return scanRows(ctx, tx, `
			WITH RECURSIVE a(action) AS (
			    SELECT min(action) FROM admin_audit
			    UNION ALL
			    SELECT (SELECT min(action) FROM admin_audit WHERE action > a.action) FROM a WHERE a.action IS NOT NULL)
			SELECT action FROM a WHERE action IS NOT NULL`, nil, func(r *sql.Rows) error {
			var a string
			if err := r.Scan(&a); err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
	})
	return out, mapErr("audit actions", err)
}
