package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
)

var (
	eventRowID = regexp.MustCompile(`data-testid="event-(\d+)"`)
	nextHref   = regexp.MustCompile(`href="([^"]*)" rel="next"`)
)

func TestEventList(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// 70 opt-ins on three days, every seventh through the entry point
	// SHOP; one opt-out.
	if _, err := e.svc.CreateEntryPoint(ctx, "SHOP", "Shop", []string{"offers"}); err != nil {
		t.Fatal(err)
	}
	var lastContact int64
	for i := range 70 {
		ch := store.OptInFixture{Phone: fmt.Sprintf("+49151%08d", i), Lang: "en", Categories: []string{"offers"},
			Target: consent.OptedIn, Wording: consent.NewWording("consent", "en", "I agree."),
			Evidence: consent.Evidence{Source: consent.SourceWebForm, IP: "203.0.113.0/24"}, At: e.clock.t.Add(time.Duration(i) * time.Hour)}
		if i%7 == 0 {
			ch.Evidence.Source, ch.Evidence.EntryPoint = consent.SourceQR, "SHOP"
		}
		out, err := e.db.FixtureOptIn(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		lastContact = out.Contact.ID
	}
	if _, err := e.db.FixtureChange(ctx, store.ChangeFixture{ContactID: lastContact, At: e.clock.t.Add(80 * time.Hour), Type: consent.EventOptOut,
		Evidence: consent.Evidence{Source: consent.SourceKeyword}, Set: map[string]consent.State{"offers": consent.OptedOut}}); err != nil {
		t.Fatal(err)
	}
	c := e.signIn(consent.RoleViewer)

	// All pages, newest first, each event once, each linking to its contact.
	seen := map[string]bool{}
	path := "/admin/events"
	pages := 0
	for path != "" {
		resp, body := c.get(path)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: status %d", path, resp.StatusCode)
		}
		pages++
		for _, m := range eventRowID.FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Errorf("event %s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		if pages == 1 {
			if !strings.Contains(body, `data-testid="event-71"`) || !strings.Contains(body, fmt.Sprintf(`href="/admin/contacts/%d"`, lastContact)) {
				t.Errorf("first page lacks the newest event or its contact link")
			}
			if strings.Contains(body, "203.0.113") || strings.Contains(body, "+49151") {
				t.Errorf("the log shows personal evidence")
			}
		}
		path = ""
		if m := nextHref.FindStringSubmatch(body); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	if len(seen) != 71 || pages != 2 {
		t.Errorf("%d events on %d pages, want 71 on 2", len(seen), pages)
	}

	tests := []struct {
		name  string
		query url.Values
		want  int
	}{
		{"type", url.Values{"type": {"opt_out"}}, 1},
		{"source", url.Values{"source": {"qr"}}, 10},
		{"entry point", url.Values{"entry_point": {"SHOP"}}, 10},
		{"entry point lower case", url.Values{"entry_point": {"shop"}}, 10},
		{"category", url.Values{"category": {"offers"}}, 50}, // a page
		{"one day", url.Values{"from": {"2026-11-02"}, "to": {"2026-11-02"}}, 24},
		{"from", url.Values{"from": {"2026-11-04"}}, 9}, // opt-ins 62..69 and the opt-out
		{"combined", url.Values{"source": {"qr"}, "to": {"2026-11-01"}}, 2},
		{"none", url.Values{"type": {"erased"}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := c.get("/admin/events?" + tc.query.Encode())
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := len(eventRowID.FindAllString(body, -1)); got != tc.want {
				t.Errorf("%d events, want %d", got, tc.want)
			}
			if tc.want == 0 && !strings.Contains(body, `data-testid="no-events"`) {
				t.Errorf("no 'no events' message")
			}
		})
	}
	// The filter keeps its values and the pager keeps the filter.
	_, body := c.get("/admin/events?category=offers&source=web_form")
	if !strings.Contains(body, `<option value="web_form" selected>`) {
		t.Errorf("the source filter lost its value")
	}
	if m := nextHref.FindStringSubmatch(body); m == nil || !strings.Contains(m[1], "source=web_form") || !strings.Contains(m[1], "category=offers") {
		t.Errorf("next link %v does not keep the filter", m)
	}
}

func TestEventListBadFilter(t *testing.T) {
	e := newEnv(t)
	e.post("/optin", url.Values{"phone": {"+4915112345678"}, "category": {"offers"}})
	c := e.signIn(consent.RoleAdmin)
	for _, tc := range []struct {
		query, field string
	}{
		{"type=nope", "type"},
		{"source=carrier_pigeon", "source"},
		{"category=Bad-Slug", "category"},
		{"entry_point=A1", "entry_point"},
		{"from=yesterday", "from"},
		{"to=2026-13-01", "to"},
		{"from=2026-11-02&to=2026-11-01", "to"},
		{"before=-5", "before"},
		{"before=abc", "before"},
	} {
		resp, body := c.get("/admin/events?" + tc.query)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", tc.query, resp.StatusCode)
		}
		if !strings.Contains(body, `id="`+tc.field+`-error"`) && tc.field != "before" {
			t.Errorf("%s: no error beside %s", tc.query, tc.field)
		}
		if eventRowID.MatchString(body) {
			t.Errorf("%s: events listed despite the error", tc.query)
		}
	}
}

