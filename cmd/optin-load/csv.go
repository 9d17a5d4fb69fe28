package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
	"github.com/optin/optin/web/i18n"
)

const csvUsage = `usage: optin-load csv --db FILE [--rows 200000] [--prefix +49152] [--first 0] [--export=true] [--import=true] [--cpuprofile FILE]`

// csvCmd measures the CSV paths of the admin console on a database file,
// in this process, through the same service and store calls as the
// console (without HTTP): the contacts and events exports streamed into
// CSV writers that discard what they get, and an import of --rows new rows
// (numbers under --prefix from --first on, two categories each): its dry
// run, then the real run, with the job's progress printed as it goes. The
// import writes to the file: use a copy, or a prefix it has no numbers
// under.
func csvCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("optin-load csv", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", "", "SQLite database file (e.g. made by optin-load seed)")
	rows := fs.Int("rows", consent.MaxImportRows, "rows to import (two a number)")
	prefix := fs.String("prefix", "+49152", "number prefix of the imported numbers (German mobile: valid numbers)")
	first := fs.Int("first", 0, "first number under the prefix")
	doExport := fs.Bool("export", true, "measure the exports")
	doImport := fs.Bool("import", true, "measure the import")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var problems []error
	if *dbPath == "" {
		problems = append(problems, errors.New("--db is required"))
	} else if _, err := os.Stat(*dbPath); err != nil {
		problems = append(problems, fmt.Errorf("--db: %w", err))
	}
	if *rows < 2 || *rows > consent.MaxImportRows {
		problems = append(problems, fmt.Errorf("--rows must be 2…%d", consent.MaxImportRows))
	}
	if fs.NArg() > 0 {
		problems = append(problems, errors.New(csvUsage))
	}
	if err := errors.Join(problems...); err != nil {
		return err
	}
	db, err := store.Open(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	svc := consent.NewService(db, consent.SystemClock{}, i18n.T, consent.Config{})
	if *doExport {
		if err := measureExports(ctx, svc, stdout); err != nil {
			return err
		}
	}
	if *doImport {
		return measureImport(ctx, db, svc, *prefix, *first, *rows/2, stdout, stderr)
	}
	return nil
}

// measureExports streams both exports as the console does (the same cells,
// encoding/csv) into io.Discard.
func measureExports(ctx context.Context, svc *consent.Service, stdout io.Writer) error {
	cw := csv.NewWriter(io.Discard)
	start, n := time.Now(), 0
	err := svc.ExportContacts(ctx, consent.ExportFilter{}, func(r consent.ExportRow) error {
		c, cs := r.Contact, r.Consent
		cw.Write([]string{c.Phone, cs.Category, string(cs.State), cs.Since.UTC().Format(time.RFC3339), string(cs.Source),
			c.WaID, string(c.Status), c.Language, c.CreatedAt.UTC().Format(time.RFC3339)})
		n++
		return nil
	})
	if err != nil {
		return err
	}
	cw.Flush()
	took := time.Since(start)
	fmt.Fprintf(stdout, "export contacts: %d rows in %s = %.0f rows/s\n", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	start, n = time.Now(), 0
	err = svc.ExportEvents(ctx, consent.ExportFilter{}, func(e consent.LedgerEvent) error {
		ev := e.Evidence
		cw.Write([]string{strconv.FormatInt(e.ID, 10), e.OccurredAt.UTC().Format(time.RFC3339), e.RecordedAt.UTC().Format(time.RFC3339),
			e.Phone, string(e.Type), e.Category, string(e.State), string(ev.Source), ev.Actor, ev.EntryPoint, e.WordingHash, e.Lang,
			ev.IP, ev.UserAgent, ev.PageURL, ev.MessageID, ev.MessageText, "", strconv.FormatBool(e.Erased)})
		n++
		return nil
	})
	if err != nil {
		return err
	}
	cw.Flush()
	took = time.Since(start)
	fmt.Fprintf(stdout, "export events:   %d rows in %s = %.0f rows/s\n", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	return nil
}

// measureImport imports numbers new rows: the dry run (PrepareImport), then
// the real run (RunImport), printing the job's progress each second.
func measureImport(ctx context.Context, db *store.DB, svc *consent.Service, prefix string, first, numbers int, stdout, stderr io.Writer) error {
	var b strings.Builder
	b.WriteString("number,category,state,date,source,evidence\n")
	for i := first; i < first+numbers; i++ {
		fmt.Fprintf(&b, "%s%08d,offers,opted_in,2026-05-01,shop,signed form %d\n", prefix, i, i)
		fmt.Fprintf(&b, "%s%08d,order_updates,opted_in,2026-05-01T10:00:00Z,checkout,\n", prefix, i)
	}
	data := []byte(b.String())
	start := time.Now()
	j, err := svc.PrepareImport(ctx, "load.csv", data, "admin:load@example.com")
	if err != nil {
		return err
	}
	dry := time.Since(start)
	fmt.Fprintf(stdout, "import dry run:  %d rows in %s = %.0f rows/s (would record %d, unchanged %d, problems %d)\n",
		j.Total, dry.Round(time.Millisecond), float64(j.Total)/dry.Seconds(), j.Applied, j.Unchanged, j.Refused)
	if err := db.StartImportJob(ctx, j.ID, time.Now()); err != nil {
		return err
	}
	done := make(chan struct{})
	start = time.Now()
	go func() {
		defer close(done)
		svc.RunImport(ctx, j.ID)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-tick.C:
			if p, err := svc.ImportJob(ctx, j.ID); err == nil {
				fmt.Fprintf(stderr, "  %7d of %d rows  %s\n", p.Processed, p.Total, time.Since(start).Round(time.Second))
			}
		}
	}
	took := time.Since(start)
	j, err = svc.ImportJob(ctx, j.ID)
	if err != nil {
		return err
	}
	if j.Status != consent.ImportDone {
		return fmt.Errorf("import ended %s: %s", j.Status, j.Error)
	}
	fmt.Fprintf(stdout, "import run:      %d rows in %s = %.0f rows/s (applied %d, unchanged %d, refused %d)\n",
		j.Processed, took.Round(time.Millisecond), float64(j.Processed)/took.Seconds(), j.Applied, j.Unchanged, j.Refused)
	total := dry + took
	fmt.Fprintf(stdout, "import total:    %.0f rows/s (dry run and run)\n", float64(j.Processed)/total.Seconds())
	return nil
}
