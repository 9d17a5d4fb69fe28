package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/store"
	"github.com/optin/optin/store/storetest"
)

// serveUntil runs optin with env until the returned stop is called.
func serveUntil(t *testing.T, env map[string]string) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, nil, pw, io.Discard)
		pw.Close()
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	t.Cleanup(stop)
	return readURL(t, pr), stop
}

// apiAnswers asks the API about every phone: the check for each category,
// the contact, and the whole ledger page by page.
func apiAnswers(t *testing.T, base, key string, phones, categories []string) []string {
	t.Helper()
	var out []string
	ask := func(path string) {
		status, body := apiGet(t, base, key, path)
		out = append(out, fmt.Sprintf("%s → %d %s", path, status, body))
	}
	for _, p := range phones {
		for _, c := range categories {
			ask("/api/v1/check?phone=" + url.QueryEscape(p) + "&category=" + c)
		}
		ask("/api/v1/contacts/" + url.PathEscape(p))
	}
	ask("/api/v1/events?limit=1000")
	return out
}

// TestMigrateToPostgres: optin migrate --to copies a populated SQLite
// installation into PostgreSQL; optin started on PostgreSQL then answers the
// API exactly as it did on SQLite, with the same API key, for every contact;
// the copied chain verifies; a second migrate refuses the now full target.
func TestMigrateToPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pgURL := storetest.Postgres(t)
	file := filepath.Join(t.TempDir(), "optin.db")

	db, err := store.Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Seed(ctx, store.SeedOptions{Contacts: 150, Events: 500, Seed: 3, Start: time.Now().UTC().AddDate(0, -6, 0)}); err != nil {
		t.Fatal(err)
	}
	var phones []string
	rows, err := db.SQL().Query(`SELECT phone FROM contacts ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p string
		rows.Scan(&p)
		phones = append(phones, p)
	}
	rows.Close()
	db.Close()
	phones = append(phones, "+4915199999999") // nobody: the answer for an unknown number is copied too

	var keyOut strings.Builder
	if err := run(ctx, []string{"apikey", "create", "crm", "--db", file}, func(string) string { return "" }, nil, &keyOut, io.Discard); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(keyOut.String())
	categories := []string{"order_updates", "offers", "recommendations"}

	env := baseEnv(t, "sandbox", "")
	env["OPTIN_DB"] = file
	base, stop := serveUntil(t, env)
	before := apiAnswers(t, base, key, phones, categories)
	stop()

	var out, errOut strings.Builder
	if err := run(ctx, []string{"migrate", "--db", file, "--to", pgURL}, func(string) string { return "" }, nil, &out, &errOut); err != nil {
		t.Fatalf("migrate: %v\n%s%s", err, out.String(), errOut.String())
	}
	for _, want := range []string{"events", "verified 500 events; the chain is intact", "the counts match the source"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("migrate printed\n%s\nwant %q in it", out.String(), want)
		}
	}

	env["OPTIN_DB"] = pgURL
	base, stop = serveUntil(t, env)
	after := apiAnswers(t, base, key, phones, categories)
	stop()
	if len(after) != len(before) {
		t.Fatalf("%d answers on PostgreSQL, %d on SQLite", len(after), len(before))
	}
	allowed := 0
	for i := range before {
		if after[i] != before[i] {
			t.Errorf("SQLite:     %s\nPostgreSQL: %s", before[i], after[i])
		}
		if strings.Contains(before[i], `"allowed":true`) {
			allowed++
		}
	}
	if testing.Verbose() {
		t.Logf("%d answers alike, %d checks allowed; e.g.\n%s\n%s\n%s", len(before), allowed, before[0], before[3], before[len(before)-1][:300])
	}
	if allowed == 0 || !strings.Contains(before[0], "→ 200 ") {
		t.Errorf("no check was allowed (or the first failed: %s): the seed does not exercise the copy", before[0])
	}

	pg, err := store.Open(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := pg.VerifyLedger(ctx, time.Now().UTC())
	pg.Close()
	if err != nil || !rep.OK() || rep.Verified != 500 {
		t.Errorf("VerifyLedger on PostgreSQL = %+v, %v; want 500 events intact", rep, err)
	}

	out.Reset()
	err = run(ctx, []string{"migrate", "--db", file, "--to", pgURL}, func(string) string { return "" }, nil, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not empty") || !strings.Contains(err.Error(), "contacts (150 rows)") {
		t.Errorf("second migrate: err = %v, want the target refused as not empty, naming its contacts", err)
	}
}

// TestMigrateRefuses: what optin migrate refuses, before writing anything.
func TestMigrateRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "optin.db")
	db, err := store.Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	// A database of something else: optin's tables must not appear in it.
	foreign := storetest.Postgres(t)
	fdb, err := sql.Open("pgx", foreign)
	if err != nil {
		t.Fatal(err)
	}
	defer fdb.Close()
	if _, err := fdb.Exec(`CREATE TABLE invoices (id bigint)`); err != nil {
		t.Fatal(err)
	}

	missing, err := url.Parse(foreign)
	if err != nil {
		t.Fatal(err)
	}
	missing.Path += "_never_created"

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no target", []string{"migrate", "--db", file}, "usage"},
		{"target not PostgreSQL", []string{"migrate", "--db", file, "--to", "other.db"}, "PostgreSQL URL"},
		{"source is PostgreSQL", []string{"migrate", "--db", foreign, "--to", foreign}, "SQLite file"},
		{"no source file", []string{"migrate", "--db", filepath.Join(t.TempDir(), "missing.db"), "--to", foreign}, "no database to copy"},
		{"foreign tables", []string{"migrate", "--db", file, "--to", foreign}, "not optin's (invoices)"},
		{"no such database", []string{"migrate", "--db", file, "--to", missing.String()}, "does not exist: create it first"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := run(ctx, tc.args, func(string) string { return "" }, nil, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q in it", err, tc.want)
			}
		})
	}
	var n int
	if err := fdb.QueryRow(`SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&n); err != nil || n != 1 {
		t.Errorf("the foreign database has %d tables (%v), want its 1 untouched", n, err)
	}
}
