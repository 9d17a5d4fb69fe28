package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
	"github.com/optin/optin/web/i18n"
)

// The console's contact pages over HTTP (loopback, a signed-in admin's
// cookie), on a small seed of their own (5,000 contacts, 25,000 events)
// or on the database OPTIN_BENCH_DB names, e.g. one made by
// optin-load seed with 1,000,000 contacts and 5,000,000 events:
//
//	OPTIN_BENCH_DB=/tmp/big.db go test ./web/ -run '^$' -bench AdminContact -benchtime 2s
//
// BenchmarkAdminContactBaseline is GET /healthz through the same client:
// the ratios divide by it. On OPTIN_BENCH_DB the benchmarks add one console
// user (and its sign-in audit rows) to the file; nothing else is written.

func benchContactsEnv(b *testing.B) (*env, *adminClient) {
	b.Helper()
	path := os.Getenv("OPTIN_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.db")
		db, err := store.Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Seed(context.Background(), store.SeedOptions{Contacts: 5000, Events: 25000, Seed: 1}); err != nil {
			b.Fatal(err)
		}
		db.Close()
	} else if _, err := os.Stat(path); err != nil {
		b.Fatalf("OPTIN_BENCH_DB: %v", err)
	}
	e := benchEnvAt(b, path)
	return e, e.signIn(consent.RoleAdmin)
}

// benchEnvAt is the server of the benchmarks on the database file at path.
func benchEnvAt(b *testing.B, path string) *env {
	b.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	clock := &fixedClock{t: time.Now().UTC()}
	svc := consent.NewService(db, clock, i18n.T, consent.Config{BusinessName: "Acme", DefaultRegion: "DE", Mode: consent.Single,
		WelcomeTemplate: "optin_welcome", WelcomeLanguage: "en"})
	srv := New(Config{BaseURL: "http://optin.test", BusinessName: "Acme", DefaultRegion: "DE", WebhookSecret: "s3cret",
		LinkKey: []byte("0123456789abcdef0123456789abcdef"), Health: db.Ping, Clock: clock},
		svc, slog.New(slog.DiscardHandler))
	ts := httptest.NewServer(srv)
	b.Cleanup(ts.Close)
	return &env{t: b, db: db, svc: svc, srv: srv, ts: ts, clock: clock}
}

func benchGet(b *testing.B, c *adminClient, paths []string) {
	b.Helper()
	for _, p := range paths { // warm up, and check every page answers
		if resp, _ := c.get(p); resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d", p, resp.StatusCode)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := c.http.Get(c.e.ts.URL + paths[i%len(paths)])
		if err != nil {
			b.Fatal(err)
		}
		discard(resp)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

func discard(resp *http.Response) {
	var buf [32 << 10]byte
	for {
		if _, err := resp.Body.Read(buf[:]); err != nil {
			break
		}
	}
	resp.Body.Close()
}

func BenchmarkAdminContactBaseline(b *testing.B) {
	_, c := benchContactsEnv(b)
	benchGet(b, c, []string{"/healthz"})
}

// someDigits returns 4 digits from the middle of a few contacts' numbers.
func someDigits(b *testing.B, e *env, n int) []string {
	var total int64
	e.db.SQL().QueryRow(`SELECT count(*) FROM contacts`).Scan(&total)
	var out []string
	for i := 0; i < 8; i++ {
		c, err := e.db.ContactByID(context.Background(), 1+int64(i)*total/8)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, c.Phone[5:5+n])
	}
	return out
}

func BenchmarkAdminContactSearch(b *testing.B) {
	e, c := benchContactsEnv(b)
	var paths []string
	for _, d := range someDigits(b, e, 4) {
		paths = append(paths, "/admin/contacts?q="+d)
	}
	benchGet(b, c, paths)
}

func BenchmarkAdminContactListFiltered(b *testing.B) {
	_, c := benchContactsEnv(b)
	benchGet(b, c, []string{"/admin/contacts?category=offers&state=opted_out&status=active"})
}

// BenchmarkAdminContactDeepPage opens the page after 500,000 contacts (or
// the middle of a smaller seed) through its cursor link.
func BenchmarkAdminContactDeepPage(b *testing.B) {
	e, c := benchContactsEnv(b)
	var total int64
	e.db.SQL().QueryRow(`SELECT count(*) FROM contacts`).Scan(&total)
	var id int64
	e.db.SQL().QueryRow(`SELECT id FROM contacts ORDER BY id DESC LIMIT 1 OFFSET ?`, min(500_000, total/2)-1).Scan(&id)
	cur := consent.ContactCursor{Sort: consent.SortCreated, ID: id}.Encode()
	benchGet(b, c, []string{"/admin/contacts?" + url.Values{"after": {cur}}.Encode()})
}

func BenchmarkAdminContactPage(b *testing.B) {
	e, c := benchContactsEnv(b)
	var total int64
	e.db.SQL().QueryRow(`SELECT count(*) FROM contacts`).Scan(&total)
	var paths []string
	for i := int64(0); i < 16; i++ {
		paths = append(paths, fmt.Sprintf("/admin/contacts/%d", 1+i*total/16))
	}
	benchGet(b, c, paths)
}
