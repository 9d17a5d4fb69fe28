package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmts prepares each query once per connection. modernc's SQLite spends
// as long parsing a short statement as running it, and the opt-in path runs
// about ten of them per transaction.
type stmts struct {
	mu    sync.Mutex
	cache map[string]*sql.Stmt
}

func (s *DB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	if st, ok := s.stmts.cache[query]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if s.stmts.cache == nil {
		s.stmts.cache = map[string]*sql.Stmt{}
	}
	s.stmts.cache[query] = st
	return st, nil
}

// exec runs a cached statement in tx.
func (s *DB) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
}

// queryRow runs a cached single-row query in tx.
func (s *DB) queryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	st, err := s.stmt(ctx, query)
	if err != nil {
		// Let Scan report it: run the query unprepared.
		return tx.QueryRowContext(ctx, query, args...)
	}
	return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}
