package main

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/store"
)

// landedLevels are the sets of migrations databases were made with, one per
// commit that added or changed a migration (git log -- store/migrations),
// in the files' state at that commit. "name@commit" is a file as it was
// before a later edit, kept in store/testdata/landed/; a bare name is the
// file as it is now (unchanged since it landed).
var landedLevels = []struct {
	commit string
	files  []string
}{
	{"87fefc2", []string{"0001_init.sql", "0002_mo.sql", "0003_entry_points.sql"}},
	{"d24d223", []string{"0001_init.sql", "0002_mo.sql", "0003_entry_points.sql", "0004_preferences.sql"}},
	{"ae8d2c4", []string{"0001_init.sql", "0002_mo.sql", "0003_entry_points.sql", "0004_preferences.sql", "0005_admin.sql"}},
	{"3fcb863", []string{"0001_init.sql", "0002_mo.sql", "0003_entry_points.sql", "0004_preferences.sql", "0007_search.sql@3fcb863"}},
	{"78f8c65", []string{"0001_init.sql", "0002_mo.sql", "0003_entry_points.sql", "0004_preferences.sql", "0009_settings.sql"}},
	{"06d0426", []string{"0001_init.sql", "0002_mo.sql", "0003_entry_points.sql", "0004_preferences.sql", "0008_catalog.sql"}},
	{"d12582c", []string{"0001_init.sql", "0002_mo.sql", "0003_entry_points.sql", "0004_preferences.sql", "0010_stats.sql@d12582c"}},
	{"9cb455c", []string{"0001_init.sql", "0002_mo.sql", "0003_entry_points.sql", "0004_preferences.sql", "0006_api.sql"}},
	{"4231b55", []string{"0001_init.sql", "0002_mo.sql", "0003_entry_points.sql", "0004_preferences.sql", "0005_admin.sql", "0007_search.sql"}},
	{"a1a593c", []string{"0001_init.sql", "0002_mo.sql", "0003_entry_points.sql", "0004_preferences.sql", "0005_admin.sql", "0010_stats.sql@a1a593c"}},
	// main before the branches met: every migration, 0007 and 0010 as first landed.
	{"main@d12582c", []string{"0001_init.sql", "0002_mo.sql", "0003_entry_points.sql", "0004_preferences.sql", "0005_admin.sql",
		"0006_api.sql", "0007_search.sql@3fcb863", "0008_catalog.sql", "0009_settings.sql", "0010_stats.sql@d12582c"}},
	{"main@a1a593c", []string{"0001_init.sql", "0002_mo.sql", "0003_entry_points.sql", "0004_preferences.sql", "0005_admin.sql",
		"0006_api.sql", "0007_search.sql", "0008_catalog.sql", "0009_settings.sql", "0010_stats.sql@a1a593c", "0011_entry_via.sql"}},
	{"2512b8d", []string{"0001_init.sql", "0002_mo.sql", "0003_entry_points.sql", "0004_preferences.sql", "0005_admin.sql",
		"0006_api.sql", "0007_search.sql", "0008_catalog.sql", "0009_settings.sql", "0010_stats.sql", "0011_entry_via.sql"}},
}

// makeLandedDB makes a database the way the runner of the time did: each
// file run in order, recorded in schema_migrations without a checksum.
func makeLandedDB(t *testing.T, path string, files []string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		name, commit, old := strings.Cut(f, "@")
		src := filepath.Join("..", "..", "store", "migrations", name)
		if old {
			src = filepath.Join("..", "..", "store", "testdata", "landed", name+"."+commit)
		}
		body, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (?, ?, ?)`, name[:4], name, time.Now().UTC().Format(time.RFC3339)); err != nil {
			t.Fatal(err)
		}
		_ = i
	}
	// Events counted before the upgrade, where the counts existed: the
	// repaired totals must include them.
	var hasStats int
	db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'stat_events'`).Scan(&hasStats)
	if hasStats == 1 {
		if _, err := db.Exec(`INSERT INTO stat_events (day, type, category, source, n) VALUES ('2026-11-30', 'opt_in', 'offers', 'web_form', 7)`); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUpgradeFromEveryLandedLevel makes a database at each level of the
// migrations' history from the files as they were, then starts optin on
// it: it upgrades and /metrics answers from the database.
func TestUpgradeFromEveryLandedLevel(t *testing.T) {
	for _, lvl := range landedLevels {
		t.Run(lvl.commit, func(t *testing.T) {
			t.Parallel()
			env := baseEnv(t, "sandbox", "")
			makeLandedDB(t, env["OPTIN_DB"], lvl.files)
			base := startOptin(t, env)
			resp, err := http.Get(base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), "optin_database_up 1") {
				t.Fatalf("/metrics = %d, database_up 1 missing:\n%.600s", resp.StatusCode, body)
			}
			if strings.HasSuffix(lvl.files[len(lvl.files)-1], "stats.sql@d12582c") || strings.Contains(strings.Join(lvl.files, " "), "0010") {
				want := `optin_consent_events_total{type="opt_in",category="offers",source="web_form"} 7`
				if !strings.Contains(string(body), want) {
					t.Errorf("/metrics lacks the events counted before the upgrade (%s)", want)
				}
			}
		})
	}
}

// TestServeRefusesAnEditedMigration: a migration whose file differs from
// what the database applied stops serve at start, naming the file.
func TestServeRefusesAnEditedMigration(t *testing.T) {
	t.Parallel()
	env := baseEnv(t, "sandbox", "")
	db, err := store.Open(context.Background(), env["OPTIN_DB"])
	if err != nil {
		t.Fatal(err)
	}
	// The same as shipping a binary whose 0010_stats.sql was edited after
	// this database ran it: the recorded and the embedded sums differ.
	if _, err := db.SQL().Exec(`UPDATE schema_migrations SET checksum = ? WHERE version = 10`, strings.Repeat("0", 64)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	getenv := func(k string) string { return env[k] }
	err = run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0"}, getenv, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "0010_stats.sql") || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("serve on a database with an edited migration: %v, want a refusal naming 0010_stats.sql", err)
	}
}

// TestSandboxOnlyWithSandboxProvider: a real provider has no /sandbox; the
// sandbox provider's goes behind sign-in with OPTIN_SANDBOX_ACCESS=admin, and
// a wrong value stops serve.
func TestSandboxOnlyWithSandboxProvider(t *testing.T) {
	t.Parallel()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(base string) int {
		resp, err := noRedirect.Get(base + "/sandbox")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	fake := newFakeProvider(t, nil)
	if code := get(startOptin(t, baseEnv(t, "360dialog", fake.URL))); code != http.StatusNotFound {
		t.Errorf("/sandbox with 360dialog = %d, want 404", code)
	}
	if code := get(startOptin(t, baseEnv(t, "sandbox", ""))); code != http.StatusOK {
		t.Errorf("/sandbox with the sandbox provider = %d, want 200", code)
	}
	env := baseEnv(t, "sandbox", "")
	env["OPTIN_SANDBOX_ACCESS"] = "admin"
	if code := get(startOptin(t, env)); code != http.StatusSeeOther {
		t.Errorf("/sandbox behind sign-in, signed out = %d, want 303", code)
	}
	env["OPTIN_SANDBOX_ACCESS"] = "everyone"
	getenv := func(k string) string { return env[k] }
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0"}, getenv, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "OPTIN_SANDBOX_ACCESS") {
		t.Errorf("serve with OPTIN_SANDBOX_ACCESS=everyone: %v, want a refusal naming it", err)
	}
}
