package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// groupCounts runs a "key…, count" query and returns key → count, keys
// joined with "|".
func groupCounts(t testing.TB, db *DB, q string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, vals := range scanAll(t, db.w, q) {
		key := ""
		for i, v := range vals[:len(vals)-1] {
			if i > 0 {
				key += "|"
			}
			key += fmt.Sprint(v)
		}
		if n := vals[len(vals)-1].(int64); n != 0 {
			out[key] = n
		}
	}
	return out
}

// checkStatsMatch compares every stat_* table with a count over the table
// it summarises.
func checkStatsMatch(t *testing.T, db *DB) {
	t.Helper()
	for _, tc := range []struct{ name, stat, real string }{
		{"contacts", `SELECT status, n FROM stat_contacts`, `SELECT status, count(*) FROM contacts GROUP BY status`},
		{"consents", `SELECT category_id, state, n FROM stat_consents`,
			`SELECT category_id, state, count(*) FROM consents GROUP BY category_id, state`},
		{"outbox", `SELECT status, n FROM stat_outbox`, `SELECT status, count(*) FROM outbox GROUP BY status`},
		{"events", `SELECT day, type, category, source, n FROM stat_events`,
			`SELECT substr(occurred_at, 1, 10), type, category, source, count(*) FROM events GROUP BY 1, 2, 3, 4`},
	} {
		got, want := groupCounts(t, db, tc.stat), groupCounts(t, db, tc.real)
		if len(want) == 0 {
			t.Errorf("%s: nothing to compare", tc.name)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: stat = %v, want %v", tc.name, got, want)
		}
	}
	if engine == "sqlite" { // the trigram index (contact_digits) has one row per contact
		docs, contacts := groupCounts(t, db, `SELECT 'rows', count(*) FROM contact_digits_docsize`),
			groupCounts(t, db, `SELECT 'rows', count(*) FROM contacts`)
		if !reflect.DeepEqual(docs, contacts) {
			t.Errorf("trigram index: %v, contacts: %v", docs, contacts)
		}
	}
	totals, err := db.EventTotals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, e := range totals {
		got[fmt.Sprintf("%s|%s|%s", e.Type, e.Category, e.Source)] = e.N
	}
	if want := groupCounts(t, db, `SELECT type, category, source, count(*) FROM events GROUP BY 1, 2, 3`); !reflect.DeepEqual(got, want) {
		t.Errorf("EventTotals = %v, want %v", got, want)
	}
}

