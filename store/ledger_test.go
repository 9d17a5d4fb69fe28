package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// ledgerCategories are the seeded categories and ten more, so that one
// opt-in writes many events in one transaction.
func ledgerCategories(t testing.TB, db *DB) []string {
	t.Helper()
	cats := []string{"order_updates", "offers", "recommendations"}
	for i := 4; i <= 13; i++ {
		slug := fmt.Sprintf("topic%02d", i)
		if _, err := db.w.Exec(`INSERT INTO categories (id, slug, marketing, position, created_at) VALUES (?, ?, 1, ?, ?)`,
			i, slug, i, ts(t0)); err != nil {
			t.Fatal(err)
		}
		cats = append(cats, slug)
	}
	return cats
}

// buildLedger writes exactly n events through every store method that
// records one, from every source, erasing every third contact on the way.
func buildLedger(t testing.TB, db *DB, n int) {
	t.Helper()
	ctx := context.Background()
	cats := ledgerCategories(t, db)
	sources := []consent.Source{consent.SourceWebForm, consent.SourceEmbed, consent.SourceLink, consent.SourceQR,
		consent.SourceAPI, consent.SourceAdmin, consent.SourceImport, consent.SourcePreferenceCenter}
	total := 0
	at := t0
	phones := 0
	newPhone := func() string {
		phones++
		return fmt.Sprintf("+4915%09d", phones)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var live int64 // a contact never erased, for the last few events
	for i := 0; total < n; i++ {
		at = at.Add(time.Minute)
		if n-total < 2*len(cats)+3 {
			// Fill up one event at a time.
			if live == 0 {
				out, err := db.FixtureOptIn(ctx, optIn(newPhone(), consent.OptedIn, at, cats[0]))
				must(err)
				live, total = out.Contact.ID, total+1
				continue
			}
			p := newPhone()
			must(db.FixtureNumberChange(ctx, live, p, strings.TrimPrefix(p, "+"),
				consent.Evidence{Source: consent.SourceProvider, MessageID: fmt.Sprintf("wamid.fill%d", i)}, at))
			total++
			continue
		}
		src := sources[i%len(sources)]
		ch := optIn(newPhone(), consent.OptedIn, at, cats...)
		if i%2 == 1 {
			ch.Target = consent.Pending
		}
		ch.Evidence = consent.Evidence{Source: src, IP: fmt.Sprintf("198.51.%d.0/24", i%256), UserAgent: "Mozilla/5.0 (test)",
			PageURL: "https://shop.example/checkout?step=" + fmt.Sprint(i), EntryPoint: "HELLO", FormVersion: "3",
			Detail: map[string]string{"n": fmt.Sprint(i)}}
		switch src {
		case consent.SourceEmbed:
			ch.Evidence.EmbedOrigin = "https://blog.example"
		case consent.SourceAdmin, consent.SourceAPI, consent.SourceImport:
			ch.Evidence.Actor = "admin@example.com"
		}
		out, err := db.FixtureOptIn(ctx, ch)
		must(err)
		total += len(out.Changed)
		id := out.Contact.ID

		// A reply on WhatsApp, or (every fourth contact) a keyword with no
		// personal content at all.
		ev := consent.Evidence{Source: consent.SourceWhatsAppReply, MessageID: fmt.Sprintf("wamid.%d", i), MessageText: "STOP ALL"}
		if i%4 == 0 {
			ev = consent.Evidence{Source: consent.SourceKeyword}
		}
		set := map[string]consent.State{}
		for _, c := range cats {
			set[c] = consent.OptedOut
		}
		w := consent.NewWording("terms", "es", "Acepto los términos.")
		changed, err := db.FixtureChange(ctx, ChangeFixture{ContactID: id, At: at.Add(time.Second), Lang: "es", Evidence: ev,
			Wording: &w, ContactEvent: consent.EventTermsAccepted, Type: consent.EventOptOut, Set: set})
		must(err)
		total += len(changed) + 1

		must(db.MarkUndeliverable(ctx, id, 131026, at.Add(2*time.Second)))
		total++
		p := newPhone()
		must(db.FixtureNumberChange(ctx, id, p, strings.TrimPrefix(p, "+"),
			consent.Evidence{Source: consent.SourceProvider, MessageID: fmt.Sprintf("wamid.sys%d", i)}, at.Add(3*time.Second)))
		total++
		if i%3 == 0 {
			must(db.EraseContact(ctx, id, consent.Tombstone{PhoneHash: fmt.Sprintf("%064x", i), Reason: "admin",
				Actor: "admin@example.com", At: at.Add(4 * time.Second), Event: consent.EventErased, Source: consent.SourceAdmin}))
			total++
		} else {
			live = id
		}
	}
	var got int
	must(db.w.QueryRow(`SELECT count(*) FROM events`).Scan(&got))
	if got != n {
		t.Fatalf("built %d events, want %d", got, n)
	}
}

// tamperer writes to the database file behind the store's back: without
// the append-only triggers, the CHECK constraints or foreign keys, as
// someone editing the file would.
func tamperer(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	raw.SetMaxOpenConns(1) // the pragmas below are per connection
	t.Cleanup(func() { raw.Close() })
	for _, q := range []string{
		`PRAGMA ignore_check_constraints = ON`,
		`PRAGMA foreign_keys = OFF`,
		`PRAGMA synchronous = OFF`,
		`DROP TRIGGER events_no_update`,
		`DROP TRIGGER events_no_delete`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return raw
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// changeOneByte returns v with one byte changed: the middle byte of a text
// flipped in its lowest bit (an empty text gains a byte, NULL becomes
// empty), an integer with one bit flipped. An id moves far away rather than
// onto its neighbour's.
func changeOneByte(col string, v any) any {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		if v == "" {
			return "x"
		}
		b := []byte(v)
		b[len(b)/2] ^= 1
		return string(b)
	case int64:
		if col == "id" {
			return v ^ 1<<40
		}
		return v ^ 1
	}
	panic(fmt.Sprintf("column %s holds a %T", col, v))
}

func wantBad(t *testing.T, db *DB, id int64) consent.LedgerReport {
	t.Helper()
	rep, err := db.VerifyLedger(context.Background(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.FirstBad != id {
		t.Errorf("FirstBad = %d (%s), want %d", rep.FirstBad, rep.Reason, id)
	} else if rep.Verified != int(id-1) || rep.Reason == "" {
		t.Errorf("report = %+v, want %d verified and a reason", rep, id-1)
	}
	return rep
}

func wantIntact(t *testing.T, db *DB, n int) {
	t.Helper()
	rep, err := db.VerifyLedger(context.Background(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.FirstBad != 0 || rep.Verified != n || rep.HeadID != int64(n) {
		t.Fatalf("report = %+v, want %d events verified and none bad", rep, n)
	}
}

func TestLedgerDetectsTampering(t *testing.T) {
	sqliteOnly(t, "tampers with the SQLite file through a raw connection")
	n := int64(10000)
	if raceEnabled {
		n = 2000
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "optin.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	buildLedger(t, db, int(n))
	t.Logf("built %d events in %v", n, time.Since(start))
	start = time.Now()
	wantIntact(t, db, int(n))
	t.Logf("verified %d events in %v", n, time.Since(start))

	raw := tamperer(t, path)
	var columns []string
	rows, err := raw.Query(`SELECT name FROM pragma_table_info('events') ORDER BY cid`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		rows.Scan(&name)
		columns = append(columns, name)
	}
	if err := rows.Err(); err != nil || len(columns) < 24 {
		t.Fatalf("columns %v, %v", columns, err)
	}

	// Every column of: the first event, the last, the first erased one and
	// the first without personal content (whose erased flag and empty
	// columns are cases of their own), and one of every 997th event, in
	// turn, so that each of those is changed in two or three columns. (All
	// of them in every column would walk half the chain 240 times, several
	// seconds more, for little more.)
	var erasedID, blankID int64
	if err := raw.QueryRow(`SELECT min(id) FROM events WHERE erased = 1`).Scan(&erasedID); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRow(`SELECT min(id) FROM events WHERE erased = 0 AND ip = '' AND user_agent = ''
		AND page_url = '' AND embed_origin = '' AND message_id = '' AND message_text = '' AND actor = ''
		AND detail = '{}'`).Scan(&blankID); err != nil {
		t.Fatal(err)
	}
	var every997 []int64
	for id := int64(997); id < n; id += 997 {
		every997 = append(every997, id)
	}
	for i, col := range columns {
		sample := []int64{1, erasedID, blankID, every997[i%len(every997)], n}
		t.Run(col, func(t *testing.T) {
			for _, id := range sample {
				var v any
				if err := raw.QueryRow(`SELECT "`+col+`" FROM events WHERE id = ?`, id).Scan(&v); err != nil {
					t.Fatal(err)
				}
				changed := changeOneByte(col, v)
				mustExec(t, raw, `UPDATE events SET "`+col+`" = ? WHERE id = ?`, changed, id)
				rep := wantBad(t, db, id)
				if t.Failed() {
					t.Logf("event %d, %s %q → %q: %+v", id, col, v, changed, rep)
				}
				where := id
				if col == "id" {
					where = changed.(int64)
				}
				mustExec(t, raw, `UPDATE events SET "`+col+`" = ? WHERE id = ?`, v, where)
				if t.Failed() {
					return
				}
			}
		})
	}
	wantIntact(t, db, int(n)) // every change was undone

	t.Run("reorder", func(t *testing.T) {
		a, b := n*2/5, n*2/5+1
		swap := func() {
			mustExec(t, raw, `UPDATE events SET id = -1 WHERE id = ?`, a)
			mustExec(t, raw, `UPDATE events SET id = ? WHERE id = ?`, a, b)
			mustExec(t, raw, `UPDATE events SET id = ? WHERE id = -1`, b)
		}
		swap()
		wantBad(t, db, a)
		swap()
		wantIntact(t, db, int(n))
	})

	t.Run("delete", func(t *testing.T) {
		gone := n / 2
		mustExec(t, raw, `CREATE TABLE saved AS SELECT * FROM events WHERE id = ?`, gone)
		mustExec(t, raw, `DELETE FROM events WHERE id = ?`, gone)
		rep := wantBad(t, db, gone)
		if !strings.Contains(rep.Reason, "missing") {
			t.Errorf("reason %q, want it to say the event is missing", rep.Reason)
		}
		mustExec(t, raw, `INSERT INTO events SELECT * FROM saved`)
		mustExec(t, raw, `DROP TABLE saved`)
		wantIntact(t, db, int(n))
	})

	t.Run("forged at the end", func(t *testing.T) {
		// A well-formed event with correct content_hash and hash, but
		// linked to an earlier event than the last.
		var prev string
		if err := raw.QueryRow(`SELECT hash FROM events WHERE id = ?`, n-1).Scan(&prev); err != nil {
			t.Fatal(err)
		}
		r := ledgerRow{id: n + 1, contactID: 1, typ: "opt_in", category: "offers", state: "opted_in", source: "api",
			occurredAt: ts(t0), recordedAt: ts(t0), lang: "en", detail: "{}", actor: "forger", prevHash: prev}
		c := newCanon()
		r.contentHash = c.contentHash(&r)
		r.hash = c.eventHash(&r)
		mustExec(t, raw, `INSERT INTO events (id, contact_id, type, category, state, source, occurred_at, recorded_at,
			lang, actor, content_hash, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.id, r.contactID, r.typ, r.category, r.state, r.source, r.occurredAt, r.recordedAt, r.lang, r.actor,
			r.contentHash, r.prevHash, r.hash)
		rep := wantBad(t, db, n+1)
		if !strings.Contains(rep.Reason, "prev_hash") {
			t.Errorf("reason %q, want it to name prev_hash", rep.Reason)
		}
		mustExec(t, raw, `DELETE FROM events WHERE id = ?`, n+1)
		wantIntact(t, db, int(n))
	})

	t.Run("cut off at the end", func(t *testing.T) {
		// Nothing in the chain itself shows that its last event is gone;
		// the head recorded by the last intact check does.
		mustExec(t, raw, `CREATE TABLE saved AS SELECT * FROM events WHERE id = ?`, n)
		mustExec(t, raw, `DELETE FROM events WHERE id = ?`, n)
		wantBad(t, db, n)
		mustExec(t, raw, `INSERT INTO events SELECT * FROM saved`)
		mustExec(t, raw, `DROP TABLE saved`)
		wantIntact(t, db, int(n))
	})
}

// TestLedgerRewrittenChain rewrites an event and every hash after it, as
// someone who knows the canonical form can: the chain is consistent again,
// and only the head recorded by an earlier check gives it away.
func TestLedgerRewrittenChain(t *testing.T) {
	sqliteOnly(t, "tampers with the SQLite file through a raw connection")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "optin.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range 10 {
		if _, err := db.FixtureOptIn(ctx, optIn(fmt.Sprintf("+49151000000%02d", i), consent.OptedIn, t0, "offers", "order_updates")); err != nil {
			t.Fatal(err)
		}
	}
	wantIntact(t, db, 20)
	if _, err := db.FixtureOptIn(ctx, optIn("+4915100000099", consent.OptedIn, t0, "offers")); err != nil {
		t.Fatal(err)
	}
	wantIntact(t, db, 21) // growing past the recorded head is fine

	raw := tamperer(t, path)
	mustExec(t, raw, `UPDATE events SET state = 'opted_out', type = 'opt_out' WHERE id = 5`)
	rows, err := raw.Query(`SELECT ` + ledgerColumns + ` FROM events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var all []ledgerRow
	for rows.Next() {
		var r ledgerRow
		if err := r.scan(rows); err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	rows.Close()
	c := newCanon()
	prev := zeroHash
	for _, r := range all {
		r.prevHash = prev
		r.hash = c.eventHash(&r)
		mustExec(t, raw, `UPDATE events SET prev_hash = ?, hash = ? WHERE id = ?`, r.prevHash, r.hash, r.id)
		prev = r.hash
	}
	rep := wantBad(t, db, 21)
	if !strings.Contains(rep.Reason, "rewritten") {
		t.Errorf("reason %q, want it to say the chain was rewritten", rep.Reason)
	}
}

func TestLedgerErase(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a, err := db.FixtureOptIn(ctx, optIn("+4915112345678", consent.OptedIn, t0, "offers", "order_updates"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.FixtureOptIn(ctx, optIn("+4915112345679", consent.OptedIn, t0, "offers"))
	if err != nil {
		t.Fatal(err)
	}
	// A WhatsApp reply with message text, and a keyword with no personal
	// content (nothing to erase there).
	if _, err := db.FixtureChange(ctx, ChangeFixture{ContactID: a.Contact.ID, At: t0.Add(time.Minute), Type: consent.EventOptOut,
		Evidence: consent.Evidence{Source: consent.SourceWhatsAppReply, MessageID: "wamid.1", MessageText: "STOP offers"},
		Set:      map[string]consent.State{"offers": consent.OptedOut}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FixtureChange(ctx, ChangeFixture{ContactID: a.Contact.ID, At: t0.Add(2 * time.Minute), Type: consent.EventOptOut,
		Evidence: consent.Evidence{Source: consent.SourceKeyword},
		Set:      map[string]consent.State{"order_updates": consent.OptedOut}}); err != nil {
		t.Fatal(err)
	}
	if err := db.EraseContact(ctx, a.Contact.ID, consent.Tombstone{PhoneHash: strings.Repeat("ab", 32), Reason: "person",
		At: t0.Add(time.Hour), Event: consent.EventErased, Source: consent.SourcePreferenceCenter}); err != nil {
		t.Fatal(err)
	}
	wantIntact(t, db, 6)

	events, err := db.Events(ctx, a.Contact.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 5 || events[4].Type != consent.EventErased {
		t.Fatalf("events = %+v, want 4 and the erasure", events)
	}
	for _, e := range events[:4] {
		if ev := e.Evidence; ev.IP != "" || ev.UserAgent != "" || ev.PageURL != "" || ev.EmbedOrigin != "" ||
			ev.MessageID != "" || ev.MessageText != "" || ev.Actor != "" || len(ev.Detail) != 0 {
			t.Errorf("event %d keeps personal content: %+v", e.ID, ev)
		}
		if e.Type == "" || e.OccurredAt.IsZero() || e.Evidence.Source == "" {
			t.Errorf("event %d lost what is not personal: %+v", e.ID, e)
		}
	}
	if got := events[4].Evidence.Detail["reason"]; got != "person" {
		t.Errorf("erasure event reason = %q, want person", got)
	}
	var erased, blank int
	db.w.QueryRow(`SELECT count(*) FILTER (WHERE erased = 1), count(*) FILTER (WHERE erased = 0)
		FROM events WHERE contact_id = ? AND id < ?`, a.Contact.ID, events[4].ID).Scan(&erased, &blank)
	if erased != 3 || blank != 1 {
		t.Errorf("%d erased and %d left as they were, want 3 (with content) and 1 (the keyword, with none)", erased, blank)
	}
	bEvents, _ := db.Events(ctx, b.Contact.ID)
	if len(bEvents) != 1 || bEvents[0].Evidence.IP == "" {
		t.Errorf("the other contact's events = %+v, want them untouched", bEvents)
	}

	erasedID, keywordID, otherID := events[0].ID, events[3].ID, bEvents[0].ID
	const blankAll = `ip = '', user_agent = '', page_url = '', embed_origin = '', message_id = '', message_text = '', actor = '', detail = '{}'`
	for _, q := range []string{
		fmt.Sprintf(`UPDATE events SET type = 'opt_out' WHERE id = %d`, erasedID),
		fmt.Sprintf(`UPDATE events SET erased = 0 WHERE id = %d`, erasedID),
		fmt.Sprintf(`UPDATE events SET erased = 1 WHERE id = %d`, erasedID),
		fmt.Sprintf(`UPDATE events SET ip = '203.0.113.0/24' WHERE id = %d`, erasedID),
		fmt.Sprintf(`UPDATE events SET erased = 1 WHERE id = %d`, keywordID),
		fmt.Sprintf(`UPDATE events SET erased = 1 WHERE id = %d`, otherID),
		fmt.Sprintf(`UPDATE events SET %s WHERE id = %d`, blankAll, otherID),
		fmt.Sprintf(`UPDATE events SET %s, erased = 1, hash = 'x' WHERE id = %d`, blankAll, otherID),
		fmt.Sprintf(`UPDATE events SET %s, erased = 1, content_hash = '%s' WHERE id = %d`, blankAll, blankContentHash, otherID),
		fmt.Sprintf(`UPDATE events SET %s, erased = 1, wording_hash = NULL WHERE id = %d`, blankAll, otherID),
		fmt.Sprintf(`UPDATE events SET %s, erased = 1, id = 99 WHERE id = %d`, blankAll, otherID),
		fmt.Sprintf(`UPDATE events SET ip = '', erased = 1 WHERE id = %d`, otherID),
		fmt.Sprintf(`DELETE FROM events WHERE id = %d`, erasedID),
	} {
		if _, err := db.w.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want append-only refusal", q, err)
		}
	}
	wantIntact(t, db, 6)
	// The erasure itself, and only that, passes.
	if _, err := db.w.Exec(fmt.Sprintf(`UPDATE events SET %s, erased = 1 WHERE id = %d`, blankAll, otherID)); err != nil {
		t.Errorf("erasure refused: %v", err)
	}
	wantIntact(t, db, 6)
}

func TestLedgerConcurrentEvents(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				if _, err := db.FixtureOptIn(ctx, optIn(fmt.Sprintf("+491511%02d%04d", g, i), consent.OptedIn, t0, "offers", "order_updates")); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	wantIntact(t, db, 160)
}

func TestLastLedgerCheck(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if _, err := db.LastLedgerCheck(ctx); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("before any check: err = %v, want ErrNotFound", err)
	}
	if _, err := db.FixtureOptIn(ctx, optIn("+4915112345678", consent.OptedIn, t0, "offers")); err != nil {
		t.Fatal(err)
	}
	rep, err := db.VerifyLedger(ctx, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.LastLedgerCheck(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (consent.LedgerCheck{At: t0.Add(time.Hour), LedgerReport: rep}); got != want || !got.OK() || got.Verified != 1 {
		t.Errorf("LastLedgerCheck = %+v, want %+v", got, want)
	}
}

func TestEventHashesAtInsert(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	for i := range 2 {
		if _, err := db.FixtureOptIn(ctx, optIn(fmt.Sprintf("+491511234567%d", i), consent.OptedIn, t0, "offers")); err != nil {
			t.Fatal(err)
		}
	}
	var prev1, hash1, prev2, content1 string
	db.w.QueryRow(`SELECT prev_hash, hash, content_hash FROM events WHERE id = 1`).Scan(&prev1, &hash1, &content1)
	db.w.QueryRow(`SELECT prev_hash FROM events WHERE id = 2`).Scan(&prev2)
	if prev1 != zeroHash || prev2 != hash1 || len(hash1) != 64 || content1 == blankContentHash {
		t.Errorf("event 1 prev %q hash %q content %q, event 2 prev %q", prev1, hash1, content1, prev2)
	}
}

func BenchmarkVerifyLedger(b *testing.B) {
	const n = 10000
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "optin.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	buildLedger(b, db, n)
	runs := 0
	for b.Loop() {
		rep, err := db.VerifyLedger(ctx, t0)
		if err != nil || rep.Verified != n {
			b.Fatalf("%+v, %v", rep, err)
		}
		runs++
	}
	b.ReportMetric(float64(n*runs)/b.Elapsed().Seconds(), "events/s")
}
