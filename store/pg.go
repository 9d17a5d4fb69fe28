package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL runs the same store code as SQLite. The store writes its
// queries once, in the SQL both engines share, with SQLite's ? placeholders;
// pgQuery rewrites each query for PostgreSQL when a connection first sees
// it. What differs beyond that (the schema, full-text search, JSON, the
// file's own upkeep) is chosen in Go where it is used, by s.pg.
//
// Writes keep SQLite's model on PostgreSQL: one writing transaction at a
// time for the whole installation, every instance included, serialized by
// a transaction-scoped advisory lock taken first in each (see (*DB).tx).
// The store reads a snapshot and records a plan inside that transaction,
// and the events' hash chain needs its appends in order; both stay true
// across instances without any per-query locking. Reads, and webhook
// intake (rows appended to the inbox, which no decision reads: txAppend),
// run in parallel across instances.

// writerLock is the advisory lock key every writing transaction holds.
const writerLock = 0x6f7074696e // "optin"

// IsPostgres reports whether dsn names a PostgreSQL database rather than an
// SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Postgres reports whether the store runs on PostgreSQL.
func (s *DB) Postgres() bool { return s.pg }

// openPostgres opens the writer and reader pools on the database at dsn.
func openPostgres(ctx context.Context, dsn string, readers int) (w, r *sql.DB, err error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("store: open: %w", err)
	}
	open := func(max int) *sql.DB {
		db := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
		db.SetMaxOpenConns(max)
		db.SetMaxIdleConns(max)
		return db
	}
	// The writer pool: one connection for the writing transaction, others
	// for the statements that write outside one (the group commit's
	// waiting, migrations' checks).
	w, r = open(4), open(readers)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, nil, fmt.Errorf("store: open %s: %w", redactDSN(dsn), err)
	}
	return w, r, nil
}

// Display returns dsn fit for logs and messages: an SQLite path as it is, a
// PostgreSQL URL without its password and parameters.
func Display(dsn string) string {
	if !IsPostgres(dsn) {
		return dsn
	}
	return redactDSN(dsn)
}

// redactDSN drops the password from a connection URL for messages.
func redactDSN(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "postgres://…"
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// pgConnector hands out connections whose queries are rewritten by pgQuery.
type pgConnector struct{ driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{conn.(*stdlib.Conn)}, nil
}

// pgConn is pgx's database/sql connection, with every query rewritten.
type pgConn struct{ *stdlib.Conn }

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(pgQuery(query))
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, pgQuery(query))
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, pgQuery(query), args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, pgQuery(query), args)
}

// CheckNamedValue passes booleans as 0 and 1: the schema keeps SQLite's
// integer flags on both engines.
func (c *pgConn) CheckNamedValue(v *driver.NamedValue) error {
	if b, ok := v.Value.(bool); ok {
		v.Value = int64(0)
		if b {
			v.Value = int64(1)
		}
		return nil
	}
	return c.Conn.CheckNamedValue(v)
}

// pgQueries caches rewritten queries: the store's queries are constants, or
// built from a few constant parts.
var pgQueries sync.Map // string → string

// pgQuery rewrites a query written for SQLite for PostgreSQL:
//   - each ? outside quotes becomes $1, $2, … in order;
//   - x” (an empty blob) becomes ”::bytea;
//   - the comment /*skip locked*/ becomes FOR UPDATE SKIP LOCKED, so that
//     instances claiming work at once each take different rows.
func pgQuery(q string) string {
	if v, ok := pgQueries.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte // the open quote, or 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == 'x' && strings.HasPrefix(q[i:], "x''") && (i == 0 || !isWordByte(q[i-1])):
			b.WriteString("''::bytea") // SQLite's empty blob
			i += 2
			continue
		case c == '?':
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		case c == '-' && strings.HasPrefix(q[i:], "--"):
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				end = len(q) - i
			}
			b.WriteString(q[i : i+end])
			i += end - 1
			continue
		case c == '/' && strings.HasPrefix(q[i:], "/*skip locked*/"):
			b.WriteString("FOR UPDATE SKIP LOCKED")
			i += len("/*skip locked*/") - 1
			continue
		}
		b.WriteByte(c)
	}
	out := b.String()
	pgQueries.Store(q, out)
	return out
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// pick returns the query for the engine the store runs on.
func (s *DB) pick(sqlite, postgres string) string {
	if s.pg {
		return postgres
	}
	return sqlite
}
