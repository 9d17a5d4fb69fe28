package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// upload posts a file to the import as a browser does.
func (c *adminClient) upload(name string, data []byte) (*http.Response, string) {
	c.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", c.e.ts.URL+"/admin/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func readCSV(t *testing.T, body string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, body)
	}
	return recs
}

func auditActions(t *testing.T, e *env) []string {
	t.Helper()
	rows, err := e.db.SQL().Query(`SELECT action FROM admin_audit ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		rows.Scan(&a)
		out = append(out, a)
	}
	return out
}

func TestAdminExportContacts(t *testing.T) {
	e := newEnv(t)
	e.subscribe("+4915112345671", "en", "offers", "order_updates")
	e.subscribe("+4915112345672", "de", "offers")
	c := e.signIn(consent.RoleAdmin)
	resp, body := c.get("/admin/export/contacts.csv")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), `attachment; filename="optin-contacts-`) {
		t.Fatalf("export: %d %v", resp.StatusCode, resp.Header)
	}
	recs := readCSV(t, body)
	want := [][]string{
		{"number", "category", "state", "date", "source", "wa_id", "status", "language", "created_at"},
		{"+4915112345671", "order_updates", "opted_in", "2026-11-01T10:00:00Z", "web_form", "4915112345671", "active", "en", "2026-11-01T10:00:00Z"},
		{"+4915112345671", "offers", "opted_in", "2026-11-01T10:00:00Z", "web_form", "4915112345671", "active", "en", "2026-11-01T10:00:00Z"},
		{"+4915112345672", "offers", "opted_in", "2026-11-01T10:00:00Z", "web_form", "4915112345672", "active", "de", "2026-11-01T10:00:00Z"},
	}
	if got, w := strings.Join(flat(recs), "|"), strings.Join(flat(want), "|"); got != w {
		t.Errorf("export =\n%v\nwant\n%v", recs, want)
	}
	_, body = c.get("/admin/export/contacts.csv?category=order_updates&state=opted_in")
	if recs := readCSV(t, body); len(recs) != 2 || recs[1][1] != "order_updates" {
		t.Errorf("filtered export = %v", recs)
	}
	for _, q := range []string{"state=maybe", "category=spam"} {
		if resp, _ := c.get("/admin/export/contacts.csv?" + q); resp.StatusCode != 422 {
			t.Errorf("?%s: status %d, want 422", q, resp.StatusCode)
		}
	}
	if got := auditActions(t, e); strings.Count(strings.Join(got, " "), "export_contacts") != 2 {
		t.Errorf("audit = %v, want the two exports recorded", got)
	}
	v := e.signIn(consent.RoleViewer)
	for _, path := range []string{"/admin/export/contacts.csv", "/admin/export/events.csv", "/admin/import"} {
		if resp, body := v.get(path); resp.StatusCode != 403 || strings.Contains(body, "15112345671") {
			t.Errorf("viewer GET %s: %d, want 403 without numbers", path, resp.StatusCode)
		}
	}
}

func flat(recs [][]string) []string {
	var out []string
	for _, r := range recs {
		out = append(out, strings.Join(r, ","))
	}
	return out
}

func TestAdminExportEventsNeutralisesFormulas(t *testing.T) {
	e := newEnv(t)
	resp := e.post("/optin", url.Values{"phone": {"+4915112345678"}, "category": {"offers"}},
		"User-Agent", "=cmd|' /C calc'!A0", "Referer", "@SUM(1+1)")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("opt-in: %d", resp.StatusCode)
	}
	e.api("DELETE", "/api/v1/contacts/%2B4915112345678", e.writeKey("crm"), "")
	c := e.signIn(consent.RoleAdmin)
	_, body := c.get("/admin/export/events.csv")
	recs := readCSV(t, body)
	if len(recs) != 3 {
		t.Fatalf("events export has %d rows, want header + 2: %v", len(recs), recs)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	// The opt-in was erased: its personal fields are empty.
	if r := recs[1]; r[col["type"]] != "opt_in" || r[col["number"]] != "" || r[col["user_agent"]] != "" || r[col["erased"]] != "true" {
		t.Errorf("erased opt-in row = %v", r)
	}
	// A live one keeps them, neutralised; its number is written as it is
	// (E.164, which a spreadsheet can't run as a formula: see phoneCell).
	e.post("/optin", url.Values{"phone": {"+4915112345679"}, "category": {"offers"}},
		"User-Agent", "=cmd|' /C calc'!A0", "Referer", "https://shop.example/-x")
	_, body = c.get("/admin/export/events.csv?category=offers&from=2026-11-01&to=2026-11-01")
	recs = readCSV(t, body)
	last := recs[len(recs)-1]
	if last[col["user_agent"]] != "'=cmd|' /C calc'!A0" || last[col["number"]] != "+4915112345679" {
		t.Errorf("row = %v: formula cells not neutralised", last)
	}
	for _, r := range recs[1:] {
		for i, cell := range r {
			if cell != "" && strings.ContainsAny(cell[:1], "=+-@\t\r") && !(i == col["number"] && e164.MatchString(cell)) {
				t.Errorf("cell %q starts with a formula character", cell)
			}
		}
	}
	if _, body := c.get("/admin/export/events.csv?from=2026-11-02"); len(readCSV(t, body)) != 1 {
		t.Errorf("from filter: events of Nov 1 exported")
	}
}

