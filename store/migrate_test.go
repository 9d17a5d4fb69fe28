package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// rawDB opens path without migrating.
func rawDB(t *testing.T, path string) *DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &DB{w: db, r: db, wq: make(chan struct{}, 1)}
}

func TestMigrationChecksums(t *testing.T) {
	sqliteOnly(t, "runs SQLite migrations")
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "optin.db")
	fsys := fstest.MapFS{
		"migrations/0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER) STRICT;")},
		"migrations/0002_b.sql": {Data: []byte("CREATE TABLE b (x INTEGER) STRICT;")},
	}
	db := rawDB(t, path)
	// A database of the runner before checksums: no checksum column.
	if _, err := db.w.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT;
		CREATE TABLE a (x INTEGER) STRICT; INSERT INTO schema_migrations VALUES (1, '0001_a.sql', '2026-11-01T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	if err := db.migrateFrom(ctx, fsys); err != nil {
		t.Fatalf("first start: %v", err)
	}
	all, _ := embeddedMigrations(fsys)
	for _, m := range all {
		var sum string
		if err := db.w.QueryRow(`SELECT checksum FROM schema_migrations WHERE version = ?`, m.version).Scan(&sum); err != nil || sum != m.checksum {
			t.Errorf("checksum of %s = %q (%v), want %s", m.name, sum, err, m.checksum)
		}
	}
	// A later start with the same files is fine; with 0001 edited it is refused.
	if err := db.migrateFrom(ctx, fsys); err != nil {
		t.Fatalf("second start: %v", err)
	}
	fsys["migrations/0001_a.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE a (x INTEGER, y TEXT) STRICT;")}
	fsys["migrations/0003_c.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE c (x INTEGER) STRICT;")}
	err := db.migrateFrom(ctx, fsys)
	var changed *MigrationChangedError
	if !errors.As(err, &changed) || changed.Name != "0001_a.sql" || !strings.Contains(err.Error(), "0001_a.sql") {
		t.Fatalf("start with an edited 0001: %v, want MigrationChangedError naming 0001_a.sql", err)
	}
	var n int
	db.w.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'c'`).Scan(&n)
	if n != 0 {
		t.Error("a later migration ran although an earlier one was refused")
	}
}

// TestPreLedgerDatabaseRefused: a database made by 0001 as it was before the
// hash chain (commit 2279715) is refused with a message saying so.
func TestPreLedgerDatabaseRefused(t *testing.T) {
	sqliteOnly(t, "runs SQLite migrations")
	t.Parallel()
	path := filepath.Join(t.TempDir(), "optin.db")
	db := rawDB(t, path)
	body, err := os.ReadFile("testdata/landed/0001_init.sql.2279715")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT;
		INSERT INTO schema_migrations VALUES (1, '0001_init.sql', '2026-11-22T05:30:00Z');` + string(body)); err != nil {
		t.Fatal(err)
	}
	db.w.Close()
	_, err = Open(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "hash chain") {
		t.Fatalf("Open of a pre-ledger database: %v, want a refusal naming the hash chain", err)
	}
}
