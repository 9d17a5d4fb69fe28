package consent

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The CSV import: reading the file, checking each row (the dry run), and
// the background job that applies it (see csv.go for the format).

// importRow is a data row of an import file.
type importRow struct {
	line                                         int
	number, category, state, date, source, notes string
}

// readImport reads an import file: a header naming the columns, then rows.
// A file that isn't such a CSV is an *ImportFormatError with the reason.
func readImport(data []byte, fn func(importRow) error) error {
	if len(data) > MaxImportBytes {
		return formatError("larger than %d MB", MaxImportBytes>>20)
	}
	if !utf8.Valid(data) {
		return formatError("not UTF-8 text")
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return formatError("no header row")
	}
	if len(header) == 1 && strings.Count(header[0], ";") > 0 {
		r = csv.NewReader(bytes.NewReader(data))
		r.Comma, r.FieldsPerRecord = ';', -1
		header, _ = r.Read()
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "phone" {
			h = "number"
		}
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	var missing []string
	for _, c := range ImportColumns[:4] { // source and evidence may be left out
		if _, ok := col[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return formatError("the header lacks %s (columns: %s)",
			strings.Join(missing, ", "), strings.Join(ImportColumns, ","))
	}
	cell := func(rec []string, name string) string {
		i, ok := col[name]
		if !ok || i >= len(rec) {
			return ""
		}
		return unsafeCell(strings.TrimSpace(rec[i]))
	}
	for n := 0; ; n++ {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var perr *csv.ParseError
			if errors.As(err, &perr) {
				return formatError("line %d is not valid CSV", perr.StartLine)
			}
			return formatError("it is not valid CSV")
		}
		line, _ := r.FieldPos(0)
		if n >= MaxImportRows {
			return formatError("more than %d rows", MaxImportRows)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		err = fn(importRow{line: line, number: cell(rec, "number"), category: cell(rec, "category"),
			state: cell(rec, "state"), date: cell(rec, "date"), source: cell(rec, "source"), notes: cell(rec, "evidence")})
		if err != nil {
			return err
		}
	}
}

// importDate reads the date column: RFC 3339, or a day or "day time" in UTC.
func importDate(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// phoneMemo remembers the last numbers parsed: a file has a row per
// number and category, so each number comes several times in a row, and
// parsing (nyaruka/phonenumbers) is the largest cost of reading a row.
type phoneMemo struct {
	m map[string]phoneParsed
}

type phoneParsed struct {
	phone string
	err   error
}

// maxPhoneMemo bounds the memo; it starts again empty when full.
const maxPhoneMemo = 4096

func (m *phoneMemo) parse(raw, region string) (string, error) {
	if p, ok := m.m[raw]; ok {
		return p.phone, p.err
	}
	phone, err := ParsePhone(raw, region)
	if m.m == nil || len(m.m) >= maxPhoneMemo {
		m.m = make(map[string]phoneParsed, 256)
	}
	m.m[raw] = phoneParsed{phone, err}
	return phone, err
}

// importWrite validates one row as a record of actor at now.
func (s *Service) importWrite(ctx context.Context, row importRow, actor string, now time.Time, phones *phoneMemo) (ConsentWrite, *RowProblem, error) {
	problem := func(field, msg string) (ConsentWrite, *RowProblem, error) {
		return ConsentWrite{}, &RowProblem{Row: row.line, Field: field, Message: msg}, nil
	}
	if utf8.RuneCountInString(row.source) > MaxImportSourceRunes {
		return problem("source", fmt.Sprintf("longer than %d characters", MaxImportSourceRunes))
	}
	if utf8.RuneCountInString(row.notes) > MaxImportTextRunes {
		return problem("evidence", fmt.Sprintf("longer than %d characters", MaxImportTextRunes))
	}
	if row.date == "" {
		return problem("date", "missing: the date the consent was given or withdrawn (YYYY-MM-DD or RFC 3339)")
	}
	at, ok := importDate(row.date)
	if !ok {
		return problem("date", fmt.Sprintf("%q is not a date (YYYY-MM-DD or RFC 3339)", row.date))
	}
	ev := map[string]string{}
	if row.source != "" {
		ev["original_source"] = row.source
	}
	if row.notes != "" {
		ev[EvidenceDescription] = row.notes
		ev[EvidenceCollectedAt] = at.Format(time.RFC3339)
	}
	w, err := s.validateRecordWith(ctx, ConsentRecord{Phone: row.number, Category: row.category,
		State: State(strings.ToLower(row.state)), Source: SourceImport, OccurredAt: at, Evidence: ev, Actor: actor}, now, phones.parse)
	var verr *ValidationError
	if errors.As(err, &verr) {
		for _, f := range []string{"phone", "category", "state", "occurred_at", "evidence", "source"} {
			if key, ok := verr.Fields[f]; ok {
				return problem(importField(f), s.importMessage(key, row))
			}
		}
	}
	return w, nil, err
}

func importField(f string) string {
	switch f {
	case "phone":
		return "number"
	case "occurred_at":
		return "date"
	}
	return f
}

// importMessage explains a validation key for an admin, in English.
func (s *Service) importMessage(key string, row importRow) string {
	switch key {
	case "category.required":
		return "missing"
	case "category.unknown":
		return fmt.Sprintf("%q is not a category slug", row.category)
	case "state.invalid":
		return fmt.Sprintf("%q is not a state: use opted_in or opted_out", row.state)
	case "occurred_at.future":
		return "in the future"
	case "evidence.too_large":
		return "too long"
	}
	switch key {
	case phoneEmpty:
		return "missing"
	case phoneLetters:
		return fmt.Sprintf("%q has letters in it", row.number)
	case phoneTooShort, phoneTooLong, phoneInvalid:
		return fmt.Sprintf("%q is not a valid phone number", row.number)
	case phoneInvalidRegion:
		return fmt.Sprintf("%q has no country code: write numbers in E.164, with + and the country code (numbers without one are read as %s numbers)",
			row.number, s.cfg.DefaultRegion)
	}
	return key
}

func refusal(row int, err error) *RowProblem {
	switch {
	case errors.Is(err, ErrErased):
		return &RowProblem{Row: row, Field: "number", Message: "this number was erased; it can be imported again only " +
			"with new evidence of the person's consent: an evidence text and a date after the erasure"}
	case errors.Is(err, ErrStale):
		return &RowProblem{Row: row, Field: "date", Message: "the category changed later than this date; the row can't become the current state"}
	case errors.Is(err, ErrPending):
		return &RowProblem{Row: row, Field: "state", Message: "the person has not confirmed this consent yet (double opt-in); an import can't confirm it for them"}
	case errors.Is(err, ErrConflict):
		return &RowProblem{Row: row, Field: "state", Message: "can't be recorded: " + err.Error()}
	}
	return nil
}

// CheckImport is the dry run of an import: it reads the file, checks every
// row against the database and the rows before it, and reports the
// problems. It changes nothing. The returned job is what CreateImportJob
// stores when the admin goes on.
func (s *Service) CheckImport(ctx context.Context, data []byte, actor string) (ImportJob, error) {
	now := s.clock.Now()
	j := ImportJob{Actor: actor, Status: ImportChecked}
	type seen struct {
		state State
		at    time.Time
	}
	last := map[string]seen{}    // phone|category → the last row that would apply or is true
	readded := map[string]bool{} // numbers an earlier row brings back with new evidence
	var batch []ConsentWrite
	var rows []int
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		outs, err := s.store.CheckConsents(ctx, batch)
		if err != nil {
			return err
		}
		for i, o := range outs {
			w, k := batch[i], batch[i].Phone+"|"+batch[i].Category
			prev, inFile := last[k]
			switch {
			case inFile && prev.state == w.State:
				j.Unchanged++
				continue
			case inFile && prev.at.After(w.OccurredAt):
				o.Err = ErrStale
			case inFile:
				o.Err, o.Changed = nil, true
			case errors.Is(o.Err, ErrErased) && readded[w.Phone]:
				o.Err, o.Changed = nil, true
			}
			if p := refusal(rows[i], o.Err); p != nil {
				j.addProblem(*p)
				continue
			}
			if !o.Changed && !inFile {
				j.Unchanged++ // true in the database, whose date stays the one to compare with
				continue
			}
			j.Applied++
			last[k] = seen{w.State, w.OccurredAt}
			if !w.CollectedAt.IsZero() {
				readded[w.Phone] = true
			}
		}
		batch, rows = batch[:0], rows[:0]
		return nil
	}
	phones := &phoneMemo{}
	err := readImport(data, func(row importRow) error {
		j.Total++
		w, p, err := s.importWrite(ctx, row, actor, now, phones)
		if err != nil {
			return err
		}
		if p != nil {
			j.addProblem(*p)
			return nil
		}
		batch, rows = append(batch, w), append(rows, row.line)
		if len(batch) >= ImportBatchSize {
			return flush()
		}
		return nil
	})
	if err != nil {
		return ImportJob{}, err
	}
	if err := flush(); err != nil {
		return ImportJob{}, err
	}
	return j, nil
}

func (j *ImportJob) addProblem(p RowProblem) {
	j.Refused++
	if len(j.Problems) < MaxImportProblems {
		j.Problems = append(j.Problems, p)
	}
}

// PrepareImport runs the dry run of a file and keeps the file and the
// report as a checked job, to be started by StartImport.
func (s *Service) PrepareImport(ctx context.Context, filename string, data []byte, actor string) (ImportJob, error) {
	j, err := s.CheckImport(ctx, data, actor)
	if err != nil {
		return ImportJob{}, err
	}
	j.Filename = filename
	j.CreatedAt = s.clock.Now()
	j.ID, err = s.store.CreateImportJob(ctx, j, data)
	return j, err
}

// ImportJob returns an import job.
func (s *Service) ImportJob(ctx context.Context, id int64) (ImportJob, error) {
	return s.store.ImportJob(ctx, id)
}

// StartImport starts the real run of a checked job in the background. It
// returns once the job is marked running; ErrConflict when it was not
// waiting to start (started already, or done). done, when set, is called
// when the job ends.
func (s *Service) StartImport(ctx context.Context, id int64, done func()) error {
	if err := s.store.StartImportJob(ctx, id, s.clock.Now()); err != nil {
		return err
	}
	// The job is new: its lease is free, this instance takes it.
	if _, err := s.takeImport(ctx, id); err != nil {
		return err
	}
	go func() {
		s.RunImport(context.WithoutCancel(ctx), id)
		if done != nil {
			done()
		}
	}()
	return nil
}

// JobLeases is offered by a store that several instances share: a job runs
// on the one instance holding its lease, and another takes it over when
// the lease ends (its instance died).
type JobLeases interface {
	// TakeJob takes or renews the lease of the job called name for d;
	// false when another instance holds it.
	TakeJob(ctx context.Context, name string, d time.Duration, now time.Time) (bool, error)
	// DropJob ends this instance's lease of the job.
	DropJob(ctx context.Context, name string) error
	// Lease is how long a lease lasts.
	Lease() time.Duration
}

// errLeaseLost stops an import whose lease another instance took over.
var errLeaseLost = errors.New("the import's lease was taken over by another instance")

func importLease(id int64) string { return "import:" + strconv.FormatInt(id, 10) }

// takeImport takes (or renews) the lease of import id for this instance
// and marks it as running here. Without leases it always may run.
func (s *Service) takeImport(ctx context.Context, id int64) (bool, error) {
	if jl, ok := s.store.(JobLeases); ok {
		ok, err := jl.TakeJob(ctx, importLease(id), jl.Lease(), s.clock.Now())
		if err != nil || !ok {
			return false, err
		}
	}
	s.importing.Store(id, true)
	return true, nil
}

// dropImport ends this instance's hold of import id.
func (s *Service) dropImport(ctx context.Context, id int64) {
	s.importing.Delete(id)
	if jl, ok := s.store.(JobLeases); ok {
		_ = jl.DropJob(context.WithoutCancel(ctx), importLease(id)) // the lease ends by itself otherwise
	}
}

// ResumeImports goes on with the jobs left running by a stopped process
// (or by an instance whose lease ended), from the first row not applied. It
// skips jobs this instance runs already and those another instance holds.
// It returns when they are done, or when ctx ends (the jobs then stay
// running, for the next start). serve calls it again every lease, so that
// an instance takes over the imports of one that died.
func (s *Service) ResumeImports(ctx context.Context) error {
	ids, err := s.store.RunningImportJobs(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, mine := s.importing.Load(id); mine {
			continue
		}
		ok, err := s.takeImport(ctx, id)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		// The job may have ended between the listing and the lease.
		if j, err := s.store.ImportJob(ctx, id); err != nil || j.Status != ImportRunning {
			s.dropImport(ctx, id)
			continue
		}
		s.RunImport(ctx, id)
	}
	return nil
}

// RunImport applies a running job's rows in batches, each batch and its
// counts in one transaction, skipping the rows counted already (so that a
// job resumed after a stop goes on where it was). Rows are checked again:
// the database may have changed since the dry run.
func (s *Service) RunImport(ctx context.Context, id int64) {
	defer s.dropImport(ctx, id)
	err := s.runImport(ctx, id)
	if ctx.Err() != nil || errors.Is(err, errLeaseLost) {
		return // stopped by a shutdown, or taken over: the job stays running, ResumeImports goes on with it
	}
	status, msg := ImportDone, ""
	if err != nil {
		status, msg = ImportFailed, "The import stopped: "+importErrorText(err)
	}
	// A failure to record the end leaves the job running; ResumeImports
	// takes it up at the next start.
	_ = s.store.FinishImportJob(context.WithoutCancel(ctx), id, status, msg, s.clock.Now())
}

func importErrorText(err error) string {
	var ferr *ImportFormatError
	if errors.As(err, &ferr) {
		return ferr.Reason
	}
	return "a database error; the rows counted as processed were applied, and starting optin again resumes the import."
}

func (s *Service) runImport(ctx context.Context, id int64) error {
	j, err := s.store.ImportJob(ctx, id)
	if err != nil {
		return err
	}
	data, err := s.store.ImportData(ctx, id)
	if err != nil {
		return err
	}
	// The rows are read and checked (the CSV, the numbers: CPU only) on
	// one goroutine while the batch before is written on this one.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []ImportItem, 1)
	var readErr error
	go func() {
		defer close(batches)
		send := func(items []ImportItem) error {
			select {
			case batches <- items:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		phones := &phoneMemo{}
		n := 0
		var items []ImportItem
		readErr = readImport(data, func(row importRow) error {
			n++
			if n <= j.Processed {
				return nil
			}
			w, p, err := s.importWrite(ctx, row, j.Actor, s.clock.Now(), phones)
			if err != nil {
				return err
			}
			items = append(items, ImportItem{Row: row.line, Write: w, Problem: p})
			if len(items) >= ImportBatchSize {
				err, items = send(items), nil
				return err
			}
			return nil
		})
		if readErr == nil && len(items) > 0 {
			readErr = send(items)
		}
	}()
	for items := range batches {
		// Each batch renews the lease: a job whose instance dies is taken
		// over once its lease ends, and this one stops when it lost it.
		ok, err := s.takeImport(ctx, id)
		if err == nil && !ok {
			err = errLeaseLost
		}
		if err == nil {
			err = s.store.ImportBatch(ctx, id, items, s.clock.Now())
		}
		if err != nil {
			cancel()
			for range batches { // let the reader end
			}
			return err
		}
	}
	return readErr // written before batches was closed
}

// ImportRefusal is the problem an import reports for a row the store
// refused (erased number, stale date), or nil.
func ImportRefusal(row int, err error) *RowProblem { return refusal(row, err) }