func auditRows(body string) int {
	return len(regexp.MustCompile(`data-testid="audit-\d+"`).FindAllString(body, -1))
}

func TestAuditList(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin := e.signIn(consent.RoleAdmin)
	viewer := e.signIn(consent.RoleViewer)
	// Sixty more entries, one of them naming a number in its detail.
	for i := range 60 {
		if err := e.svc.Audit(ctx, consent.AuditEntry{Actor: "other@example.com", Action: "category_update",
			Target: fmt.Sprintf("category:%d", i), Detail: `{"n":1}`, IP: "198.51.100.7"}); err != nil {
			t.Fatal(err)
		}
	}
	e.svc.Audit(ctx, consent.AuditEntry{Actor: admin.user.Email, Action: "contact_opt_out", Target: "contact:7",
		Detail: `{"phone":"+4915112345678"}`})

	_, body := viewer.get("/admin/audit")
	if !strings.Contains(body, `data-testid="audit"`) || auditRows(body) != 50 {
		t.Errorf("first page: %d entries, want 50", auditRows(body))
	}
	if strings.Contains(body, "15112345678") || !strings.Contains(body, "+49 ••• 5678") {
		t.Errorf("a viewer sees the whole number in an audit detail")
	}
	_, body = admin.get("/admin/audit?action=contact_opt_out")
	if !strings.Contains(body, "+4915112345678") || auditRows(body) != 1 {
		t.Errorf("admin filtered by action: want the one entry with the whole number")
	}

	for _, tc := range []struct {
		query string
		want  int
	}{
		{"actor=" + url.QueryEscape(viewer.user.Email), 1}, // its sign-in
		{"actor=" + url.QueryEscape(strings.ToUpper(admin.user.Email)), 2},
		{"action=sign_in", 2},
		{"action=category_update", 50},
		{"action=category_update&actor=other%40example.com", 50},
		{"action=nothing_like_this", 0},
	} {
		_, body := viewer.get("/admin/audit?" + tc.query)
		if got := auditRows(body); got != tc.want {
			t.Errorf("%s: %d entries, want %d", tc.query, got, tc.want)
		}
	}
	// Paging through every category_update once.
	seen := map[string]bool{}
	path := "/admin/audit?action=category_update"
	for path != "" {
		_, body := viewer.get(path)
		for _, m := range regexp.MustCompile(`data-testid="audit-(\d+)"`).FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Fatalf("entry %s twice", m[1])
			}
			seen[m[1]] = true
		}
		path = ""
		if m := nextHref.FindStringSubmatch(body); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	if len(seen) != 60 {
		t.Errorf("paged through %d entries, want 60", len(seen))
	}
	// The action filter offers the actions recorded.
	_, body = viewer.get("/admin/audit")
	for _, a := range []string{"category_update", "contact_opt_out", "sign_in"} {
		if !strings.Contains(body, `<option value="`+a+`">`) {
			t.Errorf("action filter lacks %s", a)
		}
	}
	if resp, _ := viewer.get("/admin/audit?before=0x10"); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad cursor: status %d, want 422", resp.StatusCode)
	}
}
