package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/optin/optin/consent"
)

// TestSharedCommitsKeepEachApart runs 48 transaction functions at once
// through txShared: those that fail leave nothing and get their own error,
// the others commit (one of them panics: it fails alone); a function whose
// caller's context is cancelled while it runs still commits, with the others.
func TestSharedCommitsKeepEachApart(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	if _, err := db.w.Exec(`CREATE TABLE shared_test (n INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	const n = 48
	errs := make([]error, n)
	boom := errors.New("boom")
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			errs[i] = db.txShared(cctx, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO shared_test (n) VALUES (?)`, i); err != nil {
					return err
				}
				switch i % 3 {
				case 1:
					if i == 1 {
						panic("a bug") // fails this call alone
					}
					return fmt.Errorf("call %d: %w", i, boom)
				case 2:
					cancel() // the caller goes away mid-way
					_, err := tx.ExecContext(ctx, `INSERT INTO shared_test (n) VALUES (?)`, 1000+i)
					return err
				}
				return nil
			})
		})
	}
	close(start)
	wg.Wait()
	rows, err := db.r.Query(`SELECT n FROM shared_test`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]bool{}
	for rows.Next() {
		var v int
		rows.Scan(&v)
		got[v] = true
	}
	rows.Close()
	for i := range n {
		switch i % 3 {
		case 1:
			if (i != 1 && !errors.Is(errs[i], boom)) || (i == 1 && errs[i] == nil) || got[i] {
				t.Errorf("call %d: err %v, stored %v; want its own error and nothing stored", i, errs[i], got[i])
			}
		case 2:
			if errs[i] != nil || !got[i] || !got[1000+i] {
				t.Errorf("call %d (cancelled while running): err %v, stored %v %v; want both rows", i, errs[i], got[i], got[1000+i])
			}
		default:
			if errs[i] != nil || !got[i] {
				t.Errorf("call %d: err %v, stored %v", i, errs[i], got[i])
			}
		}
	}
	if len(got) != n/3*2+n/3 {
		t.Errorf("%d rows stored, want %d", len(got), n/3*2+n/3)
	}
}

