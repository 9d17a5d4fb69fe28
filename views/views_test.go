package views

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/a-h/templ"
)

// fakeT stands in for the catalog: it returns the key, followed by the
// arguments when there are any, so tests can see which message was chosen.
func fakeT(key string, args ...any) string {
	if len(args) == 0 {
		return key
	}
	return key + fmt.Sprint(args...)
}

func layout(embed bool) LayoutModel {
	return LayoutModel{
		Lang:         "en",
		Title:        "Get Acme updates",
		BusinessName: "Acme",
		Embed:        embed,
		T:            fakeT,
		Languages: []LangOption{
			{Code: "en", Name: "English", URL: "/optin?lang=en", Current: true},
			{Code: "de", Name: "Deutsch", URL: "/optin?lang=de"},
		},
	}
}

func optInModel() OptInModel {
	return OptInModel{
		Layout:  layout(false),
		Action:  "/optin",
		Country: "DE",
		Src:     "poster7",
		Countries: []CountryOption{
			{Code: "US", Name: "United States", Dial: "+1"},
			{Code: "DE", Name: "Germany", Dial: "+49", Selected: true},
		},
		Categories: []CategoryOption{
			{Slug: "order_updates", Name: "Order updates", Description: "Shipping and delivery news for your orders"},
			{Slug: "offers", Name: "Offers"},
			{Slug: "recommendations", Name: "Recommendations"},
		},
		Wording:  "I agree that Acme may send me the selected kinds of messages on WhatsApp.",
		TermsURL: "/terms",
	}
}

func render(t *testing.T, c templ.Component) string {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return buf.String()
}

// tag returns the opening tag of the element marked with data-testid id, or
// "" when there is none.
func tag(html, id string) string {
	re := regexp.MustCompile(`<[a-z]+\b[^>]*\bdata-testid="` + regexp.QuoteMeta(id) + `"[^>]*>`)
	return re.FindString(html)
}

var checkboxRE = regexp.MustCompile(`<input\b[^>]*\btype="checkbox"[^>]*>`)

func hasAttr(tag, attr string) bool {
	return regexp.MustCompile(`\s` + regexp.QuoteMeta(attr) + `(\s|=|/?>)`).MatchString(tag)
}

func wantMarkers(t *testing.T, html string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if tag(html, id) == "" {
			t.Errorf("no element with data-testid=%q", id)
		}
	}
}

func wantNoMarkers(t *testing.T, html string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if got := tag(html, id); got != "" {
			t.Errorf("unexpected element %s", got)
		}
	}
}

func TestOptInPage(t *testing.T) {
	html := render(t, OptInPage(optInModel()))

	wantMarkers(t, html, "optin-form", "phone", "country", "submit", "wording",
		"category-order_updates", "category-offers", "category-recommendations", "site-header", "language-switcher")
	wantNoMarkers(t, html, "error-summary", "error-phone", "error-category", "error-country")

	form := tag(html, "optin-form")
	for _, want := range []string{`method="post"`, `action="/optin"`} {
		if !strings.Contains(form, want) {
			t.Errorf("form tag %s lacks %s", form, want)
		}
	}
	for _, want := range []string{
		`<html lang="en">`,
		`<meta name="viewport"`,
		`<input type="hidden" name="lang" value="en">`,
		`<input type="hidden" name="src" value="poster7">`,
		`<label class="field__label" for="phone">`,
		`<label class="field__label" for="country">`,
		`<option value="DE" selected>Germany (+49)</option>`,
		`<legend`,
		`href="/terms"`,
		`optin.titleAcme`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s", want)
		}
	}

	phone := tag(html, "phone")
	for _, want := range []string{`type="tel"`, `autocomplete="tel"`, `inputmode="tel"`, `name="phone"`, `aria-describedby="phone-hint"`} {
		if !strings.Contains(phone, want) {
			t.Errorf("phone input %s lacks %s", phone, want)
		}
	}
	if strings.Contains(html, "aria-invalid") {
		t.Error("aria-invalid set on a form without errors")
	}

	boxes := checkboxRE.FindAllString(html, -1)
	if len(boxes) != 3 {
		t.Fatalf("got %d checkboxes, want 3", len(boxes))
	}
	for _, b := range boxes {
		if hasAttr(b, "checked") {
			t.Errorf("checkbox ticked by default: %s", b)
		}
		if !strings.Contains(b, `name="category"`) {
			t.Errorf("checkbox %s lacks name=category", b)
		}
	}
	if b := tag(html, "category-order_updates"); !strings.Contains(b, `aria-describedby="category-order_updates-desc"`) ||
		!strings.Contains(html, `id="category-order_updates-desc"`) {
		t.Errorf("description not linked to its checkbox: %s", b)
	}

	// The wording sits right above the submit button.
	wording := strings.Index(html, `data-testid="wording"`)
	submit := strings.Index(html, `data-testid="submit"`)
	lastBox := strings.LastIndex(html, `type="checkbox"`)
	if !(lastBox < wording && wording < submit) {
		t.Errorf("wording at %d, want between the last checkbox (%d) and submit (%d)", wording, lastBox, submit)
	}
	if !strings.Contains(html, "I agree that Acme may send me") {
		t.Error("wording text not shown")
	}
}

