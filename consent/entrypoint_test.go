package consent_test

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
)

type entryClock struct{ t time.Time }

func (c entryClock) Now() time.Time { return c.t }

// entryService is a Service over a real database with a fixed entry key.
func entryService(t *testing.T, key string) *consent.Service {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "optin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tr := func(lang, key string, args ...any) string { return key }
	return consent.NewService(db, entryClock{time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}, tr,
		consent.Config{BusinessName: "Acme", DefaultRegion: "DE", BusinessNumber: "+49 30 1234567", EntryKey: []byte(key)})
}

func TestEntryStartText(t *testing.T) {
	svc := entryService(t, "test-key")
	got := svc.StartText("hello")
	if !regexp.MustCompile(`^START HELLO-[A-HJ-NP-Z2-9]{4}$`).MatchString(got) {
		t.Fatalf("StartText = %q, want START HELLO- and 4 characters without 0, 1, I, O", got)
	}
	// Pinned: a change of the signature scheme would invalidate every
	// printed poster, so it must be deliberate.
	if want := "START HELLO-A5YH"; got != want {
		t.Errorf("StartText = %q, want %q", got, want)
	}
	if other := entryService(t, "other-key").StartText("HELLO"); other == got {
		t.Errorf("StartText is %q under two different keys", got)
	}
	if svc.StartText("HELLP")[len("START HELLP-"):] == got[len("START HELLO-"):] {
		t.Errorf("HELLO and HELLP have the same signature")
	}
}

func TestEntryParseStartCode(t *testing.T) {
	svc := entryService(t, "test-key")
	sig := svc.StartText("HELLO")[len("START HELLO-"):]
	posterSig := svc.StartText("POSTER7")[len("START POSTER7-"):]
	for _, tc := range []struct {
		rest      string
		wantCode  string
		wantValid bool
	}{
		{"HELLO-" + sig, "HELLO", true},
		{"hello-" + strings.ToLower(sig), "HELLO", true},
		{"  HELLO - " + sig + "  ", "HELLO", true},
		{"HELLO " + sig, "HELLO", true},
		{"HELLO-" + sig + " please send offers", "HELLO", true},
		{"HELLO", "HELLO", false},
		{"HELLO-", "HELLO", false},
		{"HELLO-AAAA", "HELLO", false},
		{"HELLO-" + sig[:3], "HELLO", false},
		{"HELLO-" + posterSig, "HELLO", false}, // a signature moved to another code
		{"POSTER8-" + posterSig, "POSTER8", false},
		{"", "", false},
		{"   ", "", false},
		{"ÄÖÜ-" + sig, "", false},
		{"A0B-" + sig, "", false},
	} {
		t.Run(tc.rest, func(t *testing.T) {
			code, via := svc.ParseStartCode(tc.rest)
			if valid := via != ""; code != tc.wantCode || valid != tc.wantValid {
				t.Errorf("ParseStartCode(%q) = %q, %v; want %q, %v", tc.rest, code, valid, tc.wantCode, tc.wantValid)
			}
		})
	}
}

func TestEntryWaMeLink(t *testing.T) {
	svc := entryService(t, "test-key")
	got := svc.WaMeLink("hello")
	// Spaces as %20: some WhatsApp clients show a form-encoded "+" as is.
	if want := "https://wa.me/49301234567?text=START%20HELLO-A5YH"; got != want {
		t.Errorf("WaMeLink = %q, want %q", got, want)
	}
}

