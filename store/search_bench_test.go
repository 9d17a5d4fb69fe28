package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// The contact list benchmarks run on a small seed of their own (5,000
// contacts, 25,000 events) unless OPTIN_BENCH_DB names a database seeded
// with optin-load seed, e.g. 1,000,000 contacts and 5,000,000 events:
//
//	go run ./cmd/optin-load seed --db /tmp/big.db
//	OPTIN_BENCH_DB=/tmp/big.db go test ./store/ -run '^$' -bench 'Contact|Search' -benchtime 2s
//
// BenchmarkContactByID, a primary-key lookup on the same database, is the
// baseline the others are stated against. The big file is only read.

type benchDB struct {
	db  *DB
	svc *consent.Service
	n   int64 // contacts
}

func openBench(b *testing.B) benchDB {
	b.Helper()
	ctx := context.Background()
	path := os.Getenv("OPTIN_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.db")
		db, err := Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Seed(ctx, SeedOptions{Contacts: 5000, Events: 25000, Seed: 1}); err != nil {
			b.Fatal(err)
		}
		db.Close()
	} else if _, err := os.Stat(path); err != nil {
		b.Fatalf("OPTIN_BENCH_DB: %v", err)
	}
	db, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	var n int64
	if err := db.w.QueryRow(`SELECT count(*) FROM contacts`).Scan(&n); err != nil || n == 0 {
		b.Fatalf("no contacts to measure (%v)", err)
	}
	svc := consent.NewService(db, consent.SystemClock{}, func(lang, key string, args ...any) string { return key }, consent.Config{})
	return benchDB{db: db, svc: svc, n: n}
}

func (d benchDB) search(b *testing.B, q consent.ContactQuery) consent.ContactPage {
	b.Helper()
	p, err := d.svc.SearchContacts(context.Background(), q)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkContactByID is the baseline: one contact by primary key.
func BenchmarkContactByID(b *testing.B) {
	d := openBench(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.db.ContactByID(ctx, 1+int64(i*7919)%d.n); err != nil {
			b.Fatal(err)
		}
	}
}

// digitsOf returns some digits from the middle of contact id's number,
// so that a search finds at least that contact.
func (d benchDB) digitsOf(b *testing.B, id int64, n int) string {
	c, err := d.db.ContactByID(context.Background(), id)
	if err != nil {
		b.Fatal(err)
	}
	return c.Phone[5 : 5+n]
}

func benchSearch(b *testing.B, digits int) {
	d := openBench(b)
	qs := make([]string, 16)
	for i := range qs {
		qs[i] = d.digitsOf(b, 1+int64(i)*d.n/16, digits)
	}
	rows := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := d.search(b, consent.ContactQuery{Search: qs[i%len(qs)]})
		if len(p.Rows) == 0 {
			b.Fatalf("%s found nothing", qs[i%len(qs)])
		}
		rows += len(p.Rows)
	}
	b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
}

// BenchmarkSearchPartial4 searches 4 digits from the middle of a number
// (about 1 number in 100 matches at random) and returns the first page.
func BenchmarkSearchPartial4(b *testing.B) { benchSearch(b, 4) }

// BenchmarkSearchPartial3 searches 3 digits: many more matches to sort.
func BenchmarkSearchPartial3(b *testing.B) { benchSearch(b, 3) }

// BenchmarkSearchPartial7 searches 7 digits: a handful of matches.
func BenchmarkSearchPartial7(b *testing.B) { benchSearch(b, 7) }

// BenchmarkListFiltered is a first page filtered by category, consent
// state and status, newest first.
func BenchmarkListFiltered(b *testing.B) {
	d := openBench(b)
	q := consent.ContactQuery{Category: "offers", State: consent.OptedOut, Status: consent.Active}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if p := d.search(b, q); len(p.Rows) == 0 {
			b.Fatal("no rows")
		}
	}
}

