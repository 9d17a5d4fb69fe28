package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A migration that has landed is history: databases everywhere ran it as it
// was then. The runner stores each migration's SHA-256 when it applies it
// and refuses to start when an applied migration's file no longer matches,
// naming the file, so that an edit is caught at the first start instead of
// leaving older databases with a different schema than newer ones (0010 was
// edited twice after landing; 0013 repairs what that left behind).
//
// Databases migrated before the checksums existed get them filled on their
// first start from the embedded files: what they ran cannot be known any
// more, and 0013 repairs the one known difference.

// migration is one embedded migrations/NNNN_name.sql.
type migration struct {
	version  int
	name     string // file name, e.g. 0010_stats.sql
	body     string
	checksum string // hex SHA-256 of body
}

// embeddedMigrations lists the embedded migrations in version order.
func embeddedMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("store: list migrations: %w", err)
	}
	sort.Strings(names)
	var out []migration
	seen := map[int]string{}
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("store: migration %s: no number", base)
		}
		if other, dup := seen[version]; dup {
			return nil, fmt.Errorf("store: migrations %s and %s have the same number", other, base)
		}
		seen[version] = base
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", base, err)
		}
		sum := sha256.Sum256(body)
		out = append(out, migration{version: version, name: base, body: string(body), checksum: hex.EncodeToString(sum[:])})
	}
	return out, nil
}

// MigrationChangedError is returned by Open when a migration the database
// has applied differs from the embedded file of the same number.
type MigrationChangedError struct {
	Name         string // the embedded file
	Applied      string // checksum recorded when it was applied
	Embedded     string // checksum of the file now
	AppliedAsKey string // the file name the database recorded
}

func (e *MigrationChangedError) Error() string {
	return fmt.Sprintf("store: migration %s changed after it was applied to this database "+
		"(applied as %s with SHA-256 %s, the file now has %s): a landed migration is never edited; "+
		"restore the file and put the change in a new migration", e.Name, e.AppliedAsKey, e.Applied, e.Embedded)
}

func (s *DB) migrate(ctx context.Context) error {
	if s.pg {
		sub, err := fs.Sub(migrationsPG, "migrations_pg")
		if err != nil {
			return err
		}
		return s.migrateFrom(ctx, dirFS{sub})
	}
	return s.migrateFrom(ctx, migrations)
}

// dirFS shows a PostgreSQL migrations directory as migrations/, the name
// embeddedMigrations reads.
type dirFS struct{ fs.FS }

func (d dirFS) Open(name string) (fs.File, error) {
	if name == "migrations" {
		return d.FS.Open(".")
	}
	if rest, ok := strings.CutPrefix(name, "migrations/"); ok {
		return d.FS.Open(rest)
	}
	return nil, fs.ErrNotExist
}

