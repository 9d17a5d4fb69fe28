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
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/optin/optin/consent"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// maxReaders bounds the read pool: WAL readers run in parallel with each
// other and with the writer.
const maxReaders = 16

//go:embed migrations/*.sql
var migrations embed.FS

//go:embed migrations_pg/*.sql
var migrationsPG embed.FS

// DB is optin's database: one writer connection that runs every write, and a
// pool of read-only connections for everything else.
//
// SQLite lets one transaction write at a time. With writes spread over a
// pool, the waiting ones sleep in the busy handler, and a transaction that
// needs one more connection while it holds the write lock waits for
// connections held by those waiting for its lock (the deadlock of issue 11).
// Here writes queue, in arrival order, for the one writer connection, never
// for SQLite's lock; a transaction uses only its own connection.
type DB struct {
	w *sql.DB // the writer: one connection, BEGIN IMMEDIATE
	r *sql.DB // readers: query_only connections
	// wq admits one writer at a time, first come first served
	// (database/sql hands a freed connection to a random waiter).
	wq chan struct{}
	// Prepared statements of the hot read paths: modernc's SQLite spends
	// more time parsing a query than running these.
	consentFor *sql.Stmt
	apiKey     *sql.Stmt
	wst, rst   stmts
	keys       keyCache
	readTxs    sync.Map // *sql.Tx → true for transactions of readTx
	bulks      sync.Map // *sql.Tx → *bulk collecting its writes (bulk.go)
	memos      sync.Map // *sql.Tx → *txMemo of a shared transaction (shared.go)
	shared     *sharer  // shared commits of form posts (shared.go)
	sharedOnce sync.Once
	inbox      *committer
	// faults, when set, fails chosen steps (SetFault).
	faults func(step string) error
	// erasedSinceInbox: an erasure was checkpointed and an inbox body
	// emptied after it may still hold its data (erase_disk.go).
	erasedSinceInbox atomic.Bool
	// push queues consent.changed and contact.erased for the business's
	// system with every change (PushEvents, push.go).
	push bool
	// inst is this handle's instance id and lease length, and what it saw
	// of the installation's change version (instances.go).
	inst instance
	// pg: the database is PostgreSQL (pg.go).
	pg bool
}

// Open opens the database and applies the migrations it lacks: PostgreSQL
// when dsn is a postgres:// URL (the database must exist), else the SQLite
// file at dsn, created if needed.
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	if IsPostgres(dsn) {
		w, r, err := openPostgres(ctx, dsn, maxReaders)
		if err != nil {
			return nil, err
		}
		return open(ctx, &DB{w: w, r: r, wq: make(chan struct{}, 1), pg: true}, opts)
	}
	path := dsn
	q := url.Values{}
	// secure_delete zeroes what is deleted, so that an erased number or
	// message leaves no trace in free pages of the file. busy_timeout stays
	// for other processes (the CLI next to a running server); this process
	// never waits on itself. temp_store keeps statement journals (every
	// statement of many rows or with triggers, every savepoint, writes one)
	// in memory rather than in temporary files: faster (an event inserted
	// with its journal in a file took 65 µs, in memory 25), and no page of a
	// person's data in a file outside the database.
	for _, p := range []string{"foreign_keys(1)", "journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "secure_delete(1)", "temp_store(2)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	// One connection, kept open: a new SQLite connection re-reads the
	// schema and re-prepares every cached statement.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	rq := url.Values{}
	for _, p := range []string{"foreign_keys(1)", "busy_timeout(10000)", "query_only(1)"} {
		rq.Add("_pragma", p)
	}
	r, err := sql.Open("sqlite", "file:"+path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	// Keep reader connections open too (measured with cmd/optin-load: 313
	// reconnects in 3,000 checks with database/sql's default of 2 idle).
	r.SetMaxOpenConns(maxReaders)
	r.SetMaxIdleConns(maxReaders)
	r.SetConnMaxIdleTime(0)
	return open(ctx, &DB{w: w, r: r, wq: make(chan struct{}, 1)}, opts)
}

// open migrates and readies s, whose handles are open.
func open(ctx context.Context, s *DB, opts []Option) (*DB, error) {
	for _, o := range opts {
		o(s)
	}
	if err := s.migrate(ctx); err != nil {
		_ = s.closeHandles() // the error above is the one to report
		return nil, err
	}
	if err := s.unifyContacts(ctx); err != nil {
		_ = s.closeHandles() // the error above is the one to report
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		_ = s.closeHandles() // the error above is the one to report
		return nil, err
	}
	s.inbox = newCommitter(s)
	return s, nil
}

func (s *DB) prepare(ctx context.Context) error {
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = s.r.PrepareContext(ctx, q)
		return st
	}
	s.consentFor = prep(consentForQuery)
	s.apiKey = prep(apiKeyQuery)
	if err != nil {
		return fmt.Errorf("store: prepare: %w", err)
	}
	return nil
}

func (s *DB) closeHandles() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// Close stops the group commit (what it holds is committed first) and
// closes the database.
func (s *DB) Close() error {
	if s.inbox != nil {
		s.inbox.stop()
	}
	s.sharedOnce.Do(func() {}) // none starts after this
	if s.shared != nil {
		s.shared.stop()
	}
	return s.closeHandles()
}

// SQL exposes the writer handle (its one connection) to tests and tools of
// this module, so that they may read and write alike. Close rows before
// calling a store method that writes: until then they hold the writer.
func (s *DB) SQL() *sql.DB { return s.w }

// tx runs f in one write transaction on the writer, committing when it
// returns nil. f must use only tx: any other write (or a store method that
// writes) would wait for the writer that f holds.
func (s *DB) tx(ctx context.Context, f func(*sql.Tx) error) error {
	return s.writeTx(ctx, true, f)
}

// txAppend is tx for writes that only append rows no other write reads
// back in its decisions (webhook intake into the inbox): on PostgreSQL
// they don't wait for other instances' writes. Within this process they
// still take the writer in turn.
func (s *DB) txAppend(ctx context.Context, f func(*sql.Tx) error) error {
	return s.writeTx(ctx, false, f)
}

func (s *DB) writeTx(ctx context.Context, installationWide bool, f func(*sql.Tx) error) error {
	if err := s.lockWriter(ctx); err != nil {
		return err
	}
	defer s.unlockWriter()
	if s.wst.hasPending() {
		s.wst.prepare(ctx, s.w)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if s.pg && installationWide {
		// Every instance's writes take their turn (pg.go).
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, writerLock); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// lockWriter waits for the writer's turn, in arrival order.
func (s *DB) lockWriter(ctx context.Context) error {
	select {
	case s.wq <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *DB) unlockWriter() { <-s.wq }

// execW runs one writing statement on the writer, outside a transaction.
func (s *DB) execW(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = s.exec(ctx, tx, query, args...)
		return err
	})
	return res, err
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
	var pe *pgconn.PgError
	if errors.As(err, &pe) && strings.HasPrefix(pe.Code, "23") { // class 23: integrity constraint violation
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
	if s.pg {
		return nil // PostgreSQL's own (auto)vacuum reclaims what was deleted
	}
	if err := s.lockWriter(ctx); err != nil {
		return mapErr("checkpoint", err)
	}
	defer s.unlockWriter()
	_, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return mapErr("checkpoint", err)
}
