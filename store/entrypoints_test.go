package store

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/optin/optin/consent"
)

func TestEntryPointDefaultSeeded(t *testing.T) {
	db := openTest(t)
	e, err := db.EntryPointByCode(context.Background(), consent.DefaultEntryPoint)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"order_updates", "offers", "recommendations"}
	if e.Name != "Default" || !slices.Equal(e.Categories, want) {
		t.Errorf("default = %q %q, want %q %q", e.Name, e.Categories, "Default", want)
	}
	if e.Scans != 0 || e.Conversations != 0 || e.Accepted != 0 || e.CreatedAt.IsZero() {
		t.Errorf("default = %+v, want zero counters and a creation time", e)
	}
}

func TestEntryPointCreateAndList(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	got, err := db.CreateEntryPoint(ctx, consent.EntryPoint{Code: "POSTER7", Name: "Spring posters",
		Categories: []string{"order_updates", "offers"}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == 0 || !got.CreatedAt.Equal(t0) {
		t.Errorf("created = %+v, want an id and CreatedAt %v", got, t0)
	}
	back, err := db.EntryPointByCode(ctx, "POSTER7")
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != got.ID || back.Name != "Spring posters" || !slices.Equal(back.Categories, []string{"order_updates", "offers"}) ||
		!back.CreatedAt.Equal(t0) {
		t.Errorf("read back = %+v, want %+v", back, got)
	}
	all, err := db.EntryPoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, e := range all {
		codes = append(codes, e.Code)
	}
	if want := []string{consent.DefaultEntryPoint, "POSTER7"}; !slices.Equal(codes, want) {
		t.Errorf("codes = %q, want %q", codes, want)
	}
}

func TestEntryPointErrors(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if _, err := db.EntryPointByCode(ctx, "NOPE"); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("unknown code: err = %v, want ErrNotFound", err)
	}
	if _, err := db.CreateEntryPoint(ctx, consent.EntryPoint{Code: consent.DefaultEntryPoint, Name: "Again",
		Categories: []string{"offers"}}, t0); !errors.Is(err, consent.ErrConflict) {
		t.Errorf("duplicate code: err = %v, want ErrConflict", err)
	}
	// The schema holds the rules even for a caller that skips the service's checks.
	for _, tc := range []struct {
		name string
		e    consent.EntryPoint
	}{
		{"lower-case code", consent.EntryPoint{Code: "abc", Name: "x", Categories: []string{"offers"}}},
		{"zero in code", consent.EntryPoint{Code: "AB0", Name: "x", Categories: []string{"offers"}}},
		{"short code", consent.EntryPoint{Code: "AB", Name: "x", Categories: []string{"offers"}}},
		{"long code", consent.EntryPoint{Code: "ABCDEFGHJKL", Name: "x", Categories: []string{"offers"}}},
		{"empty name", consent.EntryPoint{Code: "ABC", Name: "", Categories: []string{"offers"}}},
		{"no categories", consent.EntryPoint{Code: "ABC", Name: "x"}},
		{"empty slug", consent.EntryPoint{Code: "ABC", Name: "x", Categories: []string{"offers", ""}}},
		{"bad slug", consent.EntryPoint{Code: "ABC", Name: "x", Categories: []string{"Offers"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := db.CreateEntryPoint(ctx, tc.e, t0); !errors.Is(err, consent.ErrConflict) {
				t.Errorf("err = %v, want ErrConflict (a CHECK failed)", err)
			}
		})
	}
}

func TestEntryPointCount(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	for _, what := range []string{consent.EntryScans, consent.EntryScans, consent.EntryScans,
		consent.EntryConversations, consent.EntryConversations, consent.EntryAccepted} {
		if err := db.CountEntry(ctx, consent.DefaultEntryPoint, what); err != nil {
			t.Fatalf("count %s: %v", what, err)
		}
	}
	e, err := db.EntryPointByCode(ctx, consent.DefaultEntryPoint)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := [3]int{e.Scans, e.Conversations, e.Accepted}, [3]int{3, 2, 1}; got != want {
		t.Errorf("scans, conversations, accepted = %v, want %v", got, want)
	}
	if err := db.CountEntry(ctx, "NOPE", consent.EntryScans); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("unknown code: err = %v, want ErrNotFound", err)
	}
	if err := db.CountEntry(ctx, consent.DefaultEntryPoint, "name"); err == nil || errors.Is(err, consent.ErrNotFound) {
		t.Errorf("unknown counter: err = %v, want an error other than ErrNotFound", err)
	}
}
