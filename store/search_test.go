package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// searchFixture: six contacts created an hour apart, with various consents.
//
//	1 +4915112345678 offers, order_updates opted in (web form)
//	2 +4915198765432 offers opted in, then out (keyword)
//	3 +34612345000   recommendations opted in (api); entry point POSTER
//	4 +5511987651234 undeliverable, offers opted in
//	5 +12025550123   no consent (pending_terms)
//	6 +4917012399999 order_updates pending
func searchFixture(t *testing.T) (*DB, []int64) {
	t.Helper()
	ctx := context.Background()
	db := openTest(t)
	var ids []int64
	add := func(phone string, i int, target consent.State, cats ...string) int64 {
		ch := optIn(phone, target, t0.Add(time.Duration(i)*time.Hour), cats...)
		out, err := db.FixtureOptIn(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, out.Contact.ID)
		return out.Contact.ID
	}
	add("+4915112345678", 0, consent.OptedIn, "offers", "order_updates")
	c2 := add("+4915198765432", 1, consent.OptedIn, "offers")
	if _, err := db.FixtureChange(ctx, ChangeFixture{ContactID: c2, At: t0.Add(30 * time.Hour), Type: consent.EventOptOut,
		Evidence: consent.Evidence{Source: consent.SourceKeyword}, Set: map[string]consent.State{"offers": consent.OptedOut}}); err != nil {
		t.Fatal(err)
	}
	ch := optIn("+34612345000", consent.OptedIn, t0.Add(2*time.Hour), "recommendations")
	ch.Evidence.Source = consent.SourceAPI
	out, err := db.FixtureOptIn(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, out.Contact.ID)
	mustExec(t, db.w, `UPDATE contacts SET entry_point = 'POSTER' WHERE id = ?`, out.Contact.ID)
	c4 := add("+5511987651234", 3, consent.OptedIn, "offers")
	if err := db.MarkUndeliverable(ctx, c4, 131026, t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	rec, _, err := db.FixtureInbound(ctx, consent.InboundRecord{Phone: "+12025550123", Lang: "en", At: t0.Add(4 * time.Hour),
		Message: consent.InboundMessage{ID: "wamid.S1", From: "12025550123", Type: consent.InText, Text: "hi", Timestamp: t0.Add(4 * time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, rec.ID)
	add("+4917012399999", 5, consent.Pending, "order_updates")
	return db, ids
}

func search(t *testing.T, db *DB, q consent.ContactSearch) consent.ContactPage {
	t.Helper()
	if q.Sort == "" {
		q.Sort = consent.SortCreated
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	p, err := db.SearchContacts(context.Background(), q)
	if err != nil {
		t.Fatalf("SearchContacts(%+v): %v", q, err)
	}
	return p
}

func pageIDs(p consent.ContactPage) []int64 {
	var out []int64
	for _, r := range p.Rows {
		out = append(out, r.Contact.ID)
	}
	return out
}

func TestSearchContactsFilters(t *testing.T) {
	db, id := searchFixture(t)
	day := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	tests := []struct {
		name string
		q    consent.ContactSearch
		want []int64 // newest first
	}{
		{"everyone", consent.ContactSearch{}, []int64{id[5], id[4], id[3], id[2], id[1], id[0]}},
		{"digits in the middle", consent.ContactSearch{Digits: "1234"}, []int64{id[3], id[2], id[0]}},
		{"a longer run", consent.ContactSearch{Digits: "5112345678"}, []int64{id[0]}},
		{"the whole number", consent.ContactSearch{Digits: "4915198765432"}, []int64{id[1]}},
		{"digits at the end", consent.ContactSearch{Digits: "999"}, []int64{id[5]}},
		{"no such digits", consent.ContactSearch{Digits: "0000000"}, nil},
		{"short: the start of the number", consent.ContactSearch{Digits: "49"}, []int64{id[5], id[1], id[0]}},
		{"short: one digit", consent.ContactSearch{Digits: "1"}, []int64{id[4]}},
		{"category and state", consent.ContactSearch{ContactQuery: consent.ContactQuery{Category: "offers", State: consent.OptedIn}},
			[]int64{id[3], id[0]}},
		{"state in any category", consent.ContactSearch{ContactQuery: consent.ContactQuery{State: consent.OptedOut}}, []int64{id[1]}},
		{"pending", consent.ContactSearch{ContactQuery: consent.ContactQuery{State: consent.Pending}}, []int64{id[5]}},
		{"no consent at all", consent.ContactSearch{ContactQuery: consent.ContactQuery{State: consent.NoConsent}}, []int64{id[4]}},
		{"no consent for a category", consent.ContactSearch{ContactQuery: consent.ContactQuery{Category: "offers", State: consent.NoConsent}},
			[]int64{id[5], id[4], id[2]}},
		{"any consent in a category", consent.ContactSearch{ContactQuery: consent.ContactQuery{Category: "offers"}},
			[]int64{id[3], id[1], id[0]}},
		{"status", consent.ContactSearch{ContactQuery: consent.ContactQuery{Status: consent.Undeliverable}}, []int64{id[3]}},
		{"source", consent.ContactSearch{ContactQuery: consent.ContactQuery{Source: consent.SourceAPI}}, []int64{id[2]}},
		{"source of the last change", consent.ContactSearch{ContactQuery: consent.ContactQuery{Category: "offers", Source: consent.SourceKeyword}},
			[]int64{id[1]}},
		{"entry point", consent.ContactSearch{ContactQuery: consent.ContactQuery{EntryPoint: "POSTER"}}, []int64{id[2]}},
		{"created range", consent.ContactSearch{ContactQuery: consent.ContactQuery{DateField: consent.DateCreated, From: day(1), To: day(3)}},
			[]int64{id[2], id[1]}},
		{"changed: an opt-out changes its contact", consent.ContactSearch{ContactQuery: consent.ContactQuery{DateField: consent.DateChanged, From: day(24)}},
			[]int64{id[1]}},
		{"search and filters together", consent.ContactSearch{Digits: "1234", ContactQuery: consent.ContactQuery{Category: "offers", State: consent.OptedIn}},
			[]int64{id[3], id[0]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := search(t, db, tt.q)
			if got := pageIDs(p); !slices.Equal(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
			if wantPrefix := tt.q.Digits != "" && len(tt.q.Digits) < consent.MinSearchDigits; p.Prefix != wantPrefix {
				t.Errorf("Prefix = %v, want %v", p.Prefix, wantPrefix)
			}
		})
	}

	p := search(t, db, consent.ContactSearch{Digits: "15112345678"})
	if len(p.Rows) != 1 || len(p.Rows[0].Consents) != 2 || p.Rows[0].Consents[0].Category != "order_updates" {
		t.Errorf("rows = %+v, want the contact with its two consents in category order", p.Rows)
	}
}

// TestSearchContactsWaID: a number WhatsApp reports differently (Mexico's
// 521…) is found by the digits of either.
func TestSearchContactsWaID(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	out, err := db.FixtureOptIn(ctx, optIn("+525512345678", consent.OptedIn, t0, "offers"))
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db.w, `UPDATE contacts SET wa_id = '5215512345678' WHERE id = ?`, out.Contact.ID)
	for _, digits := range []string{"525512", "5215512", "12345678"} {
		if got := pageIDs(search(t, db, consent.ContactSearch{Digits: digits})); !slices.Equal(got, []int64{out.Contact.ID}) {
			t.Errorf("%s: ids = %v, want the contact", digits, got)
		}
	}
	// A new number replaces the old one in the index.
	if err := db.FixtureNumberChange(ctx, out.Contact.ID, "+4930555111", "4930555111", consent.Evidence{Source: consent.SourceProvider}, t0); err != nil {
		t.Fatal(err)
	}
	if got := pageIDs(search(t, db, consent.ContactSearch{Digits: "5512345678"})); len(got) != 0 {
		t.Errorf("old number still found: %v", got)
	}
	if got := pageIDs(search(t, db, consent.ContactSearch{Digits: "555111"})); !slices.Equal(got, []int64{out.Contact.ID}) {
		t.Errorf("new number: ids = %v, want the contact", got)
	}
}

// TestSearchContactsPages walks every order forwards and back, two rows a
// page, and checks every contact comes once, in order.
func TestSearchContactsPages(t *testing.T) {
	db, _ := searchFixture(t)
	for _, base := range []consent.ContactQuery{{Sort: consent.SortCreated}, {Sort: consent.SortChanged}, {Sort: consent.SortPhone},
		{Sort: consent.SortCreated, DateField: consent.DateCreated, From: t0.Add(-time.Hour)}} {
		sort := base.Sort
		t.Run(fmt.Sprintf("%s %v", sort, !base.From.IsZero()), func(t *testing.T) {
			all := pageIDs(search(t, db, consent.ContactSearch{ContactQuery: base}))
			if len(all) != 6 {
				t.Fatalf("all = %v", all)
			}
			withLimit := base
			withLimit.Limit = 2
			pages := walkPages(t, db, withLimit)
			if walked := walkedIDs(pages); !slices.Equal(walked, all) || len(pages) != 3 {
				t.Errorf("forward: %v in %d pages, want %v in 3", walked, len(pages), all)
			}
		})
	}
}

// walkPages reads the list of base page by page through the Next cursors,
// then back from the last page through the Prev cursors, checking each
// page reached backwards equals the one reached forwards. It returns the
// pages in order.
func walkPages(t *testing.T, db *DB, base consent.ContactQuery) []consent.ContactPage {
	t.Helper()
	var pages []consent.ContactPage
	q := consent.ContactSearch{ContactQuery: base}
	for i := 0; ; i++ {
		p := search(t, db, q)
		pages = append(pages, p)
		if (i == 0) != (p.Prev == "") {
			t.Errorf("page %d: Prev = %q", i, p.Prev)
		}
		if p.Next == "" {
			break
		}
		cur, err := consent.DecodeContactCursor(p.Next, base.Sort)
		if err != nil {
			t.Fatal(err)
		}
		q.After = &cur
	}
	back := pages[len(pages)-1]
	for i := len(pages) - 2; i >= 0; i-- {
		cur, err := consent.DecodeContactCursor(back.Prev, base.Sort)
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		back = search(t, db, consent.ContactSearch{ContactQuery: base, Before: &cur})
		if got, want := pageIDs(back), pageIDs(pages[i]); !slices.Equal(got, want) {
			t.Errorf("back to page %d: %v, want %v", i, got, want)
		}
		if back.Next == "" {
			t.Errorf("back to page %d: no Next", i)
		}
	}
	if back.Prev != "" {
		t.Errorf("first page reached backwards has Prev %q", back.Prev)
	}
	return pages
}

func walkedIDs(pages []consent.ContactPage) []int64 {
	var ids []int64
	for _, p := range pages {
		ids = append(ids, pageIDs(p)...)
	}
	return ids
}

// TestSearchContactsNoOffset: the list's queries seek from the cursor
// along an index and need no sort of their own (no temporary b-tree), so a
// deep page costs what the first does. The plans are the real queries'.
func TestSearchContactsNoOffset(t *testing.T) {
	sqliteOnly(t, "reads SQLite's query plans")
	db, _ := searchFixture(t)
	cur := &consent.ContactCursor{Key: "2026-11-01T12:00:00.000000000Z", ID: 3}
	tests := []struct {
		name  string
		q     consent.ContactSearch
		index string // what the plan must use
	}{
		{"newest first", consent.ContactSearch{ContactQuery: consent.ContactQuery{Sort: consent.SortCreated}, After: cur}, "PRIMARY KEY"},
		{"newest first, backwards", consent.ContactSearch{ContactQuery: consent.ContactQuery{Sort: consent.SortCreated}, Before: cur}, "PRIMARY KEY"},
		{"newest first, filtered", consent.ContactSearch{ContactQuery: consent.ContactQuery{Sort: consent.SortCreated,
			Status: consent.Active, Category: "offers", State: consent.OptedIn}, After: cur}, "consents_category_state"},
		{"newest first, category and state, backwards", consent.ContactSearch{ContactQuery: consent.ContactQuery{Sort: consent.SortCreated,
			Category: "offers", State: consent.Pending, Source: consent.SourceWebForm}, Before: cur}, "consents_category_state"},
		{"newest first, state only", consent.ContactSearch{ContactQuery: consent.ContactQuery{Sort: consent.SortCreated,
			State: consent.Pending}, After: cur}, "PRIMARY KEY"},
		{"newest first, created range", consent.ContactSearch{ContactQuery: consent.ContactQuery{Sort: consent.SortCreated,
			DateField: consent.DateCreated, From: t0, To: t0.Add(time.Hour)}, After: cur}, "contacts_created"},
		{"changed", consent.ContactSearch{ContactQuery: consent.ContactQuery{Sort: consent.SortChanged}, After: cur}, "contacts_updated"},
		{"by number", consent.ContactSearch{ContactQuery: consent.ContactQuery{Sort: consent.SortPhone}, After: cur}, "sqlite_autoindex_contacts"},
		{"search, newest first", consent.ContactSearch{ContactQuery: consent.ContactQuery{Sort: consent.SortCreated}, Digits: "1234", After: cur}, "SCAN f VIRTUAL TABLE"},
		{"short search", consent.ContactSearch{ContactQuery: consent.ContactQuery{Sort: consent.SortPhone}, Digits: "49", After: cur}, "sqlite_autoindex_contacts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.Limit = 50
			if tt.q.Before != nil {
				tt.q.After = nil
			}
			query, args, _, err := contactQuery(tt.q, false)
			if err != nil {
				t.Fatal(err)
			}
			plan := queryPlan(t, db, query, args...)
			if !strings.Contains(plan, tt.index) || strings.Contains(plan, "TEMP B-TREE") ||
				strings.Contains(query, "OFFSET") {
				t.Errorf("plan:\n%s\nwant a walk of %s with no sort", plan, tt.index)
			}
		})
	}
}

// TestEraseRemovesNumberFromSearchIndex: an erased contact can't be found,
// the index keeps no entry for it, and the file holds none of its digits.
func TestEraseRemovesNumberFromSearchIndex(t *testing.T) {
	sqliteOnly(t, "reads the database file and the FTS index")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "optin.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const phone, digits = "+4915112345678", "4915112345678"
	a, err := db.FixtureOptIn(ctx, optIn(phone, consent.OptedIn, t0, "offers"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.FixtureOptIn(ctx, optIn("+4917099887766", consent.OptedIn, t0, "offers"))
	if err != nil {
		t.Fatal(err)
	}
	if got := pageIDs(search(t, db, consent.ContactSearch{Digits: "5112345"})); !slices.Equal(got, []int64{a.Contact.ID}) {
		t.Fatalf("before erasure: %v", got)
	}
	db.Checkpoint(ctx)
	if raw, _ := os.ReadFile(path); !bytes.Contains(raw, []byte(digits)) {
		t.Fatal("the number was never in the file: the test would prove nothing")
	}
	if err := db.EraseContact(ctx, a.Contact.ID, consent.Tombstone{PhoneHash: strings.Repeat("ab", 32), Reason: "admin",
		Actor: "admin:ops@example.com", At: t0.Add(time.Hour), Event: consent.EventErased, Source: consent.SourceAdmin}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"5112345", "491", digits} {
		if got := pageIDs(search(t, db, consent.ContactSearch{Digits: d})); slices.Contains(got, a.Contact.ID) {
			t.Errorf("%s still finds the erased contact", d)
		}
	}
	if got := pageIDs(search(t, db, consent.ContactSearch{Digits: "99887766"})); !slices.Equal(got, []int64{b.Contact.ID}) {
		t.Errorf("the other contact: %v", got)
	}
	// The trigram index itself: no entry for the erased rowid in any term.
	mustExec(t, db.w, `CREATE VIRTUAL TABLE temp.digits_vocab USING fts5vocab(main, contact_digits, instance)`)
	var n int
	if err := db.w.QueryRow(`SELECT count(*) FROM temp.digits_vocab WHERE doc = ?`, a.Contact.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d trigram instances of the erased contact remain", n)
	}
	wantIntact(t, db, 3)
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if bytes.Contains(raw, []byte(digits)) {
			t.Errorf("%s still holds the number's digits", filepath.Base(f))
		}
	}
}

// TestSearchContactsCategoryStatePages walks the list filtered to one
// category and state, which is read from consents_category_state rather
// than the contacts: forwards and back, two rows a page, every match once
// and newest first, and a contact's other categories don't repeat it.
func TestSearchContactsCategoryStatePages(t *testing.T) {
	db, _ := searchFixture(t)
	ctx := context.Background()
	for i := range 5 {
		if _, err := db.FixtureOptIn(ctx, optIn(fmt.Sprintf("+49170123456%d", i), consent.OptedIn, t0, "offers", "order_updates")); err != nil {
			t.Fatal(err)
		}
	}
	base := consent.ContactQuery{Sort: consent.SortCreated, Category: "offers", State: consent.OptedIn}
	all := pageIDs(search(t, db, consent.ContactSearch{ContactQuery: base}))
	if len(all) != 7 || !slices.IsSortedFunc(all, func(a, b int64) int { return int(b - a) }) {
		t.Fatalf("all = %v, want 7 ids newest first", all)
	}
	base.Limit = 2
	pages := walkPages(t, db, base)
	if walked := walkedIDs(pages); !slices.Equal(walked, all) || len(pages) != 4 {
		t.Fatalf("forward: %v in %d pages, want %v in 4", walked, len(pages), all)
	}
}

// TestMatchUnknownPlan: a status report for a message optin has no
// provider id for reads the recipient's messages in doubt by their partial
// index, not every message without a provider id (the whole queue).
func TestMatchUnknownPlan(t *testing.T) {
	sqliteOnly(t, "reads SQLite's query plan")
	t.Parallel()
	db := openTest(t)
	plan := queryPlan(t, db, db.matchUnknownQuery(), "4915100000000", "+4915100000000", "2026")
	if !strings.Contains(plan, "USING INDEX outbox_unknown") || strings.Contains(plan, "SCAN") {
		t.Errorf("plan:\n%s\nwant the outbox read by outbox_unknown, nothing scanned", plan)
	}
}

// TestClaimDuePlan: a claim of the outbox finds the sends whose lease ran
// out by their index, without reading the queue.
func TestClaimDuePlan(t *testing.T) {
	sqliteOnly(t, "reads SQLite's query plan")
	t.Parallel()
	db := openTest(t)
	plan := queryPlan(t, db, claimExpiredQuery, "2026", "2026")
	if !strings.Contains(plan, "INDEX outbox_sending") || strings.Contains(plan, "SCAN") {
		t.Errorf("plan:\n%s\nwant the outbox read by outbox_sending, nothing scanned", plan)
	}
}

// queryPlan returns SQLite's plan for query, a line per step.
func queryPlan(t *testing.T, db *DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.w.Query(`EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(detail + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan.String()
}
