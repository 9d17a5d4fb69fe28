package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
)

// testidText returns the text inside the element marked data-testid=id, tags
// removed and spaces collapsed; "" when there is none.
func testidText(body, id string) string {
	i := strings.Index(body, `data-testid="`+id+`"`)
	if i < 0 {
		return ""
	}
	start := strings.Index(body[i:], ">")
	if start < 0 {
		return ""
	}
	rest := body[i+start+1:]
	// Up to the end of the element: the first closing tag of its own name.
	tagStart := strings.LastIndex(body[:i], "<")
	name := strings.Fields(body[tagStart+1 : i])[0]
	end := strings.Index(rest, "</"+name+">")
	if end < 0 {
		return ""
	}
	text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(rest[:end], " ")
	return strings.Join(strings.Fields(text), " ")
}

// dashboardData fills the database through the service: three opt-ins over
// two days, an opt-out, entry point counters, a welcome the provider refused
// and two alerts.
func dashboardData(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	for i, cats := range [][]string{{"offers", "order_updates"}, {"offers"}, {"order_updates"}} {
		if i == 2 {
			e.clock.t = e.clock.t.Add(24 * time.Hour)
		}
		if resp := e.post("/optin", url.Values{"phone": {fmt.Sprintf("+4915112345%03d", i)}, "category": cats}); resp.StatusCode != 303 {
			t.Fatalf("opt-in %d: status %d", i, resp.StatusCode)
		}
	}
	c, err := e.svc.Contact(ctx, "+4915112345000")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.FixtureChange(ctx, store.ChangeFixture{ContactID: c.Contact.ID, At: e.clock.t, Type: consent.EventOptOut,
		Evidence: consent.Evidence{Source: consent.SourceKeyword}, Set: map[string]consent.State{"offers": consent.OptedOut}}); err != nil {
		t.Fatal(err)
	}
	for what, n := range map[string]int{consent.EntryScans: 5, consent.EntryConversations: 4, consent.EntryAccepted: 3} {
		for range n {
			if err := e.db.CountEntry(ctx, consent.DefaultEntryPoint, what); err != nil {
				t.Fatal(err)
			}
		}
	}
	d := &consent.Dispatcher{Store: e.db, Sender: templateBroken{}, Clock: e.clock, Rate: 1000, BaseDelay: time.Second}
	if _, err := d.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.db.AddAlert(ctx, consent.Alert{Kind: "account", Code: 131042, Title: "Business eligibility payment issue", At: e.clock.t}); err != nil {
		t.Fatal(err)
	}
}

func TestDashboard(t *testing.T) {
	e := newEnv(t)
	dashboardData(t, e)
	for _, role := range []consent.Role{consent.RoleViewer, consent.RoleAdmin} {
		t.Run(string(role), func(t *testing.T) {
			c := e.signIn(role)
			resp, body := c.get("/admin/")
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			for id, want := range map[string]string{
				"contacts-total":           "3",
				"contacts-active":          "Active 3",
				"contacts-undeliverable":   "Undeliverable 0",
				"consents-offers":          "Offers 1 1 0",
				"consents-order_updates":   "Order updates 2 0 0",
				"consents-recommendations": "Recommendations 0 0 0",
				"source-web_form":          "Web form 4 0",
				"source-keyword":           "WhatsApp keyword 0 1",
				"funnel-HELLO":             "Default HELLO 5 4 3 75 %",
				"outbox-queued":            "0",
				"outbox-failed":            "Failed: 3",
				"outbox-dead":              "Dead letters: 0",
				"inbox-pending":            "0",
				"ledger-never":             "The hash chain of the events was never checked.",
			} {
				if got := testidText(body, id); got != want {
					t.Errorf("%s = %q, want %q", id, got, want)
				}
			}
			// Three welcomes refused for their template: one alert each, and
			// the account alert.
			if n := strings.Count(body, `data-testid="alert-`); n != 4 {
				t.Errorf("%d alerts shown, want 4", n)
			}
			if !strings.Contains(body, "Needs attention (4)") {
				t.Errorf("the alerts heading lacks the count")
			}
			if !strings.Contains(body, "Business eligibility payment issue") || !strings.Contains(body, "Template problem") {
				t.Errorf("alerts lack their titles or labels")
			}
			resolve, verify := strings.Contains(body, `data-testid="resolve-alert"`), strings.Contains(body, `data-testid="verify-ledger"`)
			if want := role == consent.RoleAdmin; resolve != want || verify != want {
				t.Errorf("resolve button %v, verify button %v; want %v for %s", resolve, verify, want, role)
			}
			// The chart: an image with a title and a description, bars with
			// their own titles, and the same numbers as a table.
			for _, want := range []string{`role="img"`, `aria-labelledby="activity-chart-title activity-chart-desc"`,
				`<title id="activity-chart-title">Opt-ins and opt-outs per day, last 30 days</title>`,
				`<desc id="activity-chart-desc">Over the last 30 days: 4 opt-ins and 1 opt-out. Most opt-ins on 2026-11-01 (3).</desc>`,
				`<title>2026-11-02: 1 opt-in</title>`, `<title>2026-11-02: 1 opt-out</title>`, `<title>2026-10-04: 0 opt-ins</title>`,
				`data-testid="chart-table"`} {
				if !strings.Contains(body, want) {
					t.Errorf("dashboard lacks %s", want)
				}
			}
			if n := strings.Count(body, "<rect "); n != 60 {
				t.Errorf("%d bars, want 60 (two for each of 30 days)", n)
			}
			if strings.Contains(body, "15112345000") {
				t.Errorf("the dashboard shows a phone number")
			}
		})
	}
}

