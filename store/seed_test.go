package store

import (
	"context"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
)

// TestSeed: the seed writes exactly what was asked, its events are a
// valid chain, its consents are the last event of each category, and the
// search finds its numbers.
func TestSeed(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	calls := 0
	rep, err := db.Seed(ctx, SeedOptions{Contacts: 1000, Events: 5000, Batch: 300, Seed: 1,
		Progress: func(c, e int) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Contacts != 1000 || rep.Events != 5000 || calls != 4 {
		t.Errorf("report %+v after %d progress calls, want 1000 contacts, 5000 events, 4 calls", rep, calls)
	}
	var contacts, events, consents int
	db.w.QueryRow(`SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM events), (SELECT count(*) FROM consents)`).
		Scan(&contacts, &events, &consents)
	if contacts != 1000 || events != 5000 || consents != rep.Consents || consents == 0 {
		t.Errorf("rows: %d contacts, %d events, %d consents; report %+v", contacts, events, consents, rep)
	}
	got, err := db.VerifyLedger(ctx, t0)
	if err != nil || !got.OK() || got.Verified != 5000 || got.HeadHash != rep.HeadHash {
		t.Errorf("VerifyLedger = %+v, %v; want 5000 intact up to %s", got, err, rep.HeadHash)
	}
	// Each consent row is its category's last event for the contact.
	var bad int
	db.w.QueryRow(`SELECT count(*) FROM consents s JOIN categories c ON c.id = s.category_id
		WHERE s.event_id <> (SELECT max(id) FROM events e WHERE e.contact_id = s.contact_id AND e.category = c.slug)
		   OR s.state <> (SELECT state FROM events WHERE id = s.event_id)`).Scan(&bad)
	if bad != 0 {
		t.Errorf("%d consents do not follow their events", bad)
	}
	// Statuses and sources vary.
	var statuses, sources int
	db.w.QueryRow(`SELECT count(DISTINCT status) FROM contacts`).Scan(&statuses)
	db.w.QueryRow(`SELECT count(DISTINCT source) FROM events`).Scan(&sources)
	if statuses < 2 || sources < 6 {
		t.Errorf("%d statuses, %d sources: the seed is too uniform", statuses, sources)
	}
	c, err := db.ContactByID(ctx, 500)
	if err != nil {
		t.Fatal(err)
	}
	p, err := db.SearchContacts(ctx, consent.ContactSearch{ContactQuery: consent.ContactQuery{Sort: consent.SortCreated, Limit: 50},
		Digits: c.Phone[len(c.Phone)-7:]})
	if err != nil || len(p.Rows) == 0 {
		t.Errorf("search for a seeded number: %+v, %v", p.Rows, err)
	}
	if _, err := db.Seed(ctx, SeedOptions{Contacts: 1, Events: 1}); err == nil || !strings.Contains(err.Error(), "already") {
		t.Errorf("second seed: %v, want a refusal", err)
	}
	for _, o := range []SeedOptions{{Contacts: 0, Events: 1}, {Contacts: 10, Events: 9}} {
		if _, err := openTest(t).Seed(ctx, o); err == nil {
			t.Errorf("Seed(%+v) accepted", o)
		}
	}
}
