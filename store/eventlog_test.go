package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

func TestEventLog(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	buildLedger(t, db, 300)
	var total int
	db.w.QueryRow(`SELECT count(*) FROM events`).Scan(&total)

	// Keyset pages walk every event once, newest first.
	seen := map[int64]bool{}
	var before, last int64
	for pages := 0; ; pages++ {
		evs, err := db.EventLog(ctx, consent.EventFilter{Before: before, Limit: 7})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			if seen[e.ID] || (last != 0 && e.ID >= last) {
				t.Fatalf("event %d out of order or repeated", e.ID)
			}
			seen[e.ID], last = true, e.ID
			if e.Evidence.IP != "" || e.Evidence.MessageText != "" || e.Evidence.UserAgent != "" {
				t.Fatalf("event %d carries personal evidence in the log", e.ID)
			}
		}
		before = evs[len(evs)-1].ID
	}
	if len(seen) != total {
		t.Errorf("pages showed %d events, want %d", len(seen), total)
	}

	count := func(q string, args ...any) int {
		var n int
		if err := db.w.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	mid := t0.Add(5 * time.Minute)
	tests := []struct {
		name string
		f    consent.EventFilter
		want int
	}{
		{"type", consent.EventFilter{Type: consent.EventErased}, count(`SELECT count(*) FROM events WHERE type = 'erased'`)},
		{"category", consent.EventFilter{Category: "offers"}, count(`SELECT count(*) FROM events WHERE category = 'offers'`)},
		{"source", consent.EventFilter{Source: consent.SourceKeyword}, count(`SELECT count(*) FROM events WHERE source = 'keyword'`)},
		{"entry point", consent.EventFilter{EntryPoint: "HELLO"}, count(`SELECT count(*) FROM events WHERE entry_point = 'HELLO'`)},
		{"from", consent.EventFilter{From: mid}, count(`SELECT count(*) FROM events WHERE occurred_at >= ?`, ts(mid))},
		{"to", consent.EventFilter{To: mid}, count(`SELECT count(*) FROM events WHERE occurred_at < ?`, ts(mid))},
		{"combined", consent.EventFilter{Type: consent.EventOptIn, Source: consent.SourceQR, Category: "offers", To: mid},
			count(`SELECT count(*) FROM events WHERE type = 'opt_in' AND source = 'qr' AND category = 'offers' AND occurred_at < ?`, ts(mid))},
		{"none", consent.EventFilter{EntryPoint: "NOPE"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.Limit = 10000
			evs, err := db.EventLog(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != tc.want {
				t.Errorf("%d events, want %d", len(evs), tc.want)
			}
			if tc.want == 0 && tc.name != "none" {
				t.Errorf("the fixture has no events for this filter")
			}
			for _, e := range evs {
				if tc.f.Type != "" && e.Type != tc.f.Type || tc.f.Source != "" && e.Evidence.Source != tc.f.Source ||
					tc.f.Category != "" && e.Category != tc.f.Category || tc.f.EntryPoint != "" && e.Evidence.EntryPoint != tc.f.EntryPoint ||
					!tc.f.From.IsZero() && e.OccurredAt.Before(tc.f.From) || !tc.f.To.IsZero() && !e.OccurredAt.Before(tc.f.To) {
					t.Fatalf("event %+v does not match the filter", e)
				}
			}
		})
	}
}

// BenchmarkDashboardQueries measures the dashboard's and the event log's
// queries on a database of 200,000 contacts, 600,000 consents and 1,000,000
// events written in bulk (the counts are kept by the same triggers as in
// production). Run with: go test ./store -run '^$' -bench Dashboard -benchtime 20x
func BenchmarkDashboardQueries(b *testing.B) {
	db, err := Open(context.Background(), b.TempDir()+"/optin.db")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	const contacts, events = 200_000, 1_000_000
	start := time.Now()
	for _, q := range []string{
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO contacts (id, phone, wa_id, language, status, created_at, updated_at)
			SELECT i, '+49151' || printf('%%08d', i), '49151' || printf('%%08d', i), 'en',
			       CASE WHEN i %% 50 = 0 THEN 'undeliverable' ELSE 'active' END, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM n`, contacts),
		// Events over 200 days, ids dense; hashes are placeholders (the
		// ledger is not what this measures).
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO events (id, contact_id, type, category, state, source, occurred_at, recorded_at,
			                    entry_point, content_hash, prev_hash, hash)
			SELECT i, 1 + i %% %d,
			       CASE WHEN i %% 5 = 0 THEN 'opt_out' WHEN i %% 97 = 0 THEN 'erased' ELSE 'opt_in' END,
			       CASE i %% 3 WHEN 0 THEN 'order_updates' WHEN 1 THEN 'offers' ELSE 'recommendations' END,
			       CASE WHEN i %% 5 = 0 THEN 'opted_out' ELSE 'opted_in' END,
			       CASE i %% 7 WHEN 0 THEN 'keyword' WHEN 1 THEN 'qr' WHEN 2 THEN 'link' ELSE 'web_form' END,
			       strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', '2026-05-01', '+' || (i * 17) || ' seconds'),
			       strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', '2026-05-01', '+' || (i * 17) || ' seconds'),
			       CASE WHEN i %% 1000 = 0 THEN 'RARE' WHEN i %% 4 = 0 THEN 'HELLO' ELSE '' END,
			       'c', 'p', printf('%%064d', i) FROM n`, events, contacts),
		`INSERT INTO consents (contact_id, category_id, state, since, source, event_id)
			SELECT c.id, k.id, CASE WHEN (c.id + k.id) % 5 = 0 THEN 'opted_out' ELSE 'opted_in' END, '2026-01-01T00:00:00Z', 'web_form', 1
			FROM contacts c, categories k`,
	} {
		if _, err := db.w.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("built %d contacts, %d events in %s", contacts, events, time.Since(start).Round(time.Millisecond))
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, bc := range []struct {
		name string
		f    func() error
	}{
		{"stats", func() error { _, err := db.Stats(ctx, since); return err }},
		{"event_totals", func() error { _, err := db.EventTotals(ctx); return err }},
		{"log_first_page", func() error { _, err := db.EventLog(ctx, consent.EventFilter{Limit: 51}); return err }},
		{"log_deep_page", func() error { _, err := db.EventLog(ctx, consent.EventFilter{Before: 1000, Limit: 51}); return err }},
		{"log_type_rare", func() error {
			_, err := db.EventLog(ctx, consent.EventFilter{Type: consent.EventErased, Limit: 51})
			return err
		}},
		{"log_entry_point_rare", func() error {
			_, err := db.EventLog(ctx, consent.EventFilter{EntryPoint: "RARE", Limit: 51})
			return err
		}},
		{"log_category", func() error {
			_, err := db.EventLog(ctx, consent.EventFilter{Category: "offers", Limit: 51})
			return err
		}},
		{"log_from_recent", func() error {
			_, err := db.EventLog(ctx, consent.EventFilter{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Limit: 51})
			return err
		}},
		{"log_from_old", func() error {
			_, err := db.EventLog(ctx, consent.EventFilter{From: time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC), Limit: 51})
			return err
		}},
		{"log_to_old", func() error {
			_, err := db.EventLog(ctx, consent.EventFilter{To: time.Date(2026, 5, 3, 0, 0, 0, 0, time.UTC), Limit: 51})
			return err
		}},
		{"log_date_range_old", func() error {
			_, err := db.EventLog(ctx, consent.EventFilter{From: time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC),
				To: time.Date(2026, 5, 3, 0, 0, 0, 0, time.UTC), Limit: 51})
			return err
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if err := bc.f(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
