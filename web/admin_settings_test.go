package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
)

// settingsPost posts a form as c and returns the response with its body.
func (c *adminClient) settingsPost(path string, form url.Values) (*http.Response, string) {
	c.e.t.Helper()
	req, _ := http.NewRequest("POST", c.e.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// settingsForm is the settings form as the page would submit it unchanged.
func settingsForm(svc *consent.Service) url.Values {
	f := url.Values{}
	for k, v := range svc.Settings().Values() {
		f.Set(k, v)
	}
	return f
}

// auditActions counts the admin audit log's lines by action.
func (e *env) auditActions() map[string]int {
	e.t.Helper()
	rows, err := e.db.SQL().Query(`SELECT action, count(*) FROM admin_audit GROUP BY action`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var a string
		var n int
		rows.Scan(&a, &n)
		out[a] = n
	}
	return out
}

func TestAdminSettingsSaveAppliesAtOnce(t *testing.T) {
	e := newEnv(t)
	c := e.signIn(consent.RoleAdmin)
	resp, body := c.get("/admin/settings")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/settings = %d", resp.StatusCode)
	}
	for _, want := range []string{`data-testid="settings-form"`, `data-testid="settings-save"`, `name="welcome_template"`,
		`value="optin_welcome"`, `name="terms_text.de"`, `name="daily_cap"`, `name="controller_email"`} {
		if !strings.Contains(body, want) {
			t.Errorf("settings page lacks %s", want)
		}
	}

	f := settingsForm(e.svc)
	f.Set("welcome_template", "welcome_spring")
	f.Set("optin_mode", "double")
	f.Set("daily_cap", "250")
	f.Set("terms_text.en", "The terms of {business}, version 2.")
	f.Set("jurisdiction", "EU")
	resp, _ = c.settingsPost("/admin/settings", f)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/settings?saved=1" {
		t.Fatalf("POST = %d %q, want 303 to the page", resp.StatusCode, resp.Header.Get("Location"))
	}
	st := e.svc.Settings()
	if st.WelcomeTemplate != "welcome_spring" || st.Mode != consent.Double || st.DailyCap != 250 || st.Jurisdiction != "EU" {
		t.Errorf("settings in force = %+v", st)
	}
	// The running service uses them: the terms page and the next opt-in.
	if _, body := e.get("/terms?lang=en"); !strings.Contains(body, "The terms of Acme, version 2.") {
		t.Errorf("/terms does not show the admin's terms")
	}
	if _, body := e.get("/terms?lang=de"); strings.Contains(body, "version 2") {
		t.Errorf("/terms in German shows the English override")
	}
	contact, _ := e.subscribe("+4915112345678", "en", "offers")
	msgs, _ := e.db.Messages(context.Background(), contact.ID)
	if len(msgs) != 1 || msgs[0].Message.Template == nil || msgs[0].Message.Template.Name != "welcome_spring" {
		t.Errorf("welcome = %+v, want template welcome_spring", msgs)
	}
	if cs, _ := e.db.Consents(context.Background(), contact.ID); len(cs) != 1 || cs[0].State != consent.Pending {
		t.Errorf("consents = %+v, want pending in double mode", cs)
	}

	// Audited, with who and what.
	var detail, actor string
	if err := e.db.SQL().QueryRow(`SELECT actor, detail FROM admin_audit WHERE action = 'settings_change'`).Scan(&actor, &detail); err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	json.Unmarshal([]byte(detail), &d)
	if actor != c.user.Email || d["optin_mode"] == nil || d["terms_text.en"] == nil {
		t.Errorf("audit = %s %s", actor, detail)
	}
	// The page shows the change in its history, and the flash.
	_, body = c.get("/admin/settings?saved=1")
	if !strings.Contains(body, `data-testid="flash"`) || strings.Count(body, `data-testid="settings-history-row"`) != 5 {
		t.Errorf("page after saving lacks the flash or the 5 history rows")
	}

	// Saving the same values again changes nothing and audits nothing more.
	c.settingsPost("/admin/settings", settingsForm(e.svc))
	if n := e.auditActions()["settings_change"]; n != 1 {
		t.Errorf("settings_change audited %d times, want 1", n)
	}
}

func TestAdminSettingsInvalidChangesNothing(t *testing.T) {
	tests := []struct {
		name, key, value string
	}{
		{"unknown mode", "optin_mode", "sometimes"},
		{"rate zero", "send_rate", "0"},
		{"rate negative", "send_rate", "-1"},
		{"rate huge", "send_rate", "5000"},
		{"template name with capitals", "welcome_template", "Welcome"},
		{"template name with a dash", "welcome_template", "welcome-2"},
		{"cap negative", "daily_cap", "-5"},
		{"controller e-mail", "controller_email", "not an address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.signIn(consent.RoleAdmin)
			before := e.svc.Settings().Values()
			f := settingsForm(e.svc)
			f.Set("jurisdiction", "EU") // a valid change beside the bad one
			f.Set(tt.key, tt.value)
			resp, body := c.settingsPost("/admin/settings", f)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 422", resp.StatusCode)
			}
			if !strings.Contains(body, `data-testid="settings-invalid"`) || !strings.Contains(body, `id="e-`+tt.key+`"`) {
				t.Errorf("the form does not mark %s", tt.key)
			}
			if !strings.Contains(body, `value="`+tt.value+`"`) && tt.key != "optin_mode" {
				t.Errorf("the form does not keep what was typed")
			}
			after := e.svc.Settings().Values()
			for k, v := range before {
				if after[k] != v {
					t.Errorf("%s changed from %q to %q", k, v, after[k])
				}
			}
			var n int
			e.db.SQL().QueryRow(`SELECT (SELECT count(*) FROM settings) + (SELECT count(*) FROM settings_history)`).Scan(&n)
			if n != 0 || e.auditActions()["settings_change"] != 0 {
				t.Errorf("something was stored or audited")
			}
		})
	}
}

func TestAdminSettingsViewerReadOnly(t *testing.T) {
	e := newEnv(t)
	c := e.signIn(consent.RoleViewer)
	resp, body := c.get("/admin/settings")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("viewer GET = %d", resp.StatusCode)
	}
	if !strings.Contains(body, `data-testid="settings-readonly"`) || !strings.Contains(body, `<fieldset class="settings-fieldset" disabled>`) ||
		strings.Contains(body, `data-testid="settings-save"`) {
		t.Errorf("viewer's page is not read-only")
	}
	f := settingsForm(e.svc)
	f.Set("optin_mode", "double")
	if resp, _ := c.settingsPost("/admin/settings", f); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer POST = %d, want 403", resp.StatusCode)
	}
	if e.svc.Mode() != consent.Single {
		t.Errorf("a viewer changed the mode")
	}
}