func TestOptInPageRerenderKeepsChoices(t *testing.T) {
	m := optInModel()
	m.Categories[1].Checked = true
	m.Phone = "+49 170 1234567"
	html := render(t, OptInPage(m))
	for _, b := range checkboxRE.FindAllString(html, -1) {
		want := strings.Contains(b, `value="offers"`)
		if got := hasAttr(b, "checked"); got != want {
			t.Errorf("checked = %v, want %v in %s", got, want, b)
		}
	}
	if p := tag(html, "phone"); !strings.Contains(p, `value="+49 170 1234567"`) {
		t.Errorf("phone not kept: %s", p)
	}
}

func TestOptInPageErrors(t *testing.T) {
	m := optInModel()
	m.Errors = map[string]string{
		"phone":    "This number is too short.",
		"category": "Choose at least one kind of message.",
	}
	html := render(t, OptInPage(m))

	wantMarkers(t, html, "error-summary", "error-phone", "error-category")
	wantNoMarkers(t, html, "error-country")

	summary := tag(html, "error-summary")
	if !strings.Contains(summary, `role="alert"`) {
		t.Errorf("error summary %s lacks role=alert", summary)
	}
	phoneLink := strings.Index(html, `<a href="#phone">This number is too short.</a>`)
	categoryLink := strings.Index(html, `<a href="#category-order_updates">Choose at least one kind of message.</a>`)
	if phoneLink < 0 || categoryLink < 0 || phoneLink > categoryLink {
		t.Errorf("summary links missing or out of form order (phone %d, category %d)", phoneLink, categoryLink)
	}
	if strings.Index(html, `data-testid="error-summary"`) > strings.Index(html, `data-testid="optin-form"`) {
		t.Error("error summary is not above the form")
	}

	phone := tag(html, "phone")
	if !strings.Contains(phone, `aria-invalid="true"`) {
		t.Errorf("phone input %s lacks aria-invalid", phone)
	}
	if !strings.Contains(phone, `aria-describedby="phone-hint phone-error"`) {
		t.Errorf("phone input %s does not point to its error", phone)
	}
	if c := tag(html, "country"); strings.Contains(c, "aria-invalid") {
		t.Errorf("valid country marked invalid: %s", c)
	}
	for _, b := range checkboxRE.FindAllString(html, -1) {
		if !strings.Contains(b, `aria-invalid="true"`) {
			t.Errorf("checkbox %s lacks aria-invalid", b)
		}
		if hasAttr(b, "checked") {
			t.Errorf("checkbox ticked by default: %s", b)
		}
	}
	if !strings.Contains(html, `aria-describedby="categories-hint category-error"`) {
		t.Error("category fieldset does not point to its error")
	}
}

func TestLayoutEmbed(t *testing.T) {
	tests := []struct {
		name   string
		embed  bool
		chrome bool
	}{
		{"page", false, true},
		{"embed", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := optInModel()
			m.Layout.Embed = tt.embed
			html := render(t, OptInPage(m))
			for _, marker := range []string{"<header", "<footer", `data-testid="language-switcher"`, `class="skip-link"`} {
				if got := strings.Contains(html, marker); got != tt.chrome {
					t.Errorf("contains %s = %v, want %v", marker, got, tt.chrome)
				}
			}
			wantMarkers(t, html, "optin-form", "submit", "wording")
			if tt.embed && !strings.Contains(tag(html, "terms-link"), `target="_blank"`) {
				t.Error("embedded terms link does not open a new tab")
			}
		})
	}
}