func TestEntryCreate(t *testing.T) {
	svc := entryService(t, "test-key")
	ctx := context.Background()
	e, err := svc.CreateEntryPoint(ctx, " poster7 ", " Spring posters ", []string{"offers", "order_updates", "offers"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Code != "POSTER7" || e.Name != "Spring posters" || !slices.Equal(e.Categories, []string{"order_updates", "offers"}) {
		t.Errorf("created %q %q %q, want POSTER7, the trimmed name and the categories in catalog order once", e.Code, e.Name, e.Categories)
	}
	got, err := svc.EntryPoint(ctx, "Poster7")
	if err != nil || got.ID != e.ID {
		t.Errorf("EntryPoint(Poster7) = %+v, %v; want the new entry point", got, err)
	}
	if _, err := svc.CreateEntryPoint(ctx, "POSTER7", "Again", []string{"offers"}); !errors.Is(err, consent.ErrConflict) {
		t.Errorf("taken code: err = %v, want ErrConflict", err)
	}
	all, err := svc.EntryPoints(ctx)
	if err != nil || len(all) != 2 {
		t.Errorf("EntryPoints = %d, %v; want the default and POSTER7", len(all), err)
	}
}

func TestEntryCreateInvalid(t *testing.T) {
	svc := entryService(t, "test-key")
	ctx := context.Background()
	long := strings.Repeat("é", 101)
	for _, tc := range []struct {
		name, code, title string
		cats              []string
		want              map[string]string
	}{
		{"code too short", "AB", "x", []string{"offers"}, map[string]string{"code": "entry.code"}},
		{"code too long", "ABCDEFGHJKL", "x", []string{"offers"}, map[string]string{"code": "entry.code"}},
		{"code with 0", "AB0", "x", []string{"offers"}, map[string]string{"code": "entry.code"}},
		{"code with dash", "AB-C", "x", []string{"offers"}, map[string]string{"code": "entry.code"}},
		{"no name", "ABC", "  ", []string{"offers"}, map[string]string{"name": "entry.name"}},
		{"long name", "ABC", long, []string{"offers"}, map[string]string{"name": "entry.name"}},
		{"no categories", "ABC", "x", nil, map[string]string{"categories": "entry.categories"}},
		{"unknown category", "ABC", "x", []string{"offers", "gossip"}, map[string]string{"categories": "entry.categories"}},
		{"all wrong", "a", "", []string{""}, map[string]string{"code": "entry.code", "name": "entry.name", "categories": "entry.categories"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.CreateEntryPoint(ctx, tc.code, tc.title, tc.cats)
			var verr *consent.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			if len(verr.Fields) != len(tc.want) {
				t.Errorf("fields = %v, want %v", verr.Fields, tc.want)
			}
			for f, k := range tc.want {
				if verr.Fields[f] != k {
					t.Errorf("field %s = %q, want %q", f, verr.Fields[f], k)
				}
			}
		})
	}
	if all, _ := svc.EntryPoints(ctx); len(all) != 1 {
		t.Errorf("%d entry points after invalid input, want only the default", len(all))
	}
	// 100 characters are fine, however many bytes they take.
	if _, err := svc.CreateEntryPoint(ctx, "ABC", long[len("é"):], []string{"offers"}); err != nil {
		t.Errorf("100-character name: %v", err)
	}
}

func TestEntryScan(t *testing.T) {
	svc := entryService(t, "test-key")
	ctx := context.Background()
	for range 2 {
		link, err := svc.Scan(ctx, "hello", consent.SourceLink)
		if err != nil {
			t.Fatal(err)
		}
		if link != svc.WaMeLink(consent.DefaultEntryPoint) {
			t.Errorf("Scan = %q, want %q", link, svc.WaMeLink(consent.DefaultEntryPoint))
		}
	}
	e, err := svc.EntryPoint(ctx, consent.DefaultEntryPoint)
	if err != nil {
		t.Fatal(err)
	}
	if e.Scans != 2 {
		t.Errorf("Scans = %d, want 2", e.Scans)
	}
	for _, code := range []string{"NOPE", "x", "ÄÖÜ", ""} {
		if _, err := svc.Scan(ctx, code, consent.SourceLink); !errors.Is(err, consent.ErrNotFound) {
			t.Errorf("Scan(%q): err = %v, want ErrNotFound", code, err)
		}
	}
}

// TestEntryQRAndLinkAreToldApart checks that the QR code's start text and the
// short link's both verify, each as its own channel, and that neither
// signature can be moved to another code.
func TestEntryQRAndLinkAreToldApart(t *testing.T) {
	svc := entryService(t, "test-key")
	ctx := context.Background()
	for _, via := range []consent.Source{consent.SourceLink, consent.SourceQR} {
		text := svc.StartTextVia("HELLO", via)
		code, got := svc.ParseStartCode(strings.TrimPrefix(text, "START "))
		if code != "HELLO" || got != via {
			t.Errorf("ParseStartCode(%q) = %q, %q; want HELLO, %q", text, code, got, via)
		}
		link, err := svc.Scan(ctx, "HELLO", via)
		if err != nil {
			t.Fatal(err)
		}
		if link != svc.WaMeLinkVia("HELLO", via) {
			t.Errorf("Scan via %s = %q, want %q", via, link, svc.WaMeLinkVia("HELLO", via))
		}
		sig := text[strings.LastIndex(text, "-")+1:]
		if _, got := svc.ParseStartCode("POSTER7-" + sig); got != "" {
			t.Errorf("the %s signature of HELLO verifies for POSTER7", via)
		}
	}
	if svc.StartTextVia("HELLO", consent.SourceQR) == svc.StartText("HELLO") {
		t.Errorf("the QR code's start text equals the link's")
	}
}