func TestAlertResolve(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.db.AddAlert(ctx, consent.Alert{Kind: "template", Code: 132001, Title: "Template missing", At: e.clock.t})
	open, _ := e.db.OpenAlerts(ctx, 10)
	id := open[0].ID
	path := fmt.Sprintf("/admin/alerts/%d/resolve", id)

	viewer := e.signIn(consent.RoleViewer)
	if resp := viewer.post(path, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer: status %d, want 403", resp.StatusCode)
	}
	if open, _ := e.db.OpenAlerts(ctx, 10); len(open) != 1 {
		t.Fatalf("a viewer's POST resolved the alert")
	}

	admin := e.signIn(consent.RoleAdmin)
	resp := admin.post(path, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/?done=resolved" {
		t.Fatalf("status %d, Location %q; want 303 to the dashboard", resp.StatusCode, resp.Header.Get("Location"))
	}
	if open, _ := e.db.OpenAlerts(ctx, 10); len(open) != 0 {
		t.Errorf("alert still open")
	}
	_, body := admin.get("/admin/?done=resolved")
	if got := testidText(body, "flash"); got != "The alert is marked resolved." {
		t.Errorf("flash = %q", got)
	}
	if strings.Contains(body, `data-testid="alerts"`) {
		t.Errorf("the resolved alert is still shown")
	}
	var actor, target, detail string
	err := e.db.SQL().QueryRow(`SELECT actor, target, detail FROM admin_audit WHERE action = 'alert_resolve'`).Scan(&actor, &target, &detail)
	if err != nil || actor != admin.user.Email || target != fmt.Sprintf("alert:%d", id) || !strings.Contains(detail, `"code":132001`) {
		t.Errorf("audit = %q %q %q, %v", actor, target, detail, err)
	}

	// Again, unknown, malformed: 404, and nothing more is audited.
	for _, p := range []string{path, "/admin/alerts/999/resolve", "/admin/alerts/x/resolve", "/admin/alerts/-1/resolve"} {
		if resp := admin.post(p, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s: status %d, want 404", p, resp.StatusCode)
		}
	}
	var n int
	e.db.SQL().QueryRow(`SELECT count(*) FROM admin_audit WHERE action = 'alert_resolve'`).Scan(&n)
	if n != 1 {
		t.Errorf("%d alert_resolve entries, want 1", n)
	}
}

func TestLedgerVerifyFromConsole(t *testing.T) {
	e := newEnv(t)
	dashboardData(t, e)
	checks := func() int {
		var n int
		e.db.SQL().QueryRow(`SELECT count(*) FROM ledger_checks`).Scan(&n)
		return n
	}
	viewer := e.signIn(consent.RoleViewer)
	if resp := viewer.post("/admin/ledger/verify", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer: status %d, want 403", resp.StatusCode)
	}
	e.srv.ledger.wg.Wait()
	if checks() != 0 {
		t.Fatalf("a viewer's POST ran a verification")
	}

	admin := e.signIn(consent.RoleAdmin)
	resp := admin.post("/admin/ledger/verify", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/?done=verify_started#ledger" {
		t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	e.srv.ledger.wg.Wait()
	if checks() != 1 {
		t.Fatalf("%d checks recorded, want 1", checks())
	}
	_, body := viewer.get("/admin/")
	if got := testidText(body, "ledger-ok"); got != "Intact" {
		t.Errorf("ledger card = %q, want Intact", got)
	}
	if !strings.Contains(body, "5 events verified 2026-11-02 10:00 UTC") {
		t.Errorf("ledger card lacks the count and time:\n%s", testidText(body, "ledger"))
	}
	var want string
	e.db.SQL().QueryRow(`SELECT hash FROM events ORDER BY id DESC LIMIT 1`).Scan(&want)
	if got := testidText(body, "ledger-head"); got != want {
		t.Errorf("head hash = %q, want %q", got, want)
	}
	var n int
	e.db.SQL().QueryRow(`SELECT count(*) FROM admin_audit WHERE action = 'ledger_verify' AND actor = ?`, admin.user.Email).Scan(&n)
	if n != 1 {
		t.Errorf("%d ledger_verify audit entries, want 1", n)
	}

	// A broken chain shows as broken, with the event.
	drop := `DROP TRIGGER events_no_update`
	if e.db.Postgres() {
		drop += ` ON events`
	}
	if _, err := e.db.SQL().Exec(drop); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.SQL().Exec(`UPDATE events SET category = 'recommendations' WHERE id = 3`); err != nil {
		t.Fatal(err)
	}
	admin.post("/admin/ledger/verify", nil)
	e.srv.ledger.wg.Wait()
	_, body = admin.get("/admin/")
	if got := testidText(body, "ledger-bad"); got != "Broken" || !strings.Contains(body, "Event 3 does not match") {
		t.Errorf("after tampering: card = %q", testidText(body, "ledger"))
	}
}

func TestLedgerRunnerOneAtATime(t *testing.T) {
	var l ledgerRunner
	release := make(chan struct{})
	if !l.start(func() { <-release }) {
		t.Fatal("first run did not start")
	}
	if l.start(func() {}) || !l.busy() {
		t.Errorf("a second run started while the first ran")
	}
	close(release)
	l.wg.Wait()
	if l.busy() || !l.start(func() {}) {
		t.Errorf("no new run after the first ended")
	}
	l.wg.Wait()
}
