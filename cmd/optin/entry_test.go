package main

import (
	"context"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
	"github.com/optin/optin/web/i18n"
)

func TestEntryAddAndList(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "optin.db")
	env := map[string]string{"OPTIN_DB": db, "OPTIN_BASE_URL": "https://optin.example/"}
	getenv := func(k string) string { return env[k] }

	var out strings.Builder
	if err := run(ctx, []string{"entry", "add", "poster7", "--name", "Spring posters", "--categories", "offers,order_updates"},
		getenv, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`START POSTER7-[A-Z2-9]{4}`).FindString(out.String())
	if m == "" {
		t.Fatalf("no start text in:\n%s", out.String())
	}
	for _, want := range []string{
		"https://wa.me/12025550199?text=" + strings.ReplaceAll(m, " ", "%20"), // the sandbox's number
		"https://optin.example/l/POSTER7",
		"https://optin.example/qr/POSTER7.png",
		"order_updates, offers",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	// The start text printed here must be accepted by serve, which reads
	// the same key from the same database.
	d, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	key, err := d.Secret(ctx, "entry_key", 32)
	if err != nil {
		t.Fatal(err)
	}
	svc := consent.NewService(d, consent.SystemClock{}, i18n.T, consent.Config{EntryKey: key})
	if code, valid := svc.ParseStartCode(strings.TrimPrefix(m, "START ")); code != "POSTER7" || valid != consent.SourceLink {
		t.Errorf("ParseStartCode(%q) = %q, %v; want POSTER7, link", m, code, valid)
	}

	// Flags before the code, a business number from the environment.
	env["OPTIN_BUSINESS_NUMBER"] = "+49 30 1234567"
	out.Reset()
	if err := run(ctx, []string{"entry", "add", "--name", "Checkout", "--categories", "order_updates", "SHOP"},
		getenv, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "https://wa.me/49301234567?text=START%20SHOP-") {
		t.Errorf("output lacks the wa.me link to the configured number:\n%s", out.String())
	}

	out.Reset()
	if err := run(ctx, []string{"entry", "list", "--db", db}, func(string) string { return "" }, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("list has %d lines, want a header and 3 entry points:\n%s", len(lines), out.String())
	}
	for i, want := range []string{"CODE", consent.DefaultEntryPoint, "POSTER7", "SHOP"} {
		if f := strings.Fields(lines[i]); f[0] != want {
			t.Errorf("line %d starts with %q, want %q", i, f[0], want)
		}
	}
	if !strings.Contains(lines[2], "order_updates,offers") || !strings.Contains(lines[2], "/l/POSTER7") {
		t.Errorf("POSTER7 line = %q, want its categories and short link", lines[2])
	}
}

func TestEntryAddErrors(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "optin.db")
	getenv := func(k string) string { return map[string]string{"OPTIN_DB": db}[k] }
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"no subcommand", []string{"entry"}, []string{"usage"}},
		{"no code", []string{"entry", "add", "--name", "x", "--categories", "offers"}, []string{"usage"}},
		{"taken code", []string{"entry", "add", "HELLO", "--name", "x", "--categories", "offers"}, []string{"HELLO already exists"}},
		{"bad everything", []string{"entry", "add", "h0", "--categories", "gossip"},
			[]string{"A–Z and 2–9", "--name", "order_updates, offers, recommendations"}},
		{"bad number", []string{"entry", "add", "ABC", "--name", "x", "--categories", "offers", "--business-number", "12"},
			[]string{"business number"}},
		{"extra argument", []string{"entry", "list", "more"}, []string{"usage"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(ctx, tc.args, getenv, nil, io.Discard, io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
