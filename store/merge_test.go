package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// A database from before match_key holding one person twice (the wa_id
// from WhatsApp, the number typed in the form) is merged into one contact
// at start, with a merged event; the ledger still verifies and match_key is
// unique from then on.
func TestOpenMergesOnePersonsContacts(t *testing.T) {
	sqliteOnly(t, "merges contacts made before SQLite's migration 0012")
	t.Parallel()
	path := filepath.Join(t.TempDir(), "optin.db")
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// The state before: no unique index, two contacts of one person.
	mustExec(t, db.w, `DROP INDEX `+uniqueMatchKey)
	a, err := db.FixtureOptIn(ctx, optIn("+541112345680", consent.OptedIn, t0, "offers", "order_updates"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.FixtureOptIn(ctx, optIn("+5491112345681", consent.OptedIn, t0.Add(time.Hour), "recommendations"))
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db.w, `UPDATE contacts SET phone = '+5491112345680', wa_id = '5491112345680', match_key = '541112345680' WHERE id = ?`, b.Contact.ID)
	if _, err := db.FixtureChange(ctx, ChangeFixture{ContactID: b.Contact.ID, At: t0.Add(2 * time.Hour), Type: consent.EventOptOut,
		Evidence: consent.Evidence{Source: consent.SourceKeyword}, Set: map[string]consent.State{"recommendations": consent.OptedOut}}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.w.QueryRowContext(ctx, `SELECT count(*) FROM contacts`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("contacts = %d, %v; want the two merged into one", n, err)
	}
	got, err := db.Consents(ctx, a.Contact.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]consent.State{"order_updates": consent.OptedIn, "offers": consent.OptedIn, "recommendations": consent.OptedOut}
	if len(got) != len(want) {
		t.Errorf("consents = %+v, want %v", got, want)
	}
	for _, c := range got {
		if want[c.Category] != c.State {
			t.Errorf("%s = %s, want %s", c.Category, c.State, want[c.Category])
		}
	}
	evs, err := db.Events(ctx, a.Contact.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := evs[len(evs)-1]; last.Type != consent.EventMerged || last.Evidence.Detail["merged_contact"] == "" {
		t.Errorf("last event = %+v, want merged naming the other contact", last)
	}
	if rep, err := db.VerifyLedger(ctx, time.Now()); err != nil || rep.FirstBad != 0 {
		t.Errorf("ledger = %+v, %v; want intact", rep, err)
	}
	if _, err := db.w.ExecContext(ctx, `INSERT INTO contacts (id, phone, wa_id, match_key, language, status, created_at, updated_at)
		VALUES (99, '+54 other spelling', '', '541112345680', 'en', 'active', '', '')`); err == nil {
		t.Error("a second contact with the same match_key was stored")
	}
	// Reopening does nothing more.
	db.Close()
	if db, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
}
