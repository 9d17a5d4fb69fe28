// Package store is the SQLite implementation of consent.Store: contacts,
// consents and their append-only events, the outbox of messages to send and
// the inbox of webhook calls to process. The schema lives in migrations/,
// applied in order at Open.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/optin/optin/consent"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// maxConns bounds the pool: enough readers for a busy API (WAL readers run
// in parallel), few enough that writers queue on busy_timeout rather than
// thrash.
const maxConns = 16

//go:embed migrations/*.sql
var migrations embed.FS

// DB is optin's database.
type DB struct {
	db *sql.DB
	// Prepared statements of the hot read paths: modernc's SQLite spends
	// more time parsing a query than running these.
	consentFor *sql.Stmt
	apiKey     *sql.Stmt
	stmts      stmts
	// faults, when set, fails chosen steps (SetFault).
	faults func(step string) error
	// push queues consent.changed and contact.erased for the business's
	// system with every change (PushEvents, push.go).
	push bool
}

// Open opens (creating if needed) the SQLite database at path and applies
// the migrations it lacks.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	q := url.Values{}
	// secure_delete zeroes what is deleted, so that an erased number or
	// message leaves no trace in free pages of the file.
	for _, p := range []string{"foreign_keys(1)", "journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "secure_delete(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	// Keep connections open: a new SQLite connection re-reads the schema and
	// re-prepares every cached statement, which under load cost more than
	// the queries (measured with cmd/optin-load: 313 reconnects in 3,000
	// checks with database/sql's default of 2 idle connections).
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &DB{db: db}
	for _, o := range opts {
		o(s)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.unifyContacts(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *DB) prepare(ctx context.Context) error {
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = s.db.PrepareContext(ctx, q)
		return st
	}
	s.consentFor = prep(consentForQuery)
	s.apiKey = prep(apiKeyQuery)
	if err != nil {
		return fmt.Errorf("store: prepare: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// SQL exposes the database handle to tests and tools of this module.
func (s *DB) SQL() *sql.DB { return s.db }

func (s *DB) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("store: list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("store: migration %s: no number", base)
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				version, base, ts(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
	}
	return nil
}

// tx runs f in one transaction, committing when it returns nil.
func (s *DB) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// ts formats a time for storage: UTC RFC 3339 with nanoseconds, which sorts
// as text.
func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
}

// parseTS reads a time written by ts; empty text is the zero time.
func parseTS(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// mapErr turns driver errors into the domain's: no rows → ErrNotFound,
// constraint violations (by SQLite's result code) → ErrConflict.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return consent.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT {
		return fmt.Errorf("store: %s: %w", op, errors.Join(consent.ErrConflict, err))
	}
	if errors.Is(err, consent.ErrNotFound) || errors.Is(err, consent.ErrConflict) {
		return err
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// Checkpoint writes the WAL into the main database file, so that what was
// deleted is gone from disk too.
func (s *DB) Checkpoint(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return mapErr("checkpoint", err)
}
