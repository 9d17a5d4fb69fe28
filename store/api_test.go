package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

func write(phone, category string, state consent.State, at time.Time) consent.ConsentWrite {
	return consent.ConsentWrite{Phone: phone, PhoneHash: "hash" + phone, Category: category, State: state,
		OccurredAt: at, At: t0, Lang: "en",
		Evidence: consent.Evidence{Source: consent.SourceAPI, Actor: "api:test", Detail: map[string]string{"k": "v"}}}
}

func count(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.w.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRecordConsentIdempotentUnderConcurrency(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	key, err := db.CreateAPIKey(ctx, consent.APIKey{Name: "k", Prefix: "p", Scope: "write"}, "h", t0)
	if err != nil {
		t.Fatal(err)
	}
	w := write("+4915112345678", "offers", consent.OptedIn, t0)
	w.Idempotency = &consent.Idempotency{KeyID: key.ID, Key: "same", RequestHash: "r1"}
	var wg sync.WaitGroup
	outs := make([]consent.RecordOutcome, 8)
	errs := make([]error, 8)
	for i := range outs {
		wg.Go(func() { outs[i], errs[i] = db.RecordConsent(ctx, w) })
	}
	wg.Wait()
	replayed := 0
	for i := range outs {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if outs[i].Event.ID != outs[0].Event.ID || !outs[i].Changed {
			t.Errorf("request %d = %+v, want event %d, changed", i, outs[i], outs[0].Event.ID)
		}
		if outs[i].Replayed {
			replayed++
		}
	}
	if replayed != len(outs)-1 || count(t, db, "events") != 1 {
		t.Errorf("replayed = %d, events = %d; want %d and 1", replayed, count(t, db, "events"), len(outs)-1)
	}
	w.Idempotency.RequestHash = "r2"
	if _, err := db.RecordConsent(ctx, w); !errors.Is(err, consent.ErrIdempotencyMismatch) {
		t.Errorf("other request, same key: err = %v, want ErrIdempotencyMismatch", err)
	}
}

func TestRecordConsentRefusalsWriteNothing(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if _, err := db.RecordConsent(ctx, write("+4915112345678", "offers", consent.OptedOut, t0)); err != nil {
		t.Fatal(err)
	}
	// Erase it: the tombstone keeps the hash the writes carry.
	c, _ := db.ContactByPhone(ctx, "+4915112345678")
	if err := db.EraseContact(ctx, c.ID, consent.Tombstone{PhoneHash: "hash+4915112345678", Reason: "api", At: t0.Add(time.Hour),
		Event: consent.EventErased, Source: consent.SourceAPI}); err != nil {
		t.Fatal(err)
	}
	before := count(t, db, "events")
	later := t0.Add(2 * time.Hour)
	w := write("+4915112345678", "offers", consent.OptedIn, later)
	if _, err := db.RecordConsent(ctx, w); !errors.Is(err, consent.ErrErased) {
		t.Errorf("erased number: err = %v, want ErrErased", err)
	}
	w.CollectedAt = later
	if _, err := db.RecordConsent(ctx, w); err != nil {
		t.Errorf("with new evidence: %v", err)
	}
	stale := write("+4915112345678", "offers", consent.OptedOut, later.Add(-time.Minute))
	if _, err := db.RecordConsent(ctx, stale); !errors.Is(err, consent.ErrStale) {
		t.Errorf("older change: err = %v, want ErrStale", err)
	}
	if got := count(t, db, "events"); got != before+1 {
		t.Errorf("events = %d, want %d", got, before+1)
	}
	if rep, err := db.VerifyLedger(ctx, later); err != nil || !rep.OK() {
		t.Errorf("ledger: %+v %v", rep, err)
	}
}

func TestExportContactsRows(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	db.RecordConsent(ctx, write("+4915112345671", "offers", consent.OptedIn, t0))
	db.RecordConsent(ctx, write("+4915112345671", "order_updates", consent.OptedOut, t0))
	if _, err := db.FixtureOptIn(ctx, optIn("+4915112345672", consent.OptedIn, t0, "offers")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.Exec(`INSERT INTO contacts (id, phone, wa_id, match_key, status, created_at, updated_at)
		VALUES (`+newContactID+`, '+4915112345673', '4915112345673', '4915112345673', 'pending_terms', ?, ?)`, ts(t0), ts(t0)); err != nil {
		t.Fatal(err)
	}
	var got []string
	collect := func(f consent.ExportFilter) []string {
		got = nil
		if err := db.ExportContacts(ctx, f, func(r consent.ExportRow) error {
			got = append(got, r.Contact.Phone+" "+r.Consent.Category+" "+string(r.Consent.State))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := "[+4915112345671 order_updates opted_out +4915112345671 offers opted_in +4915112345672 offers opted_in +4915112345673  ]"
	if s := fmt.Sprint(collect(consent.ExportFilter{})); s != want {
		t.Errorf("export = %s, want %s", s, want)
	}
	if s := fmt.Sprint(collect(consent.ExportFilter{Category: "offers", State: consent.OptedIn})); s != "[+4915112345671 offers opted_in +4915112345672 offers opted_in]" {
		t.Errorf("filtered export = %s", s)
	}
	stop := errors.New("stop")
	n := 0
	err := db.ExportContacts(ctx, consent.ExportFilter{}, func(consent.ExportRow) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("an error from fn: err = %v after %d rows, want it returned after 1", err, n)
	}
}

func TestImportJobLifecycle(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	id, err := db.CreateImportJob(ctx, consent.ImportJob{Actor: "admin:a@example.com", Filename: "f.csv", Total: 3, Applied: 2,
		Refused: 1, Problems: []consent.RowProblem{{Row: 4, Field: "number", Message: "bad"}}, CreatedAt: t0}, []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := db.ImportJob(ctx, id)
	if err != nil || j.Status != consent.ImportChecked || j.Applied != 2 || len(j.Problems) != 1 || j.Problems[0].Row != 4 {
		t.Fatalf("job = %+v, %v", j, err)
	}
	items := []consent.ImportItem{{Row: 2, Write: write("+4915112345671", "offers", consent.OptedIn, t0)}}
	if err := db.ImportBatch(ctx, id, items, t0); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("batch of a job not started: err = %v, want ErrNotFound", err)
	}
	if err := db.StartImportJob(ctx, id, t0); err != nil {
		t.Fatal(err)
	}
	if err := db.StartImportJob(ctx, id, t0); !errors.Is(err, consent.ErrConflict) {
		t.Errorf("second start: err = %v, want ErrConflict", err)
	}
	items = append(items,
		consent.ImportItem{Row: 3, Write: write("+4915112345671", "offers", consent.OptedIn, t0)},
		consent.ImportItem{Row: 4, Problem: &consent.RowProblem{Row: 4, Field: "number", Message: "bad"}})
	if err := db.ImportBatch(ctx, id, items, t0); err != nil {
		t.Fatal(err)
	}
	j, _ = db.ImportJob(ctx, id)
	if j.Processed != 3 || j.Applied != 1 || j.Unchanged != 1 || j.Refused != 1 || len(j.Problems) != 1 {
		t.Errorf("after a batch: %+v", j)
	}
	ids, _ := db.RunningImportJobs(ctx)
	if len(ids) != 1 || ids[0] != id {
		t.Errorf("running = %v", ids)
	}
	if err := db.FinishImportJob(ctx, id, consent.ImportDone, "", t0); err != nil {
		t.Fatal(err)
	}
	if data, _ := db.ImportData(ctx, id); len(data) != 0 {
		t.Errorf("the finished job keeps %d bytes of its file", len(data))
	}
	// A checked job left for more than a day loses its file.
	old, _ := db.CreateImportJob(ctx, consent.ImportJob{Actor: "a", CreatedAt: t0}, []byte("numbers"))
	db.CreateImportJob(ctx, consent.ImportJob{Actor: "a", CreatedAt: t0.Add(25 * time.Hour)}, []byte("x"))
	if data, _ := db.ImportData(ctx, old); len(data) != 0 {
		t.Errorf("an unconfirmed job of yesterday keeps its file")
	}
}
