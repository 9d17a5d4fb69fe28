package main

import (
	"context"
	"database/sql"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
)

func TestAuditVerify(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "optin.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, phone := range []string{"+4915112345678", "+4915112345679"} {
		if _, err := db.FixtureOptIn(ctx, store.OptInFixture{Phone: phone, Lang: "en", Categories: []string{"offers", "order_updates"},
			Target: consent.OptedIn, Wording: consent.NewWording("consent", "en", "I agree."),
			Evidence: consent.Evidence{Source: consent.SourceWebForm, IP: "203.0.113.0/24", UserAgent: "test"},
			At:       time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	audit := func(args ...string) (string, error) {
		var out strings.Builder
		err := run(ctx, append([]string{"audit"}, args...), func(string) string { return "" }, nil, &out, io.Discard)
		return out.String(), err
	}

	out, err := audit("verify", "--db", path)
	if err != nil || !strings.Contains(out, "verified 4 events; the chain is intact") {
		t.Fatalf("intact: %q, %v; want 4 events verified", out, err)
	}

	// Someone with the file changes what a person was shown to have sent.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	for _, q := range []string{`DROP TRIGGER events_no_update`, `UPDATE events SET ip = '198.51.100.0/24' WHERE id = 3`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	out, err = audit("verify", "--db", path)
	if err == nil || !strings.Contains(err.Error(), "event 3") || !strings.Contains(out, "event 3 does not match: ") {
		t.Errorf("tampered: %q, %v; want an error naming event 3", out, err)
	}

	for _, args := range [][]string{
		{"verify", "--db", filepath.Join(t.TempDir(), "typo.db")}, // no database there: not an empty, intact one
		{},
		{"check"},
	} {
		if out, err := audit(args...); err == nil {
			t.Errorf("audit %v: %q, want an error", args, out)
		}
	}
}
