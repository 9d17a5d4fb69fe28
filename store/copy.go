package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/optin/optin/consent"
)

// Copying an SQLite installation into PostgreSQL (optin migrate --to, issue
// 12): the way a business grows from one process to several.
//
// Every table the SQLite migrations made is copied row by row with its own
// column names, ids included, so that the ledger keeps its ids and hashes and
// every reference stays what it was. The tables are found in the source's
// schema, not listed here, so a table added by a later migration is copied
// too (and the copy fails, naming it, when PostgreSQL's migrations lack it).
// What is not copied:
//
//   - schema_migrations: each engine records its own migrations;
//   - SQLite's full-text index contact_digits (and its shadow tables, and
//     contact_digits_deferred, migration 0027): an index, derived from
//     contacts, that PostgreSQL builds its own way.
//
// The rows go in as they are, in the source's insertion order, with the
// target's triggers off: what those derive is in the source too. A column
// only the target has takes its default (preference_tokens.seq numbers the
// rows in that order, as SQLite's rowid did). The statistics tables (stat_*), which
// triggers keep on both engines, are copied like the rest, last; a target
// without one of them keeps its statistics another way and is not given it.
//
// Everything happens in one PostgreSQL transaction: the target is checked to
// be empty, the migrations' own rows (the default categories and entry point)
// are replaced by the source's, the rows are copied in dependency order
// (referenced tables first), the triggers are turned back on, identity
// sequences are moved past the copied ids, and then, still inside the
// transaction, every table's rows are counted and the events' hash chain is
// walked. Any difference rolls everything back.
//
// The source is read in one transaction that holds SQLite's write lock, so
// nothing can change it meanwhile.

// CopyReport says what CopyTo copied.
type CopyReport struct {
	Tables []TableCount // in the order they were copied
	// Events, HeadID and HeadHash are what the verification of the copied
	// chain found, run on the target after the commit (and recorded in its
	// ledger_checks).
	Events   int
	HeadID   int64
	HeadHash string
}

// TableCount is one copied table and its rows.
type TableCount struct {
	Name string
	Rows int64
}

// ErrTargetNotEmpty is returned, wrapped with what was found, when the
// target of a copy already holds data.
var ErrTargetNotEmpty = errors.New("the target database is not empty")

// seededTables get rows from the migrations themselves (0001, 0003, 0022): a
// fresh target holds them, and the copy replaces them with the source's.
var seededTables = []string{"categories", "category_texts", "entry_points", "send_state", "change_version"}

// copyBatchParams bounds the parameters of one multi-row INSERT
// (PostgreSQL takes at most 65,535).
const copyBatchParams = 8000

// copyTable is one table to copy: its columns as in the source, and for
// each the target's type.
type copyTable struct {
	name    string
	cols    []string
	pgTypes []string
	order   string // ORDER BY of the source's SELECT: rowid, or the primary key
	derived bool   // a statistics table, copied after the rest
}

