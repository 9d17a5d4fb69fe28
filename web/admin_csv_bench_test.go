package web

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// importCSV is an import file of n rows opting numbers first..first+n-1 in
// to two categories (2n rows).
func importCSV(first, n int) []byte { return importCSVPrefix("+49151", first, n) }

// importCSVPrefix is importCSV with numbers under prefix; the benchmarks on
// a seeded database import under one the seed does not use.
func importCSVPrefix(prefix string, first, n int) []byte {
	var b strings.Builder
	b.WriteString("number,category,state,date,source,evidence\n")
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&b, "%s%08d,offers,opted_in,2026-05-01,shop,signed form %d\n", prefix, i, i)
		fmt.Fprintf(&b, "%s%08d,order_updates,opted_in,2026-05-01T10:00:00Z,checkout,\n", prefix, i)
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

// The CSV benchmarks run on a database of their own (exports: 20,000
// imported contacts with two consents each, so 40,000 rows of either file;
// imports: an empty one) or on the database OPTIN_BENCH_DB names, e.g. one
// made by optin-load seed with 1,000,000 contacts and 5,000,000 events:
//
//	OPTIN_BENCH_DB=/tmp/big.db go test ./web/ -run '^$' -bench 'Export|Import|AdminContactBaseline' -benchtime 1x
//
// On OPTIN_BENCH_DB the exports read the whole file, and the imports work
// on a copy of it in the test's temporary directory, so the seeded file
// keeps its numbers. BenchmarkAdminContactBaseline (GET /healthz) is the
// baseline of the same run.

// benchExportEnv is the database the export benchmarks read.
func benchExportEnv(b *testing.B) (*env, *adminClient) {
	if os.Getenv("OPTIN_BENCH_DB") != "" {
		return benchContactsEnv(b)
	}
	e := newEnv(b)
	for i := 0; i < 20_000; i += 5000 {
		e.runImport(importCSV(i, 5000))
	}
	return e, e.signIn(consent.RoleAdmin)
}

// benchImportEnv is the database the import benchmarks write to, and the
// number prefix under which they import new numbers.
func benchImportEnv(b *testing.B) (*env, string) {
	path := os.Getenv("OPTIN_BENCH_DB")
	if path == "" {
		return newEnv(b), "+49151"
	}
	cp := filepath.Join(b.TempDir(), "bench.db")
	copyFile(b, path, cp)
	return benchEnvAt(b, cp), "+49152"
}

func copyFile(b *testing.B, from, to string) {
	b.Helper()
	if _, err := os.Stat(from + "-wal"); err == nil {
		b.Fatalf("%s has a -wal file: open and close it once (or stop optin) so that it is checkpointed", from)
	}
	src, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		b.Fatal(err)
	}
	// On disk before the timer starts: else the first checkpoint's fsync
	// in the benchmark writes out the whole copy (gigabytes).
	if err := dst.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		b.Fatal(err)
	}
}

// benchExport streams one export over HTTP per iteration and checks it has
// a line per row the query counts, plus the header.
func benchExport(b *testing.B, path, countSQL string) {
	e, c := benchExportEnv(b)
	var want int
	if err := e.db.SQL().QueryRow(countSQL).Scan(&want); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	rows := 0
	for b.Loop() {
		resp, err := c.http.Get(e.ts.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		var cw countWriter
		io.Copy(&cw, resp.Body)
		resp.Body.Close()
		if cw.lines != want+1 {
			b.Fatalf("export has %d lines, want %d", cw.lines, want+1)
		}
		rows += cw.lines - 1
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkExportContacts streams the contacts export: a row per contact
// and consent.
func BenchmarkExportContacts(b *testing.B) {
	benchExport(b, "/admin/export/contacts.csv",
		`SELECT count(*) FROM contacts c LEFT JOIN consents s ON s.contact_id = c.id`)
}

// BenchmarkExportEvents streams the events export: a row per event.
func BenchmarkExportEvents(b *testing.B) {
	benchExport(b, "/admin/export/events.csv", `SELECT count(*) FROM events`)
}

// BenchmarkImport imports 1,000 new rows per iteration (500 numbers, two
// categories each): the dry run and the real run, as the console does.
func BenchmarkImport(b *testing.B) {
	e, prefix := benchImportEnv(b)
	b.ResetTimer()
	start := time.Now()
	n := 0
	for b.Loop() {
		data := importCSVPrefix(prefix, n*500, 500)
		if j := e.runImport(data); j.Applied != 1000 {
			b.Fatalf("applied %d rows, want 1000", j.Applied)
		}
		n++
	}
	b.ReportMetric(float64(n*1000)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkImportDryRun checks 1,000 rows per iteration, changing nothing:
// on its own database against 5,000 contacts (10,000 consents), half the
// rows true already; on OPTIN_BENCH_DB 500 new numbers.
func BenchmarkImportDryRun(b *testing.B) {
	e, prefix := benchImportEnv(b)
	data := importCSVPrefix(prefix, 2500, 500) // half known, half new
	if os.Getenv("OPTIN_BENCH_DB") == "" {
		e.runImport(importCSV(0, 5000))
	}
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