// TestSharedCommitPasses follows one group through commit: with no call
// failing, each runs once, in the first pass; when one fails, the first pass
// is undone and every call runs again (those after the failure for the
// first time), each in its savepoint, where the failing one fails alone. A
// lone call that fails leaves nothing.
func TestSharedCommitPasses(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	if _, err := db.w.Exec(`CREATE TABLE shared_test (n INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	c := &sharer{s: db}
	group := func(first, n, failing int) ([]*sharedReq, []int) {
		runs := make([]int, n)
		calls := make([]*sharedReq, n)
		for i := range calls {
			calls[i] = &sharedReq{ctx: context.Background(), done: make(chan struct{}),
				f: func(ctx context.Context, tx *sql.Tx) error {
					runs[i]++
					if _, err := tx.ExecContext(ctx, `INSERT INTO shared_test (n) VALUES (?)`, first+i); err != nil {
						return err
					}
					if i == failing {
						return boom
					}
					return nil
				}}
		}
		c.commit(calls)
		return calls, runs
	}
	stored := func(n int) bool {
		var k int
		if err := db.r.QueryRow(`SELECT count(*) FROM shared_test WHERE n = ?`, n).Scan(&k); err != nil {
			t.Fatal(err)
		}
		return k == 1
	}

	calls, runs := group(0, 3, -1)
	for i, r := range calls {
		if r.err != nil || runs[i] != 1 || !stored(i) {
			t.Errorf("all succeed, call %d: err %v, ran %d times, stored %v; want nil, once, stored", i, r.err, runs[i], stored(i))
		}
	}

	calls, runs = group(10, 4, 2)
	want := []int{2, 2, 2, 1} // up to the failure, both passes
	for i, r := range calls {
		if i == 2 {
			if !errors.Is(r.err, boom) || runs[i] != 2 || stored(10+i) {
				t.Errorf("failing call: err %v, ran %d times, stored %v; want boom, twice, nothing", r.err, runs[i], stored(10+i))
			}
			continue
		}
		if r.err != nil || runs[i] != want[i] || !stored(10+i) {
			t.Errorf("call %d beside a failure: err %v, ran %d times, stored %v; want nil, %d, stored", i, r.err, runs[i], stored(10+i), want[i])
		}
	}

	calls, runs = group(20, 1, 0)
	if !errors.Is(calls[0].err, boom) || runs[0] != 2 || stored(20) {
		t.Errorf("lone failing call: err %v, ran %d times, stored %v", calls[0].err, runs[0], stored(20))
	}
}

// TestSharedCommitCollects follows form posts through one group whose first
// pass collects their events and consent states (a bulk): a second post of
// a number sees what the first recorded; an erasure in the group erases the
// events collected before it; a post after the erasure chains on the
// erasure's event; and the ledger verifies. Then a call whose collected
// write fails at the end of the first pass: the second pass, in savepoints,
// fails it alone. Both with and without the pushes of consent changes and
// erasures to the business (PushEvents), which read their events back in
// the transaction.
func TestSharedCommitCollects(t *testing.T) {
	t.Parallel()
	for _, push := range []bool{false, true} {
		t.Run(fmt.Sprintf("push=%v", push), func(t *testing.T) {
			t.Parallel()
			var opts []Option
			if push {
				opts = append(opts, PushEvents())
			}
			testSharedCommitCollects(t, opts...)
		})
	}
}

func testSharedCommitCollects(t *testing.T, opts ...Option) {
	ctx := context.Background()
	db, err := Open(ctx, testDSN(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &sharer{s: db}
	wording := consent.NewWording("consent", "en", "I agree.")
	hello := consent.Message{Kind: consent.KindText, Text: "Welcome"}
	optIn := func(seen *[]consent.Consent, cats ...string) consent.Decider {
		return func(snap consent.Snapshot) (consent.Plan, error) {
			if seen != nil {
				*seen = slices.Clone(snap.Consents)
			}
			tr, err := consent.Decide(snap.Consents, consent.Act{Kind: consent.ActOptIn, Categories: cats, Target: consent.OptedIn})
			return consent.Plan{At: t0, Lang: "en", Evidence: consent.Evidence{Source: consent.SourceWebForm, IP: "192.0.2.0"},
				Wording: &wording, Transitions: tr, Replies: []consent.Reply{{Purpose: "welcome", Message: hello}}}, err
		}
	}
	// A message and nothing else (a HELP's answer).
	reply := func(consent.Snapshot) (consent.Plan, error) {
		return consent.Plan{At: t0, Evidence: consent.Evidence{Source: consent.SourceKeyword},
			Replies: []consent.Reply{{Purpose: "help", Message: hello}}}, nil
	}
	// A STOP: every category out, the queued messages cancelled.
	stop := func(snap consent.Snapshot) (consent.Plan, error) {
		tr, err := consent.Decide(snap.Consents, consent.Act{Kind: consent.ActOptOut})
		return consent.Plan{At: t0, Evidence: consent.Evidence{Source: consent.SourceKeyword}, Transitions: tr, CancelQueued: true}, err
	}
	erase := func(consent.Snapshot) (consent.Plan, error) {
		return consent.Plan{At: t0, Erase: &consent.Tombstone{PhoneHash: "hash-of-b", Reason: "person", At: t0,
			Event: consent.EventErased, Source: consent.SourceWebForm}}, nil
	}
	runs := 0
	post := func(phone string, decide consent.Decider) *sharedReq {
		return &sharedReq{ctx: ctx, done: make(chan struct{}), f: func(ctx context.Context, tx *sql.Tx) error {
			runs++
			_, _, err := db.applyToNumber(ctx, tx, phone, "en", t0, decide)
			return err
		}}
	}
	const a, b, d, e = "+4915100000001", "+4915100000002", "+4915100000004", "+4915100000005"
	var seen []consent.Consent
	calls := []*sharedReq{
		post(a, optIn(nil, "offers")),
		post(b, optIn(nil, "offers", "order_updates")),
		post(a, optIn(&seen, "offers", "order_updates")),
		post(b, erase),
		post(d, optIn(nil, "offers")),
		post(e, reply),
		post(e, stop), // the reply, still collected, is cancelled
	}
	c.commit(calls)
	for i, r := range calls {
		if r.err != nil {
			t.Fatalf("call %d: %v", i, r.err)
		}
	}
	if runs != len(calls) {
		// A second pass gets the same answers, so only the count of runs
		// tells that the first pass's collected writes failed.
		t.Errorf("%d calls ran %d times; want once each, in the first pass", len(calls), runs)
	}
	if len(seen) != 1 || seen[0].Category != "offers" || seen[0].State != consent.OptedIn {
		t.Errorf("the second post of a number saw %+v; want offers opted in by the first", seen)
	}
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := db.r.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// a: offers, then order_updates; b: two opt-ins and the erasure; d:
	// offers; e: none.
	if n := count(`SELECT count(*) FROM events`); n != 6 {
		t.Errorf("%d events, want 6", n)
	}
	if n := count(`SELECT count(*) FROM events WHERE type = 'opt_in' AND erased = 1 AND ip = ''`); n != 2 {
		t.Errorf("%d of b's opt-in events erased, want 2", n)
	}
	if n := count(`SELECT count(*) FROM consents WHERE state = 'opted_in'`); n != 3 {
		t.Errorf("%d consents in, want a's two and d's one", n)
	}
	// Welcomes: a's two, d's; b's went with b; e's reply is cancelled.
	if n := count(`SELECT count(*) FROM outbox WHERE status = 'queued'`); n != 3 {
		t.Errorf("%d messages queued, want 3", n)
	}
	if n := count(`SELECT count(*) FROM outbox WHERE status = 'failed' AND error_class = 'cancelled'`); n != 1 {
		t.Errorf("%d messages cancelled, want e's reply", n)
	}
	if rep, err := db.VerifyLedger(ctx, t0); err != nil || !rep.OK() {
		t.Errorf("VerifyLedger = %+v, %v", rep, err)
	}

	// A call that collects a consent state of a contact that does not exist:
	// the write fails only when the bulk writes it, at the end of the pass.
	bad := &sharedReq{ctx: ctx, done: make(chan struct{}), f: func(ctx context.Context, tx *sql.Tx) error {
		return db.setConsent(ctx, tx, 999_999, 1, consent.OptedIn, consent.SourceWebForm, 1, t0)
	}}
	calls = []*sharedReq{post("+4915100000006", optIn(nil, "offers")), bad, post("+4915100000007", optIn(nil, "offers"))}
	c.commit(calls)
	if calls[0].err != nil || calls[2].err != nil || bad.err == nil {
		t.Errorf("errors %v, %v, %v; want only the middle call's", calls[0].err, bad.err, calls[2].err)
	}
	if n := count(`SELECT count(*) FROM consents WHERE state = 'opted_in'`); n != 5 {
		t.Errorf("%d consents in, want 5", n)
	}
	if rep, err := db.VerifyLedger(ctx, t0); err != nil || !rep.OK() {
		t.Errorf("VerifyLedger = %+v, %v", rep, err)
	}
}

// TestSharedMemoLastsOneTransaction: what a shared commit remembers of the
// entry points (txMemo) is gone with it, so a change made between two form
// posts is what the second one decides on; and a decision that changes the
// categories it was given does not change them for the next call.
func TestSharedMemoLastsOneTransaction(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	var got [][]string
	keep := func(snap consent.Snapshot) (consent.Plan, error) {
		got = append(got, slices.Clone(snap.EntryCategories))
		snap.EntryCategories[0] = "changed by the decision"
		return consent.Plan{}, nil
	}
	post := func(phone string) {
		t.Helper()
		if _, _, err := db.ApplyToNumber(ctx, phone, "en", t0, keep); err != nil {
			t.Fatal(err)
		}
	}
	post("+4915100000001")
	if err := db.UpdateEntryPoint(ctx, consent.EntryPoint{Code: consent.DefaultEntryPoint, Name: "Default",
		Categories: []string{"offers"}}, t0); err != nil {
		t.Fatal(err)
	}
	post("+4915100000002")
	post("+4915100000003")
	if len(got) != 3 || slices.Equal(got[0], got[1]) || !slices.Equal(got[1], []string{"offers"}) ||
		!slices.Equal(got[2], []string{"offers"}) {
		t.Errorf("entry categories seen by the three posts: %q; want the default's, then [offers] twice", got)
	}

	// Within one shared transaction, each call gets its own copy.
	err := db.tx(ctx, func(tx *sql.Tx) error {
		db.memos.Store(tx, newTxMemo())
		defer db.memos.Delete(tx)
		for range 2 { // read, then from the memo
			cats, err := db.entryCategories(ctx, tx, consent.DefaultEntryPoint)
			if err != nil {
				return err
			}
			cats[0] = "changed by the decision"
		}
		again, err := db.entryCategories(ctx, tx, consent.DefaultEntryPoint)
		if err == nil && !slices.Equal(again, []string{"offers"}) {
			t.Errorf("entry categories from the memo after a caller changed its copy: %q, want [offers]", again)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSharedCommitsIndexNewContacts: the contacts form posts create in
// shared commits are all in the trigram index once committed (SQLite adds
// their rows at the end of each commit, migration 0027), those of a post
// that failed are neither in the table nor in the index, a new contact whose
// plan changes its number is found by the new one only, and the insert
// trigger is on again for every other writer.
func TestSharedCommitsIndexNewContacts(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	const n = 48
	phone := func(i int) string { return fmt.Sprintf("+49151%08d", 7000+i) }
	moved := func(i int) string { return fmt.Sprintf("+49152%08d", 9000+i) }
	boom := errors.New("boom")
	decide := func(i int) consent.Decider {
		return func(snap consent.Snapshot) (consent.Plan, error) {
			switch i % 4 {
			case 1:
				return consent.Plan{}, fmt.Errorf("post %d: %w", i, boom)
			case 2:
				return consent.Plan{At: t0, Evidence: consent.Evidence{Source: consent.SourceAdmin},
					NewNumber: &consent.NumberChange{Phone: moved(i), WaID: strings.TrimPrefix(moved(i), "+")}}, nil
			}
			return consent.Plan{}, nil
		}
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n+1)
	for i := range n {
		wg.Go(func() {
			<-start
			_, _, errs[i] = db.ApplyToNumber(ctx, phone(i), "en", t0, decide(i))
		})
	}
	close(start)
	wg.Wait()
	_, _, errs[n] = db.ApplyToNumber(ctx, phone(n), "en", t0, decide(n)) // alone in its commit
	// found searches as the console does by digits: through the trigram index.
	found := func(number string) []int64 {
		t.Helper()
		return pageIDs(search(t, db, consent.ContactSearch{Digits: strings.TrimPrefix(number, "+")}))
	}
	for i := range n + 1 {
		if i%4 == 1 {
			if !errors.Is(errs[i], boom) {
				t.Errorf("post %d: %v, want boom", i, errs[i])
			}
			if _, err := db.ContactByPhone(ctx, phone(i)); !errors.Is(err, consent.ErrNotFound) {
				t.Errorf("post %d failed, its contact: %v, want ErrNotFound", i, err)
			}
			if ids := found(phone(i)); len(ids) != 0 {
				t.Errorf("post %d failed, yet its number is in the index: %v", i, ids)
			}
			continue
		}
		if errs[i] != nil {
			t.Fatalf("post %d: %v", i, errs[i])
		}
		number := phone(i)
		if i%4 == 2 {
			if ids := found(phone(i)); len(ids) != 0 {
				t.Errorf("post %d moved its contact, yet the old number is in the index: %v", i, ids)
			}
			number = moved(i)
		}
		c, err := db.ContactByPhone(ctx, number)
		if err != nil {
			t.Fatalf("post %d: contact by %s: %v", i, number, err)
		}
		if ids := found(number); !slices.Equal(ids, []int64{c.ID}) {
			t.Errorf("post %d: index finds %v for %s, want [%d]", i, ids, number, c.ID)
		}
		if engine == "sqlite" { // one index row per contact: an erasure's delete removes one
			q := `SELECT rowid FROM contact_digits WHERE contact_digits MATCH '"` + strings.TrimPrefix(number, "+") + `"'`
			if rows := scanAll(t, db.w, q); len(rows) != 1 {
				t.Errorf("post %d: %d index rows for %s, want 1", i, len(rows), number)
			}
		}
	}
	// An erasure takes a moved contact's number out of the index.
	c, err := db.ContactByPhone(ctx, moved(2))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.EraseContact(ctx, c.ID, consent.Tombstone{PhoneHash: fmt.Sprintf("%064x", c.ID), Reason: "admin", At: t0,
		Event: consent.EventErased, Source: consent.SourceAdmin}); err != nil {
		t.Fatal(err)
	}
	if engine == "sqlite" {
		q := `SELECT rowid FROM contact_digits WHERE contact_digits MATCH '"` + strings.TrimPrefix(moved(2), "+") + `"'`
		if rows := scanAll(t, db.w, q); len(rows) != 0 {
			t.Errorf("erased contact %d still in the index: %v", c.ID, rows)
		}
	}
	if engine == "sqlite" {
		if rows := scanAll(t, db.w, `SELECT deferred FROM contact_digits_deferred`); len(rows) != 1 || rows[0][0].(int64) != 0 {
			t.Errorf("contact_digits_deferred = %v after the commits, want one row, 0", rows)
		}
	}
}
