package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmts caches prepared statements of one handle (the writer or the reader
// pool). modernc's SQLite spends as long parsing a short statement as
// running it, and the opt-in path runs about ten of them per transaction.
//
// A cached *sql.Stmt belongs to its *sql.DB; database/sql keeps the driver
// statement per connection and, inside a transaction, Tx.StmtContext uses
// (or prepares) it on the transaction's own connection. So nothing here ever
// asks for a second connection while a transaction is open, and no lock is
// held while preparing: a statement missing from the writer's cache runs
// unprepared inside the transaction that wanted it and is prepared on the
// writer just before the next transaction begins, when the writer's one
// connection is free for it (see (*DB).tx). The store before issue 11
// prepared on the pool from inside a transaction, holding a mutex: the
// transaction holding SQLite's write lock then waited for a connection that
// only the transactions waiting for that lock could free.
type stmts struct {
	mu      sync.Mutex
	cache   map[string]*sql.Stmt
	pending map[string]bool
}

// get returns the cached statement for query, or nil after noting query as
// wanted.
func (c *stmts) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.cache[query]; ok {
		return st
	}
	if c.pending == nil {
		c.pending = map[string]bool{}
	}
	c.pending[query] = true
	return nil
}

// prepare prepares the statements wanted since the last call on db. It must
// not run inside a transaction on db (the writer has one connection).
func (c *stmts) prepare(ctx context.Context, db *sql.DB) {
	c.mu.Lock()
	var todo []string
	for q := range c.pending {
		todo = append(todo, q)
	}
	c.pending = nil
	c.mu.Unlock()
	for _, q := range todo {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			continue // it runs unprepared, and reports its error there
		}
		c.mu.Lock()
		if c.cache == nil {
			c.cache = map[string]*sql.Stmt{}
		}
		if _, dup := c.cache[q]; dup {
			st.Close()
		} else {
			c.cache[q] = st
		}
		c.mu.Unlock()
	}
}

// hasPending reports whether statements wait to be prepared.
func (c *stmts) hasPending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) > 0
}

// cacheOf returns the statement cache of tx's handle: a cached statement
// may only be used in a transaction of the handle it was prepared on.
func (s *DB) cacheOf(tx *sql.Tx) *stmts {
	if _, ok := s.readTxs.Load(tx); ok {
		return &s.rst
	}
	return &s.wst
}

// exec runs a (cached when possible) statement in tx.
func (s *DB) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.cacheOf(tx).get(query); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// queryRow runs a (cached when possible) single-row query in tx; with a
// nil tx, on the reader pool outside any transaction (readRow).
func (s *DB) queryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if tx == nil {
		return s.readRow(ctx, query, args...)
	}
	if st := s.cacheOf(tx).get(query); st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// readStmt returns a statement prepared on the reader pool, preparing it on
// first use (outside any transaction, no lock held while preparing).
func (s *DB) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := s.rst.get(query); st != nil {
		return st, nil
	}
	s.rst.prepare(ctx, s.r)
	if st := s.rst.get(query); st != nil {
		return st, nil
	}
	return s.r.PrepareContext(ctx, query) // failed above: report why
}

// readRow runs a single-row query on the reader pool with its cached
// statement (the hot reads of webhook processing: modernc's SQLite spends
// as long parsing a short query as running it).
func (s *DB) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.readStmt(ctx, query)
	if err != nil {
		return s.r.QueryRowContext(ctx, query, args...) // reports the error through Scan
	}
	return st.QueryRowContext(ctx, args...)
}
