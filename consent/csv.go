package consent

import (
	"context"
	"fmt"
	"time"
	"unicode"
)

// CSV export and import of consents (the admin console).
//
// The contacts export has one row per contact and category, with the
// columns the import reads first (number, category, state, date, source),
// so that an export can be imported again, into this or another optin;
// contacts with no consent have one row with the consent columns empty.
//
// The import takes existing opt-ins (and opt-outs) recorded elsewhere. A
// dry run reports every row's problem and changes nothing; the real run
// applies the valid rows in batches, in a background job whose progress is
// kept in the database. Rows already true change nothing, so importing a
// file twice records nothing the second time. Imported events have source
// "import", the admin as actor, and keep the row's source and evidence text
// as evidence ("original_source", "description"). An erased number is
// refused unless the row carries new evidence: a non-empty evidence text
// and a date after the erasure (NewEvidence, the API's rule).

// ImportColumns are the columns an import reads, by header name, in any
// order; other columns are ignored. "phone" may stand for "number".
var ImportColumns = []string{"number", "category", "state", "date", "source", "evidence"}

// Limits of an import.
const (
	MaxImportBytes       = 20 << 20
	MaxImportRows        = 200_000
	MaxImportSourceRunes = 100
	MaxImportTextRunes   = 1000
	ImportBatchSize      = 500
	// MaxImportProblems is how many problems a job keeps to show.
	MaxImportProblems = 1000
)

// ImportFormatError: the file is not a CSV with the import's header, or
// is too large. Reason is written for the admin who uploaded it.
type ImportFormatError struct{ Reason string }

func (e *ImportFormatError) Error() string { return "not an import file: " + e.Reason }

func formatError(format string, args ...any) error {
	return &ImportFormatError{Reason: fmt.Sprintf(format, args...)}
}

// ExportRow is one row of the contacts export: a contact and one of its
// consents (Category "" when it has none).
type ExportRow struct {
	Contact Contact
	Consent Consent
}

// ExportFilter narrows an export. Empty fields don't filter.
type ExportFilter struct {
	Category string
	State    State
	From, To time.Time // events: occurred_at in [From, To)
	Type     EventType // events only
}

// RowProblem is why an import row can't be applied.
type RowProblem struct {
	Row     int    `json:"row"` // line of the file, the header being row 1
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ImportStatus is the state of an import job.
type ImportStatus string

// Import job states.
const (
	ImportChecked ImportStatus = "checked" // dry run done, awaiting confirmation
	ImportRunning ImportStatus = "running"
	ImportDone    ImportStatus = "done"
	ImportFailed  ImportStatus = "failed"
)

// ImportJob is one import: its dry run, then its run.
type ImportJob struct {
	ID        int64
	Actor     string
	Filename  string
	Status    ImportStatus
	Total     int // data rows in the file
	Processed int
	Applied   int // rows that recorded an event (the dry run: would record)
	Unchanged int // rows already true
	Refused   int
	Problems  []RowProblem
	Error     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ImportItem is one row of a batch: a write, or the problem that stops it.
type ImportItem struct {
	Row     int
	Write   ConsentWrite
	Problem *RowProblem
}

// CSVStore streams exports and keeps import jobs.
type CSVStore interface {
	// ExportContacts calls fn for each contact and consent, in contact and
	// category order, reading one row at a time.
	ExportContacts(ctx context.Context, f ExportFilter, fn func(ExportRow) error) error
	// ExportEvents calls fn for each event in id order, one row at a time.
	ExportEvents(ctx context.Context, f ExportFilter, fn func(LedgerEvent) error) error
	// CheckConsents tells what recording each write would do, writing nothing.
	CheckConsents(ctx context.Context, ws []ConsentWrite) ([]RecordOutcome, error)
	// CreateImportJob stores a checked job with its file.
	CreateImportJob(ctx context.Context, j ImportJob, data []byte) (int64, error)
	ImportJob(ctx context.Context, id int64) (ImportJob, error)
	// ImportData returns a job's file (empty once the job ended).
	ImportData(ctx context.Context, id int64) ([]byte, error)
	// StartImportJob moves a checked job to running; ErrConflict otherwise.
	StartImportJob(ctx context.Context, id int64, now time.Time) error
	// ImportBatch applies a batch of a running job and counts it, in one
	// transaction.
	ImportBatch(ctx context.Context, id int64, items []ImportItem, now time.Time) error
	// FinishImportJob ends a job as done or failed and drops its file.
	FinishImportJob(ctx context.Context, id int64, status ImportStatus, msg string, now time.Time) error
	// RunningImportJobs lists the jobs left running (by a stopped process).
	RunningImportJobs(ctx context.Context) ([]int64, error)
}

// ExportContacts streams the contacts export to fn.
func (s *Service) ExportContacts(ctx context.Context, f ExportFilter, fn func(ExportRow) error) error {
	return s.store.ExportContacts(ctx, f, fn)
}

// ExportEvents streams the events export to fn.
func (s *Service) ExportEvents(ctx context.Context, f ExportFilter, fn func(LedgerEvent) error) error {
	return s.store.ExportEvents(ctx, f, fn)
}

// SafeCell neutralises a cell that a spreadsheet would run as a formula:
// one whose first character other than white space is = + - @ or their
// fullwidth forms (＝ ＋ － ＠, which spreadsheets fold into the ASCII ones),
// or that starts with a tab, carriage return or other control character,
// gets a leading apostrophe. The import removes it again.
func SafeCell(v string) string {
	if v == "" {
		return v
	}
	if c := v[0]; c < 0x20 || c == 0x7f {
		return "'" + v
	}
	for _, r := range v {
		if unicode.IsSpace(r) {
			continue
		}
		switch r {
		case '=', '+', '-', '@', '＝', '＋', '－', '＠':
			return "'" + v
		}
		break
	}
	return v
}

// unsafeCell undoes SafeCell.
func unsafeCell(v string) string {
	if len(v) > 1 && v[0] == '\'' && SafeCell(v[1:]) != v[1:] {
		return v[1:]
	}
	return v
}
