package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// importSetup gives a database the state the writes of importWrites meet:
// a contact with an opt-in, and an erased number.
func importSetup(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.RecordConsent(ctx, write("+4915100000001", "offers", consent.OptedIn, t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordConsent(ctx, write("+4915100000002", "offers", consent.OptedIn, t0)); err != nil {
		t.Fatal(err)
	}
	c, err := db.ContactByPhone(ctx, "+4915100000002")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.EraseContact(ctx, c.ID, consent.Tombstone{PhoneHash: "hash+4915100000002", Reason: "api",
		At: t0.Add(time.Hour), Event: consent.EventErased, Source: consent.SourceAPI}); err != nil {
		t.Fatal(err)
	}
}

// importWrites are rows of an import: more numbers than one lookup takes
// and more rows than one multi-row statement, each number in two
// categories, and the cases the record step decides: already true, a
// change, the same category twice in one batch, an older date (stale), an
// erased number without and with new evidence.
func importWrites() []consent.ConsentWrite {
	at := t0.Add(2 * time.Hour)
	imp := func(phone, cat string, state consent.State, occurred time.Time) consent.ConsentWrite {
		w := write(phone, cat, state, occurred)
		w.At = at
		w.Evidence = consent.Evidence{Source: consent.SourceImport, Actor: "admin:a@example.com",
			Detail: map[string]string{"original_source": "shop"}}
		return w
	}
	var ws []consent.ConsentWrite
	for i := range 700 {
		phone := fmt.Sprintf("+49152%08d", i)
		ws = append(ws, imp(phone, "offers", consent.OptedIn, t0), imp(phone, "order_updates", consent.OptedIn, t0))
	}
	erased := imp("+4915100000002", "offers", consent.OptedIn, at)
	readded := erased
	readded.CollectedAt = at
	ws = append(ws,
		imp("+4915100000001", "offers", consent.OptedIn, t0.Add(time.Minute)),  // already true
		imp("+4915100000001", "offers", consent.OptedOut, t0.Add(-time.Hour)),  // older: stale
		imp("+4915100000001", "offers", consent.OptedOut, t0.Add(time.Minute)), // a change
		imp("+4915200000003", "offers", consent.OptedOut, t0.Add(time.Minute)), // earlier in this batch, now changed
		imp("+4915200000003", "offers", consent.OptedOut, t0.Add(time.Minute)), // and again: true now
		erased,  // erased, no new evidence
		readded, // with new evidence
		erased,  // the contact exists again
	)
	return ws
}

// TestImportBatchRecordsAsRecordConsent imports rows in bulk into one
// database and records the same rows one by one with RecordConsent into
// another: the outcomes, the events (hash chain included), the consent
// states, the contacts and the counts kept by triggers are the same.
func TestImportBatchRecordsAsRecordConsent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ws := importWrites()

	one := openTest(t)
	importSetup(t, one)
	var applied, unchanged, refused int
	var refusals []string
	for i, w := range ws {
		o, err := one.RecordConsent(ctx, w)
		switch {
		case errors.Is(err, consent.ErrConflict):
			refused++
			refusals = append(refusals, fmt.Sprintf("row %d: %v", i+2, err))
		case err != nil:
			t.Fatal(err)
		case o.Changed:
			applied++
		default:
			unchanged++
		}
	}

	bulk := openTest(t)
	importSetup(t, bulk)
	id, err := bulk.CreateImportJob(ctx, consent.ImportJob{Actor: "admin:a@example.com", Filename: "f.csv", Total: len(ws),
		CreatedAt: t0}, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := bulk.StartImportJob(ctx, id, t0); err != nil {
		t.Fatal(err)
	}
	items := make([]consent.ImportItem, len(ws))
	for i, w := range ws {
		items[i] = consent.ImportItem{Row: i + 2, Write: w}
	}
	// Two batches, split between the two rows of one number.
	if err := bulk.ImportBatch(ctx, id, items[:901], t0); err != nil {
		t.Fatal(err)
	}
	if err := bulk.ImportBatch(ctx, id, items[901:], t0); err != nil {
		t.Fatal(err)
	}
	j, err := bulk.ImportJob(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if j.Processed != len(ws) || j.Applied != applied || j.Unchanged != unchanged || j.Refused != refused {
		t.Errorf("bulk: processed %d applied %d unchanged %d refused %d; one by one: %d, %d, %d, %d (%s)",
			j.Processed, j.Applied, j.Unchanged, j.Refused, len(ws), applied, unchanged, refused, strings.Join(refusals, "; "))
	}
	if applied != 1400+3 || refused != 2 {
		t.Errorf("one by one: applied %d, refused %d; the rows don't test what they say", applied, refused)
	}
	queries := []string{
		`SELECT ` + ledgerColumns + ` FROM events ORDER BY id`,
		`SELECT c.id, c.phone, c.wa_id, c.match_key, c.language, c.status, c.created_at, c.updated_at FROM contacts c ORDER BY c.id`,
		`SELECT contact_id, category_id, state, since, source, event_id FROM consents ORDER BY contact_id, category_id`,
		`SELECT status, n FROM stat_contacts ORDER BY status`,
		`SELECT category_id, state, n FROM stat_consents ORDER BY category_id, state`,
		`SELECT day, type, category, source, n FROM stat_events ORDER BY day, type, category, source`,
	}
	if engine == "sqlite" { // the search's trigram index (PostgreSQL searches otherwise)
		queries = append(queries, `SELECT rowid FROM contact_digits WHERE contact_digits MATCH '1520000' ORDER BY rowid`)
	}
	for _, q := range queries {
		want, got := dump(t, one, q), dump(t, bulk, q)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\nbulk %d rows, one by one %d rows; first difference %s", q, len(got), len(want), firstDiff(got, want))
		}
	}
	if rep, err := bulk.VerifyLedger(ctx, t0.Add(3*time.Hour)); err != nil || !rep.OK() {
		t.Errorf("ledger after the bulk import: %+v %v", rep, err)
	}

	// The dry run of the same rows, on the database before the import,
	// tells row by row what recording each alone would do.
	fresh := openTest(t)
	importSetup(t, fresh)
	outs, err := fresh.CheckConsents(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range ws {
		want, err := fresh.checkOne(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		if outs[i].Changed != want.Changed || !errors.Is(outs[i].Err, want.Err) || (want.Err == nil) != (outs[i].Err == nil) {
			t.Errorf("check row %d (%s %s %s): %+v, want %+v", i, w.Phone, w.Category, w.State, outs[i], want)
		}
	}
}

// checkOne is what CheckConsents told before it worked in bulk: recordOne
// in check mode, one write at a time.
func (s *DB) checkOne(ctx context.Context, w consent.ConsentWrite) (consent.RecordOutcome, error) {
	var out consent.RecordOutcome
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.recordOne(ctx, tx, w, check)
		return err
	})
	return out, err
}

// dump returns every row of q, read on the reader pool.
func dump(t testing.TB, db *DB, q string) [][]any { return scanAll(t, db.r, q) }

// scanAll returns every row of q on h, each column as the driver gives it.
func scanAll(t testing.TB, h *sql.DB, q string) [][]any {
	t.Helper()
	rows, err := h.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func firstDiff(a, b [][]any) string {
	for i := range min(len(a), len(b)) {
		if !reflect.DeepEqual(a[i], b[i]) {
			return fmt.Sprintf("at %d: %v against %v", i, a[i], b[i])
		}
	}
	return "in length"
}

// TestImportBatchRefusesPending: a consent awaiting the person's
// confirmation (double opt-in) is refused by the import with a problem
// for the row, not applied and not a failure of the batch.
func TestImportBatchRefusesPending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t)
	if _, err := db.FixtureOptIn(ctx, optIn("+4915100000009", consent.Pending, t0, "offers")); err != nil {
		t.Fatal(err)
	}
	id, err := db.CreateImportJob(ctx, consent.ImportJob{Actor: "admin:a@example.com", Filename: "f.csv", Total: 1, CreatedAt: t0}, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.StartImportJob(ctx, id, t0); err != nil {
		t.Fatal(err)
	}
	w := write("+4915100000009", "offers", consent.OptedIn, t0.Add(time.Hour))
	w.Evidence.Source = consent.SourceImport
	before := count(t, db, "events")
	if err := db.ImportBatch(ctx, id, []consent.ImportItem{{Row: 2, Write: w}}, t0); err != nil {
		t.Fatal(err)
	}
	j, err := db.ImportJob(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if j.Refused != 1 || j.Applied != 0 || len(j.Problems) != 1 || j.Problems[0].Row != 2 || j.Problems[0].Field != "state" {
		t.Errorf("job = %+v, want the row refused with a state problem", j)
	}
	if got := count(t, db, "events"); got != before {
		t.Errorf("events %d → %d: a refused row recorded something", before, got)
	}
	outs, err := db.CheckConsents(ctx, []consent.ConsentWrite{w})
	if err != nil || !errors.Is(outs[0].Err, consent.ErrPending) {
		t.Errorf("dry run: %+v, %v; want ErrPending", outs, err)
	}
}

// TestImportFiles follows an import's file: kept apart from its job while
// the job waits or runs, readable by ImportData, and gone once the job
// ends or when it was left unconfirmed for a day; the job's counts change
// without touching it.
func TestImportFiles(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	file := []byte("number,category,state\n+4915200000001,offers,opted_in\n")
	job := func(at time.Time) int64 {
		id, err := db.CreateImportJob(ctx, consent.ImportJob{Actor: "admin:a@example.com", Filename: "a.csv", Total: 1, CreatedAt: at}, file)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	dataOf := func(id int64) string {
		t.Helper()
		b, err := db.ImportData(ctx, id)
		if err != nil {
			t.Fatalf("import data of %d: %v", id, err)
		}
		return string(b)
	}
	files := func() (n int) {
		t.Helper()
		if err := db.SQL().QueryRow(`SELECT count(*) FROM import_files`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	run := job(t0)
	if got := dataOf(run); got != string(file) {
		t.Fatalf("data = %q", got)
	}
	if err := db.StartImportJob(ctx, run, t0); err != nil {
		t.Fatal(err)
	}
	w := write("+4915200000001", "offers", consent.OptedIn, t0)
	w.Evidence = consent.Evidence{Source: consent.SourceImport, Actor: "admin:a@example.com"}
	if err := db.ImportBatch(ctx, run, []consent.ImportItem{{Row: 2, Write: w}}, t0); err != nil {
		t.Fatal(err)
	}
	if j, err := db.ImportJob(ctx, run); err != nil || j.Processed != 1 || j.Applied != 1 {
		t.Fatalf("job after a batch = %+v, %v", j, err)
	}
	if got := dataOf(run); got != string(file) {
		t.Fatalf("data after a batch = %q", got)
	}
	if err := db.FinishImportJob(ctx, run, consent.ImportDone, "", t0); err != nil {
		t.Fatal(err)
	}
	if got := dataOf(run); got != "" {
		t.Errorf("a finished job keeps its file: %q", got)
	}

	left := job(t0)
	if files() != 1 {
		t.Fatalf("files = %d, want the waiting job's", files())
	}
	next := job(t0.Add(25 * time.Hour))
	if j, err := db.ImportJob(ctx, left); err != nil || j.Status != consent.ImportFailed || dataOf(left) != "" {
		t.Errorf("job left unconfirmed for a day: %+v, %v, data %q", j, err, dataOf(left))
	}
	if files() != 1 || dataOf(next) != string(file) {
		t.Errorf("files = %d, the new job's data %q", files(), dataOf(next))
	}
	if _, err := db.ImportData(ctx, 9999); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("data of no job: %v, want ErrNotFound", err)
	}
}
