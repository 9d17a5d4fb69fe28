package web

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// importCSV is an import file of n rows opting numbers first..first+n-1 in
// to two categories (2n rows).
func importCSV(first, n int) []byte {
	var b strings.Builder
	b.WriteString("number,category,state,date,source,evidence\n")
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&b, "+49151%08d,offers,opted_in,2026-05-01,shop,signed form %d\n", i, i)
		fmt.Fprintf(&b, "+49151%08d,order_updates,opted_in,2026-05-01T10:00:00Z,checkout,\n", i)
	}
	return []byte(b.String())
}

// runImport imports data synchronously: the dry run, then the real run.
func (e *env) runImport(data []byte) consent.ImportJob {
	e.t.Helper()
	ctx := context.Background()
	j, err := e.svc.PrepareImport(ctx, "bench.csv", data, "admin:bench@example.com")
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.StartImportJob(ctx, j.ID, e.clock.t); err != nil {
		e.t.Fatal(err)
	}
	e.svc.RunImport(ctx, j.ID)
	if j, err = e.svc.ImportJob(ctx, j.ID); err != nil || j.Status != consent.ImportDone || j.Refused > 0 {
		e.t.Fatalf("import = %+v, %v", j, err)
	}
	return j
}

type countWriter struct{ n, lines int }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += len(p)
	c.lines += strings.Count(string(p), "\n")
	return len(p), nil
}

// BenchmarkExportContacts streams the contacts export of 20,000 contacts
// with two consents each (40,000 rows) over HTTP.
func BenchmarkExportContacts(b *testing.B) {
	e := newEnv(b)
	const contacts = 20_000
	for i := 0; i < contacts; i += 5000 {
		e.runImport(importCSV(i, 5000))
	}
	c := e.signIn(consent.RoleAdmin)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	rows := 0
	for b.Loop() {
		resp, err := c.http.Get(e.ts.URL + "/admin/export/contacts.csv")
		if err != nil {
			b.Fatal(err)
		}
		var cw countWriter
		io.Copy(&cw, resp.Body)
		resp.Body.Close()
		if cw.lines != 2*contacts+1 {
			b.Fatalf("export has %d lines, want %d", cw.lines, 2*contacts+1)
		}
		rows += cw.lines - 1
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkExportEvents streams the events export (40,000 events).
func BenchmarkExportEvents(b *testing.B) {
	e := newEnv(b)
	for i := 0; i < 20_000; i += 5000 {
		e.runImport(importCSV(i, 5000))
	}
	c := e.signIn(consent.RoleAdmin)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	rows := 0
	for b.Loop() {
		resp, err := c.http.Get(e.ts.URL + "/admin/export/events.csv")
		if err != nil {
			b.Fatal(err)
		}
		var cw countWriter
		io.Copy(&cw, resp.Body)
		resp.Body.Close()
		rows += cw.lines - 1
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkImport imports 1,000 new rows per iteration (500 numbers, two
// categories each): the dry run and the real run, as the console does.
func BenchmarkImport(b *testing.B) {
	e := newEnv(b)
	b.ResetTimer()
	start := time.Now()
	n := 0
	for b.Loop() {
		data := importCSV(n*500, 500)
		if j := e.runImport(data); j.Applied != 1000 {
			b.Fatalf("applied %d rows, want 1000", j.Applied)
		}
		n++
	}
	b.ReportMetric(float64(n*1000)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkImportDryRun checks 1,000 rows per iteration against a
// database of 5,000 contacts (10,000 consents), changing nothing; half
// the rows are true already.
func BenchmarkImportDryRun(b *testing.B) {
	e := newEnv(b)
	e.runImport(importCSV(0, 5000))
	data := importCSV(2500, 500) // half known, half new
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	n := 0
	for b.Loop() {
		if _, err := e.svc.CheckImport(ctx, data, "admin:bench@example.com"); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*1000)/time.Since(start).Seconds(), "rows/s")
}