// CheckCopyTarget refuses, before anything is written there, a PostgreSQL
// database that holds tables of something else than optin: Open would add
// optin's tables beside them. An empty database, or one with optin's
// schema, passes; CopyTo then checks that optin's tables hold no rows.
func CheckCopyTarget(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("store: copy target: %w", err)
	}
	db := sql.OpenDB(stdlib.GetConnector(*cfg))
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() ORDER BY table_name`)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "3D000" { // invalid_catalog_name
		return fmt.Errorf("store: copy target %s: the database does not exist: create it first (createdb -O %s %s)",
			redactDSN(dsn), cfg.User, cfg.Database)
	}
	if err != nil {
		return fmt.Errorf("store: copy target %s: %w", redactDSN(dsn), err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return fmt.Errorf("store: copy target %s: %w", redactDSN(dsn), err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: copy target %s: %w", redactDSN(dsn), err)
	}
	if len(tables) == 0 || slices.Contains(tables, "schema_migrations") {
		return nil
	}
	if len(tables) > 5 {
		tables = append(tables[:5], "…")
	}
	return fmt.Errorf("%w: %s holds tables that are not optin's (%s); give an empty database",
		ErrTargetNotEmpty, redactDSN(dsn), strings.Join(tables, ", "))
}

// CopyTo copies this SQLite database into dst, a PostgreSQL database opened
// with Open (so migrated) and otherwise empty, then verifies the copy: see
// the comment at the top of this file. It refuses, writing nothing, a
// target that holds any row beyond the migrations' own (ErrTargetNotEmpty).
// progress, when not nil, is told of each table as its copy begins.
func (s *DB) CopyTo(ctx context.Context, dst *DB, progress func(table string, rows int64)) (CopyReport, error) {
	if s.Postgres() {
		return CopyReport{}, errors.New("store: copy: the source must be an SQLite database")
	}
	if !dst.Postgres() {
		return CopyReport{}, errors.New("store: copy: the target must be a PostgreSQL database")
	}
	var rep CopyReport
	// The source is read inside a write transaction, which it never uses to
	// write: holding SQLite's write lock to the end, it keeps anything else
	// from changing the source meanwhile, so nothing written during the copy
	// can be missing from it. (A running optin's writes wait and then fail:
	// stop it first.)
	err := s.tx(ctx, func(src *sql.Tx) error {
		var err error
		rep, err = copyInto(ctx, src, dst, progress)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrTargetNotEmpty) {
			return CopyReport{}, err
		}
		return CopyReport{}, fmt.Errorf("store: copy: %w (nothing was written)", err)
	}

	// Once more from outside the transaction, against the checks the source
	// recorded (ledger_checks came along): recorded in the target.
	ledger, err := dst.VerifyLedger(ctx, time.Now().UTC())
	if err != nil {
		return rep, err
	}
	if !ledger.OK() {
		return rep, fmt.Errorf("store: copy: the copied ledger does not verify: event %d: %s", ledger.FirstBad, ledger.Reason)
	}
	rep.Events, rep.HeadID, rep.HeadHash = ledger.Verified, ledger.HeadID, ledger.HeadHash
	return rep, nil
}

// copyInto copies what src reads into dst in one transaction of dst.
func copyInto(ctx context.Context, src *sql.Tx, dst *DB, progress func(string, int64)) (CopyReport, error) {
	tables, err := sourceTables(ctx, src)
	if err != nil {
		return CopyReport{}, fmt.Errorf("read source schema: %w", err)
	}
	want := make(map[string]int64, len(tables))
	for _, t := range tables {
		var n int64
		if err := src.QueryRowContext(ctx, `SELECT count(*) FROM "`+t.name+`"`).Scan(&n); err != nil {
			return CopyReport{}, fmt.Errorf("count %s: %w", t.name, err)
		}
		want[t.name] = n
	}

	var rep CopyReport
	err = dst.tx(ctx, func(tx *sql.Tx) error {
		tables, seqs, err := targetColumns(ctx, tx, tables)
		if err != nil {
			return err
		}
		if err := checkEmpty(ctx, tx, tables); err != nil {
			return err
		}
		// The target's own triggers are off while the rows go in: they
		// derive what is copied anyway (the statistics, contacts' updated_at
		// following their consents), and the counters' would update the
		// same few rows once per copied row, each update a new row version
		// within one transaction: quadratic in the rows copied (a copy of
		// 200,000 contacts ran for 10 minutes). ALTER TABLE is part of
		// the transaction, like everything here.
		for _, t := range tables {
			if _, err := tx.ExecContext(ctx, `ALTER TABLE `+t.name+` DISABLE TRIGGER USER`); err != nil {
				return fmt.Errorf("pause the triggers of %s: %w", t.name, err)
			}
		}
		// The migrations' rows go, children first.
		for _, name := range slices.Backward(seededTables) {
			if _, ok := want[name]; !ok {
				continue
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+name); err != nil {
				return fmt.Errorf("clear %s: %w", name, err)
			}
		}
		for _, t := range tables {
			if t.derived { // empty unless something wrote it meanwhile
				if _, err := tx.ExecContext(ctx, `DELETE FROM `+t.name); err != nil {
					return fmt.Errorf("clear %s: %w", t.name, err)
				}
			}
			if progress != nil {
				progress(t.name, want[t.name])
			}
			if err := copyRows(ctx, src, tx, t); err != nil {
				return err
			}
			rep.Tables = append(rep.Tables, TableCount{Name: t.name, Rows: want[t.name]})
		}
		for _, t := range tables {
			if _, err := tx.ExecContext(ctx, `ALTER TABLE `+t.name+` ENABLE TRIGGER USER`); err != nil {
				return fmt.Errorf("resume the triggers of %s: %w", t.name, err)
			}
		}
		for _, sq := range seqs {
			if _, copied := want[sq.table]; !copied {
				continue // the target's own tables are its own business
			}
			// The next id is one past the highest copied (1 when none).
			q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', '%s'), COALESCE(max(%s), 0) + 1, false) FROM %s`,
				sq.table, sq.column, sq.column, sq.table)
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("reset the sequence of %s.%s: %w", sq.table, sq.column, err)
			}
		}
		for _, t := range tables {
			var n int64
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+t.name).Scan(&n); err != nil {
				return fmt.Errorf("count %s: %w", t.name, err)
			}
			if n != want[t.name] {
				return fmt.Errorf("%s holds %d rows after the copy, the source %d", t.name, n, want[t.name])
			}
		}
		ledger, err := dst.walkLedger(ctx, tx, consent.LedgerCheck{})
		if err != nil {
			return fmt.Errorf("walk the copied ledger: %w", err)
		}
		if !ledger.OK() {
			return fmt.Errorf("the copied ledger does not verify: event %d: %s", ledger.FirstBad, ledger.Reason)
		}
		if int64(ledger.Verified) != want["events"] {
			return fmt.Errorf("the copied ledger verified %d events of %d", ledger.Verified, want["events"])
		}
		return nil
	})
	return rep, err
}