// BenchmarkListFilteredNoMatch filters to a category and state that no
// contact has (the seed makes no pending consents): the page is empty.
func BenchmarkListFilteredNoMatch(b *testing.B) {
	d := openBench(b)
	q := consent.ContactQuery{Category: "offers", State: consent.Pending}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if p := d.search(b, q); len(p.Rows) != 0 {
			b.Fatalf("%d rows, want none", len(p.Rows))
		}
	}
}

// BenchmarkListFilteredSource adds a source and a date range.
func BenchmarkListFilteredSource(b *testing.B) {
	d := openBench(b)
	var first string
	d.db.w.QueryRow(`SELECT created_at FROM contacts WHERE id = ?`, d.n/2).Scan(&first)
	from := parseTS(first)
	q := consent.ContactQuery{State: consent.OptedIn, Source: consent.SourceWebForm, DateField: consent.DateCreated,
		From: from, To: from.Add(30 * 24 * time.Hour)}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if p := d.search(b, q); len(p.Rows) == 0 {
			b.Fatal("no rows")
		}
	}
}

// deepCursor is the cursor of the page pages deep (50 rows a page) in
// sort, found once with OFFSET outside the timing: the list itself never
// uses OFFSET.
func (d benchDB) deepCursor(b *testing.B, sort consent.ContactSort, pages int64) (string, int64) {
	b.Helper()
	rows := min(pages*consent.DefaultContactLimit, d.n-consent.DefaultContactLimit)
	col, dir := "id", "DESC"
	switch sort {
	case consent.SortChanged:
		col = "updated_at"
	case consent.SortPhone:
		col, dir = "phone", "ASC"
	}
	var key string
	var id int64
	if err := d.db.w.QueryRow(`SELECT `+col+`, id FROM contacts ORDER BY `+col+` `+dir+`, id `+dir+` LIMIT 1 OFFSET ?`,
		rows-1).Scan(&key, &id); err != nil {
		b.Fatal(err)
	}
	return consent.ContactCursor{Sort: sort, Key: key, ID: id}.Encode(), rows / consent.DefaultContactLimit
}

func benchDeep(b *testing.B, sort consent.ContactSort, filtered bool) {
	d := openBench(b)
	cur, page := d.deepCursor(b, sort, 10_000)
	b.ReportMetric(float64(page+1), "page")
	q := consent.ContactQuery{Sort: sort, After: cur}
	if filtered {
		q.Status = consent.Active
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := d.search(b, q)
		if len(p.Rows) == 0 || p.Prev == "" {
			b.Fatal("deep page empty")
		}
	}
}

// BenchmarkFirstPage is the list's first page, newest first, unfiltered:
// what BenchmarkDeepPage compares with.
func BenchmarkFirstPage(b *testing.B) {
	d := openBench(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if p := d.search(b, consent.ContactQuery{}); len(p.Rows) != consent.DefaultContactLimit {
			b.Fatal("short first page")
		}
	}
}

// BenchmarkDeepPage fetches page 10,001 (after 500,000 rows), newest first,
// from its cursor.
func BenchmarkDeepPage(b *testing.B) { benchDeep(b, consent.SortCreated, false) }

// BenchmarkDeepPageByPhone is the same in number order.
func BenchmarkDeepPageByPhone(b *testing.B) { benchDeep(b, consent.SortPhone, false) }

// BenchmarkDeepPageFiltered is a deep page of active contacts.
func BenchmarkDeepPageFiltered(b *testing.B) { benchDeep(b, consent.SortCreated, true) }

// BenchmarkContactPage collects everything the contact page shows: the
// contact, its consents, its timeline with the wordings, and its messages.
func BenchmarkContactPage(b *testing.B) {
	d := openBench(b)
	ctx := context.Background()
	b.ResetTimer()
	events := 0
	for i := 0; i < b.N; i++ {
		det, err := d.svc.ContactDetail(ctx, 1+int64(i*7919)%d.n)
		if err != nil {
			b.Fatal(err)
		}
		events += len(det.Events)
	}
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
}
