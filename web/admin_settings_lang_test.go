package web

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
)

// TestSettingsWelcomeLanguages: the settings page has the further welcome
// languages; a bad list is refused with its message and changes nothing; a
// good one is in force at once: the next German form user gets the German
// welcome.
func TestSettingsWelcomeLanguages(t *testing.T) {
	e := newEnv(t)
	c := e.signIn(consent.RoleAdmin)
	_, page := c.get("/admin/settings")
	if !strings.Contains(page, `name="welcome_languages"`) {
		t.Fatal("settings page lacks welcome_languages")
	}
	f := settingsForm(e.svc)
	f.Set("welcome_languages", "de;es")
	resp, body := c.settingsPost("/admin/settings", f)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Use language codes such as de,es,pt_BR") {
		t.Errorf("bad list: status %d, want 422 with the field's message", resp.StatusCode)
	}
	if got := e.svc.Settings().WelcomeLanguages; len(got) != 0 {
		t.Errorf("WelcomeLanguages = %q after a refused save", got)
	}
	f.Set("welcome_languages", "de, es")
	if resp, _ := c.settingsPost("/admin/settings", f); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: status %d, want 303", resp.StatusCode)
	}
	if got := e.svc.Settings().WelcomeLanguages; !slices.Equal(got, []string{"de", "es"}) {
		t.Errorf("WelcomeLanguages = %q, want [de es]", got)
	}
	contact, _ := e.subscribe("+4915112345678", "de", "offers")
	msgs, _ := e.db.Messages(context.Background(), contact.ID)
	if len(msgs) != 1 || msgs[0].Message.Template == nil || msgs[0].Message.Template.Language != "de" {
		t.Errorf("welcome = %+v, want the German template", msgs)
	}
}
