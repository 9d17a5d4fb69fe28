package views

import (
	"regexp"
	"strings"
	"testing"

	"github.com/a-h/templ"
)

func preferencesModel() PreferencesModel {
	return PreferencesModel{
		Layout: layout(false),
		Action: "/p/tok",
		Categories: []PreferenceOption{
			{Slug: "order_updates", Name: "Order updates", Description: "Shipping news", State: "opted_in",
				StateText: "Subscribed since 1 November 2026", Checked: true},
			{Slug: "offers", Name: "Offers", State: "opted_out", StateText: "Unsubscribed since 2 November 2026"},
			{Slug: "recommendations", Name: "Recommendations", State: "none", StateText: "Not subscribed", Disabled: true},
		},
		Wording: "I agree that Acme may send me the ticked kinds of messages.",
	}
}

func TestPreferencesPage(t *testing.T) {
	html := render(t, PreferencesPage(preferencesModel()))

	wantMarkers(t, html, "prefs", "prefs-form", "prefs-save", "prefs-stop-all", "prefs-download", "prefs-rotate",
		"prefs-erase", "prefs-wording", "pref-order_updates", "pref-offers", "pref-recommendations",
		"pref-state-order_updates", "pref-state-offers", "pref-state-recommendations")
	wantNoMarkers(t, html, "prefs-done", "error-summary")

	tests := []struct {
		slug, state           string
		checked, disabled     bool
		describedBy, stateTxt string
	}{
		{"order_updates", "opted_in", true, false, "pref-order_updates-state pref-order_updates-desc", "Subscribed since 1 November 2026"},
		{"offers", "opted_out", false, false, "pref-offers-state", "Unsubscribed since 2 November 2026"},
		{"recommendations", "none", false, true, "pref-recommendations-state pref-recommendations-hint", "Not subscribed"},
	}
	for _, tt := range tests {
		box := tag(html, "pref-"+tt.slug)
		if got := hasAttr(box, "checked"); got != tt.checked {
			t.Errorf("%s checked = %v, want %v: %s", tt.slug, got, tt.checked, box)
		}
		if got := hasAttr(box, "disabled"); got != tt.disabled {
			t.Errorf("%s disabled = %v, want %v: %s", tt.slug, got, tt.disabled, box)
		}
		for _, want := range []string{`type="checkbox"`, `name="category"`, `value="` + tt.slug + `"`,
			`id="pref-` + tt.slug + `"`, `aria-describedby="` + tt.describedBy + `"`} {
			if !strings.Contains(box, want) {
				t.Errorf("%s checkbox %s lacks %s", tt.slug, box, want)
			}
		}
		if !strings.Contains(html, `<label class="choice__label" for="pref-`+tt.slug+`">`) {
			t.Errorf("%s has no label", tt.slug)
		}
		state := tag(html, "pref-state-"+tt.slug)
		if !strings.Contains(state, `data-state="`+tt.state+`"`) || !strings.Contains(state, `id="pref-`+tt.slug+`-state"`) {
			t.Errorf("%s state tag = %s", tt.slug, state)
		}
		if !strings.Contains(html, tt.stateTxt) {
			t.Errorf("page lacks %q", tt.stateTxt)
		}
	}

	form := tag(html, "prefs-form")
	if !strings.Contains(form, `method="post"`) || !strings.Contains(form, `action="/p/tok"`) {
		t.Errorf("form tag = %s", form)
	}
	for _, want := range []string{`<fieldset`, `<legend class="field__label">prefs.legend</legend>`,
		`<input type="hidden" name="lang" value="en">`, `action="/p/tok/stop"`, `action="/p/tok/download"`,
		`action="/p/tok/rotate"`, `action="/p/tok/erase"`, "prefs.titleAcme", "prefs.link.note"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if got := strings.Count(html, `method="post"`); got != 5 {
		t.Errorf("%d POST forms, want Save and four actions", got)
	}
	if strings.Contains(html, `method="get"`) {
		t.Errorf("a form uses GET")
	}
	for _, id := range []string{"prefs-save", "prefs-stop-all", "prefs-download", "prefs-rotate", "prefs-erase"} {
		if b := tag(html, id); !strings.HasPrefix(b, "<button") || !strings.Contains(b, `type="submit"`) {
			t.Errorf("%s = %s, want a submit button", id, b)
		}
	}
	if b := tag(html, "prefs-save"); !strings.Contains(b, `aria-describedby="prefs-wording"`) {
		t.Errorf("Save is not described by the wording: %s", b)
	}
	if b := tag(html, "prefs-erase"); !strings.Contains(b, "button--danger") {
		t.Errorf("erase button = %s, want the danger style", b)
	}
}

func TestPreferencesPageStatus(t *testing.T) {
	m := preferencesModel()
	m.Done = "Your choices are saved."
	html := render(t, PreferencesPage(m))
	done := tag(html, "prefs-done")
	for _, want := range []string{`role="status"`, `tabindex="-1"`, "autofocus"} {
		if !strings.Contains(done, want) {
			t.Errorf("status %s lacks %s", done, want)
		}
	}
	if !strings.Contains(html, "Your choices are saved.") {
		t.Errorf("status text missing")
	}

	m = preferencesModel()
	m.Error = "One of the kinds of message you chose is no longer offered."
	html = render(t, PreferencesPage(m))
	if s := tag(html, "error-summary"); !strings.Contains(s, `role="alert"`) || !strings.Contains(html, m.Error) {
		t.Errorf("error summary = %s", s)
	}
}

func TestEraseConfirmPage(t *testing.T) {
	html := render(t, EraseConfirmPage(EraseConfirmModel{Layout: layout(false), Action: "/p/tok/erase", BackURL: "/p/tok?lang=en"}))
	wantMarkers(t, html, "erase", "erase-confirm", "erase-cancel")
	for _, want := range []string{`method="post" action="/p/tok/erase"`, `<input type="hidden" name="confirm" value="yes">`,
		`href="/p/tok?lang=en"`, "prefs.erase.title", "prefs.erase.confirm.bodyAcme"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if b := tag(html, "erase-confirm"); !strings.HasPrefix(b, "<button") || !strings.Contains(b, `aria-describedby="erase-desc"`) {
		t.Errorf("confirm button = %s", b)
	}
}

func TestErasedPage(t *testing.T) {
	m := ErasedModel{Layout: layout(false)}
	m.Layout.Languages = nil
	html := render(t, ErasedPage(m))
	wantMarkers(t, html, "erased")
	wantNoMarkers(t, html, "language-switcher")
	if !strings.Contains(html, "prefs.erased.title") || strings.Contains(html, "<form") {
		t.Errorf("erased page: want the title and no form")
	}
}

func TestPreferencesPagesContentSecurityPolicy(t *testing.T) {
	pages := map[string]templ.Component{
		"prefs":  PreferencesPage(preferencesModel()),
		"erase":  EraseConfirmPage(EraseConfirmModel{Layout: layout(false), Action: "/p/tok/erase", BackURL: "/p/tok"}),
		"erased": ErasedPage(ErasedModel{Layout: layout(false)}),
	}
	for name, c := range pages {
		html := render(t, c)
		for _, s := range regexp.MustCompile(`<script\b[^>]*>`).FindAllString(html, -1) {
			if !strings.Contains(s, `src="/static/`) {
				t.Errorf("%s: inline script %s", name, s)
			}
		}
		if strings.Contains(html, "<style") || strings.Contains(html, " style=") || regexp.MustCompile(`\son[a-z]+=`).MatchString(html) {
			t.Errorf("%s: inline style or event handler", name)
		}
	}
}

func TestPreferencesEscaping(t *testing.T) {
	m := preferencesModel()
	m.Categories[0].Name = `<script>alert(1)</script>`
	m.Wording = `"><b>`
	html := render(t, PreferencesPage(m))
	if strings.Contains(html, "<script>alert") || strings.Contains(html, `"><b>`) {
		t.Error("text not escaped")
	}
}
