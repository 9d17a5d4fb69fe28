package web

import (
	"context"
	"html"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
)

// TestEventListNamesPeople: the event log names a contact by its masked
// number, links to it, and shows an erased one as "erased" with no link.
// Types, states and sources read in words, the raw name kept as detail.
func TestEventListNamesPeople(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var ids []int64
	for _, phone := range []string{"+4915112340001", "+4915112340002"} {
		ids = append(ids, e.optInContact(phone, "offers").ID)
	}
	admin := e.signIn(consent.RoleAdmin)
	if err := e.svc.EraseByAdmin(ctx, ids[1], consent.AdminAct{Email: admin.user.Email}); err != nil {
		t.Fatal(err)
	}
	_, body := admin.get("/admin/events")
	if !strings.Contains(body, "+49 ••• 0001") || strings.Contains(body, "Contact 1") {
		t.Errorf("the log does not name the contact by its masked number")
	}
	if strings.Contains(body, "/admin/contacts/"+itoa(ids[1])+`"`) {
		t.Errorf("the log links to the erased contact")
	}
	for _, want := range []string{">Opt-in<", ">Opted in<", ">Web form<", `<span class="raw">opt_in</span>`} {
		if !strings.Contains(body, want) {
			t.Errorf("event log lacks %s", want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestAuditLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		detail string
		want   []string
	}{
		{"", nil},
		{"{}", nil},
		{`{"category":"offers","marketing":true,"languages":["en","de"],"rows":12345}`,
			[]string{"Category: offers", "Marketing: yes", "Languages: en, de", "Rows: 12,345"}},
		{`{"new_role":"viewer","was":""}`, []string{"New role: viewer", "Was: –"}},
		{`not json`, []string{"not json"}},
	} {
		if got := auditLines(tc.detail); !slices.Equal(got, tc.want) {
			t.Errorf("auditLines(%q) = %q, want %q", tc.detail, got, tc.want)
		}
	}
}

// TestAuditFailedSignIn: a wrong password for a real account is logged
// under that account; an unknown e-mail under nobody.
func TestAuditFailedSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.signIn(consent.RoleAdmin)
	e.client().post("/admin/login", url.Values{"email": {admin.user.Email}, "password": {"not the password at all"}})
	e.client().post("/admin/login", url.Values{"email": {"nobody@example.com"}, "password": {"not the password at all"}})
	_, body := admin.get("/admin/audit?action=sign_in_failed")
	if got := auditRows(body); got != 2 {
		t.Fatalf("%d failed sign-ins listed, want 2", got)
	}
	if !strings.Contains(body, `href="/admin/audit?actor=`+url.QueryEscape(admin.user.Email)+`"`) {
		t.Errorf("the failed sign-in on a real account is not under that account")
	}
	if !strings.Contains(body, "an e-mail with no account") || strings.Contains(body, "nobody@example.com") {
		t.Errorf("the unknown e-mail: want it recorded as no account, and not shown")
	}
	if !strings.Contains(body, "Failed sign-in") {
		t.Errorf("the action is not in words")
	}
}

// TestConsoleFrame: Import / export is in the navigation for admins only
// and is the current item on its page; a viewer opening it is told it is
// for admins; the header names the provider and the base URL, and warns when
// a live provider's links point to a loopback address.
func TestConsoleFrame(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *consent.Config) { c.Provider = "360dialog"; c.BaseURL = "http://127.0.0.1:8080" })
	admin := e.signIn(consent.RoleAdmin)
	viewer := e.signIn(consent.RoleViewer)

	_, body := admin.get("/admin/import")
	if !strings.Contains(body, `<a href="/admin/import" aria-current="page">Import / export</a>`) {
		t.Errorf("the import page does not highlight Import / export")
	}
	if strings.Contains(body, `href="/admin/contacts" aria-current="page"`) {
		t.Errorf("the import page highlights Contacts")
	}
	if got := testidText(body, "admin-provider"); got != "360dialog http://127.0.0.1:8080" {
		t.Errorf("header provider = %q", got)
	}
	if !strings.Contains(body, `data-testid="link-warning"`) {
		t.Errorf("no warning for a live provider with a loopback base URL")
	}
	for _, p := range []string{"/admin/contacts", "/admin/events"} {
		if _, body := admin.get(p); !strings.Contains(body, `href="/admin/import" data-testid=`) {
			t.Errorf("%s has no link to import / export for an admin", p)
		}
		if _, body := viewer.get(p); strings.Contains(body, `href="/admin/import"`) {
			t.Errorf("%s offers a viewer import / export", p)
		}
	}
	resp, body := viewer.get("/admin/import")
	if resp.StatusCode != 403 || strings.Contains(body, "can see this") || !strings.Contains(body, "Only admins") {
		t.Errorf("viewer on /admin/import: %d, %q", resp.StatusCode, testidText(body, "admin-error"))
	}

	for _, tc := range []struct{ provider, base, want string }{
		{"sandbox", "http://127.0.0.1:8080", ""},
		{"cloud", "https://optin.example", ""},
		{"cloud", "http://localhost:8080", "can't reach"},
		{"v1", "http://0.0.0.0:8080", "can't reach"},
		{"360dialog", "http://[::1]:8080", "can't reach"},
	} {
		if got := linkWarning(tc.provider, tc.base); tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("linkWarning(%s, %s) = %q, want %q", tc.provider, tc.base, got, tc.want)
		}
	}
}

// TestContactListCount: the list says how many contacts there are.
func TestContactListCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, phone := range []string{"+4915112340001", "+4915112340002", "+4915112349999"} {
		e.optInContact(phone, "offers")
	}
	// An admin: viewers search by the whole number only.
	c := e.signIn(consent.RoleAdmin)
	if _, body := c.get("/admin/contacts"); testidText(body, "contacts-count") != "3 contacts" {
		t.Errorf("count = %q, want 3 contacts", testidText(body, "contacts-count"))
	}
	if _, body := c.get("/admin/contacts?q=9999"); testidText(body, "contacts-count") != "1 contact matches" {
		t.Errorf("count = %q, want 1 contact matches", testidText(body, "contacts-count"))
	}
}

// TestSettingsTextsFilledIn: a built-in text is shown in its field, and
// saving the page unchanged records no override; an edited text is saved.
func TestSettingsTextsFilledIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.signIn(consent.RoleAdmin)
	_, body := admin.get("/admin/settings")
	builtIn := e.srv.builtInText(consent.SettingTermsText, "en")
	if builtIn == "" || !strings.Contains(body, html.EscapeString(builtIn)+"</textarea>") {
		t.Fatalf("the terms text is not filled in")
	}
	form := url.Values{"terms_text.en": {strings.ReplaceAll(builtIn, "\n", "\r\n") + "\r\n"}}
	admin.post("/admin/settings", form)
	if got := e.svc.Settings().Values()["terms_text.en"]; got != "" {
		t.Errorf("saving the built-in text unchanged stored an override: %q", got)
	}
	form.Set("terms_text.en", "Our own terms.")
	admin.post("/admin/settings", form)
	if got := e.svc.Settings().Values()["terms_text.en"]; got != "Our own terms." {
		t.Errorf("edited terms = %q", got)
	}
}
