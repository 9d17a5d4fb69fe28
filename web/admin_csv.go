package web

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
)

// CSV exports and imports are for admins only: the files hold whole phone
// numbers, which viewers never see.

// csvFlushEvery is how many rows an export buffers before writing them out.
const csvFlushEvery = 1000

// csvDeadline replaces the server's read and write timeouts (made for
// pages) for exports and uploads: a large export or a 20 MB upload over a
// slow link takes minutes, not seconds.
const csvDeadline = 10 * time.Minute

// extendDeadlines gives a CSV request csvDeadline to finish.
func extendDeadlines(w http.ResponseWriter, read bool) {
	rc := http.NewResponseController(w)
	end := time.Now().Add(csvDeadline)
	_ = rc.SetWriteDeadline(end) // unsupported only by test recorders
	if read {
		_ = rc.SetReadDeadline(end)
	}
}

// exportFilter reads the optional filters of an export; bad values are a
// *ValidationError.
func (s *Server) exportFilter(r *http.Request) (consent.ExportFilter, error) {
	q := r.URL.Query()
	f := consent.ExportFilter{Category: q.Get("category"), State: consent.State(q.Get("state"))}
	verr := &consent.ValidationError{}
	switch f.State {
	case "", consent.OptedIn, consent.OptedOut, consent.Pending:
	default:
		verr.Add("state", "state.invalid")
	}
	if f.Category != "" {
		cats, err := s.svc.Categories(r.Context(), "en")
		if err != nil {
			return f, err
		}
		known := false
		for _, c := range cats {
			known = known || c.Slug == f.Category
		}
		if !known {
			verr.Add("category", "category.unknown")
		}
	}
	for _, p := range []struct {
		name string
		t    *time.Time
		add  time.Duration
	}{{"from", &f.From, 0}, {"to", &f.To, 24 * time.Hour}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse("2006-01-02", v)
			if err != nil {
				verr.Add(p.name, "date.invalid")
			}
			*p.t = t.Add(p.add)
		}
	}
	return f, verr.OrNil()
}

// filterDetail is the audit log's record of the filters an export used.
func filterDetail(f consent.ExportFilter) map[string]string {
	d := map[string]string{}
	if f.Category != "" {
		d["category"] = f.Category
	}
	if f.State != "" {
		d["state"] = string(f.State)
	}
	if !f.From.IsZero() {
		d["from"] = f.From.Format(time.DateOnly)
	}
	if !f.To.IsZero() {
		d["until"] = f.To.Add(-24 * time.Hour).Format(time.DateOnly)
	}
	return d
}

// startCSV sets the headers of a CSV download and returns its writer.
func startCSV(w http.ResponseWriter, name string, now time.Time) *csv.Writer {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="optin-`+name+`-`+now.Format("20060102-150405")+`.csv"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	return csv.NewWriter(w)
}

