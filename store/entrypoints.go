package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/optin/optin/consent"
)

const entryColumns = `id, code, name, categories, scans, conversations, accepted, created_at`

// EntryPoints lists every entry point, oldest first.
func (s *DB) EntryPoints(ctx context.Context) ([]consent.EntryPoint, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+entryColumns+` FROM entry_points ORDER BY id`)
	if err != nil {
		return nil, mapErr("entry points", err)
	}
	defer rows.Close()
	var out []consent.EntryPoint
	for rows.Next() {
		e, err := scanEntryPoint(rows)
		if err != nil {
			return nil, mapErr("entry points", err)
		}
		out = append(out, e)
	}
	return out, mapErr("entry points", rows.Err())
}

// EntryPointByCode returns the entry point with code (upper-case), or
// consent.ErrNotFound.
func (s *DB) EntryPointByCode(ctx context.Context, code string) (consent.EntryPoint, error) {
	st, err := s.readStmt(ctx, `SELECT `+entryColumns+` FROM entry_points WHERE code = ?`)
	if err != nil {
		return consent.EntryPoint{}, mapErr("entry point", err)
	}
	e, err := scanEntryPoint(st.QueryRowContext(ctx, code))
	return e, mapErr("entry point", err)
}

// CreateEntryPoint stores e; consent.ErrConflict when its code is taken.
func (s *DB) CreateEntryPoint(ctx context.Context, e consent.EntryPoint, at time.Time) (consent.EntryPoint, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO entry_points (code, name, categories, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`,
			e.Code, e.Name, strings.Join(e.Categories, ","), ts(at), ts(at)).Scan(&e.ID)
	})
	if err != nil {
		return consent.EntryPoint{}, mapErr("create entry point", err)
	}
	e.Scans, e.Conversations, e.Accepted = 0, 0, 0
	e.CreatedAt = at.UTC()
	return e, nil
}

// UpdateEntryPoint changes the name and categories of the entry point
// e.Code; consent.ErrNotFound for an unknown code.
func (s *DB) UpdateEntryPoint(ctx context.Context, e consent.EntryPoint, at time.Time) error {
	res, err := s.execW(ctx, `UPDATE entry_points SET name = ?, categories = ?, updated_at = ? WHERE code = ?`,
		e.Name, strings.Join(e.Categories, ","), ts(at), e.Code)
	if err != nil {
		return mapErr("update entry point", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return mapErr("update entry point", err)
	} else if n == 0 {
		return consent.ErrNotFound
	}
	return nil
}

// countQueries holds one fixed statement per counter, so that no column
// name is ever built from an argument.
var countQueries = map[string]string{
	consent.EntryScans:         `UPDATE entry_points SET scans = scans + 1 WHERE code = ?`,
	consent.EntryConversations: `UPDATE entry_points SET conversations = conversations + 1 WHERE code = ?`,
	consent.EntryAccepted:      `UPDATE entry_points SET accepted = accepted + 1 WHERE code = ?`,
}

// CountEntry adds one to the counter what of the entry point code, or
// returns consent.ErrNotFound for an unknown code.
func (s *DB) CountEntry(ctx context.Context, code, what string) error {
	q, ok := countQueries[what]
	if !ok {
		return fmt.Errorf("store: count entry: unknown counter %q", what)
	}
	// Scans arrive on every QR and link hit: the cached statement saves the
	// parse, which costs modernc's SQLite as much as the update.
	res, err := s.execW(ctx, q, code)
	if err != nil {
		return mapErr("count entry", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return mapErr("count entry", err)
	} else if n == 0 {
		return consent.ErrNotFound
	}
	return nil
}

// countEntry is CountEntry in tx; an unknown code counts nothing.
func (s *DB) countEntry(ctx context.Context, tx *sql.Tx, code, what string) error {
	q, ok := countQueries[what]
	if !ok {
		return fmt.Errorf("count entry: unknown counter %q", what)
	}
	_, err := s.exec(ctx, tx, q, code)
	return err
}

// scanEntryPoint reads one row of entryColumns from a *sql.Row or *sql.Rows.
func scanEntryPoint(r interface{ Scan(...any) error }) (consent.EntryPoint, error) {
	var e consent.EntryPoint
	var cats, created string
	err := r.Scan(&e.ID, &e.Code, &e.Name, &cats, &e.Scans, &e.Conversations, &e.Accepted, &created)
	if err != nil {
		return consent.EntryPoint{}, err
	}
	e.Categories = strings.Split(cats, ",")
	e.CreatedAt = parseTS(created)
	return e, nil
}

var _ consent.EntryStore = (*DB)(nil)
