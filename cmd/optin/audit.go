package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/optin/optin/store"
)

const auditUsage = `usage: optin audit verify [--db FILE]`

// audit proves the evidence: optin audit verify walks the events' hash
// chain and reports the first event that does not match (an error, so the
// process exits 1) or how many it verified.
func audit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return errors.New(auditUsage)
	}
	fs := flag.NewFlagSet("optin audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", envOr(getenv, "OPTIN_DB", "optin.db"), "SQLite database file or postgres:// URL ($OPTIN_DB)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New(auditUsage)
	}
	// Opening creates a missing file, and an empty ledger verifies: a
	// mistyped path must not pass for an intact chain.
	if store.IsPostgres(*dbPath) {
		// PostgreSQL: the database must exist for Open to connect.
	} else if _, err := os.Stat(*dbPath); err != nil {
		return fmt.Errorf("no database to audit: %w", err)
	}
	db, err := store.Open(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()

	rep, err := db.VerifyLedger(ctx, time.Now().UTC())
	if err != nil {
		return err
	}
	if !rep.OK() {
		fmt.Fprintf(stdout, "event %d does not match: %s\n", rep.FirstBad, rep.Reason)
		return fmt.Errorf("the ledger is not intact from event %d on (%d events before it verified)", rep.FirstBad, rep.Verified)
	}
	fmt.Fprintf(stdout, "verified %d events; the chain is intact\n", rep.Verified)
	if rep.HeadID > 0 {
		// Written down outside optin, this proves later that nothing up to
		// here was rewritten.
		fmt.Fprintf(stdout, "last event %d, hash %s\n", rep.HeadID, rep.HeadHash)
	}
	return nil
}
