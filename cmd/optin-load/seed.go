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

const seedUsage = `usage: optin-load seed --db FILE [--contacts 1000000] [--events 5000000] [--batch 20000] [--seed 1]`

// seedCmd fills a new database file with made-up contacts and a valid
// hash chain of events (store.Seed), for measuring optin at size. It
// refuses an existing file, so that it never mixes made-up data into a
// real database.
func seedCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("optin-load seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", "", "SQLite database file to create (must not exist)")
	contacts := fs.Int("contacts", 1_000_000, "contacts to make")
	events := fs.Int("events", 5_000_000, "events to make (at least one per contact)")
	batch := fs.Int("batch", 20_000, "contacts per transaction")
	seed := fs.Uint64("seed", 1, "random seed: the same flags make the same rows")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var problems []error
	if *dbPath == "" {
		problems = append(problems, errors.New("--db is required"))
	} else if _, err := os.Stat(*dbPath); err == nil {
		problems = append(problems, fmt.Errorf("--db %s exists: seed a new file", *dbPath))
	}
	if *contacts < 1 || *events < *contacts {
		problems = append(problems, errors.New("--contacts must be at least 1 and --events at least --contacts"))
	}
	if *batch < 1 {
		problems = append(problems, errors.New("--batch must be at least 1"))
	}
	if fs.NArg() > 0 {
		problems = append(problems, errors.New(seedUsage))
	}
	if err := errors.Join(problems...); err != nil {
		return err
	}
	start := time.Now()
	db, err := store.Open(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	last := start
	rep, err := db.Seed(ctx, store.SeedOptions{Contacts: *contacts, Events: *events, Batch: *batch, Seed: *seed,
		Progress: func(c, e int) {
			if time.Since(last) >= 5*time.Second || c == *contacts {
				last = time.Now()
				fmt.Fprintf(stderr, "%9d contacts %10d events  %s\n", c, e, time.Since(start).Round(time.Second))
			}
		}})
	if err != nil {
		return err
	}
	if err := db.Checkpoint(ctx); err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Fprintf(stdout, "seeded %d contacts, %d events, %d consents in %s (%.0f events/s)\n",
		rep.Contacts, rep.Events, rep.Consents, took.Round(time.Millisecond), float64(rep.Events)/took.Seconds())
	fmt.Fprintf(stdout, "last event %d, hash %s (optin audit verify --db %s should print the same)\n", rep.HeadID, rep.HeadHash, *dbPath)
	return nil
}