// safeRow neutralises every cell of a row (consent.SafeCell).
func safeRow(cells ...string) []string {
	for i, c := range cells {
		cells[i] = consent.SafeCell(c)
	}
	return cells
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// handleAdminExportContacts streams the contacts with their consents.
func (s *Server) handleAdminExportContacts(w http.ResponseWriter, r *http.Request) {
	f, err := s.exportFilter(r)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	if err := s.auditFirst(r, "export_contacts", "", filterDetail(f)); err != nil {
		s.failAdmin(w, r, err)
		return
	}
	extendDeadlines(w, false)
	cw := startCSV(w, "contacts", s.cfg.Clock.Now())
	cw.Write([]string{"number", "category", "state", "date", "source", "wa_id", "status", "language", "created_at"})
	n := 0
	err = s.svc.ExportContacts(r.Context(), f, func(row consent.ExportRow) error {
		c, cs := row.Contact, row.Consent
		cw.Write(safeRow(c.Phone, cs.Category, string(cs.State), csvTime(cs.Since), string(cs.Source),
			c.WaID, string(c.Status), c.Language, csvTime(c.CreatedAt)))
		if n++; n%csvFlushEvery == 0 {
			cw.Flush()
		}
		return cw.Error()
	})
	s.endCSV(r, cw, err)
}

// handleAdminExportEvents streams the events with their evidence.
func (s *Server) handleAdminExportEvents(w http.ResponseWriter, r *http.Request) {
	f, err := s.exportFilter(r)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	if err := s.auditFirst(r, "export_events", "", filterDetail(f)); err != nil {
		s.failAdmin(w, r, err)
		return
	}
	extendDeadlines(w, false)
	cw := startCSV(w, "events", s.cfg.Clock.Now())
	cw.Write([]string{"id", "occurred_at", "recorded_at", "number", "type", "category", "state", "source", "actor",
		"entry_point", "wording_hash", "lang", "ip", "user_agent", "page_url", "message_id", "message_text", "evidence", "erased"})
	n := 0
	err = s.svc.ExportEvents(r.Context(), f, func(e consent.LedgerEvent) error {
		ev := e.Evidence
		detail := ""
		if len(ev.Detail) > 0 {
			b, _ := json.Marshal(ev.Detail)
			detail = string(b)
		}
		cw.Write(safeRow(strconv.FormatInt(e.ID, 10), csvTime(e.OccurredAt), csvTime(e.RecordedAt), e.Phone, string(e.Type),
			e.Category, string(e.State), string(ev.Source), ev.Actor, ev.EntryPoint, e.WordingHash, e.Lang, ev.IP,
			ev.UserAgent, ev.PageURL, ev.MessageID, ev.MessageText, detail, strconv.FormatBool(e.Erased)))
		if n++; n%csvFlushEvery == 0 {
			cw.Flush()
		}
		return cw.Error()
	})
	s.endCSV(r, cw, err)
}

// endCSV finishes a streamed export. Once rows went out the status can't
// change: an error is logged, and the file ends early.
func (s *Server) endCSV(r *http.Request, cw *csv.Writer, err error) {
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err != nil && !errors.Is(err, r.Context().Err()) {
		s.log.Error("export failed", "route", r.Pattern, "err", err)
	}
}

func (s *Server) csvModel(r *http.Request) (views.AdminCSVModel, error) {
	m := views.AdminCSVModel{Layout: s.adminLayout(r, "CSV export and import", "contacts"), MaxMB: consent.MaxImportBytes >> 20,
		MaxRows: consent.MaxImportRows}
	cats, err := s.svc.Categories(r.Context(), "en")
	for _, c := range cats {
		m.Categories = append(m.Categories, c.Slug)
	}
	return m, err
}

// handleAdminImportForm shows the exports and the import's upload form.
func (s *Server) handleAdminImportForm(w http.ResponseWriter, r *http.Request) {
	m, err := s.csvModel(r)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	render(w, r, http.StatusOK, views.AdminCSVPage(m))
}

// handleAdminImportUpload runs the dry run of an uploaded file and shows
// its report, from which the admin can start the import.
func (s *Server) handleAdminImportUpload(w http.ResponseWriter, r *http.Request) {
	m, err := s.csvModel(r)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	refuse := func(code int, msg string) {
		m.Error = msg
		render(w, r, code, views.AdminCSVPage(m))
	}
	extendDeadlines(w, true)
	tooLarge := "The file is larger than " + strconv.Itoa(m.MaxMB) + " MB. Split it into smaller files and import them one after the other."
	r.Body = http.MaxBytesReader(w, r.Body, consent.MaxImportBytes+64<<10)
	file, hdr, err := r.FormFile("file")
	var big *http.MaxBytesError
	switch {
	case errors.As(err, &big):
		refuse(http.StatusRequestEntityTooLarge, tooLarge)
		return
	case err != nil:
		refuse(http.StatusUnprocessableEntity, "Choose a CSV file to import.")
		return
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, consent.MaxImportBytes+1))
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	if len(data) > consent.MaxImportBytes {
		refuse(http.StatusRequestEntityTooLarge, tooLarge)
		return
	}
	job, err := s.svc.PrepareImport(r.Context(), hdr.Filename, data, "admin:"+currentAdmin(r).Email)
	var ferr *consent.ImportFormatError
	if errors.As(err, &ferr) {
		refuse(http.StatusUnprocessableEntity, "This file can't be imported: "+ferr.Reason+".")
		return
	}
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	s.audit(r, "import_check", strconv.FormatInt(job.ID, 10), map[string]any{"file": hdr.Filename, "rows": job.Total,
		"would_record": job.Applied, "unchanged": job.Unchanged, "problems": job.Refused})
	http.Redirect(w, r, "/admin/import/"+strconv.FormatInt(job.ID, 10), http.StatusSeeOther)
}

func (s *Server) importJob(w http.ResponseWriter, r *http.Request) (consent.ImportJob, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.failAdmin(w, r, consent.ErrNotFound)
		return consent.ImportJob{}, false
	}
	j, err := s.svc.ImportJob(r.Context(), id)
	if err != nil {
		s.failAdmin(w, r, err)
		return consent.ImportJob{}, false
	}
	return j, true
}

// handleAdminImportShow shows a dry run's report or an import's progress.
func (s *Server) handleAdminImportShow(w http.ResponseWriter, r *http.Request) {
	j, ok := s.importJob(w, r)
	if !ok {
		return
	}
	m := views.AdminImportModel{Layout: s.adminLayout(r, "Import", "contacts"), ID: j.ID, Filename: j.Filename,
		Status: string(j.Status), Total: j.Total, Processed: j.Processed, Applied: j.Applied, Unchanged: j.Unchanged,
		Refused: j.Refused, Error: j.Error}
	for _, p := range j.Problems {
		m.Problems = append(m.Problems, views.AdminImportProblem{Row: p.Row, Field: p.Field, Message: p.Message})
	}
	render(w, r, http.StatusOK, views.AdminImportPage(m))
}

// handleAdminImportRun starts the import of a checked file.
func (s *Server) handleAdminImportRun(w http.ResponseWriter, r *http.Request) {
	j, ok := s.importJob(w, r)
	if !ok {
		return
	}
	err := s.svc.StartImport(r.Context(), j.ID, nil)
	if err != nil && !errors.Is(err, consent.ErrConflict) { // started already: show its progress
		s.failAdmin(w, r, err)
		return
	}
	if err == nil {
		s.audit(r, "import_run", strconv.FormatInt(j.ID, 10), map[string]any{"file": j.Filename, "rows": j.Total})
	}
	http.Redirect(w, r, "/admin/import/"+strconv.FormatInt(j.ID, 10), http.StatusSeeOther)
}

// handleAdminImportProgress is what the import page polls.
func (s *Server) handleAdminImportProgress(w http.ResponseWriter, r *http.Request) {
	j, ok := s.importJob(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": j.Status, "total": j.Total, "processed": j.Processed,
		"applied": j.Applied, "unchanged": j.Unchanged, "refused": j.Refused, "error": j.Error})
}
