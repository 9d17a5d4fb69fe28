package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
)

// lastEventWording is the wording the newest event of phone references.
func (e *env) lastEventWording(phone string) consent.Wording {
	e.t.Helper()
	ctx := context.Background()
	c, err := e.svc.Contact(ctx, phone)
	if err != nil {
		e.t.Fatal(err)
	}
	events, err := e.db.Events(ctx, c.Contact.ID)
	if err != nil || len(events) == 0 {
		e.t.Fatalf("events = %v, %v", events, err)
	}
	w, err := e.db.Wording(ctx, events[len(events)-1].WordingHash)
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

func TestOptInFormShowsAndRecordsTheChosenWording(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, body := e.get("/optin?lang=en")
	builtIn, _ := e.svc.FormWording(ctx, "en")
	if !strings.Contains(body, `name="wording" value="`+builtIn.Hash+`"`) {
		t.Fatalf("form does not carry the hash of the built-in wording")
	}

	w2, err := e.svc.SetFormWording(ctx, "en", "I agree that Acme may message me on WhatsApp. Version two.", "admin:a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	_, body = e.get("/optin?lang=en")
	if !strings.Contains(body, "Version two.") || !strings.Contains(body, `name="wording" value="`+w2.Hash+`"`) {
		t.Errorf("form does not show the new version")
	}
	if _, body := e.get("/optin?lang=de"); strings.Contains(body, "Version two.") {
		t.Errorf("the English edit shows on the German form")
	}

	// A form opened before the edit records the version it showed; a new
	// one, or one without the field, records the new version.
	for _, tc := range []struct {
		name, phone, posted, want string
	}{
		{"opened before", "+4915112345671", builtIn.Hash, builtIn.Text},
		{"opened after", "+4915112345672", w2.Hash, w2.Text},
		{"no field", "+4915112345673", "", w2.Text},
		{"forged", "+4915112345674", strings.Repeat("0", 64), w2.Text},
	} {
		resp := e.post("/optin", url.Values{"phone": {tc.phone}, "category": {"offers"}, "lang": {"en"}, "wording": {tc.posted}})
		if resp.StatusCode != 303 {
			t.Fatalf("%s: status = %d", tc.name, resp.StatusCode)
		}
		if got := e.lastEventWording(tc.phone); got.Text != tc.want {
			t.Errorf("%s: recorded %q, want %q", tc.name, got.Text, tc.want)
		}
	}
	v1, _ := e.db.Wording(ctx, builtIn.Hash)
	v2, _ := e.db.Wording(ctx, w2.Hash)
	if v1.Version != 1 || v2.Version != 2 {
		t.Errorf("versions = %d and %d, want 1 and 2", v1.Version, v2.Version)
	}
}

func TestAdminWordingEditMakesAVersion(t *testing.T) {
	e := newEnv(t)
	c := e.signIn(consent.RoleAdmin)
	ctx := context.Background()
	// Someone opts in under the built-in German text: it becomes version 1.
	e.post("/optin", url.Values{"phone": {"+4915112345671"}, "category": {"offers", "order_updates"}, "lang": {"de"}})
	builtIn, _ := e.svc.FormWording(ctx, "de")

	resp, body := c.get("/admin/wording")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, lang := range []string{"en", "es", "pt", "de"} {
		if !strings.Contains(body, `data-testid="wording-form-`+lang+`"`) {
			t.Errorf("no edit form for %s", lang)
		}
	}
	if !strings.Contains(body, `data-testid="version-`+builtIn.Hash+`"`) {
		t.Errorf("version 1 of the German text is not listed")
	}

	text := "Ich bin einverstanden, dass Acme mir die gewählten Nachrichten schickt. Version zwei."
	resp = c.post("/admin/wording", url.Values{"lang": {"de"}, "text": {text}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/wording?done=saved#lang-de" {
		t.Fatalf("save: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	v2 := consent.NewWording("consent", "de", text)
	_, action, target, detail := e.lastAudit()
	if action != "wording_update" || target != "wording:consent:de" || !strings.Contains(detail, v2.Hash) ||
		!strings.Contains(detail, builtIn.Hash) || !strings.Contains(detail, `"version":2`) {
		t.Errorf("audit = %s %s %s", action, target, detail)
	}
	if _, body := e.get("/optin?lang=de"); !strings.Contains(body, "Version zwei.") {
		t.Error("the form does not show the new version")
	}
	e.post("/optin", url.Values{"phone": {"+4915112345672"}, "category": {"offers"}, "lang": {"de"}, "wording": {v2.Hash}})

	// Both versions stay readable with their hash, date and event count.
	_, body = c.get("/admin/wording")
	for _, h := range []string{builtIn.Hash, v2.Hash} {
		if !strings.Contains(body, `data-testid="version-`+h+`"`) || !strings.Contains(body, `href="/admin/wordings/`+h+`"`) {
			t.Errorf("version %s not listed with its link", h[:8])
		}
	}
	for _, tc := range []struct {
		hash, text, events string
	}{{builtIn.Hash, builtIn.Text, "2"}, {v2.Hash, text, "1"}} {
		resp, body := c.get("/admin/wordings/" + tc.hash)
		if resp.StatusCode != 200 || !strings.Contains(body, tc.text) || !strings.Contains(body, `data-testid="wording-events">`+tc.events+`<`) ||
			!strings.Contains(body, tc.hash) || !strings.Contains(body, "2026-11-01 10:00 UTC") {
			t.Errorf("/admin/wordings/%s: status %d, want the text, the hash, the date and %s events", tc.hash[:8], resp.StatusCode, tc.events)
		}
	}
	if resp, _ := c.get("/admin/wordings/" + strings.Repeat("f", 64)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown hash: status %d, want 404", resp.StatusCode)
	}
	if resp, _ := c.get("/admin/wordings/nothex"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("malformed hash: status %d, want 404", resp.StatusCode)
	}
}

func TestAdminWordingInvalidChangesNothing(t *testing.T) {
	e := newEnv(t)
	c := e.signIn(consent.RoleAdmin)
	current, _ := e.svc.FormWording(context.Background(), "en")
	for _, tc := range []struct {
		name string
		form url.Values
		want int
	}{
		{"empty", url.Values{"lang": {"en"}, "text": {"  "}}, http.StatusUnprocessableEntity},
		{"unchanged", url.Values{"lang": {"en"}, "text": {current.Text}}, http.StatusUnprocessableEntity},
		{"too long", url.Values{"lang": {"en"}, "text": {strings.Repeat("a", 2001)}}, http.StatusUnprocessableEntity},
		{"unknown language", url.Values{"lang": {"xx"}, "text": {"Hallo"}}, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.catalogRows()
			req, _ := http.NewRequest("POST", e.ts.URL+"/admin/wording", strings.NewReader(tc.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := c.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readBody(resp)
			if resp.StatusCode != tc.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want == http.StatusUnprocessableEntity && !strings.Contains(body, `data-testid="wording-error-en"`) {
				t.Errorf("page lacks the error")
			}
			if !equalCounts(before, e.catalogRows()) {
				t.Error("a refused edit changed something")
			}
		})
	}
	if got, _ := e.svc.FormWording(context.Background(), "en"); got.Hash != current.Hash {
		t.Error("the form's wording changed")
	}
}

func TestAdminWordingViewer(t *testing.T) {
	e := newEnv(t)
	v := e.signIn(consent.RoleViewer)
	resp, body := v.get("/admin/wording")
	if resp.StatusCode != 200 || strings.Contains(body, `data-testid="wording-form-en"`) {
		t.Errorf("viewer: status %d; want the page without edit forms", resp.StatusCode)
	}
	if resp := v.post("/admin/wording", url.Values{"lang": {"en"}, "text": {"Changed."}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer POST: status %d, want 403", resp.StatusCode)
	}
	if got, _ := e.svc.FormWording(context.Background(), "en"); got.Text == "Changed." {
		t.Error("a viewer changed the wording")
	}
}

func TestAdminWordingListsTermsVersionsReadOnly(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.post("/optin", url.Values{"phone": {"+4915112345678"}, "category": {"offers"}, "lang": {"es"}})
	c0, _ := e.svc.Contact(ctx, "+4915112345678")
	terms := consent.NewWording("terms", "es", "Acepto los términos de Acme.")
	if _, err := e.db.FixtureChange(ctx, store.ChangeFixture{ContactID: c0.Contact.ID, At: e.clock.Now(), Lang: "es",
		Evidence: consent.Evidence{Source: consent.SourceWhatsAppReply}, Wording: &terms,
		ContactEvent: consent.EventTermsAccepted, Type: consent.EventOptIn,
		Set: map[string]consent.State{"order_updates": consent.OptedIn}}); err != nil {
		t.Fatal(err)
	}
	c := e.signIn(consent.RoleAdmin)
	_, body := c.get("/admin/wording")
	if !strings.Contains(body, `data-testid="wording-versions-terms"`) || !strings.Contains(body, `data-testid="version-`+terms.Hash+`"`) {
		t.Fatal("the terms prompt's version is not listed")
	}
	resp, body := c.get("/admin/wordings/" + terms.Hash)
	if resp.StatusCode != 200 || !strings.Contains(body, "Terms prompt, version 1") || !strings.Contains(body, terms.Text) ||
		!strings.Contains(body, `data-testid="wording-events">2<`) {
		t.Errorf("terms version page: status %d", resp.StatusCode)
	}
	// The Spanish consent wording (stored by the opt-in) is current without
	// ever having been chosen by an admin.
	builtIn, _ := e.svc.FormWording(ctx, "es")
	if _, body := c.get("/admin/wordings/" + builtIn.Hash); !strings.Contains(body, "shown now") {
		t.Error("the built-in wording is not shown as current")
	}
}