// sourceTables lists the source's tables to copy, referenced tables before
// the tables that reference them (then by name), statistics last.
func sourceTables(ctx context.Context, src *sql.Tx) ([]copyTable, error) {
	rows, err := src.QueryContext(ctx, `SELECT name, sql FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	type entry struct{ name, sql string }
	var all []entry
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.name, &e.sql); err != nil {
			rows.Close()
			return nil, err
		}
		all = append(all, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var virtual []string
	for _, e := range all {
		if strings.HasPrefix(strings.ToUpper(e.sql), "CREATE VIRTUAL TABLE") {
			virtual = append(virtual, e.name)
		}
	}
	skip := func(name string) bool {
		if name == "schema_migrations" || strings.HasPrefix(name, "sqlite_") {
			return true
		}
		for _, v := range virtual { // the index and its shadow tables
			if name == v || strings.HasPrefix(name, v+"_") {
				return true
			}
		}
		return false
	}

	byName := map[string]*copyTable{}
	deps := map[string][]string{}
	var names []string
	for _, e := range all {
		if skip(e.name) {
			continue
		}
		t := &copyTable{name: e.name, derived: strings.HasPrefix(e.name, "stat_")}
		cols, pk, err := sqliteColumns(ctx, src, e.name)
		if err != nil {
			return nil, err
		}
		t.cols = cols
		// Rows go in as SQLite made them, in rowid order, so that a
		// column the target numbers by itself (preference_tokens.seq, which
		// stands in for SQLite's rowid there) numbers them in that order
		// too. A WITHOUT ROWID table has no rowid: its primary key orders it.
		t.order = "rowid"
		if strings.Contains(strings.ToUpper(e.sql), "WITHOUT ROWID") {
			t.order = strings.Join(pk, ", ")
		}
		byName[e.name] = t
		names = append(names, e.name)
		frows, err := src.QueryContext(ctx, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, e.name)
		if err != nil {
			return nil, err
		}
		for frows.Next() {
			var ref string
			if err := frows.Scan(&ref); err != nil {
				frows.Close()
				return nil, err
			}
			if ref != e.name {
				deps[e.name] = append(deps[e.name], ref)
			}
		}
		frows.Close()
		if err := frows.Err(); err != nil {
			return nil, err
		}
	}

	// Depth-first: a table after everything it references.
	var out []copyTable
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) error
	visit = func(name string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("the foreign keys of %s form a cycle", name)
		case 2:
			return nil
		}
		state[name] = 1
		for _, ref := range deps[name] {
			if _, ok := byName[ref]; !ok {
				return fmt.Errorf("%s references %s, which is not copied", name, ref)
			}
			if err := visit(ref); err != nil {
				return err
			}
		}
		state[name] = 2
		if !byName[name].derived {
			out = append(out, *byName[name])
		}
		return nil
	}
	for _, name := range names {
		if err := visit(name); err != nil {
			return nil, err
		}
	}
	for _, name := range names {
		if byName[name].derived {
			out = append(out, *byName[name])
		}
	}
	return out, nil
}

// sqliteColumns returns a table's columns in order and its primary key's.
func sqliteColumns(ctx context.Context, src *sql.Tx, table string) (cols, pk []string, err error) {
	rows, err := src.QueryContext(ctx, `SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	pkAt := map[int]string{}
	for rows.Next() {
		var name string
		var at int
		if err := rows.Scan(&name, &at); err != nil {
			return nil, nil, err
		}
		cols = append(cols, name)
		if at > 0 {
			pkAt[at] = name
		}
	}
	for i := 1; i <= len(pkAt); i++ {
		pk = append(pk, `"`+pkAt[i]+`"`)
	}
	return cols, pk, rows.Err()
}

// serialColumn is a target column whose values come from a sequence.
type serialColumn struct{ table, column string }

// targetColumns checks that the target has every table and column to copy,
// and returns the tables with their target types (without the statistics
// tables the target does not have) and the columns fed by sequences.
func targetColumns(ctx context.Context, tx *sql.Tx, tables []copyTable) ([]copyTable, []serialColumn, error) {
	rows, err := tx.QueryContext(ctx, `SELECT c.table_name, c.column_name, c.data_type, c.is_identity, COALESCE(c.column_default, '')
		FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'`)
	if err != nil {
		return nil, nil, fmt.Errorf("read target schema: %w", err)
	}
	defer rows.Close()
	types := map[string]map[string]string{}
	var seqs []serialColumn
	for rows.Next() {
		var table, col, typ, identity, def string
		if err := rows.Scan(&table, &col, &typ, &identity, &def); err != nil {
			return nil, nil, fmt.Errorf("read target schema: %w", err)
		}
		if types[table] == nil {
			types[table] = map[string]string{}
		}
		types[table][col] = typ
		if identity == "YES" || strings.HasPrefix(def, "nextval(") {
			seqs = append(seqs, serialColumn{table, col})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read target schema: %w", err)
	}
	var missing []string
	kept := make([]copyTable, 0, len(tables))
	for _, t := range tables {
		have, ok := types[t.name]
		if !ok && t.derived {
			continue // statistics the target keeps another way
		}
		if !ok {
			missing = append(missing, "table "+t.name)
			continue
		}
		t.pgTypes = make([]string, len(t.cols))
		for j, c := range t.cols {
			typ, ok := have[c]
			if !ok {
				missing = append(missing, "column "+t.name+"."+c)
			}
			t.pgTypes[j] = typ
		}
		kept = append(kept, t)
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("the PostgreSQL schema lacks what the SQLite database has: %s", strings.Join(missing, ", "))
	}
	slices.SortFunc(seqs, func(a, b serialColumn) int { return strings.Compare(a.table+"."+a.column, b.table+"."+b.column) })
	return kept, seqs, nil
}

// checkEmpty refuses a target that holds rows in any table to copy, besides
// the migrations' own rows and the statistics.
func checkEmpty(ctx context.Context, tx *sql.Tx, tables []copyTable) error {
	var found []string
	for _, t := range tables {
		if t.derived || slices.Contains(seededTables, t.name) {
			continue
		}
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+t.name).Scan(&n); err != nil {
			return fmt.Errorf("count %s in the target: %w", t.name, err)
		}
		switch {
		case n == 1:
			found = append(found, t.name+" (1 row)")
		case n > 1:
			found = append(found, fmt.Sprintf("%s (%d rows)", t.name, n))
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("%w: it holds %s; copy into a new database (optin must not have run on it)",
			ErrTargetNotEmpty, strings.Join(found, ", "))
	}
	return nil
}

// copyRows streams one table from the source into the target with
// multi-row INSERTs.
func copyRows(ctx context.Context, src, dst *sql.Tx, t copyTable) error {
	quoted := make([]string, len(t.cols))
	for i, c := range t.cols {
		quoted[i] = `"` + c + `"`
	}
	list := strings.Join(quoted, ", ")
	rows, err := src.QueryContext(ctx, `SELECT `+list+` FROM "`+t.name+`" ORDER BY `+t.order)
	if err != nil {
		return fmt.Errorf("read %s: %w", t.name, err)
	}
	defer rows.Close()

	n := len(t.cols)
	per := max(copyBatchParams/n, 1)
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
	head := `INSERT INTO ` + t.name + ` (` + list + `) VALUES `
	stmtFor := func(k int) string { return head + strings.TrimSuffix(strings.Repeat(one+", ", k), ", ") }
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()

	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	args := make([]any, 0, per*n)
	var copied int64
	flush := func() error {
		k := len(args) / n
		if k == 0 {
			return nil
		}
		var err error
		if k == per {
			if full == nil {
				if full, err = dst.PrepareContext(ctx, stmtFor(per)); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = dst.ExecContext(ctx, stmtFor(k), args...)
		}
		args = args[:0]
		return err
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("read %s: %w", t.name, err)
		}
		for i, v := range vals {
			pv, err := pgValue(v, t.pgTypes[i])
			if err != nil {
				return fmt.Errorf("%s row %d (in the order of %s), column %s: %w", t.name, copied+1, t.order, t.cols[i], err)
			}
			args = append(args, pv)
		}
		copied++
		if len(args) == per*n {
			if err := flush(); err != nil {
				return fmt.Errorf("copy %s: %w", t.name, err)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", t.name, err)
	}
	if err := flush(); err != nil {
		return fmt.Errorf("copy %s: %w", t.name, err)
	}
	return nil
}

// pgValue converts a value read from SQLite (int64, float64, string, []byte
// or nil) for a PostgreSQL column of type typ. Text must be what PostgreSQL
// can store unchanged: a ledger hashes the bytes, so nothing is repaired.
func pgValue(v any, typ string) (any, error) {
	switch x := v.(type) {
	case string:
		if typ == "bytea" {
			return []byte(x), nil
		}
		return x, checkText(x)
	case []byte:
		if typ == "bytea" {
			return x, nil
		}
		s := string(x)
		return s, checkText(s)
	case int64:
		if typ == "boolean" {
			return x != 0, nil
		}
	}
	return v, nil
}

// checkText reports text PostgreSQL refuses in a UTF8 database.
func checkText(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return errors.New("the text holds a NUL byte, which PostgreSQL cannot store")
	}
	if !utf8.ValidString(s) {
		return errors.New("the text is not valid UTF-8, which PostgreSQL cannot store")
	}
	return nil
}