// outboxTraffic sends the queued messages through every outcome: sent and
// read, retried, failed, dead.
func outboxTraffic(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	due, err := db.ClaimDue(ctx, t0.Add(24*time.Hour), time.Minute, 1000)
	if err != nil || len(due) < 3 {
		t.Fatalf("claimed %d, %v; want at least 3", len(due), err)
	}
	now := t0.Add(24 * time.Hour)
	for i, m := range due {
		switch i % 4 {
		case 0:
			if err := db.MarkSent(ctx, m.ID, consent.SendResult{MessageID: fmt.Sprintf("wamid.out%d", i)}, now); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ApplyStatus(ctx, consent.StatusUpdate{MessageID: fmt.Sprintf("wamid.out%d", i), Status: consent.StatusRead}, now); err != nil {
				t.Fatal(err)
			}
		case 1:
			err = db.MarkRetry(ctx, m.ID, now.Add(time.Hour), &consent.ProviderError{Class: consent.ErrThrottled, Code: 130429}, now)
		case 2:
			err = db.MarkFailed(ctx, m.ID, consent.StatusFailed, &consent.ProviderError{Class: consent.ErrTemplate, Code: 132001}, now)
		case 3:
			err = db.MarkFailed(ctx, m.ID, consent.StatusDead, &consent.ProviderError{Class: consent.ErrTransient, Code: 503}, now)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestStatsMatchTables drives every writer of contacts, consents, events and
// the outbox (opt-ins, changes, undeliverable, number changes, erasure with
// its cascades, sends and their outcomes) and checks that the trigger-kept
// counts equal a count over the tables.
func TestStatsMatchTables(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	buildLedger(t, db, 400)
	var ids []int64
	for i := range 8 {
		// Over two days: EventTotals sums the counts by day.
		out, err := db.FixtureOptIn(ctx, optIn(fmt.Sprintf("+4916%09d", i), consent.OptedIn, t0.Add(time.Duration(i)*3*time.Hour), "offers"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, out.Contact.ID)
	}
	outboxTraffic(t, db)
	// Erasure cascades to consents and to messages in every status.
	for _, id := range ids[:4] {
		if err := db.EraseContact(ctx, id, consent.Tombstone{PhoneHash: fmt.Sprintf("%064x", id), Reason: "admin", At: t0,
			Event: consent.EventErased, Source: consent.SourceAdmin}); err != nil {
			t.Fatal(err)
		}
	}
	checkStatsMatch(t, db)
}

// TestStatsBackfill applies the stats migration to a database that already
// has data, as an upgrade does: the counts start from the rows there.
func TestStatsBackfill(t *testing.T) {
	sqliteOnly(t, "replays SQLite's migration 0010 backfill")
	db := openTest(t)
	ctx := context.Background()
	for i := range 8 {
		if _, err := db.FixtureOptIn(ctx, optIn(fmt.Sprintf("+4916%09d", i), consent.OptedIn, t0.Add(time.Duration(i)*time.Hour), "offers", "order_updates")); err != nil {
			t.Fatal(err)
		}
	}
	outboxTraffic(t, db)
	// Undo the migration and apply it again.
	for _, q := range []string{
		`DROP TRIGGER stat_contacts_insert`, `DROP TRIGGER stat_contacts_delete`, `DROP TRIGGER stat_contacts_update`,
		`DROP TRIGGER stat_consents_insert`, `DROP TRIGGER stat_consents_delete`, `DROP TRIGGER stat_consents_update`,
		`DROP TRIGGER stat_outbox_insert`, `DROP TRIGGER stat_outbox_delete`, `DROP TRIGGER stat_outbox_update`,
		`DROP TRIGGER stat_events_insert`,
		`DROP TABLE stat_contacts`, `DROP TABLE stat_consents`, `DROP TABLE stat_outbox`, `DROP TABLE stat_events`,
		`DROP INDEX outbox_failures`, `DROP INDEX events_type`, `DROP INDEX events_source`, `DROP INDEX events_entry_point`,
		`DROP INDEX inbox_failed`, `DROP INDEX alerts_open`, `DROP INDEX events_occurred`, `DELETE FROM schema_migrations WHERE version = 10`,
	} {
		if _, err := db.w.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var left int
	db.w.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name LIKE 'stat_%'`).Scan(&left)
	if left != 0 {
		t.Fatalf("%d stat tables or triggers left", left)
	}
	if err := db.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	checkStatsMatch(t, db)
}

func TestStats(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	day1, day2 := t0, t0.Add(24*time.Hour)
	a, _ := db.FixtureOptIn(ctx, optIn("+4915100000001", consent.OptedIn, day1, "offers", "order_updates"))
	db.FixtureOptIn(ctx, optIn("+4915100000002", consent.OptedIn, day2, "offers"))
	old := optIn("+4915100000003", consent.OptedIn, day1.AddDate(0, 0, -40), "offers")
	old.Evidence.Source = consent.SourceImport
	db.FixtureOptIn(ctx, old)
	if _, err := db.FixtureChange(ctx, ChangeFixture{ContactID: a.Contact.ID, At: day2, Type: consent.EventOptOut,
		Evidence: consent.Evidence{Source: consent.SourceKeyword}, Set: map[string]consent.State{"offers": consent.OptedOut}}); err != nil {
		t.Fatal(err)
	}
	db.SaveInbox(ctx, []byte(`{}`), day2)
	id, _ := db.SaveInbox(ctx, []byte(`{}`), day2)
	db.FinishInbox(ctx, id, "bad payload", day2)
	ign, _ := db.SaveInbox(ctx, []byte(`[1,2]`), day2)
	db.FinishInbox(ctx, ign, consent.IgnoredPrefix+"webhook is neither Cloud API nor on-premise shape", day2)
	db.AddAlert(ctx, consent.Alert{Kind: "template", Code: 132001, Title: "template missing", At: day2})

	st, err := db.Stats(ctx, day1.AddDate(0, 0, -1))
	if err != nil {
		t.Fatal(err)
	}
	if want := []consent.Count{{Key: "active", N: 3}}; !reflect.DeepEqual(st.Contacts, want) {
		t.Errorf("Contacts = %+v, want %+v", st.Contacts, want)
	}
	wantConsents := []consent.ConsentCount{{Category: "order_updates", State: consent.OptedIn, N: 1}, {Category: "offers", State: consent.OptedIn, N: 2}, {Category: "offers", State: consent.OptedOut, N: 1}}
	if !reflect.DeepEqual(st.Consents, wantConsents) {
		t.Errorf("Consents = %+v, want %+v", st.Consents, wantConsents)
	}
	d1, d2 := day1.Truncate(24*time.Hour), day2.Truncate(24*time.Hour)
	wantDays := []consent.DayCount{{Day: d1, OptIns: 2}, {Day: d2, OptIns: 1, OptOuts: 1}}
	if !reflect.DeepEqual(st.Days, wantDays) {
		t.Errorf("Days = %+v, want %+v (the import 40 days back is before since)", st.Days, wantDays)
	}
	wantSources := []consent.SourceCount{{Source: consent.SourceWebForm, OptIns: 3, OptOuts: 0}, {Source: consent.SourceKeyword, OptIns: 0, OptOuts: 1}}
	if !reflect.DeepEqual(st.Sources, wantSources) {
		t.Errorf("Sources = %+v, want %+v", st.Sources, wantSources)
	}
	if st.Outbox.Queued() != 3 || st.Outbox.Dead() != 0 || st.Outbox.Retrying != 0 {
		t.Errorf("Outbox = %+v, want 3 queued welcomes", st.Outbox)
	}
	if st.InboxPending != 1 || st.InboxFailed != 1 || st.InboxIgnored != 1 {
		t.Errorf("inbox pending %d failed %d ignored %d, want 1, 1 and 1", st.InboxPending, st.InboxFailed, st.InboxIgnored)
	}
	if want := []consent.InboxNote{{ID: ign, ReceivedAt: day2, Reason: "webhook is neither Cloud API nor on-premise shape"}}; !reflect.DeepEqual(st.IgnoredInbox, want) {
		t.Errorf("IgnoredInbox = %+v, want %+v", st.IgnoredInbox, want)
	}
	if want := []consent.Count{{Key: "template", N: 1}}; !reflect.DeepEqual(st.Alerts, want) {
		t.Errorf("Alerts = %+v, want %+v", st.Alerts, want)
	}

	outboxTraffic(t, db) // 3 welcomes: sent+read, retry, failed
	st, _ = db.Stats(ctx, d1)
	if st.Outbox.ByStatus[consent.StatusRead] != 1 || st.Outbox.Retrying != 1 || st.Outbox.Queued() != 1 ||
		!reflect.DeepEqual(st.Outbox.Failures, []consent.Count{{Key: "failed/template", N: 1}}) {
		t.Errorf("Outbox after traffic = %+v", st.Outbox)
	}

	totals, err := db.EventTotals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantTotals := []consent.EventTotal{
		{Type: consent.EventOptIn, Category: "offers", Source: consent.SourceImport, N: 1},
		{Type: consent.EventOptIn, Category: "offers", Source: consent.SourceWebForm, N: 2},
		{Type: consent.EventOptIn, Category: "order_updates", Source: consent.SourceWebForm, N: 1},
		{Type: consent.EventOptOut, Category: "offers", Source: consent.SourceKeyword, N: 1},
	}
	if !reflect.DeepEqual(totals, wantTotals) {
		t.Errorf("EventTotals = %+v, want %+v", totals, wantTotals)
	}
}

func TestResolveAlert(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	for i, kind := range []string{"template", "account", "dead_letter"} {
		if err := db.AddAlert(ctx, consent.Alert{Kind: kind, Code: i, Title: kind + " problem", At: t0.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	open, err := db.OpenAlerts(ctx, 10)
	if err != nil || len(open) != 3 || open[0].Kind != "dead_letter" || open[0].ID == 0 {
		t.Fatalf("OpenAlerts = %+v, %v; want 3, newest first", open, err)
	}
	got, err := db.ResolveAlert(ctx, open[1].ID, t0.Add(time.Hour))
	if err != nil || got.Kind != "account" || !got.ResolvedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("ResolveAlert = %+v, %v", got, err)
	}
	for _, id := range []int64{open[1].ID, 999} {
		if _, err := db.ResolveAlert(ctx, id, t0); !errors.Is(err, consent.ErrNotFound) {
			t.Errorf("resolve %d again/unknown: err = %v, want ErrNotFound", id, err)
		}
	}
	open, _ = db.OpenAlerts(ctx, 10)
	if len(open) != 2 || open[0].Kind != "dead_letter" || open[1].Kind != "template" {
		t.Errorf("after resolving: %+v, want dead_letter and template", open)
	}
}

// TestStatsAfterSeed checks the counts after the bulk writer (Seed's
// multi-row INSERTs) too.
func TestStatsAfterSeed(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if _, err := db.Seed(ctx, SeedOptions{Contacts: 400, Events: 2000, Batch: 150, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FixtureOptIn(ctx, optIn("+4917700000001", consent.OptedIn, t0, "offers")); err != nil {
		t.Fatal(err)
	}
	checkStatsMatch(t, db)
}
