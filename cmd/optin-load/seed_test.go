package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/store"
)

func TestSeedCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seed.db")
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"seed", "--db", path, "--contacts", "200", "--events", "900", "--batch", "64"},
		os.Getenv, &out, &errb); err != nil {
		t.Fatalf("seed: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "seeded 200 contacts, 900 events") {
		t.Errorf("output %q", out.String())
	}
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rep, err := db.VerifyLedger(context.Background(), time.Now())
	if err != nil || !rep.OK() || rep.Verified != 900 {
		t.Errorf("ledger: %+v, %v", rep, err)
	}
	// An existing file and bad numbers are refused, all problems at once.
	err = run(context.Background(), []string{"seed", "--db", path, "--contacts", "0"}, os.Getenv, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "exists") || !strings.Contains(err.Error(), "--contacts") {
		t.Errorf("second seed: %v", err)
	}
}
