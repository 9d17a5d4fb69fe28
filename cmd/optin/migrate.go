package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/optin/optin/store"
)

const migrateUsage = `usage: optin migrate --to postgres://USER@HOST/DB [--db FILE]`

// migrate copies an SQLite installation into an empty PostgreSQL database
// (README, "Growing past one machine"): every table, the ledger with its
// hashes, then checks the copy's row counts and chain there. The target
// must be empty; optin must not be running on the source.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("optin migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", envOr(getenv, "OPTIN_DB", "optin.db"), "the SQLite database file to copy ($OPTIN_DB)")
	to := fs.String("to", "", "the PostgreSQL database to copy into, an empty one: postgres://…")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *to == "" {
		return errors.New(migrateUsage)
	}
	if !store.IsPostgres(*to) {
		return fmt.Errorf("--to must be a PostgreSQL URL (postgres://…): %s", migrateUsage)
	}
	if store.IsPostgres(*dbPath) {
		return errors.New("the source must be an SQLite file: give it with --db FILE")
	}
	// Opening creates a missing file: a mistyped path must not copy an
	// empty installation.
	if _, err := os.Stat(*dbPath); err != nil {
		return fmt.Errorf("no database to copy: %w", err)
	}
	if err := store.CheckCopyTarget(ctx, *to); err != nil {
		return err
	}

	src, err := store.Open(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := store.Open(ctx, *to)
	if err != nil {
		return err
	}
	defer dst.Close()

	// One line per table as its copy begins: the ledger of a large
	// installation takes minutes (docs/POSTGRES.md).
	rep, err := src.CopyTo(ctx, dst, func(table string, rows int64) {
		fmt.Fprintf(stdout, "%-20s %10d rows\n", table, rows)
	})
	if err != nil {
		return err
	}
	var rows int64
	for _, t := range rep.Tables {
		rows += t.Rows
	}
	fmt.Fprintf(stdout, "copied %d rows in %d tables; the counts match the source\n", rows, len(rep.Tables))
	fmt.Fprintf(stdout, "verified %d events; the chain is intact\n", rep.Events)
	if rep.HeadID > 0 {
		fmt.Fprintf(stdout, "last event %d, hash %s\n", rep.HeadID, rep.HeadHash)
	}
	fmt.Fprintln(stdout, "start optin with OPTIN_DB set to the PostgreSQL URL; keep the SQLite file as it is, as a backup")
	return nil
}