func TestLayoutLanguageSwitcher(t *testing.T) {
	html := render(t, OptInPage(optInModel()))
	for _, want := range []string{
		`<a class="lang-switch__link" href="/optin?lang=en" hreflang="en" lang="en" aria-current="true">English</a>`,
		`<a class="lang-switch__link" href="/optin?lang=de" hreflang="de" lang="de">Deutsch</a>`,
		`<title>Get Acme updates</title>`,
		`<a class="skip-link" href="#main">app.skip</a>`,
		`id="main"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

func TestThankYouPage(t *testing.T) {
	tests := []struct {
		name       string
		double     bool
		nothingNew bool
		want       string
	}{
		{"single", false, false, "thanks.single+49 ••• 5678"},
		{"double", true, false, "thanks.double+49 ••• 5678"},
		{"nothing new", false, true, "thanks.nothing_new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			html := render(t, ThankYouPage(ThankYouModel{
				Layout:     layout(false),
				Double:     tt.double,
				NothingNew: tt.nothingNew,
				Phone:      "+49 ••• 5678",
				Categories: []string{"Order updates", "Offers"},
			}))
			wantMarkers(t, html, "thanks", "thanks-message", "thanks-categories")
			if !strings.Contains(html, tt.want) {
				t.Errorf("page lacks %q", tt.want)
			}
			for _, want := range []string{"<li>Order updates</li>", "<li>Offers</li>", "thanks.change"} {
				if !strings.Contains(html, want) {
					t.Errorf("page lacks %s", want)
				}
			}
		})
	}
}

func TestErrorPage(t *testing.T) {
	html := render(t, ErrorPage(ErrorModel{
		Layout:  layout(false),
		Status:  429,
		Heading: "Too many attempts",
		Message: "Please try again in an hour.",
		BackURL: "/optin",
	}))
	wantMarkers(t, html, "error-page", "error-status", "back")
	for _, want := range []string{"error.status429", "<h1 class=\"panel__title\">Too many attempts</h1>", "Please try again in an hour.", `href="/optin"`} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s", want)
		}
	}

	html = render(t, ErrorPage(ErrorModel{Layout: layout(true), Heading: "Oops"}))
	wantNoMarkers(t, html, "back", "error-status")
}

func TestTermsPage(t *testing.T) {
	html := render(t, TermsPage(TermsModel{
		Layout: layout(false),
		Text:   "First paragraph.\n\nSecond, <b>not bold</b>.\r\n \r\nThird.",
	}))
	wantMarkers(t, html, "terms")
	for _, want := range []string{"<p>First paragraph.</p>", "<p>Second, &lt;b&gt;not bold&lt;/b&gt;.</p>", "<p>Third.</p>"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

func TestParagraphs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"one", []string{"one"}},
		{"one\ntwo\n\n\nthree  \n", []string{"one\ntwo", "three"}},
		{"\n \t\none\r\n\r\ntwo", []string{"one", "two"}},
	}
	for _, tt := range tests {
		if got := paragraphs(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("paragraphs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestContentSecurityPolicy checks that no page needs more than
// "default-src 'self'": no inline script or style, nothing from elsewhere.
func TestContentSecurityPolicy(t *testing.T) {
	m := optInModel()
	m.Errors = map[string]string{"phone": "x", "category": "y", "country": "z"}
	pages := map[string]templ.Component{
		"optin":  OptInPage(m),
		"embed":  OptInPage(OptInModel{Layout: layout(true)}),
		"thanks": ThankYouPage(ThankYouModel{Layout: layout(false)}),
		"error":  ErrorPage(ErrorModel{Layout: layout(false), Status: 500}),
		"terms":  TermsPage(TermsModel{Layout: layout(false), Text: "x"}),
	}
	scriptRE := regexp.MustCompile(`<script\b[^>]*>`)
	srcRE := regexp.MustCompile(`\b(?:src|href)="([^"]*)"`)
	for name, c := range pages {
		html := render(t, c)
		for _, s := range scriptRE.FindAllString(html, -1) {
			if !strings.Contains(s, `src="/static/`) {
				t.Errorf("%s: inline or foreign script %s", name, s)
			}
		}
		if strings.Contains(html, "<style") || strings.Contains(html, " style=") {
			t.Errorf("%s: inline style", name)
		}
		if regexp.MustCompile(`\son[a-z]+=`).MatchString(html) {
			t.Errorf("%s: inline event handler", name)
		}
		for _, m := range srcRE.FindAllStringSubmatch(html, -1) {
			if strings.Contains(m[1], "//") {
				t.Errorf("%s: external resource %s", name, m[1])
			}
		}
	}
}

func TestEscaping(t *testing.T) {
	m := optInModel()
	m.Layout.BusinessName = `<script>alert(1)</script>`
	m.Phone = `"><b>`
	html := render(t, OptInPage(m))
	if strings.Contains(html, "<script>alert") || strings.Contains(html, `"><b>`) {
		t.Error("user-controlled text not escaped")
	}
}
