package web

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
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