// migrateFrom applies the migrations of fsys the database lacks, each in its
// own transaction, after checking every applied one against its file.
func (s *DB) migrateFrom(ctx context.Context, fsys fs.FS) (err error) {
	if s.pg {
		// Two instances starting at once migrate one after the other.
		if err := s.tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL, checksum TEXT NOT NULL DEFAULT '')`)
			return err
		}); err != nil {
			return fmt.Errorf("store: create schema_migrations: %w", err)
		}
	} else if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	hasChecksum := 1
	if s.pg {
		// created with it
	} else if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('schema_migrations') WHERE name = 'checksum'`).Scan(&hasChecksum); err != nil {
		return fmt.Errorf("store: read schema_migrations: %w", err)
	}
	if hasChecksum == 0 {
		if _, err := s.w.ExecContext(ctx, `ALTER TABLE schema_migrations ADD COLUMN checksum TEXT NOT NULL DEFAULT ''`); err != nil {
			return fmt.Errorf("store: add schema_migrations.checksum: %w", err)
		}
	}
	all, err := embeddedMigrations(fsys)
	if err != nil {
		return err
	}
	if err := s.checkPreLedger(ctx); err != nil {
		return err
	}
	if !s.pg {
		// A migration that rebuilds a table (SQLite cannot change a
		// constraint in place) drops the old one, which the foreign keys of
		// other tables reference: SQLite's documented way is to turn them
		// off around the change and check them before it commits. The
		// writer has one connection, and the pragma is a no-op inside a
		// transaction, so it is set here, between them.
		//
		// Such a rebuild also rewrites (secure_delete) every page of the old
		// table inside the transaction, and SQLite journals each for the
		// statement: with the writer's temp_store in memory, that journal
		// held gigabytes of a large ledger in RAM. Migrations put it in a
		// temporary file.
		var temp int
		if err := s.w.QueryRowContext(ctx, `PRAGMA temp_store`).Scan(&temp); err != nil {
			return fmt.Errorf("store: migrations: %w", err)
		}
		if _, err := s.w.ExecContext(ctx, `PRAGMA foreign_keys = OFF; PRAGMA temp_store = FILE`); err != nil {
			return fmt.Errorf("store: migrations: %w", err)
		}
		defer func() {
			// Never left off: a writer with foreign keys off would accept
			// rows that reference nothing. If this fails, Open fails.
			_, rerr := s.w.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON; PRAGMA temp_store = `+strconv.Itoa(temp))
			if rerr != nil && err == nil {
				err = fmt.Errorf("store: after migrations: %w", rerr)
			}
		}()
	}
	for _, m := range all {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var name, sum string
			err := tx.QueryRowContext(ctx, `SELECT name, checksum FROM schema_migrations WHERE version = ?`, m.version).Scan(&name, &sum)
			switch {
			case err == sql.ErrNoRows:
				if _, err := tx.ExecContext(ctx, m.body); err != nil {
					return err
				}
				if err := s.foreignKeysHold(ctx, tx); err != nil {
					return err
				}
				_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES (?, ?, ?, ?)`,
					m.version, m.name, ts(time.Now()), m.checksum)
				return err
			case err != nil:
				return err
			case sum == "":
				_, err = tx.ExecContext(ctx, `UPDATE schema_migrations SET checksum = ? WHERE version = ?`, m.checksum, m.version)
				return err
			case sum != m.checksum:
				return &MigrationChangedError{Name: m.name, Applied: sum, Embedded: m.checksum, AppliedAsKey: name}
			}
			return nil
		})
		if err != nil {
			if _, ok := err.(*MigrationChangedError); ok {
				return err
			}
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
	}
	return nil
}

// foreignKeysHold fails when a row of SQLite's references a row that is
// not there (after a migration ran with foreign keys off).
func (s *DB) foreignKeysHold(ctx context.Context, tx *sql.Tx) error {
	if s.pg {
		return nil
	}
	var table, parent string
	var rowid sql.NullInt64
	var fk int
	err := tx.QueryRowContext(ctx, `PRAGMA foreign_key_check`).Scan(&table, &rowid, &parent, &fk)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("a row of %s (rowid %d) references a missing row of %s", table, rowid.Int64, parent)
}

// checkPreLedger refuses a database made by 0001_init.sql as it was in the
// first hour of the project (before commit 87fefc2 added the events' hash
// chain): its events lack the hash columns, which no SQL migration can fill
// (the canonical form is computed in Go), and it would fail later in ways
// that name nothing. No release carried that schema.
func (s *DB) checkPreLedger(ctx context.Context) error {
	if s.pg {
		return nil
	}
	var events, hash int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'events'`).Scan(&events); err != nil {
		return fmt.Errorf("store: read schema: %w", err)
	}
	if events == 0 {
		return nil
	}
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('events') WHERE name = 'hash'`).Scan(&hash); err != nil {
		return fmt.Errorf("store: read schema: %w", err)
	}
	if hash == 0 {
		return fmt.Errorf("store: this database was made by 0001_init.sql from before the event hash chain (commit 87fefc2) " +
			"and cannot be upgraded: start optin on a new database file")
	}
	return nil
}