var jobPath = regexp.MustCompile(`^/admin/import/(\d+)$`)

// waitImport polls the progress endpoint until the job ends.
func waitImport(t *testing.T, c *adminClient, job string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		_, body := c.get(job + "/progress")
		var p map[string]any
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatalf("progress %q: %v", body, err)
		}
		if p["status"] != "running" {
			return p
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("import did not end")
	return nil
}

func TestAdminImport(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.subscribe("+4915112345670", "en", "offers")
	c := e.signIn(consent.RoleAdmin)
	file := "number,category,state,date,source,evidence\n" +
		"'+4915112345671,offers,opted_in,2026-05-01,paper form,signed at the shop\n" + // row 2
		"+4915112345672,order_updates,OPTED_IN,2026-05-02T10:00:00Z,newsletter,\n" + // row 3
		"12,offers,opted_in,2026-05-01,,\n" + // row 4: bad number
		"+4915112345673,spam,opted_in,2026-05-01,,\n" + // row 5: unknown category
		"+4915112345674,offers,maybe,2026-05-01,,\n" + // row 6: bad state
		"+4915112345675,offers,opted_in,someday,,\n" + // row 7: bad date
		"+4915112345676,offers,opted_in,2027-01-01,,\n" + // row 8: future
		"+4915112345670,offers,opted_in,2026-01-01,,\n" + // row 9: already true
		"+4915112345670,offers,opted_out,2026-01-01,,\n" // row 10: older than the opt-in on record
	before := e.rows()
	resp, _ := c.upload("old.csv", []byte(file))
	m := jobPath.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("upload: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	job := m[0]
	_, page := c.get(job)
	if !regexp.MustCompile(`9 rows: 2 would be recorded,\s+1 are already true, 6 have problems`).MatchString(page) {
		t.Errorf("dry run summary missing:\n%s", page)
	}
	for _, want := range []string{">4</td><td>number</td>", ">5</td><td>category</td>", ">6</td><td>state</td>",
		">7</td><td>date</td>", ">8</td><td>date</td>", ">10</td><td>date</td>", `data-testid="import-run"`} {
		if !strings.Contains(page, want) {
			t.Errorf("dry run page lacks %q", want)
		}
	}
	if got := e.rows(); !equalRows(got, before) {
		t.Errorf("the dry run changed rows: %v → %v", before, got)
	}

	if resp := c.post(job+"/run", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("run: %d", resp.StatusCode)
	}
	p := waitImport(t, c, job)
	if p["status"] != "done" || p["processed"] != 9.0 || p["applied"] != 2.0 || p["unchanged"] != 1.0 || p["refused"] != 6.0 {
		t.Errorf("progress = %v", p)
	}
	if got := e.rows(); got["events"] != before["events"]+2 || got["contacts"] != before["contacts"]+2 || got["outbox"] != before["outbox"] {
		t.Errorf("rows after import = %v (before %v), want 2 events and 2 contacts more, no message", got, before)
	}
	var src, actor, detail, since string
	e.db.SQL().QueryRow(`SELECT e.source, e.actor, e.detail, s.since FROM events e JOIN consents s ON s.event_id = e.id
		JOIN contacts c ON c.id = s.contact_id WHERE c.phone = '+4915112345671'`).Scan(&src, &actor, &detail, &since)
	if src != "import" || actor != "admin:"+c.user.Email || !strings.Contains(detail, `"description":"signed at the shop"`) ||
		!strings.Contains(detail, `"original_source":"paper form"`) || !strings.HasPrefix(since, "2026-05-01T00:00:00") {
		t.Errorf("imported event: source %q actor %q detail %s since %s", src, actor, detail, since)
	}
	if _, page := c.get(job); !strings.Contains(page, "Import finished") || !strings.Contains(page, `data-testid="import-problem"`) {
		t.Errorf("finished page lacks its status or problems")
	}
	if resp := c.post(job+"/run", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("second run: %d, want 303 to the finished job", resp.StatusCode)
	}
	var files int
	if err := e.db.SQL().QueryRow(`SELECT count(*) FROM import_files`).Scan(&files); err != nil || files != 0 {
		t.Errorf("the finished job keeps its file (%d files, %v)", files, err)
	}

	// The same file again records nothing.
	after := e.rows()
	resp, _ = c.upload("old.csv", []byte(file))
	job = resp.Header.Get("Location")
	c.post(job+"/run", nil)
	if p := waitImport(t, c, job); p["applied"] != 0.0 || p["unchanged"] != 3.0 {
		t.Errorf("second import = %v, want nothing applied, 3 unchanged", p)
	}
	if got := e.rows(); got["events"] != after["events"] {
		t.Errorf("repeated import added events: %v → %v", after, got)
	}
	if rep, err := e.db.VerifyLedger(ctx, e.clock.t); err != nil || !rep.OK() {
		t.Errorf("ledger: %+v %v", rep, err)
	}
	acts := strings.Join(auditActions(t, e), " ")
	if strings.Count(acts, "import_check") != 2 || strings.Count(acts, "import_run") != 2 {
		t.Errorf("audit = %s", acts)
	}
}

func TestAdminImportErasedNumber(t *testing.T) {
	e := newEnv(t)
	e.subscribe("+4915112345678", "en", "offers")
	e.api("DELETE", "/api/v1/contacts/%2B4915112345678", e.writeKey("crm"), "")
	e.clock.t = e.clock.t.Add(72 * time.Hour)
	c := e.signIn(consent.RoleAdmin)
	file := "number,category,state,date,evidence\n" +
		"+4915112345678,offers,opted_in,2026-10-01,\n" + // before the erasure, no evidence
		"+4915112345678,offers,opted_in,2026-11-03,\n" + // after, no evidence
		"+4915112345678,offers,opted_in,2026-10-01,signed again\n" + // evidence, but dated before
		"+4915112345678,order_updates,opted_in,2026-11-03,signed the paper form again on Nov 3\n" + // new evidence
		"+4915112345678,offers,opted_in,2026-11-03,\n" // the number is back: allowed
	resp, _ := c.upload("back.csv", []byte(file))
	job := resp.Header.Get("Location")
	_, page := c.get(job)
	if n := strings.Count(page, "this number was erased"); n != 3 {
		t.Errorf("dry run reports %d erased rows, want 3:\n%s", n, page)
	}
	c.post(job+"/run", nil)
	p := waitImport(t, c, job)
	if p["applied"] != 2.0 || p["refused"] != 3.0 {
		t.Errorf("import = %v, want 2 applied, 3 refused", p)
	}
	code, out, _ := e.api("GET", "/api/v1/contacts/%2B4915112345678", e.apiKey, "")
	if code != 200 || !strings.Contains(out, `"order_updates":{"state":"opted_in"`) || !strings.Contains(out, `"offers":{"state":"opted_in"`) {
		t.Errorf("contact after import: %d %s", code, out)
	}
}

func TestAdminImportRefusesBadFiles(t *testing.T) {
	e := newEnv(t)
	c := e.signIn(consent.RoleAdmin)
	big := append([]byte("number,category,state,date\n"), bytes.Repeat([]byte("+4915112345678,offers,opted_in,2026-01-01\n"), 21<<20/43)...)
	tests := []struct {
		name string
		data []byte
		want int
		text string
	}{
		{"too large", big, 413, "larger than 20 MB"},
		{"no header", []byte("+4915112345678,offers,opted_in,2026-01-01\n"), 422, "the header lacks"},
		{"empty", nil, 422, "no header row"},
		{"binary", []byte{0xff, 0xfe, 0x00}, 422, "not UTF-8"},
		{"bad quotes", []byte("number,category,state,date\n\"+49,offers\n"), 422, "not valid CSV"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := c.upload("x.csv", tt.data)
			if resp.StatusCode != tt.want || !strings.Contains(body, tt.text) || !strings.Contains(body, `data-testid="import-error"`) {
				t.Errorf("status %d, want %d with %q", resp.StatusCode, tt.want, tt.text)
			}
		})
	}
	var n int
	e.db.SQL().QueryRow(`SELECT count(*) FROM import_jobs`).Scan(&n)
	if n != 0 {
		t.Errorf("import_jobs = %d after refused files, want 0", n)
	}
	if resp, _ := c.get("/admin/import/99"); resp.StatusCode != 404 {
		t.Errorf("unknown job: %d, want 404", resp.StatusCode)
	}
}

