package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
)

const contactWording = "Yes, Acme may send me the chosen messages on WhatsApp."

// optInContact opts phone in through the service, as the form would.
func (e *env) optInContact(phone string, cats ...string) consent.Contact {
	e.t.Helper()
	out, err := e.svc.OptIn(context.Background(), consent.OptInRequest{Phone: phone, Categories: cats, Lang: "en",
		Wording: contactWording, Evidence: consent.Evidence{Source: consent.SourceWebForm, IP: "203.0.113.9",
			UserAgent: "Mozilla/5.0 test", PageURL: "https://shop.example/optin", FormVersion: "1"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Contact
}

func contactPath(c consent.Contact) string { return fmt.Sprintf("/admin/contacts/%d", c.ID) }

func TestAdminContactList(t *testing.T) {
	e := newEnv(t)
	anna := e.optInContact("+4915112345678", "offers", "order_updates")
	ben := e.optInContact("+4915198765432", "offers")
	e.optInContact("+34612000111", "recommendations")
	admin := e.signIn(consent.RoleAdmin)
	viewer := e.signIn(consent.RoleViewer)

	resp, body := admin.get("/admin/contacts")
	if resp.StatusCode != http.StatusOK || strings.Count(body, `data-testid="contact-row"`) != 3 {
		t.Fatalf("list: %d, %d rows", resp.StatusCode, strings.Count(body, `data-testid="contact-row"`))
	}
	resp, body = admin.get("/admin/contacts?q=1234")
	if resp.StatusCode != http.StatusOK || strings.Count(body, `data-testid="contact-row"`) != 1 ||
		!strings.Contains(body, "+4915112345678") || !strings.Contains(body, contactPath(anna)) {
		t.Errorf("search 1234: %d\n%s", resp.StatusCode, body)
	}
	// Viewers may search by the whole number (any spelling), and see the numbers masked.
	resp, body = viewer.get("/admin/contacts?q=" + url.QueryEscape("0151 1234 5678"))
	if resp.StatusCode != http.StatusOK || strings.Count(body, `data-testid="contact-row"`) != 1 ||
		strings.Contains(body, "4915112345678") || !strings.Contains(body, maskPhone("+4915112345678")) {
		t.Errorf("viewer search: %d, the number must be masked\n%s", resp.StatusCode, body)
	}
	_, body = admin.get("/admin/contacts?category=offers&state=opted_in")
	if strings.Count(body, `data-testid="contact-row"`) != 2 || !strings.Contains(body, contactPath(ben)) {
		t.Errorf("filter offers opted_in: want anna and ben\n%s", body)
	}
	_, body = admin.get("/admin/contacts?q=34")
	if strings.Count(body, `data-testid="contact-row"`) != 1 || !strings.Contains(body, `data-testid="contacts-notice"`) {
		t.Errorf("short search: want the prefix match and its notice\n%s", body)
	}
	_, body = admin.get("/admin/contacts?q=0000000")
	if !strings.Contains(body, `data-testid="contacts-empty"`) {
		t.Errorf("no match: want the empty state")
	}

	for _, bad := range []string{"q=anna", "category=spam", "state=maybe", "status=gone", "source=fax", "from=yesterday",
		"from=2026-11-05&to=2026-11-01", "sort=random", "after=garbage", "state=none&source=api"} {
		resp, body := admin.get("/admin/contacts?" + bad)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `class="field__error"`) {
			t.Errorf("%s: status %d, want 422 with the field's error", bad, resp.StatusCode)
		}
	}
}

func TestAdminContactListPages(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < consent.DefaultContactLimit+5; i++ {
		e.optInContact(fmt.Sprintf("+49151%08d", 10000000+i), "offers")
		e.clock.t = e.clock.t.Add(1)
	}
	admin := e.signIn(consent.RoleAdmin)
	_, first := admin.get("/admin/contacts?category=offers")
	next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(first)
	if strings.Count(first, `data-testid="contact-row"`) != consent.DefaultContactLimit || next == nil ||
		strings.Contains(first, `rel="prev"`) {
		t.Fatalf("first page: want %d rows, a next link and no previous one", consent.DefaultContactLimit)
	}
	link := strings.ReplaceAll(next[1], "&amp;", "&")
	if !strings.Contains(link, "category=offers") || strings.Contains(link, "offset") {
		t.Errorf("next link %q: want the filters kept and a cursor, no offset", link)
	}
	_, second := admin.get(link)
	prev := regexp.MustCompile(`href="([^"]+)" rel="prev"`).FindStringSubmatch(second)
	if strings.Count(second, `data-testid="contact-row"`) != 5 || prev == nil || strings.Contains(second, `rel="next"`) {
		t.Fatalf("second page: want 5 rows, a previous link and no next one")
	}
	_, back := admin.get(strings.ReplaceAll(prev[1], "&amp;", "&"))
	rows := regexp.MustCompile(`data-testid="contact-row"`)
	if len(rows.FindAllString(back, -1)) != consent.DefaultContactLimit || !strings.Contains(back, `rel="next"`) {
		t.Errorf("back to the first page: want %d rows and a next link", consent.DefaultContactLimit)
	}
}

func TestAdminContactShow(t *testing.T) {
	e := newEnv(t)
	anna := e.optInContact("+4915112345678", "offers")
	admin := e.signIn(consent.RoleAdmin)
	resp, body := admin.get(contactPath(anna))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{"+4915112345678", `data-testid="state-offers"`, `data-testid="timeline-event"`,
		`data-testid="event-wording"`, contactWording, "203.0.113.0/24", "Mozilla/5.0 test", "https://shop.example/optin",
		`data-testid="outbox-table"`, "welcome", `href="/admin/wordings/`, `data-testid="opt-out-offers"`, `data-testid="erase"`} {
		if !strings.Contains(body, want) {
			t.Errorf("contact page lacks %q", want)
		}
	}
	// The wording link opens that exact version.
	if m := regexp.MustCompile(`href="(/admin/wordings/[0-9a-f]{64})"`).FindStringSubmatch(body); m == nil {
		t.Error("no link to the wording version")
	} else if resp, page := admin.get(m[1]); resp.StatusCode != http.StatusOK || !strings.Contains(page, contactWording) {
		t.Errorf("GET %s: %d, want the wording", m[1], resp.StatusCode)
	}
	viewer := e.signIn(consent.RoleViewer)
	_, body = viewer.get(contactPath(anna))
	if strings.Contains(body, "4915112345678") || !strings.Contains(body, maskPhone("+4915112345678")) {
		t.Errorf("viewer sees the whole number")
	}
	if strings.Contains(body, `data-testid="opt-out-offers"`) || strings.Contains(body, `data-testid="erase"`) {
		t.Errorf("viewer is offered actions")
	}
	for _, path := range []string{"/admin/contacts/999", "/admin/contacts/abc", "/admin/contacts/-1"} {
		if resp, _ := admin.get(path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, resp.StatusCode)
		}
	}
}

func (e *env) contactAuditLines() []string {
	e.t.Helper()
	rows, err := e.db.SQL().Query(`SELECT action || ' ' || target || ' ' || actor FROM admin_audit WHERE action LIKE 'contact.%' ORDER BY id`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

func TestAdminContactOptOut(t *testing.T) {
	e := newEnv(t)
	anna := e.optInContact("+4915112345678", "offers", "order_updates")
	admin := e.signIn(consent.RoleAdmin)
	viewer := e.signIn(consent.RoleViewer)
	path := contactPath(anna) + "/opt-out"
	before := e.rows()

	// The first POST only asks.
	req, _ := http.NewRequest("POST", e.ts.URL+path, strings.NewReader("category=offers"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := admin.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	page.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(page.String(), `data-testid="confirm"`) ||
		!strings.Contains(page.String(), `name="confirm" value="yes"`) {
		t.Fatalf("first POST: %d, want the confirmation page", resp.StatusCode)
	}
	if got := e.rows(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("the confirmation page changed something: %v → %v", before, got)
	}
	// A viewer, an unknown category and an unknown contact change nothing.
	if resp := viewer.post(path, url.Values{"category": {"offers"}, "confirm": {"yes"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer: %d, want 403", resp.StatusCode)
	}
	if resp := admin.post(path, url.Values{"category": {"spam"}, "confirm": {"yes"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("unknown category: %d, want 422", resp.StatusCode)
	}
	if resp := admin.post("/admin/contacts/999/opt-out", url.Values{"confirm": {"yes"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown contact: %d, want 404", resp.StatusCode)
	}
	if got := e.rows(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("refused requests changed something: %v → %v", before, got)
	}

	resp = admin.post(path, url.Values{"category": {"offers"}, "confirm": {"yes"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != contactPath(anna)+"?done=opted_out" {
		t.Fatalf("confirmed: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if r, _ := e.svc.Check(context.Background(), "+4915112345678", "offers"); r.Reason != consent.ReasonOptedOut {
		t.Errorf("offers: %+v, want opted_out", r)
	}
	if r, _ := e.svc.Check(context.Background(), "+4915112345678", "order_updates"); r.Reason != consent.ReasonOptedIn {
		t.Errorf("order_updates: %+v, want still opted_in", r)
	}
	events, _ := e.db.Events(context.Background(), anna.ID)
	last := events[len(events)-1]
	if last.Type != consent.EventOptOut || last.Category != "offers" || last.Evidence.Source != consent.SourceAdmin ||
		last.Evidence.Actor != "admin:"+admin.user.Email {
		t.Errorf("event = %+v, want an opt-out by admin:%s", last, admin.user.Email)
	}
	_, body := admin.get(contactPath(anna) + "?done=opted_out")
	if !strings.Contains(body, `data-testid="flash"`) || !strings.Contains(body, "admin:"+admin.user.Email) {
		t.Errorf("contact page after the opt-out: want the flash and the admin in the timeline")
	}

	// Everything else, then nothing left to do.
	if resp := admin.post(path, url.Values{"confirm": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("opt out of all: %d", resp.StatusCode)
	}
	if r, _ := e.svc.Check(context.Background(), "+4915112345678", "order_updates"); r.Reason != consent.ReasonOptedOut {
		t.Errorf("order_updates after opt-out of all: %+v", r)
	}
	resp = admin.post(path, url.Values{"confirm": {"yes"}})
	if resp.Header.Get("Location") != contactPath(anna)+"?done=nothing" {
		t.Errorf("nothing left: → %q", resp.Header.Get("Location"))
	}
	target := fmt.Sprintf("contact:%d", anna.ID)
	want := []string{"contact.opt_out " + target + " " + admin.user.Email, "contact.opt_out_all " + target + " " + admin.user.Email}
	if got := e.contactAuditLines(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit = %q, want %q", got, want)
	}
}

func TestAdminContactErase(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	anna := e.optInContact("+4915112345678", "offers")
	other := e.optInContact("+34612000111", "offers")
	admin := e.signIn(consent.RoleAdmin)
	viewer := e.signIn(consent.RoleViewer)
	path := contactPath(anna) + "/erase"

	if resp := viewer.post(path, url.Values{"confirm": {"yes"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer: %d, want 403", resp.StatusCode)
	}
	if resp := admin.post(path, url.Values{}); resp.StatusCode != http.StatusOK {
		t.Errorf("first POST: %d, want the confirmation page", resp.StatusCode)
	}
	if _, err := e.db.ContactByID(ctx, anna.ID); err != nil {
		t.Fatalf("erased before the confirmation: %v", err)
	}
	resp := admin.post(path, url.Values{"confirm": {"yes"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/contacts?done=erased" {
		t.Fatalf("confirmed: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := admin.get(contactPath(anna)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("contact page after erasure: %d, want 404", resp.StatusCode)
	}
	if resp := admin.post(path, url.Values{"confirm": {"yes"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("second erasure: %d, want 404", resp.StatusCode)
	}
	_, body := admin.get("/admin/contacts?done=erased&q=5112345")
	if !strings.Contains(body, `data-testid="flash"`) || !strings.Contains(body, `data-testid="contacts-empty"`) {
		t.Errorf("list after erasure: want the flash and no match")
	}
	if _, err := e.db.ContactByID(ctx, other.ID); err != nil {
		t.Errorf("the other contact: %v", err)
	}
	rep, err := e.db.VerifyLedger(ctx, e.clock.Now())
	if err != nil || !rep.OK() {
		t.Errorf("ledger after erasure: %+v, %v", rep, err)
	}
	stones, _ := e.db.Tombstones(ctx, e.svc.PhoneHash("+4915112345678"))
	if len(stones) != 1 || stones[0].Reason != "admin" || stones[0].Actor != "admin:"+admin.user.Email {
		t.Errorf("tombstones = %+v", stones)
	}
	if got := e.contactAuditLines(); len(got) != 1 || got[0] != fmt.Sprintf("contact.erase contact:%d %s", anna.ID, admin.user.Email) {
		t.Errorf("audit = %q", got)
	}
	// Nothing of the number is left in the file, audit log included.
	var path0 string
	e.db.SQL().QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path0)
	if err := e.db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path0, path0 + "-wal"} {
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte("4915112345678")) {
			t.Errorf("%s still holds the erased number", f)
		}
	}
}
