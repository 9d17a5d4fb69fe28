package store

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/optin/optin/consent"
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

// TestEventsHashMigration upgrades a database with a ledger from 0023 to
// 0024, which rebuilds events without the UNIQUE on hash: every event is
// still there with its hash, the chain verifies, the table is still
// append-only, every foreign key still holds, and the hash has no index.
func TestEventsHashMigration(t *testing.T) {
	sqliteOnly(t, "rebuilds a SQLite table; PostgreSQL's 0024 drops the constraint in place")
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()

	// A ledger made by today's store: opt-ins, an opt-out, an erasure.
	src, err := Open(ctx, filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		phone := "+49151000000" + strconv.Itoa(10+i)
		if _, err := src.RecordConsent(ctx, write(phone, "offers", consent.OptedIn, t0)); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := src.RecordConsent(ctx, write(phone, "offers", consent.OptedOut, t0.Add(time.Minute))); err != nil {
				t.Fatal(err)
			}
		}
	}
	c, err := src.ContactByPhone(ctx, "+4915100000010")
	if err != nil {
		t.Fatal(err)
	}
	if err := src.EraseContact(ctx, c.ID, consent.Tombstone{PhoneHash: "hash+4915100000010", Reason: "api",
		At: t0.Add(time.Hour), Event: consent.EventErased, Source: consent.SourceAPI}); err != nil {
		t.Fatal(err)
	}
	src.Close()

	// The same rows in a database migrated up to 0023.
	path := filepath.Join(dir, "old.db")
	old := rawDB(t, path)
	before := fstest.MapFS{}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if filepath.Base(name) < "0024" {
			body, _ := fs.ReadFile(migrations, name)
			before[name] = &fstest.MapFile{Data: body}
		}
	}
	if err := old.migrateFrom(ctx, before); err != nil {
		t.Fatal(err)
	}
	var unique int
	old.w.QueryRow(`SELECT count(*) FROM pragma_index_list('events') WHERE "unique" = 1`).Scan(&unique)
	if unique != 1 {
		t.Fatalf("before 0024 events has %d unique indexes, want 1 (hash)", unique)
	}
	if _, err := old.w.Exec(`ATTACH DATABASE ? AS src`, filepath.Join(dir, "src.db")); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"contacts", "wordings", "events", "consents", "tombstones"} {
		if _, err := old.w.Exec(`INSERT OR IGNORE INTO main.` + table + ` SELECT * FROM src.` + table); err != nil {
			t.Fatalf("copy %s: %v", table, err)
		}
	}
	const idsAndHashes = `SELECT id, hash FROM events ORDER BY id`
	want := scanAll(t, old.w, idsAndHashes)
	old.w.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open runs 0024: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if got := scanAll(t, db.w, idsAndHashes); len(got) < 40 || !reflect.DeepEqual(got, want) {
		t.Fatalf("events after 0024: %d, before %d (or they differ: %s)", len(got), len(want), firstDiff(got, want))
	}
	rep, err := db.VerifyLedger(ctx, t0.Add(2*time.Hour))
	if err != nil || !rep.OK() || rep.Verified != len(want) {
		t.Fatalf("ledger after 0024: %+v, %v", rep, err)
	}
	if _, err := db.w.Exec(`UPDATE events SET state = 'opted_out' WHERE id = 2`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("update after 0024: %v, want append-only", err)
	}
	if _, err := db.w.Exec(`DELETE FROM events WHERE id = 2`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("delete after 0024: %v, want append-only", err)
	}
	var fkOff, hashIndexed int
	db.w.QueryRow(`SELECT count(*) FROM pragma_foreign_key_check`).Scan(&fkOff)
	db.w.QueryRow(`SELECT count(*) FROM pragma_index_list('events') il, pragma_index_info(il.name) ii WHERE ii.name = 'hash'`).Scan(&hashIndexed)
	if fkOff != 0 || hashIndexed != 0 {
		t.Errorf("after 0024: %d foreign key violations, %d indexes on hash; want 0, 0", fkOff, hashIndexed)
	}
	var fk, temp int
	db.w.QueryRow(`PRAGMA foreign_keys`).Scan(&fk)
	db.w.QueryRow(`PRAGMA temp_store`).Scan(&temp)
	if fk != 1 || temp != 2 {
		t.Errorf("after the migrations the writer has foreign_keys %d, temp_store %d; want 1 and 2 (memory), as Open sets them", fk, temp)
	}
}