// TestAdminExportStreams exports more than any buffer holds: the file goes
// out in chunks as rows are read, with no length known in advance.
func TestAdminExportStreams(t *testing.T) {
	e := newEnv(t)
	e.runImport(importCSV(0, 1000))
	c := e.signIn(consent.RoleAdmin)
	for _, path := range []string{"/admin/export/contacts.csv", "/admin/export/events.csv"} {
		resp, err := c.http.Get(e.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var cw countWriter
		io.Copy(&cw, resp.Body)
		resp.Body.Close()
		if resp.ContentLength != -1 || len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
			t.Errorf("%s: Content-Length %d, Transfer-Encoding %v; want a chunked stream", path, resp.ContentLength, resp.TransferEncoding)
		}
		if cw.lines != 2001 {
			t.Errorf("%s: %d lines, want 2001", path, cw.lines)
		}
	}
}

// TestImportResumesAfterAStop resumes an import that a stopped process
// left running after its first batch: the rows counted are not read again,
// the others are applied once.
func TestImportResumesAfterAStop(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	data := importCSV(0, 700) // 1,400 rows: three batches
	j, err := e.svc.PrepareImport(ctx, "big.csv", data, "admin:a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.StartImportJob(ctx, j.ID, e.clock.t); err != nil {
		t.Fatal(err)
	}
	// What the stopped process did: the first batch (250 numbers, two rows
	// each), applied and counted in one transaction.
	e.runImport(importCSV(0, consent.ImportBatchSize/2))
	if _, err := e.db.SQL().Exec(`UPDATE import_jobs SET processed = ?, applied = ? WHERE id = ?`,
		consent.ImportBatchSize, consent.ImportBatchSize, j.ID); err != nil {
		t.Fatal(err)
	}
	// A shutdown meanwhile leaves it running, for the next start.
	stopped, cancel := context.WithCancel(ctx)
	cancel()
	e.svc.RunImport(stopped, j.ID)
	if mid, _ := e.svc.ImportJob(ctx, j.ID); mid.Status != consent.ImportRunning || mid.Processed != consent.ImportBatchSize {
		t.Fatalf("after a stop: %+v, want still running at %d", mid, consent.ImportBatchSize)
	}
	if err := e.svc.ResumeImports(ctx); err != nil {
		t.Fatal(err)
	}
	end, _ := e.svc.ImportJob(ctx, j.ID)
	if end.Status != consent.ImportDone || end.Processed != 1400 || end.Applied != 1400 || end.Unchanged != 0 || end.Refused != 0 {
		t.Errorf("after resuming: %+v, want 1,400 applied and none read twice", end)
	}
	if got := e.rows()["events"]; got != 1400 {
		t.Errorf("events = %d, want 1400", got)
	}
	if ids, _ := e.db.RunningImportJobs(ctx); len(ids) != 0 {
		t.Errorf("still running: %v", ids)
	}
}

func TestPhoneCell(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"+4915112345678":  "+4915112345678",
		"+1":              "'+1",
		"+49 151":         "'+49 151",
		"+4915112345678+": "'+4915112345678+",
		"+1+1":            "'+1+1",
		"=1+1":            "'=1+1",
		"":                "",
	} {
		if got := phoneCell(in); got != want {
			t.Errorf("phoneCell(%q) = %q, want %q", in, got, want)
		}
	}
}
